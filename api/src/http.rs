//! The HTTP surface: `/graphql` (POST for queries and mutations; GET serves GraphiQL, or
//! upgrades to a graphql-transport-ws / graphql-ws WebSocket for subscriptions), `/healthz`
//! (the process is up), `/readyz` (PostgreSQL and Kafka answer), `/metrics` (Prometheus:
//! each projection's lag), and `/attachments` (upload and download, see
//! [`crate::attachments`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::{GraphiQLSource, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::json;
use sqlx::PgPool;
use tower_http::limit::RequestBodyLimitLayer;

use crate::attachments::{self, LocalDirectory, SharedStore};
use crate::auth::{Auth, Authentication};
use crate::geoip::GeoIp;
use crate::graphql::{AppSchema, ClientIp, VisitorRegion};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct HttpState {
    pub schema: AppSchema,
    pub auth: Auth,
    pub pool: PgPool,
    pub kafka_probe: Arc<BaseConsumer>,
    pub kafka_topic: String,
    /// Where the trusted proxy puts the visitor's region (INBOX-2), if it does.
    pub region_header: Option<header::HeaderName>,
    /// The local GeoIP database, when configured (INBOX-2).
    pub geoip: Option<Arc<GeoIp>>,
    /// Where attachment bytes live (CONV-7).
    pub attachments: SharedStore,
    /// The largest upload the server reads at all; each inbox sets its own, smaller limit.
    pub max_upload_bytes: usize,
}

impl HttpState {
    pub fn new(
        schema: AppSchema,
        auth: Auth,
        pool: PgPool,
        kafka_brokers: &str,
        kafka_topic: &str,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let kafka_probe: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", kafka_brokers)
            .create()?;
        Ok(Self {
            schema,
            auth,
            pool,
            kafka_probe: Arc::new(kafka_probe),
            kafka_topic: kafka_topic.to_owned(),
            region_header: None,
            geoip: None,
            attachments: Arc::new(LocalDirectory::new("var/attachments")),
            max_upload_bytes: switchboard_domain::attachment::MAX_ATTACHMENT_BYTES as usize,
        })
    }

    /// Reads visitors' regions from this GeoIP database when the header does not give one.
    pub fn with_geoip(mut self, geoip: Option<GeoIp>) -> Self {
        self.geoip = geoip.map(Arc::new);
        self
    }

    /// Keeps attachments in `store`, reading uploads of at most `max_upload_bytes`.
    pub fn with_attachments(mut self, store: SharedStore, max_upload_bytes: usize) -> Self {
        self.attachments = store;
        self.max_upload_bytes = max_upload_bytes;
        self
    }

    /// Reads the visitor's region from `name` (see `Settings::region_header`).
    pub fn with_region_header(
        mut self,
        name: Option<&str>,
    ) -> Result<Self, header::InvalidHeaderName> {
        self.region_header = name.map(header::HeaderName::try_from).transpose()?;
        Ok(self)
    }
}

pub fn router(state: HttpState) -> Router {
    // Uploads read their body themselves, after authentication, up to the inbox's limit.
    let uploads = Router::new()
        .route("/attachments", post(attachments::upload))
        .route("/attachments/{id}", get(attachments::download));
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .merge(uploads)
        .with_state(state)
}

async fn graphql_post(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let authentication = Authentication(state.auth.viewer_from_header(header));
    let region = state
        .region_header
        .as_ref()
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| state.geoip.as_ref()?.region(peer.ip()));
    let request = request
        .into_inner()
        .data(authentication)
        .data(ClientIp(Some(peer.ip().to_string())))
        .data(VisitorRegion(region));
    state.schema.execute(request).await.into()
}

/// The initial read buffer of a subscription's WebSocket.
const WS_READ_BUFFER: usize = 4 * 1024;

/// The largest message a client may send over a subscription's WebSocket (a `subscribe` with
/// its query and variables).
const WS_MAX_MESSAGE: usize = 256 * 1024;

async fn graphql_get(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    protocol: Result<GraphQLProtocol, StatusCode>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let (Ok(upgrade), Ok(protocol)) = (upgrade, protocol) else {
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql")
                .finish(),
        )
        .into_response();
    };
    let schema = state.schema.clone();
    let auth = state.auth.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // tungstenite's defaults (128 KiB read and write buffers per socket, 64 MiB messages)
        // are sized for bulk transfer; a subscription's frames are a few hundred bytes. These
        // keep an open subscription at a few KiB (BENCHMARKS.md, subscriptions). The buffers
        // still grow for a larger frame, up to the message limit.
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(WS_MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let mut data = Data::default();
                    data.insert(Authentication(
                        auth.viewer_from_header(authorization_of(&payload)),
                    ));
                    data.insert(ClientIp(Some(peer.ip().to_string())));
                    Ok(data)
                })
                .serve()
                .await
        })
}

/// The token in a `connection_init` payload: `{"authorization": "Bearer …"}` (any case of the
/// key), the shape most GraphQL clients send headers in.
fn authorization_of(payload: &serde_json::Value) -> Option<&str> {
    let object = payload.as_object()?;
    let value = object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value)
        .or_else(|| {
            object
                .get("headers")
                .and_then(|h| h.as_object())
                .and_then(|h| {
                    h.iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
                        .map(|(_, v)| v)
                })
        })?;
    value.as_str()
}

/// Prometheus text format. For now each projection's lag (PROJ-1..4): the events of the log
/// it has yet to apply.
async fn metrics(State(state): State<HttpState>) -> Response {
    match switchboard_projections::lag(&state.pool, crate::runtime::PROJECTIONS).await {
        Ok(lags) => {
            let mut text = String::from(
                "# HELP switchboard_projection_lag_events Events in the log a projection has yet to apply.\n\
                 # TYPE switchboard_projection_lag_events gauge\n",
            );
            for (projection, lag) in lags {
                text.push_str(&format!(
                    "switchboard_projection_lag_events{{projection=\"{projection}\"}} {lag}\n"
                ));
            }
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
        }
        Err(err) => {
            tracing::warn!(error = %err, "metrics query failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn readyz(State(state): State<HttpState>) -> (StatusCode, Json<serde_json::Value>) {
    let postgres = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("select 1").execute(&state.pool),
    )
    .await;
    let postgres_ok = matches!(postgres, Ok(Ok(_)));
    let probe = state.kafka_probe.clone();
    let topic = state.kafka_topic.clone();
    let kafka = tokio::task::spawn_blocking(move || {
        probe
            .fetch_metadata(Some(&topic), Duration::from_secs(2))
            .map(|metadata| metadata.topics().iter().any(|t| t.error().is_none()))
    })
    .await;
    let kafka_ok = matches!(kafka, Ok(Ok(true)));
    let status = if postgres_ok && kafka_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    (
        status,
        Json(json!({ "postgres": word(postgres_ok), "kafka": word(kafka_ok) })),
    )
}

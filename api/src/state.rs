//! What every route shares: [`HttpState`] (the schema, the pool, the stores, the limits, the
//! settings the routes read), built once at start-up, and the checks the routes make before a
//! handler runs ([`gatekeep`], [`check_session_origin`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rdkafka::consumer::BaseConsumer;
use rdkafka::ClientConfig;
use serde_json::json;
use sqlx::PgPool;

use crate::attachments::store::{LocalDirectory, SharedStore};
use crate::auth::{Auth, Authentication, Viewer};
use crate::error::ApiError;
use crate::geoip::GeoIp;
use crate::graphql::AppSchema;
use crate::limits::RateLimits;
use crate::metrics::Metrics;
use crate::telegram::bot::Bot;

#[derive(Clone)]
pub struct HttpState {
    pub schema: AppSchema,
    pub auth: Auth,
    pub pool: PgPool,
    pub kafka_probe: Arc<BaseConsumer>,
    pub kafka_topic: String,
    /// Where the trusted proxy puts the visitor's region (INBOX-2), if it does.
    pub region_header: Option<header::HeaderName>,
    /// Where the trusted proxy puts the client's address, if there is one.
    pub client_ip_header: Option<header::HeaderName>,
    /// The local GeoIP database, when configured (INBOX-2).
    pub geoip: Option<Arc<GeoIp>>,
    /// Where attachment bytes live (CONV-7).
    pub attachments: SharedStore,
    /// The largest upload the server reads at all; each inbox sets its own, smaller limit.
    pub max_upload_bytes: usize,
    /// False: the widget API is switched off (`404 {"detail": "Messenger disabled"}`).
    pub widget_api_enabled: bool,
    /// Abuse limits (SEC-2), shared with the resolvers.
    pub limits: Arc<RateLimits>,
    /// How often an idle subscription socket gets a keep-alive.
    pub ws_keepalive: Duration,
    /// What `/metrics` reports (OPS-M1).
    pub metrics: Arc<Metrics>,
    /// The Telegram bot behind `/telegram/webhook`, when one is set up (TG-1..5).
    pub bot: Option<Arc<Bot>>,
    /// The demo inbox's widget token, when the demo is on (`/demo`, [`crate::web::demo`]).
    pub demo_widget_token: Option<String>,
    /// Cancelled when the process stops: open subscription sockets are then closed with 1001
    /// (going away), so clients reconnect to whichever node answers next.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// This service's own origin (`https://chat.example.com`, from `SWITCHBOARD_PUBLIC_URL`),
    /// when set: its pages are not held to an inbox's allowed origins.
    pub public_origin: Option<String>,
    /// Operator sign-in: console session tokens are checked against their session.
    pub sign_in: Option<crate::sign_in::SignIn>,
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
            client_ip_header: None,
            geoip: None,
            attachments: Arc::new(LocalDirectory::new("var/attachments")),
            max_upload_bytes: switchboard_domain::attachment::MAX_ATTACHMENT_BYTES as usize,
            widget_api_enabled: true,
            limits: Arc::new(RateLimits::off()),
            ws_keepalive: Duration::from_secs(15),
            metrics: Arc::new(Metrics::new()),
            bot: None,
            demo_widget_token: None,
            shutdown: tokio_util::sync::CancellationToken::new(),
            public_origin: None,
            sign_in: None,
        })
    }

    /// Checks console session tokens against their sessions (without it they are refused).
    pub fn with_sign_in(mut self, sign_in: crate::sign_in::SignIn) -> Self {
        self.sign_in = Some(sign_in);
        self
    }

    /// The viewer of an `Authorization` header value.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
    ) -> Result<Viewer, crate::auth::AuthError> {
        match &self.sign_in {
            Some(sign_in) => sign_in.authenticate(header).await,
            None => self.auth.viewer_from_header(header),
        }
    }

    /// Answers Telegram's updates on `/telegram/webhook` with `bot` (none: 404).
    pub fn with_telegram(mut self, bot: Option<Bot>) -> Self {
        self.bot = bot.map(Arc::new);
        self
    }

    /// Closes subscription sockets when `shutdown` is cancelled.
    pub fn with_shutdown(mut self, shutdown: tokio_util::sync::CancellationToken) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Names this service's own origin, from its public URL (`https://host[:port]/…`).
    pub fn with_public_url(mut self, url: Option<&str>) -> Self {
        self.public_origin = url.and_then(|url| {
            let (scheme, rest) = url.split_once("://")?;
            let host = rest.split('/').next()?;
            // Browsers leave the scheme's default port out of `Origin`.
            let host = match scheme {
                "https" => host.strip_suffix(":443").unwrap_or(host),
                "http" => host.strip_suffix(":80").unwrap_or(host),
                _ => host,
            };
            Some(format!(
                "{}://{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            ))
        });
        self
    }

    /// Serves `/demo` with the widget of the inbox whose token this is.
    pub fn with_demo(mut self, widget_token: Option<String>) -> Self {
        self.demo_widget_token = widget_token;
        self
    }

    /// Reports into `metrics` (the schema's subscription count must use the same).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Switches the widget API on or off and sets the abuse limits.
    pub fn with_widget_api(mut self, enabled: bool, limits: Arc<RateLimits>) -> Self {
        self.widget_api_enabled = enabled;
        self.limits = limits;
        self
    }

    /// Sends subscription sockets a keep-alive this often.
    pub fn with_ws_keepalive(mut self, every: Duration) -> Self {
        self.ws_keepalive = every;
        self
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

    /// Reads the client's address from `name` (see `Settings::client_ip_header`).
    pub fn with_client_ip_header(
        mut self,
        name: Option<&str>,
    ) -> Result<Self, header::InvalidHeaderName> {
        self.client_ip_header = name.map(header::HeaderName::try_from).transpose()?;
        Ok(self)
    }

    /// The client's address: the right-most of the trusted proxy's header when configured
    /// and usable, else the TCP peer's.
    pub fn client_addr(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        self.client_ip_header
            .as_ref()
            .and_then(|name| headers.get_all(name).iter().next_back())
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok())
            .unwrap_or(peer)
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

/// What the HTTP layer turns away before a request reaches its handler.
pub enum Gate {
    /// A widget call while the widget API is switched off: answer [`messenger_disabled`].
    MessengerDisabled,
    /// A caller over its rate limit (SEC-2).
    Refused(ApiError),
}

/// The HTTP layer's checks before a handler runs: the widget-API switch (every caller without
/// a valid operator token is a widget's, including a token that does not verify), then, with
/// `charge`, one request against the rate limits. Operators pass both. GraphQL requests are
/// charged per operation by [`crate::limits::ChargeOperations`] instead.
pub fn gatekeep(
    state: &HttpState,
    client: IpAddr,
    authentication: &Authentication,
    charge: bool,
) -> Option<Gate> {
    if matches!(authentication.0, Ok(Viewer::Operator { .. })) {
        return None;
    }
    if !state.widget_api_enabled {
        return Some(Gate::MessengerDisabled);
    }
    if !charge {
        return None;
    }
    state
        .limits
        .check_ip(client)
        .and_then(|()| match &authentication.0 {
            Ok(Viewer::WidgetSession { inbox_id, .. }) => state.limits.check_widget(*inbox_id),
            _ => Ok(()),
        })
        .err()
        .map(Gate::Refused)
}

/// A widget session used from a page its inbox does not list (SEC-1).
pub async fn check_session_origin(
    pool: &PgPool,
    authentication: &Authentication,
    origin: Option<&str>,
) -> Result<(), ApiError> {
    let (Ok(Viewer::WidgetSession { inbox_id, .. }), Some(origin)) = (&authentication.0, origin)
    else {
        return Ok(());
    };
    let settings = switchboard_projections::inboxes::read::settings(pool, *inbox_id).await?;
    match settings {
        Some(settings) if !settings.allows_origin(origin) => {
            Err(ApiError::OriginNotAllowed(origin.to_owned()))
        }
        _ => Ok(()),
    }
}

/// The answer to every widget call while the widget API is switched off (seed 001).
pub fn messenger_disabled() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "detail": "Messenger disabled" })),
    )
        .into_response()
}

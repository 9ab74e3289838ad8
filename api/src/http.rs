//! The HTTP surface: `/graphql` (POST for queries and mutations; GET serves GraphiQL, its
//! files embedded in the binary ([`crate::web::graphiql_page`]), or upgrades to a
//! graphql-transport-ws / graphql-ws WebSocket for subscriptions), `/healthz` (the process is
//! up), `/readyz` (PostgreSQL and Kafka answer), `/metrics` (Prometheus: each projection's
//! lag), and `/attachments` (upload and download, see [`crate::attachments`]).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, MatchedPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use rdkafka::consumer::Consumer;
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tracing::Instrument;
use uuid::Uuid;

use crate::attachments::routes as attachments;
use async_graphql::ErrorExtensions;

use crate::auth::{AuthError, Authentication, Viewer};
use crate::error::ApiError;
use crate::metrics::{RequestLabels, Running};
use crate::request::{
    foreign_origin, ClientAddr, ClientIp, RequestId, RequestOrigin, VisitorRegion,
};
use crate::state::{check_session_origin, gatekeep, messenger_disabled, Gate, HttpState};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

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
        .route("/telegram/webhook", post(telegram_webhook))
        .merge(crate::web::routes())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .merge(uploads)
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .layer(cors())
        .with_state(state)
}

/// Cross-origin requests: the widget runs in the customer's pages, so browsers must be let
/// call from any site. Which site may use which inbox's widget is decided per request, once
/// the inbox is known (`allowedOrigins`, SEC-1): a preflight carries no token to tell. Tokens
/// travel in `Authorization`, never in cookies, so no credentials are allowed.
fn cors() -> CorsLayer {
    let request_id = header::HeaderName::from_static(REQUEST_ID);
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            request_id.clone(),
        ])
        .expose_headers([request_id, header::RETRY_AFTER])
        .max_age(Duration::from_secs(3600))
}

/// The request id header, read and sent back (OPS-M1).
const REQUEST_ID: &str = "x-request-id";

/// Every request: its id (the client's or proxy's `X-Request-Id` when that is a UUID, else a
/// new one) for the resolvers' events and for every log line written while serving it (a
/// span), sent back in `X-Request-Id`; and its latency, into the histogram of `/metrics`.
async fn track(
    State(state): State<HttpState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    // The id becomes the events' correlation id: taken from the request only when a trusted
    // proxy is in front (it is the proxy's then), never from clients directly.
    let id = request
        .headers()
        .get(REQUEST_ID)
        .filter(|_| state.client_ip_header.is_some())
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v.trim()).ok())
        .unwrap_or_else(Uuid::now_v7);
    request.extensions_mut().insert(RequestId(id));
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    let client = ClientAddr(state.client_addr(request.headers(), peer));
    request.extensions_mut().insert(client);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", MatchedPath::as_str)
        .to_owned();
    // Only the methods the routes serve get a label of their own: the label set stays small
    // whatever clients send.
    let method = match *request.method() {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::OPTIONS => "OPTIONS",
        axum::http::Method::HEAD => "HEAD",
        _ => "other",
    }
    .to_owned();
    let span = tracing::info_span!("request", request_id = %id, %method, %route);
    let mut response = next.run(request).instrument(span.clone()).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    if let Ok(value) = header::HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    span.in_scope(|| tracing::debug!(status, took_ms = took.as_millis() as u64, "served"));
    state.metrics.observe_request(
        RequestLabels {
            route,
            method,
            status,
        },
        took,
    );
    response
}

/// The HTTP status and `retryAfter` of a `RATE_LIMITED` (429) or `UNAVAILABLE` (503) error
/// in `response`, if it has one and no root field was answered: a request with several
/// mutations, one of them done, must not be retried whole.
fn retry_later_for(response: &async_graphql::Response) -> Option<(StatusCode, u64)> {
    let answered = match &response.data {
        async_graphql::Value::Object(fields) => fields
            .values()
            .any(|value| !matches!(value, async_graphql::Value::Null)),
        async_graphql::Value::Null => false,
        _ => true,
    };
    if answered {
        return None;
    }
    response.errors.iter().find_map(|error| {
        let extensions = error.extensions.as_ref()?;
        let status = match extensions.get("code")? {
            async_graphql::Value::String(code) if code == "RATE_LIMITED" => {
                StatusCode::TOO_MANY_REQUESTS
            }
            async_graphql::Value::String(code) if code == "UNAVAILABLE" => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => return None,
        };
        match extensions.get("retryAfter")? {
            async_graphql::Value::Number(n) => Some((status, n.as_u64()?)),
            _ => None,
        }
    })
}

/// A refusal before GraphQL ran, in the GraphQL error body clients parse, with the error's
/// HTTP status ([`ApiError::http_status`]: `429` with `Retry-After` for a rate limit, `503`
/// with `Retry-After` when busy, `403` for a page the inbox does not list). One exception:
/// our own failure in a check made before the request runs is `503`, not `500`, so a client
/// retries the request it could not even start.
fn refused(error: ApiError) -> Response {
    let body = Json(async_graphql::Response::from_errors(vec![error
        .extend()
        .into_server_error(async_graphql::Pos::default())]));
    let status = match error {
        ApiError::Internal => StatusCode::SERVICE_UNAVAILABLE,
        _ => error.http_status(),
    };
    match error.retry_after_secs() {
        Some(secs) => (status, [(header::RETRY_AFTER, secs.to_string())], body).into_response(),
        None => (status, body).into_response(),
    }
}

/// The mutations an operator calls before they have a token (`graphql::sign_in`).
const SIGN_IN_FIELDS: &[&str] = &[
    "signIn",
    "refreshSession",
    "signOut",
    "acceptInvitation",
    "requestPasswordReset",
    "resetPassword",
    "__typename",
];

/// Does the request ask for nothing but sign-in mutations?
fn only_sign_in(request: &GraphQLRequest) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
    let Ok(document) = async_graphql::parser::parse_query(&request.0.query) else {
        return false;
    };
    if !document.fragments.is_empty() {
        return false;
    }
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values().collect(),
    };
    operations.iter().all(|operation| {
        operation.node.ty == OperationType::Mutation
            && operation
                .node
                .selection_set
                .node
                .items
                .iter()
                .all(|item| match &item.node {
                    Selection::Field(field) => {
                        SIGN_IN_FIELDS.contains(&field.node.name.node.as_str())
                    }
                    _ => false,
                })
    })
}

async fn graphql_post(
    State(state): State<HttpState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let authentication = Authentication(state.authenticate(header).await);
    match gatekeep(&state, client, &authentication, false) {
        // The console's sign-in is not the widget's: it works with the widget API off.
        Some(Gate::MessengerDisabled) if only_sign_in(&request) => {}
        Some(Gate::MessengerDisabled) => return messenger_disabled(),
        Some(Gate::Refused(err)) => return refused(err),
        None => {}
    }
    let origin = foreign_origin(&headers, state.public_origin.as_deref());
    if let Err(err) = check_session_origin(&state.pool, &authentication, origin.as_deref()).await {
        return refused(err);
    }
    let region = state
        .region_header
        .as_ref()
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| state.geoip.as_ref()?.region(client));
    let cookies = crate::sign_in::SessionCookies::from_headers(&headers, origin.is_some());
    let request = request
        .into_inner()
        .data(authentication)
        .data(request_id)
        .data(cookies)
        .data(RequestOrigin(origin))
        .data(ClientIp(Some(client.to_string())))
        .data(VisitorRegion(region));
    let response = state.schema.execute(request).await;
    // Over a limit, or busy: the status and header HTTP clients and proxies understand, too.
    let retry_later = retry_later_for(&response);
    let mut response = GraphQLResponse::from(response).into_response();
    if let Some((status, secs)) = retry_later {
        *response.status_mut() = status;
        if let Ok(value) = header::HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// The initial read buffer of a subscription's WebSocket.
const WS_READ_BUFFER: usize = 4 * 1024;

/// The largest message a client may send over a subscription's WebSocket (a `subscribe` with
/// its query and variables).
const WS_MAX_MESSAGE: usize = 256 * 1024;

async fn graphql_get(
    State(state): State<HttpState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    protocol: Result<GraphQLProtocol, StatusCode>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // Anything but a WebSocket upgrade gets GraphiQL (queries are POSTed), from this
    // service's own files: nothing it loads comes from a CDN.
    let (Ok(upgrade), Ok(protocol)) = (upgrade, protocol) else {
        return crate::web::graphiql_page();
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // tungstenite's defaults (128 KiB read and write buffers per socket, 64 MiB messages)
        // are sized for bulk transfer; a subscription's frames are a few hundred bytes. These
        // keep an open subscription at a few KiB (BENCHMARKS.md, subscriptions). The buffers
        // still grow for a larger frame, up to the message limit.
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(WS_MAX_MESSAGE)
        .on_upgrade(move |socket| {
            let origin = foreign_origin(&headers, state.public_origin.as_deref());
            let caller = Caller {
                client,
                request_id,
                origin,
                legacy_protocol: legacy_protocol(&headers),
            };
            serve_socket(socket, state, protocol, caller)
        })
}

/// Who opened a subscription socket.
struct Caller {
    client: IpAddr,
    request_id: RequestId,
    /// The page's `Origin`, when a browser opened it.
    origin: Option<String>,
    /// The socket speaks subscriptions-transport-ws (`graphql-ws`), not graphql-transport-ws.
    legacy_protocol: bool,
}

/// Whether the protocol negotiated is the legacy one: the first of the client's
/// `Sec-WebSocket-Protocol` list that the server speaks, read as async-graphql reads it (the
/// first header, any case).
fn legacy_protocol(headers: &HeaderMap) -> bool {
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find(|protocol| {
            protocol.eq_ignore_ascii_case("graphql-transport-ws")
                || protocol.eq_ignore_ascii_case("graphql-ws")
        })
        .is_some_and(|protocol| protocol.eq_ignore_ascii_case("graphql-ws"))
}

/// Close codes of the graphql-transport-ws protocol for a refused `connection_init`.
const CLOSE_UNAUTHORIZED: u16 = 4401;
const CLOSE_FORBIDDEN: u16 = 4403;
/// graphql-transport-ws: no `connection_init` within [`WS_INIT_TIMEOUT`].
const CLOSE_INIT_TIMEOUT: u16 = 4408;
/// WebSocket's own code for a server that is going away.
const CLOSE_GOING_AWAY: u16 = 1001;
/// How long a new socket has to send its `connection_init`.
const WS_INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Not a code the protocol names: HTTP's 429 in the private range, for a socket opened over
/// the rate limit.
const CLOSE_RATE_LIMITED: u16 = 4429;
/// WebSocket's own "try again later": the caller's session could not be checked just now.
const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// async-graphql closes a socket whose `connection_init` was refused with 1002 and the
/// refusal's message as the reason; the message starts with one of these so that
/// [`serve_socket`] can give the protocol's own code instead.
const REFUSED_UNAUTHORIZED: &str = "Unauthorized: ";
const REFUSED_FORBIDDEN: &str = "Forbidden: ";
const REFUSED_RATE_LIMITED: &str = "TooManyRequests: ";
const REFUSED_UNAVAILABLE: &str = "Unavailable: ";

/// Serves one subscription socket. Between async-graphql and the socket sits a pump that
/// sends keep-alives (`ping` on graphql-transport-ws, `ka` on the legacy protocol) every
/// `ws_keepalive`, and turns a refused `connection_init` into close code 4401 (no valid
/// token) or 4403 (a token that may not subscribe here) instead of async-graphql's 1002,
/// and closes a socket that sends no `connection_init` in time with 4408.
/// A graphql-transport-ws client that sends nothing for three keep-alive periods (not even
/// the `pong` a `ping` asks for) is disconnected with 3008.
async fn serve_socket(
    socket: WebSocket,
    state: HttpState,
    protocol: GraphQLProtocol,
    caller: Caller,
) {
    let _open = Running::start(&state.metrics.open_sockets);
    let legacy = caller.legacy_protocol;
    let keepalive = state.ws_keepalive;
    let (mut socket_sink, socket_stream) = socket.split();
    let (to_client, mut outgoing) = futures::channel::mpsc::channel::<WsMessage>(16);
    let auth = state.clone();
    let widget_api_enabled = state.widget_api_enabled;
    let pool = state.pool.clone();
    let limits = state.limits.clone();
    let shutdown = state.shutdown.clone();
    // A console session's token, once the socket named one: checked again every
    // SESSION_RECHECK, so that a sign-out, a deactivation or a reset ends the socket too.
    let session_token: std::sync::Arc<std::sync::Mutex<Option<(Uuid, Uuid, Viewer)>>> =
        Default::default();
    let session_slot = session_token.clone();
    let recheck = state.clone();
    let graphql = GraphQLWebSocket::new_with_pair(
        to_client.sink_map_err(|_| ()),
        socket_stream,
        state.schema.clone(),
        protocol,
    )
    // Legacy clients send nothing after `start`: only graphql-transport-ws ones answer pings.
    .keepalive_timeout((!legacy).then(|| keepalive.saturating_mul(3)))
    .on_connection_init(move |payload| async move {
        let header = authorization_of(&payload);
        let viewer = auth.authenticate(header).await.map_err(|err| {
            // A check that could not be made is not a refusal: the client tries again later.
            let refusal = match err {
                AuthError::Unavailable => REFUSED_UNAVAILABLE,
                _ => REFUSED_UNAUTHORIZED,
            };
            async_graphql::Error::new(format!("{refusal}{err}"))
        })?;
        if let Ok(crate::auth::Verified::Session {
            operator_id,
            session_id,
        }) = auth.auth.verified_from_header(header)
        {
            *session_slot.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((operator_id, session_id, viewer.clone()));
        }
        if !matches!(viewer, Viewer::Operator { .. }) {
            if !widget_api_enabled {
                return Err(async_graphql::Error::new(format!(
                    "{REFUSED_FORBIDDEN}Messenger disabled"
                )));
            }
            // Each socket a widget or an anonymous caller opens counts as a request.
            limits
                .check_ip(caller.client)
                .map_err(|err| async_graphql::Error::new(format!("{REFUSED_RATE_LIMITED}{err}")))?;
        }
        let authentication = Authentication(Ok::<_, AuthError>(viewer));
        check_session_origin(&pool, &authentication, caller.origin.as_deref())
            .await
            .map_err(|err| async_graphql::Error::new(format!("{REFUSED_FORBIDDEN}{err}")))?;
        let mut data = Data::default();
        data.insert(authentication);
        data.insert(caller.request_id);
        data.insert(RequestOrigin(caller.origin));
        data.insert(ClientIp(Some(caller.client.to_string())));
        Ok(data)
    })
    .serve();
    let pump = async move {
        let mut ticks =
            tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let keepalive_frame = if legacy {
            r#"{"type":"ka"}"#
        } else {
            r#"{"type":"ping"}"#
        };
        let init_deadline = tokio::time::sleep(WS_INIT_TIMEOUT);
        tokio::pin!(init_deadline);
        let mut rechecks = tokio::time::interval_at(
            tokio::time::Instant::now() + SESSION_RECHECK,
            SESSION_RECHECK,
        );
        rechecks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut acknowledged = false;
        loop {
            let frame = tokio::select! {
                frame = outgoing.next() => match frame {
                    Some(frame) => with_close_code(frame),
                    None => break,
                },
                _ = ticks.tick() => WsMessage::Text(keepalive_frame.into()),
                // The console session behind the socket ended: so does the socket (4401: the
                // console refreshes, or signs in again).
                // The session is checked, not the access token (which may have expired since:
                // the socket outlives it); roles that changed close it too, so that what it
                // streams follows the profile.
                _ = rechecks.tick() => {
                    let session = session_token.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    let (Some((operator_id, session_id, viewer)), Some(sign_in)) =
                        (session, recheck.sign_in.as_ref())
                    else {
                        continue;
                    };
                    match sign_in.session_viewer(operator_id, session_id).await {
                        Ok(now) if now == viewer => continue,
                        Err(AuthError::Unavailable) => continue,
                        Ok(_) => WsMessage::Close(Some(CloseFrame {
                            code: CLOSE_UNAUTHORIZED,
                            reason: "the operator's roles changed; connect again".into(),
                        })),
                        Err(_) => WsMessage::Close(Some(CloseFrame {
                            code: CLOSE_UNAUTHORIZED,
                            reason: "the session has ended; sign in again".into(),
                        })),
                    }
                }
                // The process stops: the client reconnects, to this node or another.
                _ = shutdown.cancelled() => WsMessage::Close(Some(CloseFrame {
                    code: CLOSE_GOING_AWAY,
                    reason: "The server is shutting down".into(),
                })),
                // A socket that never says who it is does not stay open on pongs alone.
                _ = &mut init_deadline, if !acknowledged => WsMessage::Close(Some(CloseFrame {
                    code: CLOSE_INIT_TIMEOUT,
                    reason: "Connection initialisation timeout".into(),
                })),
            };
            if let WsMessage::Text(text) = &frame {
                acknowledged |= text.as_str().contains(r#""type":"connection_ack""#);
            }
            let closing = matches!(frame, WsMessage::Close(_));
            // A client that stops reading does not hold the socket (and its subscriptions)
            // forever.
            let sent = tokio::time::timeout(keepalive.saturating_mul(3), socket_sink.send(frame));
            if !matches!(sent.await, Ok(Ok(()))) || closing {
                break;
            }
        }
        // The GraphQL side may end without a close frame (a legacy client refused, or
        // gone): close the socket rather than drop it.
        let _ = tokio::time::timeout(keepalive, socket_sink.close()).await;
    };
    // The GraphQL side ends when the client goes or the server closes; the pump when the
    // GraphQL side drops its sender, or the socket fails.
    tokio::join!(graphql, pump);
}

/// How often a socket opened with a console session's token checks that the session is
/// still open.
const SESSION_RECHECK: Duration = Duration::from_secs(5);

/// A close frame for a refused `connection_init`, with the protocol's code.
fn with_close_code(frame: WsMessage) -> WsMessage {
    let WsMessage::Close(Some(close)) = &frame else {
        return frame;
    };
    let (code, reason) = if let Some(reason) = close.reason.strip_prefix(REFUSED_UNAUTHORIZED) {
        (CLOSE_UNAUTHORIZED, reason)
    } else if let Some(reason) = close.reason.strip_prefix(REFUSED_FORBIDDEN) {
        (CLOSE_FORBIDDEN, reason)
    } else if let Some(reason) = close.reason.strip_prefix(REFUSED_RATE_LIMITED) {
        (CLOSE_RATE_LIMITED, reason)
    } else if let Some(reason) = close.reason.strip_prefix(REFUSED_UNAVAILABLE) {
        (CLOSE_TRY_AGAIN_LATER, reason)
    } else {
        return frame;
    };
    // A close reason is at most 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
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

/// Prometheus metrics (OPS-M1), see [`crate::metrics`].
async fn metrics(State(state): State<HttpState>) -> Response {
    let relay = switchboard_commands::relay::checkpoint_name(&state.kafka_topic);
    match state.metrics.render(&state.pool, &relay).await {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
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

/// `POST /telegram/webhook` (TG-1): Telegram's updates, checked against the webhook secret
/// and handed to the bot (see [`crate::telegram`] for the answers).
async fn telegram_webhook(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let refuse = |status: StatusCode, code: &str, message: &str| {
        (
            status,
            axum::Json(serde_json::json!({"code": code, "message": message})),
        )
            .into_response()
    };
    let Some(bot) = state.bot.clone() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "TELEGRAM_DISABLED",
            "Telegram is not set up on this service",
        );
    };
    let presented = headers
        .get(crate::telegram::SECRET_HEADER)
        .map(|v| v.as_bytes());
    if !bot.telegram.secret_matches(presented) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "the X-Telegram-Bot-Api-Secret-Token header is missing or wrong",
        );
    }
    let update: crate::telegram::Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("the body is not a Telegram update: {err}"),
            )
        }
    };
    let Some(message) = update.message else {
        return StatusCode::OK.into_response();
    };
    match bot.handle(&message).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(err) => {
            tracing::error!(error = %err, update_id = update.update_id, "a Telegram update was not handled; Telegram will send it again");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
    }
}

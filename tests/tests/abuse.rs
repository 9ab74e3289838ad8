//! SEC-2 and the subscription handshake, against the running service: rate limits per IP and
//! per widget token (typed `RATE_LIMITED`, HTTP 429 with `Retry-After`, and recovery after
//! the window), the honeypot, the widget-API switch (`404 {"detail": "Messenger disabled"}`),
//! close codes 4401/4403 for a refused `connection_init`, keep-alive pings, and the inboxes'
//! allowed origins (SEC-1). And saturation: with every database connection busy, a typed
//! `UNAVAILABLE` (HTTP 503 with `Retry-After`) that records nothing.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_server::config::Settings;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{create_inbox, error_extensions, start, SEND};
use switchboard_tests::{pool_for, test_settings, TestServer, WsClient};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];

const START: &str = "mutation($input: StartConversationInput!) {
  startConversation(input: $input) { conversationId sessionToken }
}";
const AVAILABILITY: &str = "query($t: String!) { availability(widgetToken: $t) { state } }";

async fn server_with(connect: PgConnectOptions, settings: Settings) -> TestServer {
    TestServer::start(&settings, pool_for(connect).await, ALL).await
}

/// POSTs a query and returns the status, the `Retry-After` header and the body.
async fn post(
    server: &TestServer,
    query: &str,
    variables: Value,
    token: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut request = server
        .http
        .post(format!("{}/graphql", server.base))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap())
}

#[sqlx::test(migrations = "../migrations")]
async fn the_per_ip_limit_refuses_with_retry_after_and_recovers_after_the_window(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut settings = test_settings();
    settings.rate_limit_per_ip = 3;
    settings.rate_limit_window_secs = 2;
    let server = server_with(connect, settings).await;
    let operator = server.operator_token();
    let (_, widget) = create_inbox(&server, &operator, "Support").await;
    let vars = json!({ "t": widget });

    // Each root field counts: aliases do not pack three calls into one.
    let (status, _, body) = post(
        &server,
        "query($t: String!) { a: availability(widgetToken: $t) { state }
           b: availability(widgetToken: $t) { state } c: availability(widgetToken: $t) { state } }",
        vars.clone(),
        None,
    )
    .await;
    assert_eq!((status, body["errors"].clone()), (200, Value::Null));
    let (status, retry_after, body) = post(&server, AVAILABILITY, vars.clone(), None).await;
    assert_eq!(status, 429);
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(
        body["errors"][0]["extensions"],
        json!({ "code": "RATE_LIMITED", "retryAfter": 1 })
    );
    assert_eq!(body["data"], Value::Null);

    // Operators are not limited per IP: a support office shares one address.
    for _ in 0..5 {
        let (status, _, _) = post(&server, "{ inboxes { id } }", json!({}), Some(&operator)).await;
        assert_eq!(status, 200);
    }

    // One request comes back every window/limit; after the retry-after, it passes again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, body) = post(&server, AVAILABILITY, vars, None).await;
    assert_eq!((status, body["errors"].clone()), (200, Value::Null));
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn the_per_widget_limit_counts_all_visitors_of_an_inbox_together(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut settings = test_settings();
    settings.rate_limit_per_widget = 2;
    settings.rate_limit_window_secs = 60;
    let server = server_with(connect, settings).await;
    let operator = server.operator_token();
    let (_, widget) = create_inbox(&server, &operator, "Support").await;
    let (_, other_widget) = create_inbox(&server, &operator, "Other").await;

    let input = json!({ "input": { "widgetToken": widget, "message": "Hi" } });
    let first = server.graphql_ok(START, input.clone(), None).await;
    let session = first["startConversation"]["sessionToken"].as_str().unwrap();
    let conversation = first["startConversation"]["conversationId"]
        .as_str()
        .unwrap();
    // The session's calls count against the same inbox.
    let sent = server
        .graphql(
            r#"mutation($c: UUID!) { sendMessage(input: {conversationId: $c, body: "Again"}) { id } }"#,
            json!({ "c": conversation }),
            Some(session),
        )
        .await;
    assert_eq!(sent["errors"], Value::Null, "{sent}");
    let (status, _, refused) = post(
        &server,
        r#"mutation($c: UUID!) { sendMessage(input: {conversationId: $c, body: "And again"}) { id } }"#,
        json!({ "c": conversation }),
        Some(session),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(refused["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    // A new visitor of the same inbox is refused too, inside GraphQL (the inbox is known only
    // once the token is looked up), with nothing recorded.
    let refused = server.graphql(START, input, None).await;
    let extensions = error_extensions(&refused);
    assert_eq!(extensions["code"], "RATE_LIMITED");
    assert!(extensions["retryAfter"].as_u64().unwrap() >= 1);
    // Another inbox's visitors are not affected.
    server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": other_widget } }),
            None,
        )
        .await;
    let conversations: i64 = sqlx::query_scalar(
        "select count(distinct stream_id) from events where stream_type = 'conversation'",
    )
    .fetch_one(&server.pool)
    .await
    .unwrap();
    assert_eq!(conversations, 2);
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_filled_honeypot_is_refused_and_records_nothing(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server_with(connect, test_settings()).await;
    let (_, widget) = create_inbox(&server, &server.operator_token(), "Support").await;
    let events_before: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    let refused = server
        .graphql(
            START,
            json!({ "input": { "widgetToken": widget, "message": "Buy now", "website": "http://spam.example" } }),
            None,
        )
        .await;
    assert_eq!(error_extensions(&refused)["code"], "SPAM_SUSPECTED");
    let refused = server
        .graphql(
            r#"mutation($t: String!) { requestCallback(input: {widgetToken: $t, phone: "+380441234567",
               consent: {textVersion: "v1", accepted: true}, website: "x"}) { callbackId } }"#,
            json!({ "t": widget }),
            None,
        )
        .await;
    assert_eq!(error_extensions(&refused)["code"], "SPAM_SUSPECTED");
    let events_after: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(events_after, events_before);
    // Empty is what the widget sends: accepted.
    server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": widget, "website": "" } }),
            None,
        )
        .await;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn with_the_widget_api_off_widget_calls_get_404_messenger_disabled(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut settings = test_settings();
    settings.widget_api_enabled = false;
    let server = server_with(connect, settings).await;
    let operator = server.operator_token();
    let (_, widget) = create_inbox(&server, &operator, "Support").await;

    let (status, _, body) = post(
        &server,
        START,
        json!({ "input": { "widgetToken": widget } }),
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (404, json!({ "detail": "Messenger disabled" }))
    );
    // Operators go on working.
    let (status, _, body) =
        post(&server, "{ inboxes { title } }", json!({}), Some(&operator)).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({ "data": { "inboxes": [{ "title": "Support" }] } })
        )
    );
    // Attachments too.
    let upload = server
        .http
        .post(format!(
            "{}/attachments?conversationId={}&name=a.pdf",
            server.base,
            uuid::Uuid::now_v7()
        ))
        .body("%PDF-1.4")
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 404);
    assert_eq!(
        upload.json::<Value>().await.unwrap(),
        json!({ "detail": "Messenger disabled" })
    );
    // A widget's subscription socket is refused with 4403.
    let (code, reason) = refused_socket(&server, json!({})).await;
    assert_eq!((code, reason.as_str()), (4403, "Messenger disabled"));
    server.stop().await;
}

/// A graphql-transport-ws socket with nothing sent on it yet, opened from a page at `origin`
/// when given: for the handshake's own refusals, which `WsClient` does not expose.
async fn raw_socket(
    url: String,
    origin: Option<&'static str>,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_static(origin));
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// Opens a graphql-transport-ws socket, sends `connection_init` with `payload`, and returns the
/// close code and reason the server answers with.
async fn refused_socket(server: &TestServer, payload: Value) -> (u16, String) {
    let mut socket = raw_socket(server.ws_url(), None).await;
    socket
        .send(Message::Text(
            json!({ "type": "connection_init", "payload": payload })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("the server answers")
            .expect("a frame before the end")
            .expect("a valid frame");
        if let Message::Close(Some(close)) = frame {
            return (u16::from(close.code), close.reason.to_string());
        }
        assert!(
            !matches!(frame, Message::Text(_)),
            "expected a close, got {frame:?}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bad_token_in_connection_init_closes_with_4401(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server_with(connect, test_settings()).await;
    let (code, reason) =
        refused_socket(&server, json!({ "authorization": "Bearer nonsense" })).await;
    assert_eq!(code, 4401);
    assert!(reason.starts_with("the token is not valid"), "{reason}");
    let (code, reason) = refused_socket(&server, json!({ "authorization": "nonsense" })).await;
    assert_eq!(
        (code, reason.as_str()),
        (4401, "the authorization header must be `Bearer <token>`")
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn idle_sockets_get_keep_alive_pings(_options: PgPoolOptions, connect: PgConnectOptions) {
    let mut settings = test_settings();
    settings.ws_keepalive_secs = 1;
    let server = server_with(connect, settings).await;
    let mut socket = raw_socket(server.ws_url(), None).await;
    let token = server.operator_token();
    socket
        .send(Message::Text(
            json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a keep-alive within the interval")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = frame {
            let message: Value = serde_json::from_str(&text).unwrap();
            let kind = message["type"].as_str().unwrap().to_owned();
            if kind == "ping" {
                socket
                    .send(Message::Text(json!({ "type": "pong" }).to_string().into()))
                    .await
                    .unwrap();
            }
            seen.push(kind);
        }
    }
    assert_eq!(seen, ["connection_ack", "ping", "ping"]);
    // The connection still works after the pings.
    let mut ws = WsClient::connect(&server.ws_url(), Some(&token))
        .await
        .unwrap();
    let id = ws
        .subscribe("subscription { unreadChanged { total } }", json!({}))
        .await
        .unwrap();
    let data = ws.next_data(&id, Duration::from_secs(10)).await.unwrap();
    assert_eq!(data, json!({ "unreadChanged": { "total": 0 } }));
    server.stop().await;
}

/// POSTs a query from a browser page at `origin`.
async fn post_from(
    server: &TestServer,
    origin: &str,
    query: &str,
    variables: Value,
    token: Option<&str>,
) -> (u16, Value) {
    let mut request = server
        .http
        .post(format!("{}/graphql", server.base))
        .header("origin", origin)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[sqlx::test(migrations = "../migrations")]
async fn the_widget_answers_only_pages_of_the_inboxs_allowed_origins(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server_with(connect, test_settings()).await;
    let operator = server.operator_token();
    let created = server
        .graphql_ok(
            r#"mutation { createInbox(input: {settings: {title: "Shop",
               allowedOrigins: ["https://shop.example.com", "https://*.example.org"]}}) { inboxId widgetToken } }"#,
            json!({}),
            Some(&operator),
        )
        .await;
    let widget = created["createInbox"]["widgetToken"].as_str().unwrap();
    switchboard_tests::eventually(Duration::from_secs(60), || async {
        let listed = server
            .graphql_ok(
                "{ inboxes { id allowedOrigins } }",
                json!({}),
                Some(&operator),
            )
            .await;
        (listed["inboxes"][0]["allowedOrigins"]
            == json!(["https://*.example.org", "https://shop.example.com"]))
        .then_some(())
    })
    .await;
    let start = json!({ "input": { "widgetToken": widget, "message": "Hi" } });

    let (status, refused) = post_from(
        &server,
        "https://evil.example.net",
        START,
        start.clone(),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        error_extensions(&refused),
        json!({ "code": "ORIGIN_NOT_ALLOWED" })
    );
    let (_, started) = post_from(
        &server,
        "https://www.example.org",
        START,
        start.clone(),
        None,
    )
    .await;
    assert_eq!(started["errors"], Value::Null, "{started}");
    let session = started["data"]["startConversation"]["sessionToken"]
        .as_str()
        .unwrap();
    let conversation = started["data"]["startConversation"]["conversationId"]
        .as_str()
        .unwrap();

    // The session, used from another site, is refused before anything runs.
    let send =
        r#"mutation($c: UUID!) { sendMessage(input: {conversationId: $c, body: "Hello"}) { id } }"#;
    let (status, refused) = post_from(
        &server,
        "https://evil.example.net",
        send,
        json!({ "c": conversation }),
        Some(session),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        "ORIGIN_NOT_ALLOWED"
    );
    let (status, sent) = post_from(
        &server,
        "https://shop.example.com",
        send,
        json!({ "c": conversation }),
        Some(session),
    )
    .await;
    assert_eq!((status, sent["errors"].clone()), (200, Value::Null));
    // Without an Origin (not a browser) the origin list does not apply.
    server
        .graphql_ok(send, json!({ "c": conversation }), Some(session))
        .await;

    // Browsers may call from any page: the preflight passes, the request decides.
    let preflight = server
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", server.base))
        .header("origin", "https://shop.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );

    // A subscription socket from another site is refused with 4403.
    let mut socket = raw_socket(server.ws_url(), Some("https://evil.example.net")).await;
    socket
        .send(Message::Text(
            json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {session}") } })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Close(Some(close)) = frame else {
        panic!("expected a close, got {frame:?}");
    };
    assert_eq!(u16::from(close.code), 4403);
    assert_eq!(
        close.reason.as_str(),
        "the widget of this inbox may not be used from https://evil.example.net"
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn behind_a_proxy_the_client_address_comes_from_its_header(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut settings = test_settings();
    settings.rate_limit_per_ip = 1;
    settings.client_ip_header = Some("x-forwarded-for".into());
    let server = server_with(connect, settings).await;
    let (_, widget) = create_inbox(&server, &server.operator_token(), "Support").await;
    let start = |forwarded: &'static str| {
        server
            .http
            .post(format!("{}/graphql", server.base))
            .header("x-forwarded-for", forwarded)
            .json(&json!({ "query": START, "variables": { "input": { "widgetToken": widget, "message": "Hi" } } }))
            .send()
    };
    assert_eq!(start("203.0.113.1").await.unwrap().status(), 200);
    assert_eq!(start("203.0.113.1").await.unwrap().status(), 429);
    // The proxy appends what it saw: the right-most address is the client's, whatever the
    // client itself put in front.
    assert_eq!(
        start("203.0.113.1, 198.51.100.7").await.unwrap().status(),
        200
    );
    assert_eq!(start("198.51.100.7").await.unwrap().status(), 429);
    // Read through the log's reader: a contact's address is stored sealed (GDPR-2).
    let events =
        switchboard_commands::log::read_filtered(&server.pool, &Default::default(), 0, 1_000)
            .await
            .unwrap();
    let ips: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e.event.event_type == "ConversationStarted")
        .filter_map(|e| e.event.metadata["ip"].as_str())
        .collect();
    assert_eq!(
        ips.into_iter().collect::<Vec<_>>(),
        ["198.51.100.7", "203.0.113.1"]
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn operations_over_a_websocket_count_against_the_limit_too(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut settings = test_settings();
    settings.rate_limit_per_ip = 3;
    settings.rate_limit_window_secs = 600;
    let server = server_with(connect, settings).await;
    let (_, widget) = create_inbox(&server, &server.operator_token(), "Support").await;
    // One: the start.
    let started = server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": widget, "message": "Hi" } }),
            None,
        )
        .await;
    let session = started["startConversation"]["sessionToken"]
        .as_str()
        .unwrap();
    let conversation = started["startConversation"]["conversationId"]
        .as_str()
        .unwrap();
    // Two: the socket.
    let mut ws = WsClient::connect(&server.ws_url(), Some(session))
        .await
        .unwrap();
    let send = r#"mutation($c: UUID!) { sendMessage(input: {conversationId: $c, body: "Over the socket"}) { body } }"#;
    // Three: a mutation over it.
    let id = ws
        .subscribe(send, json!({ "c": conversation }))
        .await
        .unwrap();
    assert_eq!(
        ws.next_data(&id, Duration::from_secs(10)).await.unwrap(),
        json!({ "sendMessage": { "body": "Over the socket" } })
    );
    // Four: refused, and nothing recorded.
    let id = ws
        .subscribe(send, json!({ "c": conversation }))
        .await
        .unwrap();
    let refused = ws
        .first_message(&id, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("an answer");
    let errors = match refused["type"].as_str() {
        Some("next") => refused["payload"]["errors"].clone(),
        _ => refused["payload"].clone(),
    };
    assert_eq!(errors[0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    let messages: i64 = sqlx::query_scalar(
        "select count(*) from events where event_type = 'MessagePosted' and stream_id = $1::uuid",
    )
    .bind(conversation)
    .fetch_one(&server.pool)
    .await
    .unwrap();
    assert_eq!(messages, 2);
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn with_the_widget_api_off_a_token_that_fails_does_not_get_through(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut settings = test_settings();
    settings.widget_api_enabled = false;
    let server = server_with(connect, settings).await;
    let operator = server.operator_token();
    let (_, widget) = create_inbox(&server, &operator, "Support").await;
    let input = json!({ "input": { "widgetToken": widget } });
    let (status, _, body) = post(&server, START, input.clone(), Some("garbage")).await;
    assert_eq!(
        (status, body),
        (404, json!({ "detail": "Messenger disabled" }))
    );
    // An operator presenting the widget token gets no further.
    let refused = server.graphql(START, input, Some(&operator)).await;
    assert_eq!(error_extensions(&refused)["code"], "MESSENGER_DISABLED");
    let started: i64 =
        sqlx::query_scalar("select count(*) from events where event_type = 'ConversationStarted'")
            .fetch_one(&server.pool)
            .await
            .unwrap();
    assert_eq!(started, 0);
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_socket_that_never_sends_connection_init_is_closed_with_4408(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server_with(connect, test_settings()).await;
    let mut socket = raw_socket(server.ws_url(), None).await;
    let close = loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("closed within the initialisation timeout")
            .expect("a frame before the end")
            .expect("a valid frame");
        if let Message::Close(Some(close)) = frame {
            break close;
        }
    };
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (4408, "Connection initialisation timeout")
    );
    server.stop().await;
}

/// Every connection busy (the overload of BENCHMARKS §7 at 1,000 msg/s): the caller is told
/// `UNAVAILABLE` with HTTP 503 and `Retry-After`, not `INTERNAL`, nothing is recorded, and
/// the same request succeeds once connections come free.
#[sqlx::test(migrations = "../migrations")]
async fn a_saturated_service_answers_unavailable_and_records_nothing(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // A conversation to write to, made by the whole service.
    let setup = server_with(connect.clone(), test_settings()).await;
    let c = start(&setup, json!({ "name": "Olena", "message": "Hello" })).await;
    setup.stop().await;
    // Then the API alone, on a small pool that gives up waiting quickly.
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_millis(300))
        .connect_with(connect)
        .await
        .unwrap();
    let server = TestServer::start(&test_settings(), pool.clone(), &[Component::Api]).await;
    let events = || async {
        let n: i64 = sqlx::query_scalar("select count(*) from events")
            .fetch_one(&server.pool)
            .await
            .unwrap();
        n
    };
    let before = events().await;

    // Take every connection the service could use.
    let mut held = Vec::new();
    while let Ok(connection) = pool.acquire().await {
        held.push(connection);
    }
    assert!(!held.is_empty());
    let input = json!({ "input": {
        "conversationId": c.conversation_id, "body": "Are you there?",
        "clientMessageId": Uuid::now_v7(),
    }});
    let (status, retry_after, body) = post(&server, SEND, input.clone(), Some(&c.session)).await;
    assert_eq!((status, retry_after.as_deref()), (503, Some("1")));
    insta::assert_json_snapshot!("unavailable_when_saturated", body);
    // Nothing was recorded (read on a held connection, before any retry could dedupe it).
    let during: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&mut *held[0])
        .await
        .unwrap();
    assert_eq!(during, before);
    // The widget's attachment route answers the same way, in its own JSON.
    let upload = server
        .http
        .post(format!(
            "{}/attachments?conversationId={}&name=a.pdf",
            server.base, c.conversation_id
        ))
        .bearer_auth(&c.session)
        .body("%PDF-1.4")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            upload.status().as_u16(),
            upload.headers().get("retry-after").cloned()
        ),
        (503, Some(HeaderValue::from_static("1")))
    );
    assert_eq!(
        upload.json::<Value>().await.unwrap(),
        json!({ "code": "UNAVAILABLE", "message": "the service is busy; retry in 1 s",
                "retryAfter": 1 })
    );

    // Connections free again: the same request goes through, once.
    drop(held);
    let (status, retry_after, body) = post(&server, SEND, input, Some(&c.session)).await;
    assert_eq!((status, retry_after), (200, None), "{body}");
    assert_eq!(body["data"]["sendMessage"]["body"], "Are you there?");
    assert_eq!(events().await, before + 1);
    server.stop().await;
}

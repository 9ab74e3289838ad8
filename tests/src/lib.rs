//! The harness for Switchboard's end-to-end tests (`tests/tests/*.rs`): starts the real
//! service in-process on a fresh `#[sqlx::test]` database and a fresh Kafka topic, and talks
//! to it as clients do: GraphQL over HTTP, subscriptions over a real WebSocket speaking
//! graphql-transport-ws.
//!
//! Needs PostgreSQL (`DATABASE_URL`) and a Kafka-protocol broker
//! (`SWITCHBOARD_KAFKA_BROKERS`, default 127.0.0.1:9092); `make test` starts both.

use std::time::Duration;

use anyhow::{bail, Context as _};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use switchboard_server::config::{DatabaseArgs, Settings};
use switchboard_server::runtime::{start, Component, Running};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

pub mod browser;
pub mod fakes;

pub const JWT_SECRET: &str = "end-to-end-tests-secret-of-at-least-32-bytes";

/// Logs from the service under test, when `SWITCHBOARD_LOG` is set (e.g. `info`).
pub fn init_logging() {
    if let Ok(filter) = std::env::var("SWITCHBOARD_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

pub fn kafka_brokers() -> String {
    std::env::var("SWITCHBOARD_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// The header the tests' "trusted proxy" puts the visitor's region in (INBOX-2).
pub const REGION_HEADER: &str = "x-visitor-region";

/// Settings for one test: a port of its own, a topic and consumer groups of its own.
pub fn test_settings() -> Settings {
    let unique = Uuid::now_v7().simple().to_string();
    Settings {
        database: DatabaseArgs {
            url: "set by the test's pool".into(),
            max_connections: 20,
        },
        kafka_brokers: kafka_brokers(),
        kafka_topic: format!("switchboard-test-{unique}"),
        kafka_partitions: 3,
        kafka_group_prefix: format!("switchboard-test-{unique}"),
        listen: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: JWT_SECRET.into(),
        widget_session_hours: 1,
        max_body_chars: 4000,
        typing_ttl_ms: 1000,
        default_phone_region: Some("UA".into()),
        region_header: Some(REGION_HEADER.into()),
        client_ip_header: None,
        geoip_db: None,
        attachments_dir: std::env::temp_dir().join(format!("switchboard-test-{unique}")),
        max_upload_bytes: 1024 * 1024,
        // Long enough that no other test's conversation closes under it.
        inactivity_secs: 3600,
        retention_secs: 3600,
        priority_raise_secs: 3600,
        scheduler_tick_ms: 100,
        relay_poll_ms: 200,
        kafka_fetch_wait_ms: 10,
        // The webhook retry schedule in milliseconds instead of half-minutes.
        webhook_backoff_unit_ms: 1,
        webhook_timeout_ms: 2000,
        webhook_poll_ms: 50,
        webhook_disable_after_dead: 5,
        ws_keepalive_secs: 15,
        // Tests make many calls from one address; the rate-limit tests set their own.
        rate_limit_per_ip: 0,
        rate_limit_per_widget: 0,
        rate_limit_window_secs: 60,
        widget_api_enabled: true,
        demo: false,
        // Telegram and e-mail off unless a test points them at its fakes; retries in
        // milliseconds.
        notify: switchboard_server::config::NotifyArgs {
            notify_backoff_unit_ms: 20,
            notify_poll_ms: 50,
            notify_timeout_ms: 2000,
            ..Default::default()
        },
    }
}

/// [`test_settings`] with Telegram pointed at `bot` and, if given, e-mail at `smtp`.
pub fn settings_with_fakes(bot: &fakes::FakeBotApi, smtp: Option<&fakes::SmtpSink>) -> Settings {
    let mut settings = test_settings();
    settings.notify.telegram_bot_token = Some(fakes::BOT_TOKEN.into());
    settings.notify.telegram_api_url = bot.base.clone();
    settings.notify.telegram_webhook_secret = Some(fakes::WEBHOOK_SECRET.into());
    settings.notify.smtp_url = smtp.map(|s| s.url.clone());
    settings
}

/// A pool of our own on the test database (the one `#[sqlx::test]` hands out is small).
pub async fn pool_for(connect: PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        .max_connections(20)
        .connect_with(connect.options([("idle_in_transaction_session_timeout", "10s")]))
        .await
        .expect("connecting to the test database")
}

/// The service, started in-process.
pub struct TestServer {
    /// `None` only while [`TestServer::restart`] runs, or paused.
    running: Option<Running>,
    /// Where a paused service listened.
    paused_at: Option<std::net::SocketAddr>,
    /// The test database the service runs on.
    pub pool: PgPool,
    pub base: String,
    pub http: reqwest::Client,
}

impl TestServer {
    pub async fn start(settings: &Settings, pool: PgPool, components: &[Component]) -> Self {
        init_logging();
        let running = start(settings, pool.clone(), components)
            .await
            .expect("service starts");
        let base = running
            .addr
            .map(|a| format!("http://{a}"))
            .unwrap_or_default();
        Self {
            running: Some(running),
            paused_at: None,
            pool,
            base,
            http: reqwest::Client::new(),
        }
    }

    pub async fn stop(self) {
        if let Some(running) = self.running {
            running.stop().await.expect("service stops cleanly");
        }
    }

    /// Stops the service (its address stops answering) until [`TestServer::resume`].
    pub async fn pause(&mut self) {
        let running = self.running.take().expect("the service runs");
        self.paused_at = running.addr;
        running.stop().await.expect("service stops cleanly");
    }

    /// Starts the paused service again with `settings`, on the port it had.
    pub async fn resume(&mut self, settings: &Settings, components: &[Component]) {
        let mut settings = settings.clone();
        settings.listen = self.paused_at.take().expect("the service was paused");
        let again = start(&settings, self.pool.clone(), components)
            .await
            .expect("service restarts");
        self.running = Some(again);
    }

    /// Stops the service and starts it again with `settings` on the same port: what clients
    /// see of a restart (their sockets drop; the same address answers again).
    pub async fn restart(&mut self, settings: &Settings, components: &[Component]) {
        self.pause().await;
        self.resume(settings, components).await;
    }

    /// POSTs a GraphQL request and returns the whole response body.
    pub async fn graphql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        self.graphql_with_headers(query, variables, token, &[])
            .await
    }

    /// Like [`TestServer::graphql`], with extra request headers (a proxy's, say).
    pub async fn graphql_with_headers(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Value {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("HTTP request");
        response.json().await.expect("a JSON response")
    }

    /// Registers an operator (as an admin) and returns their id and a token with their roles.
    pub async fn register_operator(
        &self,
        name: &str,
        roles: Vec<switchboard_api::auth::Role>,
        branch_id: Option<Uuid>,
        capacity: Option<i32>,
    ) -> (Uuid, String) {
        let (id, token) = operator_with_roles(roles.clone());
        let roles: Vec<String> = roles.iter().map(|r| r.as_str().to_uppercase()).collect();
        self.graphql_ok(
            "mutation($input: RegisterOperatorInput!) { registerOperator(input: $input) { changed } }",
            json!({ "input": {
                "operatorId": id,
                "profile": { "name": name, "roles": roles, "branchId": branch_id, "capacity": capacity }
            }}),
            Some(&operator_token()),
        )
        .await;
        (id, token)
    }

    /// Sets a registered operator's status (as themselves).
    pub async fn set_status(&self, token: &str, status: &str) {
        self.graphql_ok(
            "mutation($s: OperatorStatus!) { setOperatorStatus(status: $s) { changed } }",
            json!({ "s": status }),
            Some(token),
        )
        .await;
    }

    /// Like [`TestServer::graphql`], but fails on any GraphQL error and returns `data`.
    pub async fn graphql_ok(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let response = self.graphql(query, variables, token).await;
        assert!(
            response.get("errors").is_none(),
            "GraphQL errors: {response}"
        );
        response["data"].clone()
    }

    pub fn ws_url(&self) -> String {
        format!("{}/graphql", self.base.replacen("http", "ws", 1))
    }

    pub fn operator_token(&self) -> String {
        operator_token()
    }
}

pub fn operator_token() -> String {
    operator_token_for(Uuid::now_v7())
}

/// An admin's token for operator `id`.
pub fn operator_token_for(id: Uuid) -> String {
    let auth = switchboard_api::auth::Auth::new(JWT_SECRET, Duration::from_secs(60)).unwrap();
    auth.issue_operator(
        id,
        vec![switchboard_api::auth::Role::Admin],
        Duration::from_secs(600),
    )
}

/// A graphql-transport-ws client over a real WebSocket.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Messages for other subscriptions, received while waiting for one.
    pending: std::collections::VecDeque<Value>,
}

impl WsClient {
    /// Connects and completes `connection_init` / `connection_ack`.
    pub async fn connect(url: &str, token: Option<&str>) -> anyhow::Result<Self> {
        let mut request = url.into_client_request()?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (socket, response) = tokio_tungstenite::connect_async(request).await?;
        let protocol = response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok());
        if protocol != Some("graphql-transport-ws") {
            bail!("server chose protocol {protocol:?}");
        }
        let mut client = Self {
            socket,
            next_id: 1,
            pending: Default::default(),
        };
        let payload = match token {
            Some(token) => json!({ "authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await?;
        let ack = client.receive(Duration::from_secs(10)).await?;
        if ack["type"] != "connection_ack" {
            bail!("expected connection_ack, got {ack}");
        }
        Ok(client)
    }

    async fn send(&mut self, message: Value) -> anyhow::Result<()> {
        self.socket
            .send(WsMessage::Text(message.to_string().into()))
            .await?;
        Ok(())
    }

    /// The next protocol message (answering pings on the way).
    pub async fn receive(&mut self, within: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .context("no message in time")?
                .context("the socket closed")??;
            let WsMessage::Text(text) = frame else {
                continue;
            };
            let message: Value = serde_json::from_str(&text)?;
            if message["type"] == "ping" {
                self.send(json!({ "type": "pong" })).await?;
                continue;
            }
            return Ok(message);
        }
    }

    /// Starts a subscription; returns its id.
    pub async fn subscribe(&mut self, query: &str, variables: Value) -> anyhow::Result<String> {
        let id = self.next_id.to_string();
        self.next_id += 1;
        self.send(json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        }))
        .await?;
        Ok(id)
    }

    /// The first message (`next`, `error` or `complete`) for subscription `id`, or `None` if
    /// none came within `within`.
    pub async fn first_message(
        &mut self,
        id: &str,
        within: Duration,
    ) -> anyhow::Result<Option<Value>> {
        if let Some(index) = self.pending.iter().position(|m| m["id"] == id) {
            return Ok(self.pending.remove(index));
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match self.receive(left).await {
                Ok(message) if message["id"] == id => return Ok(Some(message)),
                Ok(message) => self.pending.push_back(message),
                // The wait ran out: nothing came.
                Err(_) if tokio::time::Instant::now() >= deadline => return Ok(None),
                Err(err) => return Err(err),
            }
        }
    }

    /// The next `next` payload's `data` for subscription `id`; fails on `error` or timeout.
    pub async fn next_data(&mut self, id: &str, within: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = match self.pending.iter().position(|m| m["id"] == id) {
                Some(index) => self.pending.remove(index).expect("index is in range"),
                None => {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    let message = self.receive(left).await?;
                    if message["id"] != id {
                        self.pending.push_back(message);
                        continue;
                    }
                    message
                }
            };
            match message["type"].as_str() {
                Some("next") => {
                    if let Some(errors) = message["payload"].get("errors") {
                        bail!("subscription error: {errors}");
                    }
                    return Ok(message["payload"]["data"].clone());
                }
                Some("error") => bail!("subscription refused: {}", message["payload"]),
                Some("complete") => bail!("subscription completed"),
                _ => continue,
            }
        }
    }
}

/// Polls `check` until it returns `Some`, or fails after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("condition not met within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Widget and operator calls the end-to-end tests share.
pub mod calls {
    use super::*;

    pub const START: &str = "mutation($input: StartConversationInput!) {
      startConversation(input: $input) { conversationId contactId sessionToken message { id body position } }
    }";
    pub const SEND: &str = "mutation($input: SendMessageInput!) {
      sendMessage(input: $input) { id conversationId position body sender { kind id } channel internal }
    }";
    pub const REPLY: &str = "mutation($input: ReplyInput!) {
      replyToConversation(input: $input) { id position body sender { kind id } internal }
    }";
    pub const NOTE: &str = "mutation($input: InternalNoteInput!) {
      addInternalNote(input: $input) { id position body sender { kind id } internal }
    }";
    pub const CONVERSATION: &str = "query($id: UUID!) { conversation(id: $id) {
      id status priority tags subject resolvedAt closedAt reopenCount messageCount assigneeId
      rating { scale score comment }
      messages(first: 100) { nodes { id position body internal readAt sender { kind } } }
    } }";

    /// A started conversation: its id and the widget session token.
    pub struct Started {
        pub conversation_id: String,
        pub session: String,
        pub contact_id: String,
    }

    pub const CREATE_INBOX: &str = "mutation($input: CreateInboxInput!) {
      createInbox(input: $input) { inboxId widgetToken }
    }";

    /// A new inbox titled `title`, once the projection shows it: its id and widget token.
    pub async fn create_inbox(server: &TestServer, admin: &str, title: &str) -> (String, String) {
        let data = server
            .graphql_ok(
                CREATE_INBOX,
                json!({ "input": { "settings": { "title": title } } }),
                Some(admin),
            )
            .await;
        let id = data["createInbox"]["inboxId"].as_str().unwrap().to_owned();
        let token = data["createInbox"]["widgetToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let listed = server
                .graphql_ok("{ inboxes { id } }", json!({}), Some(admin))
                .await;
            if listed["inboxes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["id"] == id)
            {
                return (id, token);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "inbox never projected"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts a conversation; without a `widgetToken` in `input`, in a new inbox.
    pub async fn start(server: &TestServer, input: Value) -> Started {
        let mut input = input;
        if input.get("widgetToken").is_none() {
            let (_, token) = create_inbox(server, &server.operator_token(), "Support").await;
            input["widgetToken"] = json!(token);
        }
        let data = server
            .graphql_ok(START, json!({ "input": input }), None)
            .await;
        let started = &data["startConversation"];
        Started {
            conversation_id: started["conversationId"].as_str().unwrap().to_owned(),
            session: started["sessionToken"].as_str().unwrap().to_owned(),
            contact_id: started["contactId"].as_str().unwrap().to_owned(),
        }
    }

    /// The operator's view of a conversation once `ready` holds for it (the projection is
    /// asynchronous), or a panic after a minute.
    pub async fn conversation_when(
        server: &TestServer,
        operator: &str,
        conversation_id: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let data = server
                .graphql_ok(
                    CONVERSATION,
                    json!({ "id": conversation_id }),
                    Some(operator),
                )
                .await;
            let conversation = data["conversation"].clone();
            if !conversation.is_null() && ready(&conversation) {
                return conversation;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("conversation never got ready; last seen: {conversation}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `extensions` of the first error of a response that must have failed.
    pub fn error_extensions(response: &Value) -> Value {
        assert_eq!(
            response["data"],
            Value::Null,
            "expected a refusal: {response}"
        );
        response["errors"][0]["extensions"].clone()
    }
}

/// A token with the given roles, for role checks.
pub fn token_with_roles(roles: Vec<switchboard_api::auth::Role>) -> String {
    operator_with_roles(roles).1
}

/// A new operator id and a token for it with the given roles.
pub fn operator_with_roles(roles: Vec<switchboard_api::auth::Role>) -> (Uuid, String) {
    let auth = switchboard_api::auth::Auth::new(JWT_SECRET, Duration::from_secs(60)).unwrap();
    let id = Uuid::now_v7();
    (id, auth.issue_operator(id, roles, Duration::from_secs(600)))
}

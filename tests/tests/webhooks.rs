//! Webhook deliveries end to end (SPEC PROJ-4, INT-2): endpoints registered over GraphQL, the
//! real relay, projection and delivery worker, and a local HTTP receiver that checks both
//! signatures itself (with its own HMAC code, not the service's) and answers as each test
//! needs: failing first, failing always, or accepting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_server::runtime::{Component, EventLogReader};
use switchboard_tests::calls::{create_inbox, error_extensions, start, NOTE, REPLY, SEND};
use switchboard_tests::{eventually, pool_for, test_settings, token_with_roles, TestServer};
use uuid::Uuid;

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];
const WAIT: Duration = Duration::from_secs(60);

/// How the receiver answers.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// 500 to the first `n` requests of each `webhook-id`, then 200.
    FailFirst(usize),
    /// 500 to everything.
    AlwaysFail,
}

/// A request the receiver got, and what it answered.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
    answered: u16,
}

#[derive(Default)]
struct ReceiverState {
    secret: Option<String>,
    mode: Option<Mode>,
    seen: HashMap<String, usize>,
    requests: Vec<Received>,
}

#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<ReceiverState>>);

impl Receiver {
    fn set_secret(&self, secret: &str) {
        self.0.lock().unwrap().secret = Some(secret.to_owned());
    }

    fn set_mode(&self, mode: Mode) {
        self.0.lock().unwrap().mode = Some(mode);
    }

    fn requests(&self) -> Vec<Received> {
        self.0.lock().unwrap().requests.clone()
    }

    /// The accepted requests' `X-Messenger-Event`s, sorted.
    fn accepted_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self
            .requests()
            .iter()
            .filter(|r| r.answered == 200)
            .map(|r| r.headers["x-messenger-event"].clone())
            .collect();
        types.sort();
        types
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Both signatures, checked as an integrator would.
fn signatures_hold(secret: &str, headers: &HashMap<String, String>, body: &[u8]) -> bool {
    let (Some(id), Some(timestamp), Some(signature), Some(messenger)) = (
        headers.get("webhook-id"),
        headers.get("webhook-timestamp"),
        headers.get("webhook-signature"),
        headers.get("x-messenger-signature"),
    ) else {
        return false;
    };
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let expected = format!(
        "v1,{}",
        BASE64.encode(hmac_sha256(
            &key,
            &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]
        ))
    );
    let standard_ok = signature.split(' ').any(|s| s == expected);
    let messenger_ok = *messenger == hex::encode(hmac_sha256(secret.as_bytes(), &[body]));
    standard_ok && messenger_ok
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let mut state = receiver.0.lock().unwrap();
    let secret = state.secret.clone().expect("the test set the secret");
    let answer = if !signatures_hold(&secret, &headers, &body) {
        StatusCode::UNAUTHORIZED
    } else {
        let id = headers["webhook-id"].clone();
        let mode = state.mode.expect("the test set the mode");
        let seen = state.seen.entry(id).or_default();
        *seen += 1;
        match mode {
            Mode::FailFirst(n) if *seen <= n => StatusCode::INTERNAL_SERVER_ERROR,
            Mode::FailFirst(_) => StatusCode::OK,
            Mode::AlwaysFail => StatusCode::INTERNAL_SERVER_ERROR,
        }
    };
    state.requests.push(Received {
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
        answered: answer.as_u16(),
    });
    answer
}

/// A receiver on 127.0.0.1 and its URL.
async fn spawn_receiver(mode: Mode) -> (String, Receiver) {
    let receiver = Receiver::default();
    receiver.set_mode(mode);
    let app = axum::Router::new()
        .route("/hooks", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, receiver)
}

const REGISTER: &str = "mutation($input: RegisterWebhookEndpointInput!) {
  registerWebhookEndpoint(input: $input) { endpointId secret } }";

const DELIVERIES: &str = "query($id: UUID!, $status: WebhookDeliveryStatus) {
  webhookDeliveries(endpointId: $id, status: $status, first: 50) {
    nodes { id eventId eventType status attemptCount body
            attempts { number statusCode error succeeded durationMs } }
    pageInfo { hasNextPage endCursor } } }";

const ENDPOINTS: &str = "query($inbox: UUID!) { webhookEndpoints(inboxId: $inbox) {
  id url eventTypes enabled disabledReason disabledDetail } }";

/// Registers an endpoint for `receiver` and tells the receiver its secret.
async fn register(
    server: &TestServer,
    admin: &str,
    inbox: &str,
    url: &str,
    types: &[&str],
    receiver: &Receiver,
) -> (Uuid, String) {
    let data = server
        .graphql_ok(
            REGISTER,
            json!({ "input": { "inboxId": inbox, "url": url, "eventTypes": types } }),
            Some(admin),
        )
        .await;
    let secret = data["registerWebhookEndpoint"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    receiver.set_secret(&secret);
    let id = data["registerWebhookEndpoint"]["endpointId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (id, secret)
}

async fn deliveries(server: &TestServer, admin: &str, endpoint: Uuid) -> Vec<Value> {
    let data = server
        .graphql_ok(DELIVERIES, json!({ "id": endpoint }), Some(admin))
        .await;
    data["webhookDeliveries"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// The endpoint's deliveries once `ready` holds for all of them (and there are `count`).
async fn deliveries_when(
    server: &TestServer,
    admin: &str,
    endpoint: Uuid,
    count: usize,
    ready: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    eventually(WAIT, || async {
        let nodes = deliveries(server, admin, endpoint).await;
        (nodes.len() == count && nodes.iter().all(&ready)).then_some(nodes)
    })
    .await
}

fn status_codes(delivery: &Value) -> Vec<Value> {
    delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["statusCode"].clone())
        .collect()
}

/// The event id of the first event of `event_type` in the conversation's stream.
async fn event_id(server: &TestServer, conversation: &str, event_type: &str) -> Uuid {
    sqlx::query_scalar(
        "select event_id from events where stream_id = $1 and event_type = $2
         order by stream_version limit 1",
    )
    .bind(conversation.parse::<Uuid>().unwrap())
    .bind(event_type)
    .fetch_one(&server.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn proj_4_signed_deliveries_retried_until_accepted(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let admin = server.operator_token();
    let (inbox, widget) = create_inbox(&server, &admin, "Support").await;
    let (messages_url, messages) = spawn_receiver(Mode::FailFirst(3)).await;
    let (created_url, created) = spawn_receiver(Mode::FailFirst(0)).await;
    let (all_url, all) = spawn_receiver(Mode::FailFirst(0)).await;
    let (messages_id, secret) = register(
        &server,
        &admin,
        &inbox,
        &messages_url,
        &["MESSAGE_IN", "MESSAGE_OUT"],
        &messages,
    )
    .await;
    let (created_id, _) = register(
        &server,
        &admin,
        &inbox,
        &created_url,
        &["CONVERSATION_CREATED"],
        &created,
    )
    .await;
    let every_type = [
        "CONVERSATION_CREATED",
        "CONVERSATION_CLOSED",
        "MESSAGE_IN",
        "MESSAGE_OUT",
        "CONVERSATION_STATUS_CHANGED",
        "CONVERSATION_ASSIGNED",
        "CONVERSATION_RATED",
        "CALLBACK_REQUESTED",
    ];
    let (all_id, _) = register(&server, &admin, &inbox, &all_url, &every_type, &all).await;

    let conversation = start(
        &server,
        json!({ "widgetToken": widget, "name": "Olena", "message": "Where is my order?" }),
    )
    .await;
    let id = conversation.conversation_id.clone();
    server
        .graphql_ok(
            NOTE,
            json!({ "input": { "conversationId": id, "body": "VIP, never tell the customer" } }),
            Some(&admin),
        )
        .await;
    server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": id, "body": "It ships today!" } }),
            Some(&admin),
        )
        .await;

    // Each message reaches the messages endpoint once, after three 500s.
    let delivered = deliveries_when(&server, &admin, messages_id, 2, |d| {
        d["status"] == "DELIVERED"
    })
    .await;
    for delivery in &delivered {
        assert_eq!(status_codes(delivery), [500, 500, 500, 200], "{delivery}");
        assert_eq!(delivery["attemptCount"], 4);
        let numbers: Vec<_> = delivery["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["number"].clone())
            .collect();
        assert_eq!(numbers, [1, 2, 3, 4]);
    }
    let requests = messages.requests();
    assert_eq!(
        requests.len(),
        8,
        "four requests per delivery, nothing else"
    );
    assert!(
        requests.iter().all(|r| r.answered != 401),
        "signatures hold"
    );
    assert_eq!(messages.accepted_types(), ["message.in", "message.out"]);

    // The accepted message.in, header by header, and its body.
    let message_in_event = event_id(&server, &id, "MessagePosted").await;
    let webhook_id = Uuid::new_v5(&message_in_event, messages_id.as_bytes()).to_string();
    let tries: Vec<&Received> = requests
        .iter()
        .filter(|r| r.headers["webhook-id"] == webhook_id)
        .collect();
    assert_eq!(tries.len(), 4, "the same webhook-id on every retry");
    assert!(
        tries.windows(2).all(|w| w[0].body == w[1].body),
        "the same body on every retry"
    );
    let accepted = tries.last().unwrap();
    assert_eq!(accepted.answered, 200);
    assert_eq!(accepted.headers["content-type"], "application/json");
    assert_eq!(accepted.headers["x-messenger-event"], "message.in");
    assert_eq!(accepted.headers["x-messenger-inbox-id"], inbox);
    let timestamp: i64 = accepted.headers["webhook-timestamp"].parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 120);
    assert!(accepted.headers["webhook-signature"].starts_with("v1,"));
    assert_eq!(accepted.headers["x-messenger-signature"].len(), 64);
    let body: Value = serde_json::from_str(&accepted.body).unwrap();
    assert_eq!(body["event_id"], message_in_event.to_string());
    assert_eq!(body["conversation"]["id"], id);
    assert_eq!(body["conversation"]["inbox_id"], inbox);
    assert_eq!(
        body["message"]["sender_contact_id"],
        conversation.contact_id
    );
    insta::assert_json_snapshot!("message_in_body", body, {
        ".event_id" => "[event id]",
        ".occurred_at" => "[time]",
        ".message.id" => "[message id]",
        ".message.conversation_id" => "[conversation id]",
        ".message.created_at" => "[time]",
        ".message.sender_contact_id" => "[contact id]",
        ".conversation.id" => "[conversation id]",
        ".conversation.inbox_id" => "[inbox id]",
    });

    // Filtering: only the chosen types; the internal note never.
    deliveries_when(&server, &admin, created_id, 1, |d| {
        d["status"] == "DELIVERED"
    })
    .await;
    assert_eq!(created.accepted_types(), ["conversation.created"]);
    let everything = eventually(WAIT, || async {
        let types = all.accepted_types();
        (types.len() >= 4).then_some(types)
    })
    .await;
    assert_eq!(
        everything,
        [
            "conversation.created",
            "conversation.status_changed",
            "message.in",
            "message.out"
        ]
    );
    for received in messages.requests().iter().chain(all.requests().iter()) {
        assert!(
            !received.body.contains("VIP"),
            "an internal note was sent: {}",
            received.body
        );
    }

    // The secret never reaches the log.
    let leaked: i64 = sqlx::query_scalar(
        "select count(*) from events
         where payload::text like '%' || $1 || '%' or metadata::text like '%' || $1 || '%'",
    )
    .bind(secret.strip_prefix("whsec_").unwrap())
    .fetch_one(&server.pool)
    .await
    .unwrap();
    assert_eq!(leaked, 0);
    let registered: i64 = sqlx::query_scalar(
        "select count(*) from events where event_type = 'WebhookEndpointRegistered'",
    )
    .fetch_one(&server.pool)
    .await
    .unwrap();
    assert_eq!(registered, 3);

    let endpoints = server
        .graphql_ok(ENDPOINTS, json!({ "inbox": inbox }), Some(&admin))
        .await;
    assert_eq!(endpoints["webhookEndpoints"][0]["url"], messages_url);
    assert_eq!(
        endpoints["webhookEndpoints"][0]["eventTypes"],
        json!(["MESSAGE_IN", "MESSAGE_OUT"])
    );
    assert_eq!(endpoints["webhookEndpoints"][0]["enabled"], true);
    let _ = all_id;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn proj_4_dead_letter_then_redeliver(_o: PgPoolOptions, connect: PgConnectOptions) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let admin = server.operator_token();
    let (inbox, widget) = create_inbox(&server, &admin, "Support").await;
    let (url, receiver) = spawn_receiver(Mode::AlwaysFail).await;
    let (endpoint, _) = register(&server, &admin, &inbox, &url, &["MESSAGE_IN"], &receiver).await;
    start(
        &server,
        json!({ "widgetToken": widget, "name": "Olena", "message": "Hello?" }),
    )
    .await;

    let dead = deliveries_when(&server, &admin, endpoint, 1, |d| d["status"] == "DEAD").await;
    assert_eq!(status_codes(&dead[0]), vec![json!(500); 9], "every attempt");
    assert_eq!(receiver.requests().len(), 9);
    let delivery_id = dead[0]["id"].as_str().unwrap().to_owned();

    // Still pending deliveries are not redelivered; unknown ones are not found.
    let unknown = server
        .graphql(
            "mutation($id: UUID!) { redeliverWebhook(deliveryId: $id) { id } }",
            json!({ "id": Uuid::now_v7() }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        error_extensions(&unknown)["code"],
        "WEBHOOK_DELIVERY_NOT_FOUND"
    );

    receiver.set_mode(Mode::FailFirst(0));
    let redelivered = server
        .graphql_ok(
            "mutation($id: UUID!) { redeliverWebhook(deliveryId: $id) { id status attemptCount } }",
            json!({ "id": delivery_id }),
            Some(&admin),
        )
        .await;
    // Pending again, or already delivered: the worker may take the row (its backoff is a
    // millisecond here) before the mutation reads it back.
    assert!(
        ["PENDING", "DELIVERED"].contains(
            &redelivered["redeliverWebhook"]["status"]
                .as_str()
                .unwrap_or_default()
        ),
        "{redelivered}"
    );
    let delivered =
        deliveries_when(&server, &admin, endpoint, 1, |d| d["status"] == "DELIVERED").await;
    let mut expected = vec![json!(500); 9];
    expected.push(json!(200));
    assert_eq!(status_codes(&delivered[0]), expected);
    assert_eq!(receiver.accepted_types(), ["message.in"]);
    let audit: Vec<(String,)> =
        sqlx::query_as("select previous_status from webhook_redeliveries where delivery_id = $1")
            .bind(delivery_id.parse::<Uuid>().unwrap())
            .fetch_all(&server.pool)
            .await
            .unwrap();
    assert_eq!(audit, [("dead".to_owned(),)]);

    // A delivered one can be sent again too.
    let again = server
        .graphql_ok(
            "mutation($id: UUID!) { redeliverWebhook(deliveryId: $id) { status } }",
            json!({ "id": delivery_id }),
            Some(&admin),
        )
        .await;
    assert_eq!(again["redeliverWebhook"]["status"], "PENDING");
    eventually(WAIT, || async {
        (receiver.accepted_types() == ["message.in", "message.in"]).then_some(())
    })
    .await;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn proj_4_failing_endpoint_is_disabled_until_enabled(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut settings = test_settings();
    settings.webhook_disable_after_dead = 2;
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let admin = server.operator_token();
    let (inbox, widget) = create_inbox(&server, &admin, "Support").await;
    let (url, receiver) = spawn_receiver(Mode::AlwaysFail).await;
    let (endpoint, _) = register(&server, &admin, &inbox, &url, &["MESSAGE_IN"], &receiver).await;
    let conversation = start(
        &server,
        json!({ "widgetToken": widget, "name": "Olena", "message": "One" }),
    )
    .await;
    server
        .graphql_ok(
            SEND,
            json!({ "input": { "conversationId": conversation.conversation_id, "body": "Two" } }),
            Some(&conversation.session),
        )
        .await;

    deliveries_when(&server, &admin, endpoint, 2, |d| d["status"] == "DEAD").await;
    let disabled = eventually(WAIT, || async {
        let data = server
            .graphql_ok(ENDPOINTS, json!({ "inbox": inbox }), Some(&admin))
            .await;
        let endpoint = data["webhookEndpoints"][0].clone();
        (endpoint["enabled"] == false).then_some(endpoint)
    })
    .await;
    assert_eq!(disabled["disabledReason"], "FAILING");
    assert!(disabled["disabledDetail"]
        .as_str()
        .unwrap()
        .starts_with("2 deliveries in a row were dead-lettered"));
    let logged: Vec<(Value,)> = sqlx::query_as(
        "select payload from events where event_type = 'WebhookEndpointDisabled' and stream_id = $1",
    )
    .bind(endpoint)
    .fetch_all(&server.pool)
    .await
    .unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].0["reason"], "failing");

    // A pending delivery of a disabled endpoint waits: put one back and see nothing sent.
    receiver.set_mode(Mode::FailFirst(0));
    let first = deliveries(&server, &admin, endpoint).await[0]["id"].clone();
    server
        .graphql_ok(
            "mutation($id: UUID!) { redeliverWebhook(deliveryId: $id) { status } }",
            json!({ "id": first }),
            Some(&admin),
        )
        .await;
    let sent_before = receiver.requests().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        receiver.requests().len(),
        sent_before,
        "nothing sent while disabled"
    );
    let pending = server
        .graphql(
            "mutation($id: UUID!) { redeliverWebhook(deliveryId: $id) { status } }",
            json!({ "id": first }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        error_extensions(&pending)["code"],
        "WEBHOOK_DELIVERY_PENDING"
    );

    // Enabled again, it goes out.
    let enabled = server
        .graphql_ok(
            "mutation($id: UUID!) { enableWebhookEndpoint(endpointId: $id) { changed } }",
            json!({ "id": endpoint }),
            Some(&admin),
        )
        .await;
    assert_eq!(enabled["enableWebhookEndpoint"]["changed"], true);
    eventually(WAIT, || async {
        (receiver.accepted_types() == ["message.in"]).then_some(())
    })
    .await;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn proj_4_bad_input_is_refused_and_changes_nothing(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let admin = server.operator_token();
    let (inbox, _) = create_inbox(&server, &admin, "Support").await;
    let manager = token_with_roles(vec![Role::Manager, Role::Moderator]);
    let refused = |input: Value, token: String| {
        let server = &server;
        async move {
            let response = server
                .graphql(REGISTER, json!({ "input": input }), Some(&token))
                .await;
            error_extensions(&response)
        }
    };
    let good_url = "https://crm.example.com/hooks";
    let cases = [
        (
            json!({ "inboxId": inbox, "url": "ftp://crm.example.com/", "eventTypes": ["MESSAGE_IN"] }),
            admin.clone(),
            "MALFORMED_FIELD",
        ),
        (
            json!({ "inboxId": inbox, "url": "/relative", "eventTypes": ["MESSAGE_IN"] }),
            admin.clone(),
            "MALFORMED_FIELD",
        ),
        (
            json!({ "inboxId": inbox, "url": good_url, "eventTypes": ["MESSAGE_SIDEWAYS"] }),
            admin.clone(),
            "INVALID_REQUEST",
        ),
        (
            json!({ "inboxId": inbox, "url": good_url, "eventTypes": [] }),
            admin.clone(),
            "EMPTY_FIELD",
        ),
        (
            json!({ "inboxId": inbox, "url": good_url, "eventTypes": ["MESSAGE_IN"] }),
            manager.clone(),
            "FORBIDDEN",
        ),
        (
            json!({ "inboxId": Uuid::now_v7(), "url": good_url, "eventTypes": ["MESSAGE_IN"] }),
            admin.clone(),
            "INBOX_NOT_FOUND",
        ),
    ];
    for (input, token, code) in cases {
        let extensions = refused(input.clone(), token).await;
        assert_eq!(extensions["code"], code, "{input}");
    }
    let url_error = refused(
        json!({ "inboxId": inbox, "url": "javascript:alert(1)", "eventTypes": ["MESSAGE_IN"] }),
        admin.clone(),
    )
    .await;
    assert_eq!(url_error["field"], "url");

    for (query, code) in [
        (
            "mutation($id: UUID!) { enableWebhookEndpoint(endpointId: $id) { changed } }",
            "WEBHOOK_ENDPOINT_NOT_FOUND",
        ),
        (
            "mutation($id: UUID!) { rotateWebhookSecret(endpointId: $id) { secret } }",
            "WEBHOOK_ENDPOINT_NOT_FOUND",
        ),
    ] {
        let response = server
            .graphql(query, json!({ "id": Uuid::now_v7() }), Some(&admin))
            .await;
        assert_eq!(error_extensions(&response)["code"], code, "{query}");
    }
    let as_manager = server
        .graphql(ENDPOINTS, json!({ "inbox": inbox }), Some(&manager))
        .await;
    assert_eq!(error_extensions(&as_manager)["code"], "FORBIDDEN");

    let written: i64 =
        sqlx::query_scalar("select count(*) from events where stream_type = 'webhook_endpoint'")
            .fetch_one(&server.pool)
            .await
            .unwrap();
    assert_eq!(written, 0);
    let secrets: i64 = sqlx::query_scalar("select count(*) from webhook_secrets")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(secrets, 0);

    // Rotation: a new secret, recorded as a fact without it.
    let (url, receiver) = spawn_receiver(Mode::FailFirst(0)).await;
    let (endpoint, old) = register(&server, &admin, &inbox, &url, &["MESSAGE_IN"], &receiver).await;
    let rotated = server
        .graphql_ok(
            "mutation($id: UUID!) { rotateWebhookSecret(endpointId: $id) { secret } }",
            json!({ "id": endpoint }),
            Some(&admin),
        )
        .await;
    let new = rotated["rotateWebhookSecret"]["secret"].as_str().unwrap();
    assert!(new.starts_with("whsec_") && new != old);
    let stored: String =
        sqlx::query_scalar("select secret from webhook_secrets where endpoint_id = $1")
            .bind(endpoint)
            .fetch_one(&server.pool)
            .await
            .unwrap();
    assert_eq!(stored, new);
    let facts: Vec<(String,)> = sqlx::query_as(
        "select event_type from events where stream_id = $1 order by stream_version",
    )
    .bind(endpoint)
    .fetch_all(&server.pool)
    .await
    .unwrap();
    assert_eq!(
        facts,
        [
            ("WebhookEndpointRegistered".to_owned(),),
            ("WebhookSecretRotated".to_owned(),)
        ]
    );
    server.stop().await;
}

/// The ordering rule of `switchboard_projections::webhooks`: an endpoint gets exactly the
/// events after its registration's position, whether the conversation's partition runs ahead
/// of the endpoint's or not; the same deliveries either way, and redelivery adds none.
#[sqlx::test(migrations = "../migrations")]
async fn proj_4_ordering_by_log_position_whatever_kafka_brings_first(pool: sqlx::PgPool) {
    use switchboard_commands::log::{EventLog, LoggedEvent, NewEvent, StreamHead};
    use switchboard_domain::event::{
        Channel, Contact, ConversationStarted, MessagePosted, Sender, SenderKind, Source,
        WebhookEndpointRegistered,
    };
    use switchboard_domain::webhook::WebhookEventType;
    use switchboard_domain::DomainEvent;
    use switchboard_projections::runner::apply_batch;
    use switchboard_projections::webhooks::WebhooksProjection;

    let log = EventLog::new(pool.clone());
    let (conversation, inbox, endpoint) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let now = chrono::Utc::now();
    async fn append(
        log: &EventLog,
        stream: Uuid,
        stream_type: &str,
        head: &mut StreamHead,
        event: DomainEvent,
    ) -> LoggedEvent {
        let logged = log
            .append(
                stream,
                stream_type,
                head,
                vec![NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: event.event_type().into(),
                    schema_version: event.schema_version(),
                    payload: event.payload(),
                    metadata: json!({"actor": {"kind": "system", "id": null},
                                     "command_id": Uuid::now_v7(), "correlation_id": Uuid::now_v7()}),
                }],
                chrono::Utc::now(),
            )
            .await
            .unwrap()
            .pop()
            .unwrap();
        *head = logged.head();
        logged
    }
    let message = |body: &str| {
        DomainEvent::MessagePosted(MessagePosted {
            conversation_id: conversation,
            message_id: Uuid::now_v7(),
            sender: Sender {
                kind: SenderKind::Contact,
                id: Some(Uuid::from_u128(3)),
            },
            channel: Channel::Web,
            body: body.into(),
            posted_at: now,
            attachments: vec![],
        })
    };
    let (mut c, mut e) = (StreamHead::default(), StreamHead::default());
    let started = append(
        &log,
        conversation,
        "conversation",
        &mut c,
        DomainEvent::ConversationStarted(ConversationStarted {
            conversation_id: conversation,
            inbox_id: inbox,
            source: Source::Web,
            contact: Contact {
                id: Uuid::from_u128(3),
                name: None,
                email: None,
                phone: None,
            },
            subject: None,
            started_at: now,
            branch_id: None,
            routing: None,
            sla: None,
        }),
    )
    .await;
    let before = append(
        &log,
        conversation,
        "conversation",
        &mut c,
        message("before"),
    )
    .await;
    let registered = append(
        &log,
        endpoint,
        "webhook_endpoint",
        &mut e,
        DomainEvent::WebhookEndpointRegistered(WebhookEndpointRegistered {
            endpoint_id: endpoint,
            inbox_id: inbox,
            url: "https://crm.example.com/hooks".into(),
            event_types: vec![WebhookEventType::MessageIn],
            registered_at: now,
        }),
    )
    .await;
    let after_1 = append(
        &log,
        conversation,
        "conversation",
        &mut c,
        message("after 1"),
    )
    .await;
    let after_2 = append(
        &log,
        conversation,
        "conversation",
        &mut c,
        message("after 2"),
    )
    .await;
    let [started, before, registered, after_1, after_2] =
        [started, before, registered, after_1, after_2].map(|l| l.event);

    let reader = EventLogReader(log.clone());
    let delivered = || async {
        let rows: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
            "select delivery_id, event_id, body from webhook_deliveries order by global_position",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        rows
    };
    let reset = || async {
        for table in [
            "delete from webhook_deliveries",
            "delete from webhook_endpoints",
            "delete from webhook_conversations",
            "delete from projection_stream_positions where projection = 'webhooks'",
        ] {
            sqlx::query(table).execute(&pool).await.unwrap();
        }
    };

    // In the log's order.
    for event in [&started, &before, &registered, &after_1, &after_2] {
        apply_batch(
            &pool,
            &WebhooksProjection,
            &reader,
            std::slice::from_ref(event),
        )
        .await
        .unwrap();
    }
    let in_order = delivered().await;
    let ids: Vec<Uuid> = in_order.iter().map(|r| r.1).collect();
    assert_eq!(ids, [after_1.event_id, after_2.event_id]);
    assert_eq!(
        in_order[0].0,
        Uuid::new_v5(&after_1.event_id, endpoint.as_bytes())
    );

    // The conversation's partition ahead of the endpoint's: the registration catches up.
    reset().await;
    let ahead = [started.clone(), before.clone(), after_1.clone()];
    apply_batch(&pool, &WebhooksProjection, &reader, &ahead)
        .await
        .unwrap();
    assert_eq!(delivered().await, []);
    apply_batch(
        &pool,
        &WebhooksProjection,
        &reader,
        std::slice::from_ref(&registered),
    )
    .await
    .unwrap();
    apply_batch(
        &pool,
        &WebhooksProjection,
        &reader,
        std::slice::from_ref(&after_2),
    )
    .await
    .unwrap();
    assert_eq!(delivered().await, in_order);

    // Everything again, as Kafka redelivers after a crash: nothing new.
    let all = [started, before, registered, after_1, after_2];
    apply_batch(&pool, &WebhooksProjection, &reader, &all)
        .await
        .unwrap();
    assert_eq!(delivered().await, in_order);
}

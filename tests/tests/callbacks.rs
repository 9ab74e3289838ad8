//! SPEC's CALL features end to end through GraphQL, on real PostgreSQL and Kafka.

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{conversation_when, create_inbox, error_extensions, start};
use switchboard_tests::{pool_for, test_settings, TestServer};

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];

const REQUEST: &str = "mutation($input: RequestCallbackInput!) {
  requestCallback(input: $input) { conversationId callbackId sessionToken }
}";
const CALLBACKS: &str = "query($status: CallbackStatus) { callbacks(status: $status) { nodes {
  id conversationId phone consentTextVersion consentIp status scheduledFor outcomeNote
} } }";

fn consent() -> Value {
    json!({ "textVersion": "privacy-2026-01", "accepted": true })
}

async fn callbacks_when(
    server: &TestServer,
    token: &str,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let data = server.graphql_ok(CALLBACKS, json!({}), Some(token)).await;
        let list = data["callbacks"]["nodes"].as_array().unwrap().clone();
        if ready(&list) {
            return list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "last seen: {list:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn call_1_guest_requests_callback(_options: PgPoolOptions, connect: PgConnectOptions) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let (_, manager) = server
        .register_operator("Manager", vec![Role::Manager], None, None)
        .await;
    let (_, widget_token) = create_inbox(&server, &server.operator_token(), "Sales").await;
    let request = |input: Value| {
        let server = &server;
        async move {
            server
                .graphql(REQUEST, json!({ "input": input }), None)
                .await
        }
    };

    // Bad input is refused and records nothing.
    let refused = request(json!({
        "widgetToken": widget_token, "phone": "+380441234567",
        "consent": { "textVersion": "privacy-2026-01", "accepted": false },
    }))
    .await;
    assert_eq!(error_extensions(&refused)["code"], "CONSENT_REQUIRED");
    let refused =
        request(json!({ "widgetToken": widget_token, "phone": "12", "consent": consent() })).await;
    assert_eq!(
        error_extensions(&refused),
        json!({ "code": "MALFORMED_FIELD", "field": "phone",
                "expected": "a phone number with its country code, such as +380441234567" })
    );

    // A guest, no chat: a national number in the configured region becomes E.164.
    let guest = request(json!({
        "widgetToken": widget_token, "phone": "044 123 45 67", "name": "Taras", "consent": consent(),
    }))
    .await;
    let payload = &guest["data"]["requestCallback"];
    assert!(payload["sessionToken"].is_string(), "{guest}");
    let conversation_id = payload["conversationId"].as_str().unwrap().to_owned();

    let listed = callbacks_when(&server, &manager, |list| list.len() == 1).await;
    assert_eq!(
        listed[0],
        json!({
            "id": payload["callbackId"], "conversationId": conversation_id,
            "phone": "+380441234567", "consentTextVersion": "privacy-2026-01",
            "consentIp": "127.0.0.1", "status": "REQUESTED", "scheduledFor": null, "outcomeNote": null,
        })
    );
    let conversation = conversation_when(&server, &manager, &conversation_id, |c| {
        c["status"] == "PENDING_CALLBACK"
    })
    .await;
    assert_eq!(conversation["messageCount"], 0);

    // From a chat: the conversation waits for the call; a second request is refused.
    let c = start(
        &server,
        json!({ "widgetToken": widget_token, "message": "call me" }),
    )
    .await;
    let in_chat = json!({ "conversationId": c.conversation_id, "phone": "+380441234567", "consent": consent() });
    let ok = server
        .graphql_ok(REQUEST, json!({ "input": in_chat }), Some(&c.session))
        .await;
    assert_eq!(ok["requestCallback"]["sessionToken"], Value::Null);
    let again = server
        .graphql(REQUEST, json!({ "input": in_chat }), Some(&c.session))
        .await;
    assert_eq!(error_extensions(&again)["code"], "CALLBACK_ALREADY_PENDING");
    conversation_when(&server, &manager, &c.conversation_id, |c| {
        c["status"] == "PENDING_CALLBACK"
    })
    .await;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn call_2_callback_lifecycle_and_outcome(_options: PgPoolOptions, connect: PgConnectOptions) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let (_, manager) = server
        .register_operator("Manager", vec![Role::Manager], None, None)
        .await;
    let (_, moderator) = server
        .register_operator("Moderator", vec![Role::Moderator], None, None)
        .await;
    let (_, widget_token) = create_inbox(&server, &server.operator_token(), "Sales").await;
    let guest = server
        .graphql_ok(
            REQUEST,
            json!({ "input": { "widgetToken": widget_token, "phone": "+380441234567", "consent": consent() } }),
            None,
        )
        .await;
    let id = guest["requestCallback"]["conversationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let callback = guest["requestCallback"]["callbackId"].clone();

    let schedule = "mutation($id: UUID!, $cb: UUID!) {
      scheduleCallback(conversationId: $id, callbackId: $cb, scheduledFor: \"2026-11-26T10:00:00Z\") { changed } }";
    let refused = server
        .graphql(
            schedule,
            json!({ "id": id, "cb": callback }),
            Some(&moderator),
        )
        .await;
    assert_eq!(error_extensions(&refused)["code"], "NOT_ASSIGNEE");
    server
        .graphql_ok(
            schedule,
            json!({ "id": id, "cb": callback }),
            Some(&manager),
        )
        .await;
    callbacks_when(&server, &manager, |l| {
        l.first().is_some_and(|c| c["status"] == "SCHEDULED")
    })
    .await;

    let settle = "mutation($id: UUID!, $cb: UUID!) {
      settleCallback(conversationId: $id, callbackId: $cb, outcome: COMPLETED, note: \"Order re-sent\") { changed } }";
    server
        .graphql_ok(settle, json!({ "id": id, "cb": callback }), Some(&manager))
        .await;
    let again = server
        .graphql(settle, json!({ "id": id, "cb": callback }), Some(&manager))
        .await;
    assert_eq!(error_extensions(&again)["code"], "NO_SUCH_CALLBACK");
    let listed = callbacks_when(&server, &manager, |l| {
        l.first().is_some_and(|c| c["status"] == "COMPLETED")
    })
    .await;
    assert_eq!(listed[0]["outcomeNote"], "Order re-sent");
    assert_eq!(listed[0]["scheduledFor"], "2026-11-26T10:00:00+00:00");
    conversation_when(&server, &manager, &id, |c| c["status"] == "RESOLVED").await;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn callbacks_page_oldest_first_by_cursor(_options: PgPoolOptions, connect: PgConnectOptions) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool, ALL).await;
    let operator = server.operator_token();
    let (_, widget) = create_inbox(&server, &operator, "Support").await;
    let mut requested = Vec::new();
    for phone in ["+380441111111", "+380442222222", "+380443333333"] {
        let data = server
            .graphql_ok(
                REQUEST,
                json!({ "input": { "widgetToken": widget, "phone": phone, "consent": consent() } }),
                None,
            )
            .await;
        requested.push(data["requestCallback"]["callbackId"].clone());
    }
    callbacks_when(&server, &operator, |list| list.len() == 3).await;
    let page = |after: Value| {
        let server = &server;
        let operator = &operator;
        async move {
            server
                .graphql_ok(
                    "query($after: String) { callbacks(first: 2, after: $after) {
                       nodes { id } pageInfo { endCursor hasNextPage hasPreviousPage } } }",
                    json!({ "after": after }),
                    Some(operator),
                )
                .await["callbacks"]
                .clone()
        }
    };
    let first = page(Value::Null).await;
    assert_eq!(
        first["nodes"],
        json!([{ "id": requested[0] }, { "id": requested[1] }])
    );
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let second = page(first["pageInfo"]["endCursor"].clone()).await;
    assert_eq!(second["nodes"], json!([{ "id": requested[2] }]));
    assert_eq!(
        (
            &second["pageInfo"]["hasNextPage"],
            &second["pageInfo"]["hasPreviousPage"]
        ),
        (&json!(false), &json!(true))
    );
    let refused = server
        .graphql(
            "{ callbacks(after: \"nonsense\") { nodes { id } } }",
            json!({}),
            Some(&operator),
        )
        .await;
    assert_eq!(error_extensions(&refused)["code"], "INVALID_ARGUMENT");
    server.stop().await;
}

//! The backbone end to end: widget → GraphQL → log → relay → Kafka → projection →
//! NOTIFY → operator's GraphQL subscription, on real PostgreSQL and a real Kafka broker.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_server::runtime::Component;
use switchboard_tests::calls::create_inbox;
use switchboard_tests::{eventually, pool_for, test_settings, TestServer, WsClient};
use uuid::Uuid;

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];
const WAIT: Duration = Duration::from_secs(60);

const START: &str = "mutation($input: StartConversationInput!) {
  startConversation(input: $input) { conversationId contactId sessionToken message { id body position } }
}";
const SEND: &str = "mutation($input: SendMessageInput!) {
  sendMessage(input: $input) { id conversationId position body sender { kind id } channel }
}";
const INBOX: &str = "{ inbox(first: 10) { edges { cursor node {
  id status contact { name email } messageCount lastMessage { id body senderKind }
} } pageInfo { hasNextPage } } }";

#[sqlx::test(migrations = "../migrations")]
async fn a_widget_message_reaches_the_operator_subscription_and_the_inbox(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool, ALL).await;
    let (_, widget_token) = create_inbox(&server, &server.operator_token(), "Support").await;
    let operator = server.operator_token();

    // The operator watches the inbox before anything happens.
    let mut ws = WsClient::connect(&server.ws_url(), Some(&operator))
        .await
        .unwrap();
    let inbox_sub = ws
        .subscribe(
            "subscription { inboxChanged { id messageCount lastMessage { body } } }",
            json!({}),
        )
        .await
        .unwrap();

    let started = server
        .graphql_ok(
            START,
            json!({ "input": {
                "widgetToken": widget_token,
                "name": "Olena",
                "email": "olena@example.com",
            }}),
            None,
        )
        .await["startConversation"]
        .clone();
    let conversation_id = started["conversationId"].as_str().unwrap().to_owned();
    let session = started["sessionToken"].as_str().unwrap().to_owned();
    assert_eq!(started["message"], Value::Null);

    let change = ws.next_data(&inbox_sub, WAIT).await.unwrap();
    assert_eq!(
        change,
        json!({ "inboxChanged": { "id": conversation_id, "messageCount": 0, "lastMessage": null } })
    );

    // Follow the conversation from the position of its start event.
    let messages_sub = ws
        .subscribe(
            "subscription($id: UUID!) { messagePosted(conversationId: $id, afterPosition: 1) {
                id position body sender { kind } } }",
            json!({ "id": conversation_id }),
        )
        .await
        .unwrap();

    let sent = server
        .graphql_ok(
            SEND,
            json!({ "input": {
                "conversationId": conversation_id,
                "body": "Where is my order #1042?",
                "clientMessageId": Uuid::now_v7(),
            }}),
            Some(&session),
        )
        .await;
    let message_id = sent["sendMessage"]["id"].clone();
    assert_eq!(
        sent["sendMessage"],
        json!({
            "id": message_id,
            "conversationId": conversation_id,
            "position": 2,
            "body": "Where is my order #1042?",
            "sender": { "kind": "CONTACT", "id": started["contactId"] },
            "channel": "WEB",
        })
    );

    let received = ws.next_data(&messages_sub, WAIT).await.unwrap();
    assert_eq!(
        received,
        json!({ "messagePosted": {
            "id": message_id,
            "position": 2,
            "body": "Where is my order #1042?",
            "sender": { "kind": "CONTACT" },
        }})
    );
    let change = ws.next_data(&inbox_sub, WAIT).await.unwrap();
    assert_eq!(
        change,
        json!({ "inboxChanged": {
            "id": conversation_id, "messageCount": 1,
            "lastMessage": { "body": "Where is my order #1042?" },
        }})
    );
    // Exactly that message: nothing else arrives on the conversation's subscription.
    let extra = ws
        .next_data(&messages_sub, Duration::from_millis(700))
        .await;
    assert!(extra.is_err(), "unexpected extra message: {extra:?}");

    let inbox = server.graphql_ok(INBOX, json!({}), Some(&operator)).await;
    let edges = inbox["inbox"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(
        edges[0]["node"],
        json!({
            "id": conversation_id,
            "status": "OPEN",
            "contact": { "name": "Olena", "email": "olena@example.com" },
            "messageCount": 1,
            "lastMessage": {
                "id": message_id,
                "body": "Where is my order #1042?",
                "senderKind": "CONTACT",
            },
        })
    );
    assert_eq!(inbox["inbox"]["pageInfo"]["hasNextPage"], false);

    // The widget reads its own thread after a reload.
    let thread = server
        .graphql_ok(
            "{ myConversation { messages { nodes { id body } } } }",
            json!({}),
            Some(&session),
        )
        .await;
    assert_eq!(
        thread["myConversation"]["messages"]["nodes"],
        json!([{ "id": message_id, "body": "Where is my order #1042?" }])
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_widget_input_gets_typed_errors_and_changes_nothing(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let (_, widget_token) = create_inbox(&server, &server.operator_token(), "Support").await;
    let started = server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": widget_token } }),
            None,
        )
        .await["startConversation"]
        .clone();
    let conversation_id = started["conversationId"].as_str().unwrap().to_owned();
    let session = started["sessionToken"].as_str().unwrap().to_owned();
    let other = server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": widget_token } }),
            None,
        )
        .await["startConversation"]["sessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let events_before: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&pool)
        .await
        .unwrap();

    let send = |body: Value, token: Option<String>| {
        let server = &server;
        let conversation_id = conversation_id.clone();
        async move {
            let response = server
                .graphql(
                    SEND,
                    json!({ "input": { "conversationId": conversation_id, "body": body } }),
                    token.as_deref(),
                )
                .await;
            // Only the error is a contract; the rest is noise for the snapshot.
            json!({
                "data": response["data"],
                "message": response["errors"][0]["message"],
                "extensions": response["errors"][0]["extensions"],
            })
        }
    };
    let cases = [
        ("no_token", send(json!("hello"), None).await),
        (
            "empty_body",
            send(json!("   "), Some(session.clone())).await,
        ),
        (
            "body_too_long",
            send(json!("x".repeat(4001)), Some(session.clone())).await,
        ),
        (
            "nul_character",
            send(json!("a\u{0}b"), Some(session.clone())).await,
        ),
        (
            "other_conversation",
            send(json!("hello"), Some(other)).await,
        ),
        (
            "garbage_token",
            send(json!("hello"), Some("not-a-jwt".into())).await,
        ),
    ];
    for (name, outcome) in cases {
        insta::assert_json_snapshot!(format!("send_message_{name}"), outcome);
    }
    let not_uuid = server
        .graphql(
            SEND,
            json!({ "input": { "conversationId": "nope", "body": "x" } }),
            Some(&session),
        )
        .await;
    assert_eq!(not_uuid["data"], Value::Null);
    insta::assert_json_snapshot!("send_message_not_a_uuid", not_uuid["errors"][0]);

    let events_after: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        events_after, events_before,
        "a refused request wrote events"
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn retries_with_the_same_client_ids_record_once(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let (_, widget_token) = create_inbox(&server, &server.operator_token(), "Support").await;
    let request_id = Uuid::new_v4();
    let start = json!({ "input": { "widgetToken": widget_token, "clientRequestId": request_id, "message": "hi" } });
    let first = server.graphql_ok(START, start.clone(), None).await["startConversation"].clone();
    let again = server.graphql_ok(START, start, None).await["startConversation"].clone();
    assert_eq!(
        (
            &first["conversationId"],
            &first["contactId"],
            &first["message"]
        ),
        (
            &again["conversationId"],
            &again["contactId"],
            &again["message"]
        ),
        "a retried start is the same start"
    );
    let conversation_id: Uuid = first["conversationId"].as_str().unwrap().parse().unwrap();

    let session = first["sessionToken"].as_str().unwrap();
    let client_message_id = Uuid::now_v7();
    let input = json!({ "input": {
        "conversationId": conversation_id, "body": "only once", "clientMessageId": client_message_id,
    }});
    let a = server.graphql_ok(SEND, input.clone(), Some(session)).await;
    let b = server.graphql_ok(SEND, input, Some(session)).await;
    assert_eq!(a, b);
    assert_eq!(a["sendMessage"]["position"], 3);

    // A client id equal to an existing message id is just another client id.
    let first_message_id = first["message"]["id"].clone();
    let c = server
        .graphql_ok(
            SEND,
            json!({ "input": {
                "conversationId": conversation_id, "body": "not a clash", "clientMessageId": first_message_id,
            }}),
            Some(session),
        )
        .await;
    assert_eq!(c["sendMessage"]["position"], 4);
    assert_ne!(c["sendMessage"]["id"], first_message_id);

    let events: Vec<(i32, String)> = sqlx::query_as(
        "select stream_version, event_type from events where stream_id = $1 order by stream_version",
    )
    .bind(conversation_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        [
            (1, "ConversationStarted".to_owned()),
            (2, "MessagePosted".to_owned()),
            (3, "MessagePosted".to_owned()),
            (4, "MessagePosted".to_owned()),
        ]
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn relay_and_projection_restarted_mid_stream_end_with_exactly_1000_messages(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use switchboard_commands::handler::{system_clock, CommandMeta, ConversationHandler};
    use switchboard_commands::log::EventLog;
    use switchboard_domain::conversation::{ConversationCommand, PostMessage, StartConversation};
    use switchboard_domain::event::{Channel, Contact, Sender, SenderKind, Source};
    use switchboard_domain::values::MessageBody;
    use switchboard_domain::Actor;

    const MESSAGES: usize = 1000;
    let pool = pool_for(connect).await;
    let settings = test_settings();
    let workers = &[Component::Relay, Component::Projections];
    let handler = ConversationHandler::new(EventLog::new(pool.clone()), system_clock());
    let conversation_id = Uuid::now_v7();
    let contact = Uuid::now_v7();
    let meta = |command_id| CommandMeta {
        command_id,
        actor: Actor::contact(contact),
        correlation_id: None,
        ip: None,
    };
    handler
        .handle(
            &meta(Uuid::now_v7()),
            &ConversationCommand::Start(StartConversation {
                conversation_id,
                inbox_id: Uuid::now_v7(),
                source: Source::Web,
                contact: Contact {
                    id: contact,
                    name: None,
                    email: None,
                    phone: None,
                },
                subject: None,
                first_message: None,
                callback: None,
                branch_id: None,
                routing: None,
                sla: None,
                at: chrono::Utc::now(),
            }),
        )
        .await
        .unwrap();

    let count_query = "select count(*) from thread_messages where conversation_id = $1";
    let projected = |at_least: i64| {
        let pool = pool.clone();
        eventually(Duration::from_secs(120), move || {
            let pool = pool.clone();
            async move {
                let n: i64 = sqlx::query_scalar(count_query)
                    .bind(conversation_id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                (n >= at_least).then_some(n)
            }
        })
    };

    let mut running = Some(TestServer::start(&settings, pool.clone(), workers).await);
    let mut sent = Vec::with_capacity(MESSAGES);
    for n in 0..MESSAGES {
        if n == 300 {
            // Stop relay and projection mid-stream, once they have applied some of it; the
            // next 400 messages are written while they are down.
            projected(100).await;
            running.take().unwrap().stop().await;
        }
        if n == 700 {
            running = Some(TestServer::start(&settings, pool.clone(), workers).await);
        }
        let message_id = Uuid::now_v7();
        sent.push(message_id);
        handler
            .handle(
                &meta(message_id),
                &ConversationCommand::PostMessage(PostMessage {
                    conversation_id,
                    message_id,
                    sender: Sender {
                        kind: SenderKind::Contact,
                        id: Some(contact),
                    },
                    channel: Channel::Web,
                    body: MessageBody::parse(&format!("message {n}"), 4000).unwrap(),
                    attachments: Vec::new(),
                    at: chrono::Utc::now(),
                }),
            )
            .await
            .unwrap();
    }

    projected(MESSAGES as i64).await;
    // Give a duplicate the chance to show itself before looking.
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.take().unwrap().stop().await;

    let rows: Vec<(Uuid, i32)> = sqlx::query_as(
        "select message_id, stream_version from thread_messages
         where conversation_id = $1 order by stream_version",
    )
    .bind(conversation_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let versions: Vec<i32> = rows.iter().map(|r| r.1).collect();
    assert_eq!(ids, sent, "every message once, in order");
    assert_eq!(
        versions,
        (2..=MESSAGES as i32 + 1).collect::<Vec<_>>(),
        "no gap"
    );
    let (count, last): (i32, Option<Uuid>) = sqlx::query_as(
        "select message_count, last_message_id from inbox_conversations where conversation_id = $1",
    )
    .bind(conversation_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (count, last),
        (MESSAGES as i32, sent.last().copied()),
        "each applied once"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn health_readiness_and_subscription_auth(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool, ALL).await;
    let (_, widget_token) = create_inbox(&server, &server.operator_token(), "Support").await;
    let health = server
        .http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (health.status().as_u16(), health.text().await.unwrap()),
        (200, "ok".to_owned())
    );
    let ready = server
        .http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({ "postgres": "ok", "kafka": "ok" })
    );

    // A widget session may follow its own conversation only; nobody may follow anonymously.
    let mine = server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": widget_token } }),
            None,
        )
        .await["startConversation"]
        .clone();
    let session = mine["sessionToken"].as_str().unwrap();
    let query = "subscription($id: UUID!) { messagePosted(conversationId: $id) { id } }";
    let mut ws = WsClient::connect(&server.ws_url(), Some(session))
        .await
        .unwrap();
    let other = ws
        .subscribe(query, json!({ "id": Uuid::now_v7() }))
        .await
        .unwrap();
    let refused = ws.next_data(&other, WAIT).await.unwrap_err().to_string();
    assert!(refused.contains("\"code\":\"FORBIDDEN\""), "{refused}");
    let own = ws
        .subscribe(query, json!({ "id": mine["conversationId"] }))
        .await
        .unwrap();
    let silent = ws
        .next_data(&own, Duration::from_millis(300))
        .await
        .unwrap_err()
        .to_string();
    assert!(silent.contains("no message in time"), "{silent}");

    // Errors of async-graphql's own (an argument of the wrong type) carry a code too.
    let malformed = ws
        .subscribe(query, json!({ "id": "not-a-uuid" }))
        .await
        .unwrap();
    let refused = ws
        .next_data(&malformed, WAIT)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("\"code\":\"INVALID_REQUEST\""),
        "{refused}"
    );

    let mut anonymous = WsClient::connect(&server.ws_url(), None).await.unwrap();
    let sub = anonymous
        .subscribe(query, json!({ "id": mine["conversationId"] }))
        .await
        .unwrap();
    let refused = anonymous
        .next_data(&sub, WAIT)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("\"code\":\"UNAUTHENTICATED\""),
        "{refused}"
    );
    server.stop().await;
}

//! SPEC's CONV features end to end through GraphQL, one test per SPEC id, on real PostgreSQL
//! and Kafka.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{
    conversation_when, error_extensions, start, CONVERSATION, NOTE, REPLY, SEND,
};
use switchboard_tests::{pool_for, test_settings, token_with_roles, TestServer, WsClient};
use uuid::Uuid;

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];
const WAIT: Duration = Duration::from_secs(60);

async fn server(connect: PgConnectOptions) -> TestServer {
    TestServer::start(&test_settings(), pool_for(connect).await, ALL).await
}

async fn set_status(server: &TestServer, operator: &str, id: &str, status: &str) -> Value {
    server
        .graphql(
            "mutation($id: UUID!, $status: ConversationStatus!) {
               changeConversationStatus(conversationId: $id, status: $status) { conversationId changed } }",
            json!({ "id": id, "status": status }),
            Some(operator),
        )
        .await
}

async fn reply(server: &TestServer, operator: &str, id: &str, body: &str) -> Value {
    server
        .graphql(
            REPLY,
            json!({ "input": { "conversationId": id, "body": body } }),
            Some(operator),
        )
        .await
}

async fn contact_writes(server: &TestServer, session: &str, id: &str, body: &str) -> Value {
    server
        .graphql_ok(
            SEND,
            json!({ "input": { "conversationId": id, "body": body } }),
            Some(session),
        )
        .await
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_1_subject_priority_and_tags(_options: PgPoolOptions, connect: PgConnectOptions) {
    let server = server(connect).await;
    let operator = server.operator_token();
    let c = start(&server, json!({ "subject": "Refund", "message": "hello" })).await;
    let id = c.conversation_id.as_str();
    let set_priority = |priority: &'static str, token: String| {
        let server = &server;
        async move {
            server
                .graphql(
                    "mutation($id: UUID!, $p: Priority!) {
                       setConversationPriority(conversationId: $id, priority: $p) { changed } }",
                    json!({ "id": id, "p": priority }),
                    Some(&token),
                )
                .await
        }
    };
    assert_eq!(
        set_priority("URGENT", operator.clone()).await["data"]["setConversationPriority"]
            ["changed"],
        true
    );
    assert_eq!(
        set_priority("URGENT", operator.clone()).await["data"]["setConversationPriority"]
            ["changed"],
        false,
        "asking for what already is records nothing"
    );
    let analyst = token_with_roles(vec![Role::Analyst]);
    assert_eq!(
        error_extensions(&set_priority("LOW", analyst).await)["code"],
        "FORBIDDEN"
    );

    let tag = |mutation: &'static str, tag: &'static str| {
        let (server, operator) = (&server, operator.clone());
        async move {
            server
                .graphql(
                    &format!("mutation($id: UUID!, $tag: String!) {{ {mutation}(conversationId: $id, tag: $tag) {{ changed }} }}"),
                    json!({ "id": id, "tag": tag }),
                    Some(&operator),
                )
                .await
        }
    };
    tag("tagConversation", " Billing ").await;
    tag("tagConversation", "VIP").await;
    tag("untagConversation", "vip").await;
    assert_eq!(
        error_extensions(&tag("tagConversation", "   ").await),
        json!({ "code": "EMPTY_FIELD", "field": "tag" })
    );

    let conversation = conversation_when(&server, &operator, id, |c| {
        c["priority"] == "URGENT" && c["tags"] == json!(["billing"])
    })
    .await;
    assert_eq!(conversation["subject"], "Refund");
    assert_eq!(conversation["status"], "OPEN");
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_2_contact_message_reopens_closed_conversation(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server(connect).await;
    let operator = server.operator_token();
    let c = start(&server, json!({ "message": "my parcel is late" })).await;
    let id = c.conversation_id.as_str();
    let status_is = |status: &'static str| move |c: &Value| c["status"] == status;

    reply(&server, &operator, id, "Let me check").await;
    conversation_when(&server, &operator, id, status_is("IN_PROGRESS")).await;

    set_status(&server, &operator, id, "WAITING_FOR_USER").await;
    conversation_when(&server, &operator, id, status_is("WAITING_FOR_USER")).await;
    contact_writes(&server, &c.session, id, "order 1042").await;
    conversation_when(&server, &operator, id, status_is("IN_PROGRESS")).await;

    set_status(&server, &operator, id, "RESOLVED").await;
    let resolved = conversation_when(&server, &operator, id, status_is("RESOLVED")).await;
    assert!(resolved["resolvedAt"].is_string());
    set_status(&server, &operator, id, "CLOSED").await;
    let closed = conversation_when(&server, &operator, id, status_is("CLOSED")).await;
    assert!(closed["closedAt"].is_string());

    assert_eq!(
        error_extensions(&reply(&server, &operator, id, "one more thing").await)["code"],
        "CONVERSATION_CLOSED"
    );
    assert_eq!(
        error_extensions(&set_status(&server, &operator, id, "IN_PROGRESS").await),
        json!({ "code": "ILLEGAL_TRANSITION", "from": "closed", "to": "in_progress" })
    );
    assert_eq!(
        error_extensions(&set_status(&server, &operator, id, "PENDING_CALLBACK").await)["code"],
        "ILLEGAL_TRANSITION"
    );

    contact_writes(&server, &c.session, id, "it still has not arrived").await;
    let reopened = conversation_when(&server, &operator, id, status_is("OPEN")).await;
    assert_eq!(reopened["reopenCount"], 1);
    assert_eq!(
        reopened["resolvedAt"], resolved["resolvedAt"],
        "history is kept"
    );
    assert_eq!(reopened["messageCount"], 4);
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_3_operator_reply_reaches_the_widget_once(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server(connect).await;
    let operator = server.operator_token();
    let c = start(&server, json!({ "message": "hi" })).await;
    let id = c.conversation_id.as_str();
    let mut widget = WsClient::connect(&server.ws_url(), Some(&c.session))
        .await
        .unwrap();
    let sub = widget
        .subscribe(
            "subscription($id: UUID!) { messagePosted(conversationId: $id, afterPosition: 2) {
               position body sender { kind } internal } }",
            json!({ "id": id }),
        )
        .await
        .unwrap();

    let input = json!({ "input": {
        "conversationId": id, "body": "Hello from support", "clientMessageId": Uuid::now_v7(),
    }});
    let first = server
        .graphql_ok(REPLY, input.clone(), Some(&operator))
        .await;
    let again = server.graphql_ok(REPLY, input, Some(&operator)).await;
    assert_eq!(first, again, "a retried reply is the same reply");
    assert_eq!(first["replyToConversation"]["sender"]["kind"], "OPERATOR");

    let received = widget.next_data(&sub, WAIT).await.unwrap();
    assert_eq!(
        received,
        json!({ "messagePosted": {
            "position": 3, "body": "Hello from support",
            "sender": { "kind": "OPERATOR" }, "internal": false,
        }})
    );
    // The status change of the first reply is position 4; the retry recorded nothing.
    let extra = widget.next_data(&sub, Duration::from_millis(700)).await;
    assert!(extra.is_err(), "unexpected: {extra:?}");

    // A widget session cannot reply as an operator.
    let refused = server
        .graphql(
            REPLY,
            json!({ "input": { "conversationId": id, "body": "x" } }),
            Some(&c.session),
        )
        .await;
    assert_eq!(error_extensions(&refused)["code"], "FORBIDDEN");
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_4_internal_notes_never_reach_the_contact(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server(connect).await;
    let operator = server.operator_token();
    let c = start(&server, json!({ "message": "hi" })).await;
    let id = c.conversation_id.as_str();
    let mut widget = WsClient::connect(&server.ws_url(), Some(&c.session))
        .await
        .unwrap();
    let sub = widget
        .subscribe(
            "subscription($id: UUID!) { messagePosted(conversationId: $id, afterPosition: 0) { body internal } }",
            json!({ "id": id }),
        )
        .await
        .unwrap();
    assert_eq!(
        widget.next_data(&sub, WAIT).await.unwrap(),
        json!({ "messagePosted": { "body": "hi", "internal": false } })
    );

    let note = server
        .graphql_ok(
            NOTE,
            json!({ "input": { "conversationId": id, "body": "VIP, refund without questions" } }),
            Some(&operator),
        )
        .await;
    assert_eq!(note["addInternalNote"]["internal"], true);
    reply(&server, &operator, id, "Refund is on its way").await;

    assert_eq!(
        widget.next_data(&sub, WAIT).await.unwrap(),
        json!({ "messagePosted": { "body": "Refund is on its way", "internal": false } }),
        "the note is skipped"
    );

    let operators_view = conversation_when(&server, &operator, id, |c| {
        c["messages"]["nodes"].as_array().unwrap().len() == 3
    })
    .await;
    let bodies: Vec<(Value, Value)> = operators_view["messages"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["body"].clone(), m["internal"].clone()))
        .collect();
    assert_eq!(
        bodies,
        [
            (json!("hi"), json!(false)),
            (json!("VIP, refund without questions"), json!(true)),
            (json!("Refund is on its way"), json!(false)),
        ]
    );
    let contacts_view = server
        .graphql_ok(
            "{ myConversation { messages { nodes { body } } } }",
            json!({}),
            Some(&c.session),
        )
        .await;
    assert_eq!(
        contacts_view["myConversation"]["messages"]["nodes"],
        json!([{ "body": "hi" }, { "body": "Refund is on its way" }])
    );
    // Nor can the contact ask for the operators' view of the conversation's thread.
    let as_contact = server
        .graphql(CONVERSATION, json!({ "id": id }), Some(&c.session))
        .await;
    let nodes = &as_contact["data"]["conversation"]["messages"]["nodes"];
    assert_eq!(nodes.as_array().unwrap().len(), 2, "{as_contact}");
    server.stop().await;
}

const RATE: &str = "mutation($input: RateConversationInput!) {
  rateConversation(input: $input) { scale score comment }
}";

#[sqlx::test(migrations = "../migrations")]
async fn conv_8_rating_once_after_resolve_on_the_inbox_scale(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server(connect).await;
    let operator = server.operator_token();
    let inbox = |rating: &'static str| {
        let (server, operator) = (&server, operator.clone());
        async move {
            let data = server
                .graphql_ok(
                    switchboard_tests::calls::CREATE_INBOX,
                    json!({ "input": { "settings": { "title": "Rated", "rating": rating } } }),
                    Some(&operator),
                )
                .await;
            data["createInbox"]["widgetToken"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let csat = inbox("CSAT").await;
    let unrated = inbox("NONE").await;
    // The inboxes reach the read side through Kafka.
    let started = |token: String| {
        let server = &server;
        async move {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                let response = server
                    .graphql(
                        switchboard_tests::calls::START,
                        json!({ "input": { "widgetToken": token, "message": "hi" } }),
                        None,
                    )
                    .await;
                if let Some(id) = response["data"]["startConversation"]["conversationId"].as_str() {
                    let session = response["data"]["startConversation"]["sessionToken"]
                        .as_str()
                        .unwrap();
                    return (id.to_owned(), session.to_owned());
                }
                assert!(tokio::time::Instant::now() < deadline, "{response}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let (id, session) = started(csat).await;
    let rate = |score: i64, session: String, id: String| {
        let server = &server;
        async move {
            server
                .graphql(
                    RATE,
                    json!({ "input": { "conversationId": id, "score": score, "comment": "Quick and kind" } }),
                    Some(&session),
                )
                .await
        }
    };
    assert_eq!(
        error_extensions(&rate(5, session.clone(), id.clone()).await),
        json!({ "code": "RATING_TOO_EARLY", "status": "open" })
    );
    set_status(&server, &operator, &id, "RESOLVED").await;
    assert_eq!(
        error_extensions(&rate(6, session.clone(), id.clone()).await),
        json!({ "code": "SCORE_OUT_OF_RANGE", "min": 1, "max": 5 })
    );
    // Scores no scale has are refused with the inbox's own bounds.
    for score in [-1, 1000] {
        assert_eq!(
            error_extensions(&rate(score, session.clone(), id.clone()).await),
            json!({ "code": "SCORE_OUT_OF_RANGE", "min": 1, "max": 5 }),
            "{score}"
        );
    }
    let rated = rate(5, session.clone(), id.clone()).await;
    assert_eq!(
        rated["data"]["rateConversation"],
        json!({ "scale": "CSAT", "score": 5, "comment": "Quick and kind" })
    );
    assert_eq!(
        error_extensions(&rate(4, session.clone(), id.clone()).await)["code"],
        "ALREADY_RATED"
    );
    let seen = conversation_when(&server, &operator, &id, |c| !c["rating"].is_null()).await;
    assert_eq!(seen["rating"]["score"], 5);

    let (other, other_session) = started(unrated).await;
    set_status(&server, &operator, &other, "CLOSED").await;
    assert_eq!(
        error_extensions(&rate(1000, other_session.clone(), other.clone()).await)["code"],
        "RATING_DISABLED"
    );
    assert_eq!(
        error_extensions(&rate(5, other_session, other).await)["code"],
        "RATING_DISABLED"
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_5_read_markers_both_ways(_options: PgPoolOptions, connect: PgConnectOptions) {
    let server = server(connect).await;
    let operator = server.operator_token();
    let c = start(&server, json!({ "message": "hi" })).await;
    let id = c.conversation_id.as_str();
    let reply = server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": id, "body": "Hello!" } }),
            Some(&operator),
        )
        .await;
    let reply_id = reply["replyToConversation"]["id"].clone();

    let mark_read = |up_to: Value| {
        let (server, session) = (&server, c.session.clone());
        async move {
            server
                .graphql(
                    "mutation($input: MarkReadInput!) { markRead(input: $input) { changed } }",
                    json!({ "input": { "conversationId": id, "upToMessageId": up_to } }),
                    Some(&session),
                )
                .await
        }
    };
    assert_eq!(
        mark_read(reply_id.clone()).await["data"]["markRead"]["changed"],
        true
    );
    assert_eq!(
        mark_read(reply_id.clone()).await["data"]["markRead"]["changed"],
        false,
        "markers only move forward"
    );
    assert_eq!(
        error_extensions(&mark_read(json!(Uuid::now_v7())).await)["code"],
        "MESSAGE_NOT_FOUND"
    );
    let read_state = |c: &Value| -> Vec<(String, bool)> {
        c["messages"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["body"].as_str().unwrap().to_owned(),
                    !m["readAt"].is_null(),
                )
            })
            .collect()
    };
    let seen = conversation_when(&server, &operator, id, |c| {
        read_state(c) == [("hi".to_owned(), false), ("Hello!".to_owned(), true)]
    })
    .await;
    assert_eq!(seen["messages"]["nodes"].as_array().unwrap().len(), 2);

    let marked = server
        .graphql_ok(
            "mutation($id: UUID!) { markConversationRead(conversationId: $id) { changed } }",
            json!({ "id": id }),
            Some(&operator),
        )
        .await;
    assert_eq!(marked["markConversationRead"]["changed"], true);
    conversation_when(&server, &operator, id, |c| {
        read_state(c) == [("hi".to_owned(), true), ("Hello!".to_owned(), true)]
    })
    .await;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_6_typing_indicators_both_ways_expire_and_are_not_stored(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server(connect).await;
    let operator = server.operator_token();
    let c = start(&server, json!({ "message": "hi" })).await;
    let id = c.conversation_id.as_str();
    let events_before: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    let query =
        "subscription($id: UUID!) { typing(conversationId: $id) { sender { kind id } typing } }";
    let mut widget = WsClient::connect(&server.ws_url(), Some(&c.session))
        .await
        .unwrap();
    let widget_sub = widget.subscribe(query, json!({ "id": id })).await.unwrap();
    let mut desk = WsClient::connect(&server.ws_url(), Some(&operator))
        .await
        .unwrap();
    let desk_sub = desk.subscribe(query, json!({ "id": id })).await.unwrap();
    let set_typing = |token: String, typing: bool| {
        let server = &server;
        async move {
            server
                .graphql_ok(
                    "mutation($id: UUID!, $t: Boolean!) { setTyping(conversationId: $id, typing: $t) }",
                    json!({ "id": id, "t": typing }),
                    Some(&token),
                )
                .await
        }
    };
    // A subscription starts asynchronously: signal until the other side sees it.
    async fn first_seen<F, Fut>(ws: &mut WsClient, sub: &str, mut signal: F) -> Value
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Value>,
    {
        for _ in 0..100 {
            signal().await;
            if let Ok(data) = ws.next_data(sub, Duration::from_millis(300)).await {
                return data;
            }
        }
        panic!("the signal never arrived");
    }
    /// The next `typing: false`, past renewals still in flight.
    async fn stopped(ws: &mut WsClient, sub: &str, within: Duration) -> Value {
        loop {
            let data = ws.next_data(sub, within).await.unwrap();
            if data["typing"]["typing"] == false {
                return data;
            }
        }
    }
    let operator_typing = first_seen(&mut widget, &widget_sub, || {
        set_typing(operator.clone(), true)
    })
    .await;
    assert_eq!(
        operator_typing,
        json!({ "typing": { "sender": { "kind": "OPERATOR", "id": null }, "typing": true } })
    );
    // Not renewed: it expires by itself (1 s in tests, 8 s by default).
    assert_eq!(
        stopped(&mut widget, &widget_sub, Duration::from_secs(5)).await,
        json!({ "typing": { "sender": { "kind": "OPERATOR", "id": null }, "typing": false } })
    );

    let contact_typing =
        first_seen(&mut desk, &desk_sub, || set_typing(c.session.clone(), true)).await;
    assert_eq!(
        contact_typing,
        json!({ "typing": { "sender": { "kind": "CONTACT", "id": null }, "typing": true } })
    );
    set_typing(c.session.clone(), false).await;
    assert_eq!(
        stopped(&mut desk, &desk_sub, WAIT).await,
        json!({ "typing": { "sender": { "kind": "CONTACT", "id": null }, "typing": false } })
    );
    // Nobody sees their own typing.
    assert!(desk
        .next_data(&desk_sub, Duration::from_millis(500))
        .await
        .is_err());

    let events_after: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(events_after, events_before, "typing is not history");
    server.stop().await;
}

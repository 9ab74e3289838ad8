//! SPEC's TIME features end to end: the scheduler against real PostgreSQL and Kafka, with
//! timeouts shortened to seconds.

use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{conversation_when, start, SEND};
use switchboard_tests::{pool_for, test_settings, TestServer};

const ALL: &[Component] = &[
    Component::Api,
    Component::Relay,
    Component::Projections,
    Component::Scheduler,
];

/// The (trigger, to) of every status change in a conversation's log.
async fn status_history(pool: &sqlx::PgPool, id: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "select payload->>'trigger', payload->>'to' from events
         where stream_id = $1::uuid and event_type = 'ConversationStatusChanged'
         order by stream_version",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn time_1_inactivity_closes_and_message_reopens(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let mut settings = test_settings();
    settings.inactivity_secs = 1;
    let server = TestServer::start(&settings, pool.clone(), ALL).await;
    // A second scheduler on the same log: deadlines must still be acted on once.
    let mut second = settings.clone();
    second.listen = "127.0.0.1:0".parse().unwrap();
    let other_scheduler = TestServer::start(&second, pool.clone(), &[Component::Scheduler]).await;
    let operator = server.operator_token();

    let c = start(&server, json!({ "message": "anyone there?" })).await;
    let id = c.conversation_id.as_str();
    conversation_when(&server, &operator, id, |c| c["status"] == "CLOSED").await;
    assert_eq!(
        status_history(&pool, id).await,
        [("inactivity".to_owned(), "closed".to_owned())],
        "closed once, by inactivity"
    );

    server
        .graphql_ok(
            SEND,
            json!({ "input": { "conversationId": id, "body": "hello?" } }),
            Some(&c.session),
        )
        .await;
    let history = status_history(&pool, id).await;
    assert_eq!(history[1], ("contact_wrote".to_owned(), "open".to_owned()));
    other_scheduler.stop().await;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn time_2_retention_closes_resolved_conversations(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let mut settings = test_settings();
    settings.retention_secs = 1;
    let server = TestServer::start(&settings, pool.clone(), ALL).await;
    let operator = server.operator_token();
    let c = start(&server, json!({ "message": "thanks, solved" })).await;
    let id = c.conversation_id.as_str();
    server
        .graphql_ok(
            "mutation($id: UUID!) { changeConversationStatus(conversationId: $id, status: RESOLVED) { changed } }",
            json!({ "id": id }),
            Some(&operator),
        )
        .await;
    conversation_when(&server, &operator, id, |c| c["status"] == "CLOSED").await;
    assert_eq!(
        status_history(&pool, id).await,
        [
            ("operator".to_owned(), "resolved".to_owned()),
            ("retention".to_owned(), "closed".to_owned()),
        ]
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn time_3_long_waits_raise_the_priority_step_by_step(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let mut settings = test_settings();
    settings.priority_raise_secs = 1;
    let server = TestServer::start(&settings, pool.clone(), ALL).await;
    let operator = server.operator_token();
    let c = start(&server, json!({ "message": "hello? anyone?" })).await;
    let id = c.conversation_id.as_str();
    // medium → high after one interval, → urgent after two, and no further (an operator's
    // answer ending the wait is covered by the decider's tests).
    conversation_when(&server, &operator, id, |c| c["priority"] == "URGENT").await;
    let raises: Vec<(String, String)> = sqlx::query_as(
        "select payload->>'from', payload->>'to' from events
         where stream_id = $1::uuid and event_type = 'PriorityRaisedForWait'
         order by stream_version",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        raises,
        [
            ("medium".to_owned(), "high".to_owned()),
            ("high".to_owned(), "urgent".to_owned()),
        ]
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn time_1_inactivity_timeout_per_inbox(_options: PgPoolOptions, connect: PgConnectOptions) {
    let pool = pool_for(connect).await;
    // The service's timeout is an hour; this inbox's is a second.
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let operator = server.operator_token();
    let created = server
        .graphql_ok(
            switchboard_tests::calls::CREATE_INBOX,
            json!({ "input": { "settings": { "title": "Quick", "inactivityTimeoutSecs": 1 } } }),
            Some(&operator),
        )
        .await;
    let quick = created["createInbox"]["widgetToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, slow) = switchboard_tests::calls::create_inbox(&server, &operator, "Slow").await;
    // The inbox reaches the read side a moment later.
    let started = switchboard_tests::eventually(std::time::Duration::from_secs(60), || async {
        let response = server
            .graphql(
                switchboard_tests::calls::START,
                json!({ "input": { "widgetToken": quick, "message": "hi" } }),
                None,
            )
            .await;
        response.get("errors").is_none().then_some(response)
    })
    .await;
    let quick_id = started["data"]["startConversation"]["conversationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let slow_one = start(&server, json!({ "widgetToken": slow, "message": "hi" })).await;
    conversation_when(&server, &operator, &quick_id, |c| c["status"] == "CLOSED").await;
    let slow_view =
        conversation_when(&server, &operator, &slow_one.conversation_id, |_| true).await;
    assert_eq!(
        slow_view["status"], "OPEN",
        "the service's hour still applies elsewhere"
    );
    assert_eq!(
        status_history(&pool, &quick_id).await,
        [("inactivity".to_owned(), "closed".to_owned())]
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_9_operator_answer_ends_the_wait_and_the_raises(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let mut settings = test_settings();
    settings.priority_raise_secs = 3;
    let server = TestServer::start(&settings, pool.clone(), ALL).await;
    let operator = server.operator_token();
    let c = start(&server, json!({ "message": "hello? anyone?" })).await;
    let id = c.conversation_id.as_str();
    conversation_when(&server, &operator, id, |c| c["priority"] == "HIGH").await;
    // An operator answers: the wait is over, so the priority stays where it is.
    server
        .graphql_ok(
            switchboard_tests::calls::REPLY,
            json!({ "input": { "conversationId": id, "body": "Here!" } }),
            Some(&operator),
        )
        .await;
    // Two more intervals: without the answer it would have gone urgent by now.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let view = conversation_when(&server, &operator, id, |_| true).await;
    assert_eq!(view["priority"], "HIGH");
    let raises: i64 = sqlx::query_scalar(
        "select count(*) from events
         where stream_id = $1::uuid and event_type = 'PriorityRaisedForWait'",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(raises, 1);
    server.stop().await;
}

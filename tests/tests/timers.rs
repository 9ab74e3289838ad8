//! SPEC's TIME features end to end: the scheduler against real PostgreSQL and Kafka, with
//! timeouts shortened to seconds.

use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{conversation_when, start, REPLY, SEND};
use switchboard_tests::{pool_for, test_settings, TestServer};

const ALL: &[Component] = &[
    Component::Api,
    Component::Relay,
    Component::Projections,
    Component::Scheduler,
];

/// An operator (an admin) answers the conversation.
async fn answer(server: &TestServer, operator: &str, id: &str) {
    server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": id, "body": "Here is your answer." } }),
            Some(operator),
        )
        .await;
}

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
    // Answered, the conversation waits on the contact, who says nothing more.
    answer(&server, &operator, id).await;
    conversation_when(&server, &operator, id, |c| c["status"] == "CLOSED").await;
    assert_eq!(
        status_history(&pool, id).await,
        [
            ("operator_replied".to_owned(), "in_progress".to_owned()),
            ("inactivity".to_owned(), "closed".to_owned())
        ],
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
    assert_eq!(history[2], ("contact_wrote".to_owned(), "open".to_owned()));
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
    answer(&server, &operator, &slow_one.conversation_id).await;
    answer(&server, &operator, &quick_id).await;
    conversation_when(&server, &operator, &quick_id, |c| c["status"] == "CLOSED").await;
    let slow_view =
        conversation_when(&server, &operator, &slow_one.conversation_id, |_| true).await;
    assert_eq!(
        slow_view["status"], "IN_PROGRESS",
        "the service's hour still applies elsewhere"
    );
    assert_eq!(
        status_history(&pool, &quick_id).await,
        [
            ("operator_replied".to_owned(), "in_progress".to_owned()),
            ("inactivity".to_owned(), "closed".to_owned())
        ]
    );
    server.stop().await;
}

const UPDATE_INBOX: &str = "mutation($id: UUID!, $settings: InboxSettingsInput!) {
  updateInbox(inboxId: $id, settings: $settings) { changed }
}";

/// TIME-1 as issue 19 asks: a visitor still waiting for an answer or a call-back is the
/// team's backlog, not an idle chat. By default only the conversation waiting on the contact
/// closes; an inbox set to `ANY_IDLE` closes every idle one, as before.
#[sqlx::test(migrations = "../migrations")]
async fn time_1_inactivity_closes_only_conversations_waiting_on_the_contact(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let mut settings = test_settings();
    settings.inactivity_secs = 1;
    let server = TestServer::start(&settings, pool.clone(), ALL).await;
    let operator = server.operator_token();
    let (inbox_id, widget_token) =
        switchboard_tests::calls::create_inbox(&server, &operator, "Support").await;
    let inboxes = server
        .graphql_ok(
            "{ inboxes { id inactivityCloses } }",
            json!({}),
            Some(&operator),
        )
        .await;
    assert_eq!(
        inboxes["inboxes"][0]["inactivityCloses"], "WAITING_ON_CONTACT",
        "the default"
    );

    // Left at 20:00, nobody has answered yet.
    let unanswered = start(
        &server,
        json!({ "widgetToken": widget_token, "message": "Is anyone there?" }),
    )
    .await;
    // A call-back is awaited; an operator's note in the chat does not settle it.
    let calling = start(
        &server,
        json!({ "widgetToken": widget_token, "message": "Please call me" }),
    )
    .await;
    server
        .graphql_ok(
            "mutation($input: RequestCallbackInput!) {
               requestCallback(input: $input) { callbackId } }",
            json!({ "input": {
                "conversationId": calling.conversation_id, "phone": "+380441234567",
                "consent": { "textVersion": "privacy-2026-01", "accepted": true },
            }}),
            Some(&calling.session),
        )
        .await;
    answer(&server, &operator, &calling.conversation_id).await;
    // Answered: the ball is in the contact's court.
    let answered = start(
        &server,
        json!({ "widgetToken": widget_token, "message": "What are your hours?" }),
    )
    .await;
    answer(&server, &operator, &answered.conversation_id).await;

    conversation_when(&server, &operator, &answered.conversation_id, |c| {
        c["status"] == "CLOSED"
    })
    .await;
    // The others were idle longer, so the scheduler has weighed them too, and spared them.
    let closed_by_inactivity = |history: Vec<(String, String)>| {
        history
            .iter()
            .filter(|(trigger, _)| trigger == "inactivity")
            .count()
    };
    for (name, waiting, status) in [
        ("unanswered", &unanswered, "OPEN"),
        ("awaiting a call-back", &calling, "PENDING_CALLBACK"),
    ] {
        let view = conversation_when(&server, &operator, &waiting.conversation_id, |_| true).await;
        assert_eq!(view["status"], status, "{name}");
        assert_eq!(
            closed_by_inactivity(status_history(&pool, &waiting.conversation_id).await),
            0,
            "{name}"
        );
    }
    assert_eq!(
        closed_by_inactivity(status_history(&pool, &answered.conversation_id).await),
        1
    );

    // The old behaviour, chosen explicitly: every idle conversation closes.
    server
        .graphql_ok(
            UPDATE_INBOX,
            json!({ "id": inbox_id, "settings": { "title": "Support", "inactivityCloses": "ANY_IDLE" } }),
            Some(&operator),
        )
        .await;
    for waiting in [&unanswered, &calling] {
        conversation_when(&server, &operator, &waiting.conversation_id, |c| {
            c["status"] == "CLOSED"
        })
        .await;
        assert_eq!(
            closed_by_inactivity(status_history(&pool, &waiting.conversation_id).await),
            1
        );
    }
    let inboxes = server
        .graphql_ok(
            "{ inboxes { id inactivityCloses } }",
            json!({}),
            Some(&operator),
        )
        .await;
    assert_eq!(inboxes["inboxes"][0]["inactivityCloses"], "ANY_IDLE");
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

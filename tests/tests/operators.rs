//! SPEC's OPS features end to end through GraphQL, one test per SPEC id, on real PostgreSQL
//! and Kafka.

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{
    conversation_when, error_extensions, start, CONVERSATION, REPLY, SEND,
};
use switchboard_tests::{pool_for, test_settings, TestServer};

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];

async fn call(server: &TestServer, token: &str, mutation: &str, variables: Value) -> Value {
    server.graphql(mutation, variables, Some(token)).await
}

const ASSIGN: &str = "mutation($id: UUID!, $op: UUID!) { assignConversation(conversationId: $id, operatorId: $op) { changed } }";
const TAKE: &str = "mutation($id: UUID!) { takeConversation(conversationId: $id) { changed } }";
const UNASSIGN: &str =
    "mutation($id: UUID!) { unassignConversation(conversationId: $id) { changed } }";
const INBOX: &str = "query($tab: InboxTab!) { inbox(tab: $tab) { nodes { id assigneeId } } }";

/// The event types of a conversation's stream, from the log.
async fn event_types(pool: &sqlx::PgPool, id: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select event_type from events where stream_id = $1::uuid order by stream_version",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn inbox_ids(server: &TestServer, token: &str, tab: &str) -> Vec<String> {
    let data = server
        .graphql_ok(INBOX, json!({ "tab": tab }), Some(token))
        .await;
    data["inbox"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn ops_5_assign_unassign_take(_options: PgPoolOptions, connect: PgConnectOptions) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let (admin_id, admin) = server
        .register_operator("Admin", vec![Role::Admin], None, None)
        .await;
    let (manager_id, manager) = server
        .register_operator("Manager", vec![Role::Manager], None, None)
        .await;
    let c = start(&server, json!({ "message": "hello" })).await;
    let id = c.conversation_id.as_str();

    let taken = call(&server, &admin, TAKE, json!({ "id": id })).await;
    assert_eq!(
        taken["data"]["takeConversation"]["changed"], true,
        "{taken}"
    );
    conversation_when(&server, &admin, id, |c| c["assigneeId"] == json!(admin_id)).await;
    assert_eq!(inbox_ids(&server, &admin, "MINE").await, [id]);
    assert!(inbox_ids(&server, &admin, "OPEN").await.is_empty());

    call(
        &server,
        &admin,
        ASSIGN,
        json!({ "id": id, "op": manager_id }),
    )
    .await;
    conversation_when(&server, &admin, id, |c| {
        c["assigneeId"] == json!(manager_id)
    })
    .await;
    assert_eq!(inbox_ids(&server, &manager, "MINE").await, [id]);
    assert!(inbox_ids(&server, &admin, "MINE").await.is_empty());

    let again = call(
        &server,
        &admin,
        ASSIGN,
        json!({ "id": id, "op": manager_id }),
    )
    .await;
    assert_eq!(again["data"]["assignConversation"]["changed"], false);

    call(&server, &manager, UNASSIGN, json!({ "id": id })).await;
    conversation_when(&server, &admin, id, |c| c["assigneeId"].is_null()).await;
    assert_eq!(inbox_ids(&server, &admin, "OPEN").await, [id]);
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn ops_1_moderators_see_and_act_only_on_their_assignments(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let (_, admin) = server
        .register_operator("Admin", vec![Role::Admin], None, None)
        .await;
    let (moderator_id, moderator) = server
        .register_operator("Moderator", vec![Role::Moderator], None, None)
        .await;
    let (_, analyst) = server
        .register_operator("Analyst", vec![Role::Analyst], None, None)
        .await;
    let mine = start(&server, json!({ "message": "for the moderator" })).await;
    let other = start(&server, json!({ "message": "not for the moderator" })).await;
    call(
        &server,
        &admin,
        ASSIGN,
        json!({ "id": mine.conversation_id, "op": moderator_id }),
    )
    .await;
    conversation_when(&server, &admin, &mine.conversation_id, |c| {
        c["assigneeId"] == json!(moderator_id)
    })
    .await;
    conversation_when(&server, &admin, &other.conversation_id, |_| true).await;

    // Reads: only their own, whatever tab they ask for.
    assert_eq!(
        inbox_ids(&server, &moderator, "ALL").await,
        std::slice::from_ref(&mine.conversation_id)
    );
    assert!(inbox_ids(&server, &moderator, "OPEN").await.is_empty());
    let refused = server
        .graphql(
            CONVERSATION,
            json!({ "id": other.conversation_id }),
            Some(&moderator),
        )
        .await;
    assert_eq!(error_extensions(&refused)["code"], "NOT_ASSIGNEE");

    // Actions: on their own only; taking someone else's is refused too.
    let reply = |id: &str| json!({ "input": { "conversationId": id, "body": "hi" } });
    let ok = server
        .graphql_ok(REPLY, reply(&mine.conversation_id), Some(&moderator))
        .await;
    assert_eq!(ok["replyToConversation"]["body"], "hi");
    let refused = server
        .graphql(REPLY, reply(&other.conversation_id), Some(&moderator))
        .await;
    assert_eq!(error_extensions(&refused)["code"], "NOT_ASSIGNEE");
    let refused = call(
        &server,
        &moderator,
        TAKE,
        json!({ "id": other.conversation_id }),
    )
    .await;
    assert_eq!(error_extensions(&refused)["code"], "NOT_ASSIGNEE");

    // Analysts read reports only; they do not work conversations.
    let refused = server
        .graphql(REPLY, reply(&mine.conversation_id), Some(&analyst))
        .await;
    assert_eq!(error_extensions(&refused)["code"], "FORBIDDEN");
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_2_reopening_drops_the_assignee_back_to_the_open_queue(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let (admin_id, admin) = server
        .register_operator("Admin", vec![Role::Admin], None, None)
        .await;
    let c = start(&server, json!({ "message": "hello" })).await;
    let id = c.conversation_id.as_str();
    call(&server, &admin, TAKE, json!({ "id": id })).await;
    call(
        &server,
        &admin,
        "mutation($id: UUID!) { changeConversationStatus(conversationId: $id, status: CLOSED) { changed } }",
        json!({ "id": id }),
    )
    .await;
    conversation_when(&server, &admin, id, |c| {
        c["status"] == "CLOSED" && c["assigneeId"] == json!(admin_id)
    })
    .await;
    server
        .graphql_ok(
            SEND,
            json!({ "input": { "conversationId": id, "body": "again" } }),
            Some(&c.session),
        )
        .await;
    // The message, the reopening and the unassignment are three events, projected one by one.
    conversation_when(&server, &admin, id, |c| {
        c["status"] == "OPEN" && c["assigneeId"].is_null()
    })
    .await;
    let history = event_types(&pool, id).await;
    assert_eq!(
        history[history.len() - 3..],
        [
            "MessagePosted",
            "ConversationStatusChanged",
            "ConversationUnassigned"
        ]
    );
    assert_eq!(inbox_ids(&server, &admin, "OPEN").await, [id]);
    server.stop().await;
}

//! SPEC's AUD features end to end, on real PostgreSQL (and Kafka for the relay): a scripted
//! conversation, the state folded from the log at each step against what the projection
//! showed at that moment, the exports, and the auditors' GraphQL reads of the log.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use switchboard_api::auth::Role;
use switchboard_replay::export::{export, ExportScope};
use switchboard_replay::state::conversation_at;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{create_inbox, start, CONVERSATION, NOTE, REPLY, SEND};
use switchboard_tests::{eventually, pool_for, test_settings, token_with_roles, TestServer};
use uuid::Uuid;

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];

const STATUS: &str = "mutation($c: UUID!, $s: ConversationStatus!) {
  changeConversationStatus(conversationId: $c, status: $s) { changed } }";
const PRIORITY: &str = "mutation($c: UUID!, $p: Priority!) {
  setConversationPriority(conversationId: $c, priority: $p) { changed } }";
const TAG: &str = "mutation($c: UUID!, $t: String!) {
  tagConversation(conversationId: $c, tag: $t) { changed } }";
const UNTAG: &str = "mutation($c: UUID!, $t: String!) {
  untagConversation(conversationId: $c, tag: $t) { changed } }";

/// Waits until the conversations projection has applied everything the log holds for the
/// stream.
async fn projected(pool: &PgPool, stream: Uuid) {
    eventually(std::time::Duration::from_secs(60), || async {
        let (logged, applied): (i32, Option<i32>) = sqlx::query_as(
            "select (select max(stream_version) from events where stream_id = $1),
                    (select version from projection_stream_positions
                      where projection = 'conversations' and stream_id = $1)",
        )
        .bind(stream)
        .fetch_one(pool)
        .await
        .unwrap();
        (Some(logged) == applied).then_some(())
    })
    .await
}

/// The instant, and what the operator sees of the conversation then.
async fn snapshot(server: &TestServer, c: &str, admin: &str) -> (DateTime<Utc>, Value) {
    let data = server
        .graphql_ok(CONVERSATION, json!({ "id": c }), Some(admin))
        .await;
    (Utc::now(), from_projection(&data["conversation"]))
}

/// The projection's view, reduced to what the log's fold also knows, in the fold's terms.
fn from_projection(view: &Value) -> Value {
    let messages: Vec<Value> = view["messages"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            json!({
                "id": m["id"],
                "position": m["position"],
                "body": m["body"],
                "internal": m["internal"],
                "sender_kind": m["sender"]["kind"].as_str().unwrap().to_lowercase(),
            })
        })
        .collect();
    json!({
        "status": view["status"].as_str().unwrap().to_lowercase(),
        "priority": view["priority"].as_str().unwrap().to_lowercase(),
        "tags": view["tags"],
        "subject": view["subject"],
        "assignee_id": view["assigneeId"],
        "resolved_at": view["resolvedAt"].as_str().map(normalize_time),
        "closed_at": view["closedAt"].as_str().map(normalize_time),
        "reopen_count": view["reopenCount"],
        "messages": messages,
    })
}

fn from_fold(state: &Value) -> Value {
    let messages: Vec<Value> = state["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            json!({
                "id": m["id"],
                "position": m["position"],
                "body": m["body"],
                "internal": m["internal"],
                "sender_kind": m["sender_kind"],
            })
        })
        .collect();
    json!({
        "status": state["status"],
        "priority": state["priority"],
        "tags": state["tags"],
        "subject": state["subject"],
        "assignee_id": state["assignee_id"],
        "resolved_at": state["resolved_at"].as_str().map(normalize_time),
        "closed_at": state["closed_at"].as_str().map(normalize_time),
        "reopen_count": state["reopen_count"],
        "messages": messages,
    })
}

/// PostgreSQL keeps microseconds; an event's own timestamps keep what the clock gave.
fn normalize_time(text: &str) -> String {
    use chrono::SubsecRound;
    text.parse::<DateTime<Utc>>()
        .unwrap()
        .trunc_subsecs(6)
        .to_rfc3339()
}

#[sqlx::test(migrations = "../migrations")]
async fn aud_3_4_state_at_every_step_equals_the_projection_and_exports_match(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let admin = server.operator_token();
    let (_, widget_token) = create_inbox(&server, &admin, "Audit").await;
    let before_all = Utc::now();
    let started = start(
        &server,
        json!({ "widgetToken": widget_token, "name": "Olena", "subject": "Refund",
                "message": "Where is my refund?" }),
    )
    .await;
    let c = started.conversation_id.clone();
    let conversation = Uuid::parse_str(&c).unwrap();

    // The script: each step is a GraphQL call; after each, the projection catches up and
    // the instant and the operator's view are noted.
    let steps: Vec<(&str, Value, Option<String>)> = vec![
        (
            REPLY,
            json!({ "input": { "conversationId": c, "body": "Looking into it" } }),
            Some(admin.clone()),
        ),
        (TAG, json!({ "c": c, "t": "refund" }), Some(admin.clone())),
        (
            PRIORITY,
            json!({ "c": c, "p": "HIGH" }),
            Some(admin.clone()),
        ),
        (
            NOTE,
            json!({ "input": { "conversationId": c, "body": "Check order 1042" } }),
            Some(admin.clone()),
        ),
        (TAG, json!({ "c": c, "t": "vip" }), Some(admin.clone())),
        (UNTAG, json!({ "c": c, "t": "refund" }), Some(admin.clone())),
        (
            STATUS,
            json!({ "c": c, "s": "RESOLVED" }),
            Some(admin.clone()),
        ),
        (
            SEND,
            json!({ "input": { "conversationId": c, "body": "It has not arrived" } }),
            Some(started.session.clone()),
        ),
        (
            STATUS,
            json!({ "c": c, "s": "CLOSED" }),
            Some(admin.clone()),
        ),
    ];
    let mut seen: Vec<(DateTime<Utc>, Value)> = Vec::new();
    projected(&pool, conversation).await;
    seen.push(snapshot(&server, &c, &admin).await);
    for (document, variables, token) in &steps {
        server
            .graphql_ok(document, variables.clone(), token.as_deref())
            .await;
        projected(&pool, conversation).await;
        seen.push(snapshot(&server, &c, &admin).await);
    }

    // AUD-4: the fold at each noted instant is what the projection showed then.
    assert!(conversation_at(&pool, conversation, before_all)
        .await
        .unwrap()
        .is_none());
    for (i, (at, shown)) in seen.iter().enumerate() {
        let folded = conversation_at(&pool, conversation, *at)
            .await
            .unwrap()
            .expect("started by then");
        let folded = serde_json::to_value(&folded).unwrap();
        assert_eq!(&from_fold(&folded), shown, "step {i} at {at}");
    }
    // Sanity: the steps did change what was shown.
    assert_eq!(seen.first().unwrap().1["status"], "open");
    assert_eq!(seen.last().unwrap().1["status"], "closed");
    assert_eq!(seen.last().unwrap().1["reopen_count"], 1);
    assert_eq!(seen.last().unwrap().1["tags"], json!(["vip"]));

    // AUD-3: the conversation's export is its stream, in order, as JSON Lines.
    let stream_types: Vec<String> = sqlx::query_scalar(
        "select event_type from events where stream_id = $1 order by stream_version",
    )
    .bind(conversation)
    .fetch_all(&pool)
    .await
    .unwrap();
    let lines = |scope: ExportScope| {
        let pool = pool.clone();
        async move {
            let mut out = Vec::new();
            let n = export(&pool, &scope, &mut out).await.unwrap();
            let lines: Vec<Value> = String::from_utf8(out)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(n as usize, lines.len());
            lines
        }
    };
    let exported = lines(ExportScope::Conversation(conversation)).await;
    let exported_types: Vec<&str> = exported
        .iter()
        .map(|l| l["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(exported_types, stream_types);
    assert_eq!(exported[0]["payload"]["contact"]["name"], "Olena");
    assert_eq!(exported[0]["stream_version"], 1);

    // The contact's export: their one conversation (their own stream is empty until erased).
    let contact = Uuid::parse_str(&started.contact_id).unwrap();
    assert_eq!(lines(ExportScope::Contact(contact)).await, exported);
    assert!(lines(ExportScope::Contact(Uuid::now_v7())).await.is_empty());

    // A time range: the inbox's creation is before `before_all`, the conversation after.
    let ranged = lines(ExportScope::Range {
        from: before_all,
        to: Utc::now(),
    })
    .await;
    assert_eq!(ranged, exported);
    let error = export(
        &pool,
        &ExportScope::Range {
            from: before_all,
            to: before_all,
        },
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the range is empty: `to` must be after `from`"
    );
    server.stop().await;
}

const STREAM_EVENTS: &str = "query($s: UUID!, $first: Int, $after: String) {
  streamEvents(streamId: $s, first: $first, after: $after) {
    nodes { globalPosition streamId streamVersion eventType schemaVersion payload metadata hash prevHash }
    pageInfo { hasNextPage endCursor }
  } }";
const BY_POSITION: &str = "query($from: Int!, $to: Int!, $first: Int, $after: String) {
  eventsByPosition(from: $from, to: $to, first: $first, after: $after) {
    nodes { globalPosition eventType }
    pageInfo { hasNextPage endCursor }
  } }";

#[sqlx::test(migrations = "../migrations")]
async fn aud_3_auditors_read_the_log_by_stream_and_by_position(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let auditor = token_with_roles(vec![Role::Auditor]);
    let started = start(&server, json!({ "message": "one" })).await;
    for body in ["two", "three"] {
        server
            .graphql_ok(
                SEND,
                json!({ "input": { "conversationId": started.conversation_id, "body": body } }),
                Some(&started.session),
            )
            .await;
    }

    // By stream, two at a time: versions 1..=4 (start, first message, two more).
    let page = |after: Value| {
        let server = &server;
        let (auditor, c) = (auditor.clone(), started.conversation_id.clone());
        async move {
            server
                .graphql_ok(
                    STREAM_EVENTS,
                    json!({ "s": c, "first": 2, "after": after }),
                    Some(&auditor),
                )
                .await["streamEvents"]
                .clone()
        }
    };
    let first = page(Value::Null).await;
    let nodes = first["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0]["eventType"], "ConversationStarted");
    assert_eq!(nodes[0]["streamVersion"], 1);
    assert_eq!(nodes[0]["prevHash"], Value::Null);
    assert_eq!(nodes[1]["prevHash"], nodes[0]["hash"]);
    assert_eq!(nodes[1]["payload"]["body"], "one");
    assert_eq!(nodes[1]["metadata"]["actor"]["kind"], "contact");
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let second = page(first["pageInfo"]["endCursor"].clone()).await;
    let bodies: Vec<&Value> = second["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["payload"]["body"])
        .collect();
    assert_eq!(bodies, [&json!("two"), &json!("three")]);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);

    // By position: exactly the positions asked for, in order.
    let positions: Vec<i64> = sqlx::query_scalar("select global_position from events order by 1")
        .fetch_all(&pool)
        .await
        .unwrap();
    let (from, to) = (positions[1], positions[3]);
    let data = server
        .graphql_ok(
            BY_POSITION,
            json!({ "from": from, "to": to }),
            Some(&auditor),
        )
        .await;
    let got: Vec<i64> = data["eventsByPosition"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["globalPosition"].as_i64().unwrap())
        .collect();
    assert_eq!(got, positions[1..=3]);

    // Bad arguments are typed refusals.
    for (variables, argument) in [
        (json!({ "from": 5, "to": 4 }), "to"),
        (json!({ "from": 1, "to": 4, "first": 0 }), "first"),
        (json!({ "from": 1, "to": 4, "after": "x" }), "after"),
    ] {
        let response = server.graphql(BY_POSITION, variables, Some(&auditor)).await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "INVALID_ARGUMENT",
            "{response}"
        );
        assert_eq!(response["errors"][0]["extensions"]["argument"], argument);
    }
    server.stop().await;
}

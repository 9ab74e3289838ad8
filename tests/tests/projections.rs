//! The read side's projections end to end (SPEC PROJ-1..4): each projection's rules through
//! GraphQL after a scripted scenario, live updates over graphql-transport-ws, and redelivery.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_commands::tail::{read_committed_after, TailPosition};
use switchboard_domain::envelope::RecordedEvent;
use switchboard_projections::conversations::ConversationsProjection;
use switchboard_projections::inboxes::InboxesProjection;
use switchboard_projections::notifications::NotificationsProjection;
use switchboard_projections::operators::OperatorsProjection;
use switchboard_projections::runner::apply_batch;
use switchboard_projections::sla::SlaProjection;
use switchboard_projections::webhooks::WebhooksProjection;
use switchboard_server::runtime::{Component, EventLogReader};
use switchboard_tests::calls::{create_inbox, error_extensions, start, Started, REPLY, SEND};
use switchboard_tests::{eventually, pool_for, test_settings, TestServer, WsClient};

// With the notifier: it runs the notifications projection, which `all_caught_up` counts.
const ALL: &[Component] = &[
    Component::Api,
    Component::Relay,
    Component::Projections,
    Component::Notifier,
];
const WAIT: Duration = Duration::from_secs(60);

async fn server(connect: PgConnectOptions) -> TestServer {
    TestServer::start(&test_settings(), pool_for(connect).await, ALL).await
}

const INBOX: &str = "query($tab: InboxTab!, $filter: InboxFilter, $first: Int, $after: String) {
  inbox(tab: $tab, filter: $filter, first: $first, after: $after) {
    nodes { id unreadCount } pageInfo { hasNextPage endCursor } } }";

/// The ids an inbox query lists, in order.
async fn listed(server: &TestServer, token: &str, tab: &str, filter: Value) -> Vec<String> {
    let data = server
        .graphql_ok(
            INBOX,
            json!({ "tab": tab, "filter": filter, "first": 50 }),
            Some(token),
        )
        .await;
    ids(&data["inbox"]["nodes"])
}

fn ids(nodes: &Value) -> Vec<String> {
    nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

const ASSIGN: &str = "mutation($id: UUID!, $op: UUID!) {
  assignConversation(conversationId: $id, operatorId: $op) { changed } }";
const TAG_VIP: &str =
    "mutation($id: UUID!) { tagConversation(conversationId: $id, tag: \"vip\") { changed } }";
const MARK_READ: &str =
    "mutation($id: UUID!) { markConversationRead(conversationId: $id) { changed } }";

/// Has every projection applied every stream of the log to its head?
async fn all_caught_up(pool: &sqlx::PgPool) -> bool {
    let behind: i64 = sqlx::query_scalar(
        "select count(*) from (select stream_id, max(stream_version) v from events group by stream_id) e
         where (select count(*) from projection_stream_positions p
                where p.stream_id = e.stream_id and p.version = e.v) < $1",
    )
    .bind(switchboard_projections::Catalogue::ALL.len() as i64)
    .fetch_one(pool)
    .await
    .unwrap();
    behind == 0
}

async fn call(server: &TestServer, token: &str, query: &str, variables: Value) -> Value {
    server.graphql_ok(query, variables, Some(token)).await
}

#[sqlx::test(migrations = "../migrations")]
async fn proj_1_inbox_filters_search_and_pages(_o: PgPoolOptions, connect: PgConnectOptions) {
    let server = server(connect).await;
    let admin = server.operator_token();
    let (_, support) = create_inbox(&server, &admin, "Support").await;
    let (sales_id, sales) = create_inbox(&server, &admin, "Sales").await;
    let (moderator_id, moderator) = server
        .register_operator("Mo", vec![Role::Moderator], None, None)
        .await;

    let ivan = start(
        &server,
        json!({ "widgetToken": support, "name": "Иван Петров", "email": "ivan.petrov@example.com",
                "phone": "044 123 45 67", "message": "Хочу вернуть заказ" }),
    )
    .await;
    let john = start(
        &server,
        json!({ "widgetToken": support, "name": "John Smith", "email": "js@example.org",
                "message": "My parcels are delayed" }),
    )
    .await;
    let olga = start(
        &server,
        json!({ "widgetToken": sales, "name": "Olga", "message": "Price list, please" }),
    )
    .await;
    let (i, j, o) = (
        ivan.conversation_id.as_str(),
        john.conversation_id.as_str(),
        olga.conversation_id.as_str(),
    );
    call(&server, &admin, TAG_VIP, json!({ "id": j })).await;
    call(
        &server,
        &admin,
        "mutation($id: UUID!) { setConversationPriority(conversationId: $id, priority: URGENT) { changed } }",
        json!({ "id": i }),
    )
    .await;
    call(
        &server,
        &admin,
        ASSIGN,
        json!({ "id": o, "op": moderator_id }),
    )
    .await;
    call(
        &server,
        &admin,
        "mutation($id: UUID!) { changeConversationStatus(conversationId: $id, status: RESOLVED) { changed } }",
        json!({ "id": j }),
    )
    .await;
    // A later message in Ivan's thread: search reaches every message, not only the first.
    call(
        &server,
        &ivan.session,
        SEND,
        json!({ "input": { "conversationId": i, "body": "Номер посылки 7788" } }),
    )
    .await;

    // Wait until the projection has all of it: Ivan's second message is the last event.
    eventually(WAIT, || async {
        let found = listed(&server, &admin, "ALL", json!({ "search": "посылки" })).await;
        (found == [i]).then_some(())
    })
    .await;

    let all = listed(&server, &admin, "ALL", json!({})).await;
    assert_eq!(all, [i, o, j], "most recently active first");

    let cases: Vec<(&str, &str, Value, Vec<&str>)> = vec![
        (
            "russian word form",
            "ALL",
            json!({ "search": "заказы" }),
            vec![i],
        ),
        (
            "english stem",
            "ALL",
            json!({ "search": "parcel" }),
            vec![j],
        ),
        ("name prefix", "ALL", json!({ "search": "Петр" }), vec![i]),
        ("e-mail part", "ALL", json!({ "search": "petrov" }), vec![i]),
        (
            "whole e-mail",
            "ALL",
            json!({ "search": "js@example.org" }),
            vec![j],
        ),
        ("phone digits", "ALL", json!({ "search": "45 67" }), vec![i]),
        (
            "a number among words",
            "ALL",
            json!({ "search": "Петров 4567" }),
            vec![i],
        ),
        (
            "words and a number",
            "ALL",
            json!({ "search": "John 4567" }),
            vec![],
        ),
        (
            "all words must match",
            "ALL",
            json!({ "search": "john delayed" }),
            vec![j],
        ),
        ("no match", "ALL", json!({ "search": "refund" }), vec![]),
        (
            "status",
            "ALL",
            json!({ "statuses": ["RESOLVED"] }),
            vec![j],
        ),
        (
            "statuses",
            "ALL",
            json!({ "statuses": ["RESOLVED", "OPEN"] }),
            vec![i, o, j],
        ),
        (
            "priority",
            "ALL",
            json!({ "priorities": ["URGENT"] }),
            vec![i],
        ),
        ("inbox", "ALL", json!({ "inboxIds": [sales_id] }), vec![o]),
        ("tag", "ALL", json!({ "tags": ["VIP"] }), vec![j]),
        (
            "tags all required",
            "ALL",
            json!({ "tags": ["vip", "billing"] }),
            vec![],
        ),
        (
            "assignee",
            "ALL",
            json!({ "assigneeIds": [moderator_id] }),
            vec![o],
        ),
        (
            "head office",
            "ALL",
            json!({ "headOffice": true }),
            vec![i, o, j],
        ),
        (
            "other branch",
            "ALL",
            json!({ "branchIds": [moderator_id] }),
            vec![],
        ),
        ("source", "ALL", json!({ "sources": ["TELEGRAM"] }), vec![]),
        (
            "open tab and search",
            "OPEN",
            json!({ "search": "parcel" }),
            vec![j],
        ),
        ("mine tab", "MINE", json!({}), vec![]),
        (
            "filters combine",
            "ALL",
            json!({ "inboxIds": [sales_id], "search": "price" }),
            vec![o],
        ),
    ];
    for (name, tab, filter, expected) in cases {
        assert_eq!(
            listed(&server, &admin, tab, filter).await,
            expected,
            "{name}"
        );
    }
    // A moderator's list is theirs only, whatever the filter asks.
    assert_eq!(listed(&server, &moderator, "ALL", json!({})).await, [o]);
    assert_eq!(
        listed(&server, &moderator, "ALL", json!({ "search": "заказ" })).await,
        Vec::<String>::new()
    );

    // Pages of one, following the cursor, under a filter.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = call(
            &server,
            &admin,
            INBOX,
            json!({ "tab": "ALL", "filter": { "inboxIds": [] , "statuses": ["OPEN"] }, "first": 1, "after": after }),
        )
        .await;
        seen.extend(ids(&data["inbox"]["nodes"]));
        if data["inbox"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = data["inbox"]["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    assert_eq!(seen, [i, o]);

    for (search, code) in [
        ("!!! ???", "INVALID_ARGUMENT"),
        (&*"x".repeat(201), "INVALID_ARGUMENT"),
    ] {
        let refused = server
            .graphql(
                INBOX,
                json!({ "tab": "ALL", "filter": { "search": search } }),
                Some(&admin),
            )
            .await;
        assert_eq!(error_extensions(&refused)["code"], code, "{search}");
    }
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn proj_1_inbox_subscription_pushes_what_the_filter_shows(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server(connect).await;
    let admin = server.operator_token();
    let (_, token) = create_inbox(&server, &admin, "Support").await;
    let plain = start(&server, json!({ "widgetToken": token, "message": "hi" })).await;
    let vip = start(&server, json!({ "widgetToken": token, "message": "hi" })).await;
    call(
        &server,
        &admin,
        TAG_VIP,
        json!({ "id": vip.conversation_id }),
    )
    .await;
    // The tag is projected before we listen.
    eventually(WAIT, || async {
        let found = listed(&server, &admin, "ALL", json!({ "tags": ["vip"] })).await;
        (found == [vip.conversation_id.clone()]).then_some(())
    })
    .await;

    let mut ws = WsClient::connect(&server.ws_url(), Some(&admin))
        .await
        .unwrap();
    let id = ws
        .subscribe(
            "subscription { inboxChanged(filter: { tags: [\"vip\"] }) { id lastMessage { body } unreadCount } }",
            json!({}),
        )
        .await
        .unwrap();
    let write = |c: &Started, body: &'static str| {
        let (server, session, id) = (&server, c.session.clone(), c.conversation_id.clone());
        async move {
            call(
                server,
                &session,
                SEND,
                json!({ "input": { "conversationId": id, "body": body } }),
            )
            .await
        }
    };
    write(&plain, "not for this list").await;
    write(&vip, "for this list").await;
    let pushed = ws.next_data(&id, WAIT).await.unwrap();
    assert_eq!(
        pushed["inboxChanged"],
        json!({ "id": vip.conversation_id, "lastMessage": { "body": "for this list" }, "unreadCount": 2 }),
        "the plain conversation's message, written first, was not pushed"
    );
    server.stop().await;
}

const UNREAD: &str = "{ unreadCounts { total conversations { conversationId unread } } }";

#[sqlx::test(migrations = "../migrations")]
async fn proj_2_unread_counters_for_operators_and_the_contact(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server(connect).await;
    let admin = server.operator_token();
    let (agent_id, agent) = server
        .register_operator("Agent", vec![Role::Manager], None, None)
        .await;
    let a = start(&server, json!({ "message": "first" })).await;
    let b = start(&server, json!({ "message": "other" })).await;
    for c in [&a, &b] {
        call(
            &server,
            &admin,
            ASSIGN,
            json!({ "id": c.conversation_id, "op": agent_id }),
        )
        .await;
    }
    let unread_counts =
        || async { call(&server, &agent, UNREAD, json!({})).await["unreadCounts"].clone() };
    let expect_counts = |expected: Value| {
        let unread_counts = &unread_counts;
        async move {
            eventually(WAIT, || async {
                let now = unread_counts().await;
                (now == expected).then_some(())
            })
            .await
        }
    };
    expect_counts(json!({ "total": 2, "conversations": [
        { "conversationId": b.conversation_id, "unread": 1 },
        { "conversationId": a.conversation_id, "unread": 1 },
    ]}))
    .await;

    let mut ws = WsClient::connect(&server.ws_url(), Some(&agent))
        .await
        .unwrap();
    let sub = ws
        .subscribe(
            "subscription { unreadChanged { conversationId unread total } }",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(
        ws.next_data(&sub, WAIT).await.unwrap()["unreadChanged"],
        json!({ "conversationId": null, "unread": 0, "total": 2 })
    );

    // Each contact message is one change of the count.
    for (body, unread, total) in [("second", 2, 3), ("third", 3, 4)] {
        call(
            &server,
            &a.session,
            SEND,
            json!({ "input": { "conversationId": a.conversation_id, "body": body } }),
        )
        .await;
        assert_eq!(
            ws.next_data(&sub, WAIT).await.unwrap()["unreadChanged"],
            json!({ "conversationId": a.conversation_id, "unread": unread, "total": total })
        );
    }

    call(
        &server,
        &agent,
        MARK_READ,
        json!({ "id": a.conversation_id }),
    )
    .await;
    assert_eq!(
        ws.next_data(&sub, WAIT).await.unwrap()["unreadChanged"],
        json!({ "conversationId": a.conversation_id, "unread": 0, "total": 1 })
    );
    expect_counts(json!({ "total": 1, "conversations": [
        { "conversationId": b.conversation_id, "unread": 1 },
    ]}))
    .await;

    // Another operator never read it: every contact message is unread for them.
    let per_viewer = |token: String| {
        let server = &server;
        let id = a.conversation_id.clone();
        async move {
            call(
                server,
                &token,
                "query($id: UUID!) { conversation(id: $id) { unreadCount } }",
                json!({ "id": id }),
            )
            .await["conversation"]["unreadCount"]
                .clone()
        }
    };
    assert_eq!(per_viewer(admin.clone()).await, 3);
    assert_eq!(per_viewer(agent.clone()).await, 0);
    // The same count in the inbox list, computed with the page.
    let listed_unread = call(&server, &agent, INBOX, json!({ "tab": "MINE" })).await;
    assert_eq!(
        listed_unread["inbox"]["nodes"],
        json!([
            { "id": a.conversation_id, "unreadCount": 0 },
            { "id": b.conversation_id, "unreadCount": 1 },
        ])
    );

    // The contact's side: the agent's replies are unread until the widget marks them read.
    let mut reply_ids = Vec::new();
    for body in ["Hello", "How can I help?"] {
        let reply = call(
            &server,
            &agent,
            REPLY,
            json!({ "input": { "conversationId": a.conversation_id, "body": body } }),
        )
        .await;
        reply_ids.push(reply["replyToConversation"]["id"].clone());
    }
    let contact_unread = |expected: i64| {
        let (server, session) = (&server, a.session.clone());
        async move {
            eventually(WAIT, || async {
                let data = call(
                    server,
                    &session,
                    "{ myConversation { unreadCount } }",
                    json!({}),
                )
                .await;
                (data["myConversation"]["unreadCount"] == expected).then_some(())
            })
            .await
        }
    };
    contact_unread(2).await;
    let mut widget = WsClient::connect(&server.ws_url(), Some(&a.session))
        .await
        .unwrap();
    let widget_sub = widget
        .subscribe(
            "subscription { unreadChanged { conversationId unread total } }",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(
        widget.next_data(&widget_sub, WAIT).await.unwrap()["unreadChanged"],
        json!({ "conversationId": null, "unread": 0, "total": 2 })
    );
    call(
        &server,
        &a.session,
        "mutation($input: MarkReadInput!) { markRead(input: $input) { changed } }",
        json!({ "input": { "conversationId": a.conversation_id, "upToMessageId": reply_ids[0] } }),
    )
    .await;
    assert_eq!(
        widget.next_data(&widget_sub, WAIT).await.unwrap()["unreadChanged"],
        json!({ "conversationId": a.conversation_id, "unread": 1, "total": 1 })
    );
    contact_unread(1).await;
    // Replies are not inbound: the agent's own count did not move.
    assert_eq!(per_viewer(agent.clone()).await, 0);
    server.stop().await;
}

/// Two conversations with a little of everything the projections keep: an assignment, a
/// reply, a read marker, a tag, a resolve, more messages. Returns them (Ann's, Bob's).
async fn play_a_history(server: &TestServer) -> (Started, Started) {
    let admin = server.operator_token();
    let (agent_id, agent) = server
        .register_operator("Agent", vec![Role::Manager], None, None)
        .await;
    let a = start(
        server,
        json!({ "name": "Ann", "phone": "044 123 45 67", "message": "hello" }),
    )
    .await;
    let b = start(server, json!({ "name": "Bob", "message": "a question" })).await;
    let (ann, bob) = (a.conversation_id.as_str(), b.conversation_id.as_str());
    call(server, &admin, ASSIGN, json!({ "id": ann, "op": agent_id })).await;
    let reply = json!({ "input": { "conversationId": ann, "body": "Hi Ann" } });
    call(server, &agent, REPLY, reply).await;
    call(server, &agent, MARK_READ, json!({ "id": ann })).await;
    call(server, &admin, TAG_VIP, json!({ "id": bob })).await;
    call(
        server,
        &agent,
        "mutation($id: UUID!) { changeConversationStatus(conversationId: $id, status: RESOLVED) { changed } }",
        json!({ "id": ann }),
    )
    .await;
    let more = json!({ "input": { "conversationId": bob, "body": "anyone?" } });
    call(server, &b.session, SEND, more).await;
    (a, b)
}

/// Every event of the log, in commit order.
async fn whole_log(pool: &sqlx::PgPool) -> Vec<RecordedEvent> {
    let mut events = Vec::new();
    let mut position = TailPosition::START;
    loop {
        let batch = read_committed_after(pool, position, 1000).await.unwrap();
        let Some(last) = batch.last() else {
            return events;
        };
        position = TailPosition::after(last);
        events.extend(batch.into_iter().map(|logged| logged.event));
    }
}

/// Every row of the read tables, as JSON, in a fixed order.
async fn read_tables(pool: &sqlx::PgPool) -> Value {
    let mut tables = serde_json::Map::new();
    for (table, order) in [
        ("inbox_conversations", "conversation_id"),
        ("thread_messages", "message_id"),
        ("operator_read_markers", "conversation_id, operator_id"),
        ("callbacks", "callback_id"),
        ("inboxes", "inbox_id"),
        ("operators", "operator_id"),
        ("sla_inboxes", "inbox_id"),
        ("sla_conversations", "conversation_id"),
        ("sla_responses", "conversation_id, position"),
        ("sla_resolutions", "conversation_id, position"),
        ("sla_breaches", "conversation_id, metric, deadline"),
        ("webhook_endpoints", "endpoint_id"),
        ("webhook_conversations", "conversation_id"),
        ("webhook_deliveries", "delivery_id"),
        ("notification_conversations", "conversation_id"),
        ("notifications", "notification_id"),
        ("projection_stream_positions", "projection, stream_id"),
        ("projection_dead_letters", "projection, event_id"),
    ] {
        let rows: Vec<Value> = sqlx::query_scalar(&format!(
            "select to_jsonb(t) - 'search' - 'contact_search' from {table} t order by {order}"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        tables.insert(table.into(), Value::Array(rows));
    }
    Value::Object(tables)
}

/// Kafka delivers at least once: the same batch again, or each event twice in one batch,
/// leaves every projection's tables exactly as they were.
#[sqlx::test(migrations = "../migrations")]
async fn a_redelivered_batch_changes_no_projection(_o: PgPoolOptions, connect: PgConnectOptions) {
    let server = server(connect).await;
    play_a_history(&server).await;
    let pool = server.pool.clone();
    let events = whole_log(&pool).await;
    // Wait until the live projections have applied the whole log, then stop them.
    eventually(WAIT, || async { all_caught_up(&pool).await.then_some(()) }).await;
    server.stop().await;
    let before = read_tables(&pool).await;
    assert_eq!(before["thread_messages"].as_array().unwrap().len(), 4);
    assert_eq!(before["sla_responses"].as_array().unwrap().len(), 1);

    let log = EventLogReader(switchboard_commands::log::EventLog::new(pool.clone()));
    let twice: Vec<RecordedEvent> = events.iter().flat_map(|e| [e.clone(), e.clone()]).collect();
    for batch in [&events, &twice] {
        apply_batch(&pool, &ConversationsProjection, &log, batch)
            .await
            .unwrap();
        apply_batch(&pool, &InboxesProjection, &log, batch)
            .await
            .unwrap();
        apply_batch(&pool, &OperatorsProjection, &log, batch)
            .await
            .unwrap();
        apply_batch(&pool, &SlaProjection, &log, batch)
            .await
            .unwrap();
        apply_batch(&pool, &WebhooksProjection, &log, batch)
            .await
            .unwrap();
        apply_batch(&pool, &NotificationsProjection, &log, batch)
            .await
            .unwrap();
        assert_eq!(read_tables(&pool).await, before);
    }
}

/// The index names of the live schema, to check a rebuild leaves the schema as migrated.
async fn index_names(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select indexname::text from pg_indexes where schemaname = current_schema() order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A rebuild from the log, run while the service runs, leaves exactly the rows live
/// consumption wrote, swaps in tables indexed as migrated, and the live projections carry on
/// against them.
#[sqlx::test(migrations = "../migrations")]
async fn a_rebuild_while_running_gives_the_rows_live_consumption_gave(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = server(connect).await;
    let admin = server.operator_token();
    let (a, b) = play_a_history(&server).await;
    let pool = server.pool.clone();
    let caught_up = || async { all_caught_up(&pool).await.then_some(()) };
    eventually(WAIT, caught_up).await;
    let live = read_tables(&pool).await;
    let indexes = index_names(&pool).await;
    assert_eq!(live["inbox_conversations"].as_array().unwrap().len(), 2);
    assert_eq!(live["sla_responses"].as_array().unwrap().len(), 1);
    // Damage every projection's rows: only a rebuild from the log brings them back.
    for damage in [
        "update inbox_conversations set message_count = 99, tags = '{}'",
        "delete from thread_messages where body = 'Hi Ann'",
        "delete from sla_responses",
        "update operators set name = 'someone else'",
        "update inboxes set title = 'wrong'",
    ] {
        sqlx::query(damage).execute(&pool).await.unwrap();
    }
    assert_ne!(read_tables(&pool).await, live);

    for name in switchboard_projections::Catalogue::rebuildable_names() {
        let mut reports = Vec::new();
        let report =
            switchboard_server::runtime::rebuild_projection(&pool, name, |p| reports.push(p))
                .await
                .expect("a known projection")
                .unwrap();
        let events: i64 = sqlx::query_scalar("select count(*) from events")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(report.events, events as u64, "{name}");
        assert_eq!(reports.last().unwrap().applied, events as u64, "{name}");
    }
    assert_eq!(read_tables(&pool).await, live);
    assert_eq!(index_names(&pool).await, indexes);

    // One rebuild of a projection at a time.
    let mut other = pool.acquire().await.unwrap();
    sqlx::query("select pg_advisory_lock(hashtext('switchboard rebuild sla'))")
        .execute(&mut *other)
        .await
        .unwrap();
    let refused = switchboard_server::runtime::rebuild_projection(&pool, "sla", |_| {})
        .await
        .expect("a known projection");
    assert!(
        matches!(refused, Err(switchboard_replay::rebuild::RebuildError::AlreadyRunning(ref p)) if p == "sla"),
        "{refused:?}"
    );
    sqlx::query("select pg_advisory_unlock_all()")
        .execute(&mut *other)
        .await
        .unwrap();
    drop(other);
    let schemas: Vec<String> =
        sqlx::query_scalar("select nspname::text from pg_namespace where nspname like 'rebuild_%'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(schemas, Vec::<String>::new(), "shadow schemas are dropped");

    // The live projections go on, into the swapped-in tables.
    call(
        &server,
        &b.session,
        SEND,
        json!({ "input": { "conversationId": b.conversation_id, "body": "after the rebuild" } }),
    )
    .await;
    eventually(WAIT, || async {
        let found = listed(&server, &admin, "ALL", json!({ "search": "rebuild" })).await;
        (found == [b.conversation_id.clone()]).then_some(())
    })
    .await;
    eventually(WAIT, caught_up).await;

    // Each projection's lag is a metric: none now; one event once a position goes back.
    let lags = || async {
        let text = server
            .http
            .get(format!("{}/metrics", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // Series come in no particular order.
        let mut lines = text
            .lines()
            .filter(|l| l.starts_with("switchboard_projection_lag_events{"))
            .map(str::to_owned)
            .collect::<Vec<_>>();
        lines.sort();
        lines
    };
    let lag_lines = |sla: i64| {
        [
            "conversations",
            "inboxes",
            "notifications",
            "operators",
            "sla",
            "webhooks",
        ]
        .iter()
        .map(|p| {
            let lag = if *p == "sla" { sla } else { 0 };
            format!("switchboard_projection_lag_events{{projection=\"{p}\"}} {lag}")
        })
        .collect::<Vec<_>>()
    };
    assert_eq!(lags().await, lag_lines(0));
    sqlx::query(
        "update projection_stream_positions set version = version - 1
         where projection = 'sla' and stream_id = $1::uuid",
    )
    .bind(&a.conversation_id)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(lags().await, lag_lines(1));
    server.stop().await;
}

//! PROJ-1's live inbox lists end to end: `inboxListChanged` over graphql-transport-ws tells
//! each tab's subscriber when a row comes in, changes or leaves, with every tab's counts, and
//! tells a moderator of nothing but their own; `inboxCounts` gives the same counts.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{create_inbox, start, REPLY};
use switchboard_tests::{pool_for, test_settings, TestServer, WsClient};

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];
const WAIT: Duration = Duration::from_secs(60);

const LIVE: &str = "subscription($tab: InboxTab!) { inboxListChanged(tab: $tab) {
  kind conversationId cursor conversation { id status assigneeId }
  counts { mine open closed all } } }";
const COUNTS: &str =
    "query($filter: InboxFilter) { inboxCounts(filter: $filter) { mine open closed all } }";
const TAKE: &str = "mutation($c: UUID!) { takeConversation(conversationId: $c) { changed } }";
const ASSIGN: &str = "mutation($c: UUID!, $o: UUID!) { assignConversation(conversationId: $c, operatorId: $o) { changed } }";
const STATUS: &str = "mutation($c: UUID!, $s: ConversationStatus!) {
  changeConversationStatus(conversationId: $c, status: $s) { changed } }";

/// One subscription of a socket, and the last change it received.
struct Live {
    id: String,
    last: Value,
}

impl Live {
    async fn open(ws: &mut WsClient, tab: &str) -> Self {
        let id = ws.subscribe(LIVE, json!({ "tab": tab })).await.unwrap();
        Self {
            id,
            last: Value::Null,
        }
    }

    /// The next change that differs from the last one: a burst of notifications about one
    /// conversation may repeat an `UPSERTED` of the same row, which says nothing new.
    async fn next(&mut self, ws: &mut WsClient) -> Value {
        loop {
            let data = ws.next_data(&self.id, WAIT).await.unwrap();
            let change = data["inboxListChanged"].clone();
            if change != self.last {
                self.last = change.clone();
                return change;
            }
        }
    }

    /// The next change is exactly `kind` of `conversation` (null: none) with these counts.
    async fn expect(
        &mut self,
        ws: &mut WsClient,
        kind: &str,
        conversation: Option<&str>,
        [mine, open, closed, all]: [i64; 4],
    ) -> Value {
        let change = self.next(ws).await;
        assert_eq!(change["kind"], kind, "{change}");
        assert_eq!(change["conversationId"], json!(conversation), "{change}");
        assert_eq!(
            change["counts"],
            json!({ "mine": mine, "open": open, "closed": closed, "all": all }),
            "{change}"
        );
        if kind == "UPSERTED" {
            assert_eq!(
                change["conversation"]["id"],
                json!(conversation),
                "{change}"
            );
            assert!(change["cursor"].is_string(), "{change}");
        } else {
            assert_eq!(change["conversation"], Value::Null, "{change}");
            assert_eq!(change["cursor"], Value::Null, "{change}");
        }
        change
    }
}

async fn counts(server: &TestServer, token: &str, filter: Value) -> Value {
    server
        .graphql_ok(COUNTS, json!({ "filter": filter }), Some(token))
        .await["inboxCounts"]
        .clone()
}

fn counts_of([mine, open, closed, all]: [i64; 4]) -> Value {
    json!({ "mine": mine, "open": open, "closed": closed, "all": all })
}

#[sqlx::test(migrations = "../migrations")]
async fn proj_1_live_lists_say_when_a_row_leaves_with_every_tabs_count(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let admin = server.operator_token();
    let (taker_id, taker) = server
        .register_operator("Taker", vec![Role::Manager], None, None)
        .await;
    let (moderator_id, moderator) = server
        .register_operator("Mo", vec![Role::Moderator], None, None)
        .await;
    let (_, widget) = create_inbox(&server, &admin, "Support").await;

    // The admin follows Open and Closed, the taker their own, the moderator everything they
    // may see. Each first hears the counts as they stand.
    let mut admin_ws = WsClient::connect(&server.ws_url(), Some(&admin))
        .await
        .unwrap();
    let mut open = Live::open(&mut admin_ws, "OPEN").await;
    let mut closed = Live::open(&mut admin_ws, "CLOSED").await;
    let mut taker_ws = WsClient::connect(&server.ws_url(), Some(&taker))
        .await
        .unwrap();
    let mut mine = Live::open(&mut taker_ws, "MINE").await;
    let mut mod_ws = WsClient::connect(&server.ws_url(), Some(&moderator))
        .await
        .unwrap();
    let mut moderated = Live::open(&mut mod_ws, "ALL").await;
    open.expect(&mut admin_ws, "COUNTS", None, [0, 0, 0, 0])
        .await;
    closed
        .expect(&mut admin_ws, "COUNTS", None, [0, 0, 0, 0])
        .await;
    mine.expect(&mut taker_ws, "COUNTS", None, [0, 0, 0, 0])
        .await;
    moderated
        .expect(&mut mod_ws, "COUNTS", None, [0, 0, 0, 0])
        .await;

    // A new conversation joins the queue: Open shows it, placed by the inbox pages' cursor;
    // the other tabs of admins and managers hear once that it is not theirs.
    let first = start(&server, json!({ "widgetToken": widget, "message": "hi" })).await;
    let c1 = first.conversation_id.as_str();
    let upserted = open
        .expect(&mut admin_ws, "UPSERTED", Some(c1), [0, 1, 0, 1])
        .await;
    assert_eq!(upserted["conversation"]["assigneeId"], Value::Null);
    let page = server
        .graphql_ok(
            "{ inbox(tab: OPEN) { edges { cursor node { id } } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        page["inbox"]["edges"],
        json!([{ "cursor": upserted["cursor"], "node": { "id": c1 } }])
    );
    closed
        .expect(&mut admin_ws, "REMOVED", Some(c1), [0, 1, 0, 1])
        .await;
    mine.expect(&mut taker_ws, "REMOVED", Some(c1), [0, 1, 0, 1])
        .await;

    // A colleague takes it: it leaves Open (Open − 1) and is the taker's.
    server
        .graphql_ok(TAKE, json!({ "c": c1 }), Some(&taker))
        .await;
    open.expect(&mut admin_ws, "REMOVED", Some(c1), [0, 0, 0, 1])
        .await;
    closed
        .expect(&mut admin_ws, "COUNTS", None, [0, 0, 0, 1])
        .await;
    let taken = mine
        .expect(&mut taker_ws, "UPSERTED", Some(c1), [1, 0, 0, 1])
        .await;
    assert_eq!(taken["conversation"]["assigneeId"], taker_id.to_string());
    assert_eq!(
        counts(&server, &taker, json!(null)).await,
        counts_of([1, 0, 0, 1])
    );
    assert_eq!(
        counts(&server, &admin, json!(null)).await,
        counts_of([0, 0, 0, 1])
    );

    // A second one is resolved (still in the queue: Open is everything unassigned that is
    // not closed), then closed: it leaves Open and enters Closed.
    let second = start(
        &server,
        json!({ "widgetToken": widget, "message": "again" }),
    )
    .await;
    let c2 = second.conversation_id.as_str();
    open.expect(&mut admin_ws, "UPSERTED", Some(c2), [0, 1, 0, 2])
        .await;
    closed
        .expect(&mut admin_ws, "REMOVED", Some(c2), [0, 1, 0, 2])
        .await;
    mine.expect(&mut taker_ws, "REMOVED", Some(c2), [1, 1, 0, 2])
        .await;
    server
        .graphql_ok(STATUS, json!({ "c": c2, "s": "RESOLVED" }), Some(&admin))
        .await;
    let resolved = open
        .expect(&mut admin_ws, "UPSERTED", Some(c2), [0, 1, 0, 2])
        .await;
    assert_eq!(resolved["conversation"]["status"], "RESOLVED");
    server
        .graphql_ok(STATUS, json!({ "c": c2, "s": "CLOSED" }), Some(&admin))
        .await;
    open.expect(&mut admin_ws, "REMOVED", Some(c2), [0, 0, 1, 2])
        .await;
    let entered = closed
        .expect(&mut admin_ws, "UPSERTED", Some(c2), [0, 0, 1, 2])
        .await;
    assert_eq!(entered["conversation"]["status"], "CLOSED");
    // The taker's Mine did not move; only the Closed count did (nothing came in between).
    mine.expect(&mut taker_ws, "COUNTS", None, [1, 0, 1, 2])
        .await;

    // The moderator heard nothing of the two conversations above. One assigned to them comes
    // in; taken away, it leaves; what happens to it afterwards is not theirs to hear.
    let third = start(&server, json!({ "widgetToken": widget, "message": "mod?" })).await;
    let c3 = third.conversation_id.as_str();
    server
        .graphql_ok(ASSIGN, json!({ "c": c3, "o": moderator_id }), Some(&admin))
        .await;
    moderated
        .expect(&mut mod_ws, "UPSERTED", Some(c3), [1, 0, 0, 1])
        .await;
    assert_eq!(
        counts(&server, &moderator, json!(null)).await,
        counts_of([1, 0, 0, 1])
    );
    server
        .graphql_ok(ASSIGN, json!({ "c": c3, "o": taker_id }), Some(&admin))
        .await;
    moderated
        .expect(&mut mod_ws, "REMOVED", Some(c3), [0, 0, 0, 0])
        .await;
    for c in [c1, c3] {
        server
            .graphql_ok(
                REPLY,
                json!({ "input": { "conversationId": c, "body": "Still here" } }),
                Some(&taker),
            )
            .await;
    }
    let fourth = start(
        &server,
        json!({ "widgetToken": widget, "message": "mine?" }),
    )
    .await;
    let c4 = fourth.conversation_id.as_str();
    server
        .graphql_ok(ASSIGN, json!({ "c": c4, "o": moderator_id }), Some(&admin))
        .await;
    // The very next message is the fourth: the replies to others' conversations, the others'
    // starts and closings never reached the moderator.
    moderated
        .expect(&mut mod_ws, "UPSERTED", Some(c4), [1, 0, 0, 1])
        .await;
    assert_eq!(
        counts(&server, &moderator, json!(null)).await,
        counts_of([1, 0, 0, 1])
    );

    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn proj_1_inbox_counts_follow_the_filter_and_the_viewers_scope(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let admin = server.operator_token();
    let (moderator_id, moderator) = server
        .register_operator("Mo", vec![Role::Moderator], None, None)
        .await;
    let (support_id, support) = create_inbox(&server, &admin, "Support").await;
    let (_, sales) = create_inbox(&server, &admin, "Sales").await;
    let a = start(&server, json!({ "widgetToken": support, "message": "a" })).await;
    let b = start(&server, json!({ "widgetToken": support, "message": "b" })).await;
    start(&server, json!({ "widgetToken": sales, "message": "c" })).await;
    server
        .graphql_ok(
            ASSIGN,
            json!({ "c": a.conversation_id, "o": moderator_id }),
            Some(&admin),
        )
        .await;
    server
        .graphql_ok(
            STATUS,
            json!({ "c": b.conversation_id, "s": "CLOSED" }),
            Some(&admin),
        )
        .await;

    // Wait for the read side, then every count is exact.
    switchboard_tests::eventually(WAIT, || async {
        (counts(&server, &admin, json!(null)).await == counts_of([0, 1, 1, 3])).then_some(())
    })
    .await;
    assert_eq!(
        counts(&server, &admin, json!({ "inboxIds": [support_id] })).await,
        counts_of([0, 0, 1, 2])
    );
    assert_eq!(
        counts(&server, &admin, json!({ "statuses": ["CLOSED"] })).await,
        counts_of([0, 0, 1, 1])
    );
    assert_eq!(
        counts(&server, &admin, json!({ "assigneeIds": [moderator_id] })).await,
        counts_of([0, 0, 0, 1])
    );
    // A moderator counts their own only; Open is nobody's, so never theirs.
    assert_eq!(
        counts(&server, &moderator, json!(null)).await,
        counts_of([1, 0, 0, 1])
    );
    assert_eq!(
        counts(&server, &moderator, json!({ "statuses": ["CLOSED"] })).await,
        counts_of([0, 0, 0, 0])
    );
    // A filter the lists refuse is refused here too, with the same code.
    let refused = server
        .graphql(
            COUNTS,
            json!({ "filter": { "search": "!!!" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        "INVALID_ARGUMENT"
    );

    server.stop().await;
}

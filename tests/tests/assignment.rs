//! SPEC's OPS-2..4 and INBOX-2..5 end to end: operators, auto-assignment, escalation,
//! transfer, routing, working hours, offline mode and the auto-reply, through GraphQL against
//! real PostgreSQL and Kafka, with the scheduler running.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{conversation_when, error_extensions, CREATE_INBOX, SEND, START};
use switchboard_tests::{
    eventually, operator_token, pool_for, test_settings, TestServer, REGION_HEADER,
};
use uuid::Uuid;

const ALL: &[Component] = &[
    Component::Api,
    Component::Relay,
    Component::Projections,
    Component::Scheduler,
];

const WAIT: Duration = Duration::from_secs(60);

/// Creates an inbox with these settings (title added) and waits until the projection has it.
async fn inbox(server: &TestServer, admin: &str, branch: Option<Uuid>, settings: Value) -> String {
    let mut settings = settings;
    settings["title"] = json!("Support");
    let data = server
        .graphql_ok(
            CREATE_INBOX,
            json!({ "input": { "branchId": branch, "settings": settings } }),
            Some(admin),
        )
        .await;
    let id = data["createInbox"]["inboxId"].as_str().unwrap().to_owned();
    let token = data["createInbox"]["widgetToken"]
        .as_str()
        .unwrap()
        .to_owned();
    eventually(WAIT, || async {
        let listed = server
            .graphql_ok("{ inboxes { id } }", json!({}), Some(admin))
            .await;
        listed["inboxes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id)
            .then_some(())
    })
    .await;
    token
}

/// Starts a conversation with a first message; its id.
async fn start_in(server: &TestServer, widget_token: &str, region: Option<&str>) -> String {
    let headers: Vec<(&str, &str)> = region.map(|r| (REGION_HEADER, r)).into_iter().collect();
    let response = server
        .graphql_with_headers(
            START,
            json!({ "input": { "widgetToken": widget_token, "message": "hello" } }),
            None,
            &headers,
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    response["data"]["startConversation"]["conversationId"]
        .as_str()
        .unwrap()
        .to_owned()
}

const DETAILS: &str = "query($id: UUID!) { conversation(id: $id) {
  id status assigneeId branchId transferable assignedAt openedAt
  messages(first: 100) { nodes { id body autoReply sender { kind id } } }
} }";

async fn details_when(
    server: &TestServer,
    admin: &str,
    id: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    eventually(WAIT, || async {
        let data = server
            .graphql_ok(DETAILS, json!({ "id": id }), Some(admin))
            .await;
        let c = data["conversation"].clone();
        (!c.is_null() && ready(&c)).then_some(c)
    })
    .await
}

/// Waits until the operators projection shows this operator with `status`.
async fn status_projected(server: &TestServer, admin: &str, id: Uuid, status: &str) {
    eventually(WAIT, || async {
        let data = server
            .graphql_ok("{ operators { id status } }", json!({}), Some(admin))
            .await;
        data["operators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == json!(id) && o["status"] == status)
            .then_some(())
    })
    .await;
}

async fn go_online(server: &TestServer, admin: &str, id: Uuid, token: &str) {
    server.set_status(token, "ONLINE").await;
    status_projected(server, admin, id, "ONLINE").await;
}

/// `(reason, operator)` of every assignment in a conversation's log, in order.
async fn assignments(pool: &sqlx::PgPool, id: &str) -> Vec<(String, Uuid)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select payload->>'reason', payload->>'operator_id' from events
         where stream_id = $1::uuid and event_type = 'ConversationAssigned'
         order by stream_version",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(r, o)| (r, o.parse().unwrap()))
        .collect()
}

/// Lets the scheduler run a good number of passes, for "nothing happens" checks.
async fn several_passes() {
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn ops_2_auto_assign_least_loaded(_options: PgPoolOptions, connect: PgConnectOptions) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let admin = operator_token();
    let (north, south) = (Uuid::now_v7(), Uuid::now_v7());
    let widget = inbox(&server, &admin, Some(north), json!({})).await;
    let (a, a_token) = server
        .register_operator("A", vec![Role::Moderator], Some(north), None)
        .await;
    let (b, b_token) = server
        .register_operator("B", vec![Role::Moderator], Some(north), None)
        .await;
    let (c, c_token) = server
        .register_operator("C", vec![Role::Moderator], Some(south), None)
        .await;
    let (d, _) = server
        .register_operator("D", vec![Role::Moderator], Some(north), None)
        .await;

    // A already works one conversation, given by hand while nobody was online.
    let first = start_in(&server, &widget, None).await;
    server
        .graphql_ok(
            "mutation($id: UUID!, $op: UUID!) { assignConversation(conversationId: $id, operatorId: $op) { changed } }",
            json!({ "id": first, "op": a }),
            Some(&admin),
        )
        .await;
    details_when(&server, &admin, &first, |c| c["assigneeId"] == json!(a)).await;
    for (id, token) in [(a, &a_token), (b, &b_token), (c, &c_token)] {
        go_online(&server, &admin, id, token).await;
    }

    // B has none: B first. Then A and B have one each, and B got theirs last: A.
    // C works another branch; D is offline.
    let second = start_in(&server, &widget, None).await;
    details_when(&server, &admin, &second, |c| c["assigneeId"] == json!(b)).await;
    let third = start_in(&server, &widget, None).await;
    details_when(&server, &admin, &third, |c| c["assigneeId"] == json!(a)).await;
    let fourth = start_in(&server, &widget, None).await;
    details_when(&server, &admin, &fourth, |c| c["assigneeId"] == json!(b)).await;
    assert_eq!(assignments(&pool, &second).await, [("auto".to_owned(), b)]);

    let listed = server
        .graphql_ok(
            "query($b: UUID) { operators(branchId: $b) { id status load } }",
            json!({ "b": north }),
            Some(&admin),
        )
        .await;
    let loads: Vec<(Value, Value, Value)> = listed["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].clone(), o["status"].clone(), o["load"].clone()))
        .collect();
    assert_eq!(
        loads,
        [
            (json!(a), json!("ONLINE"), json!(2)),
            (json!(b), json!("ONLINE"), json!(2)),
            (json!(d), json!("OFFLINE"), json!(0)),
        ]
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn ops_2_queue_waits_for_capacity_oldest_first(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let admin = operator_token();
    let branch = Uuid::now_v7();
    // Two conversations each by the inbox's default; A's own profile says one.
    let widget = inbox(
        &server,
        &admin,
        Some(branch),
        json!({ "defaultCapacity": 2 }),
    )
    .await;
    let (a, a_token) = server
        .register_operator("A", vec![Role::Moderator], Some(branch), Some(1))
        .await;
    go_online(&server, &admin, a, &a_token).await;

    let first = start_in(&server, &widget, None).await;
    details_when(&server, &admin, &first, |c| c["assigneeId"] == json!(a)).await;
    let second = start_in(&server, &widget, None).await;
    let third = start_in(&server, &widget, None).await;
    several_passes().await;
    for id in [&second, &third] {
        let c = details_when(&server, &admin, id, |_| true).await;
        assert!(c["assigneeId"].is_null(), "A is at capacity: {c}");
    }

    // A frees capacity: the oldest queued conversation is theirs, the other still waits.
    server
        .graphql_ok(
            "mutation($id: UUID!) { changeConversationStatus(conversationId: $id, status: RESOLVED) { changed } }",
            json!({ "id": first }),
            Some(&admin),
        )
        .await;
    details_when(&server, &admin, &second, |c| c["assigneeId"] == json!(a)).await;
    several_passes().await;
    let c = details_when(&server, &admin, &third, |_| true).await;
    assert!(c["assigneeId"].is_null(), "{c}");

    // B comes online (the inbox's default capacity, 2): the last one goes to B.
    let (b, b_token) = server
        .register_operator("B", vec![Role::Manager], Some(branch), None)
        .await;
    go_online(&server, &admin, b, &b_token).await;
    details_when(&server, &admin, &third, |c| c["assigneeId"] == json!(b)).await;
    assert_eq!(assignments(&pool, &third).await, [("auto".to_owned(), b)]);
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn ops_2_operators_register_and_set_status(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let admin = operator_token();
    let (id, token) = server
        .register_operator("Olena", vec![Role::Moderator], None, Some(3))
        .await;
    let again = server
        .graphql(
            "mutation($input: RegisterOperatorInput!) { registerOperator(input: $input) { changed } }",
            json!({ "input": { "operatorId": id, "profile": { "name": "Olena", "roles": ["MODERATOR"] } } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_extensions(&again)["code"], "OPERATOR_ALREADY_EXISTS");
    let not_admin = server
        .graphql(
            "mutation { registerOperator(input: { profile: { name: \"X\", roles: [ADMIN] } }) { changed } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(error_extensions(&not_admin)["code"], "FORBIDDEN");
    let bad = server
        .graphql(
            "mutation { registerOperator(input: { profile: { name: \"X\", roles: [], capacity: 0 } }) { changed } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(error_extensions(&bad)["code"], "EMPTY_FIELD");
    // Nobody else sets a moderator's status; they set their own.
    let (_, other) = server
        .register_operator("Ivan", vec![Role::Moderator], None, None)
        .await;
    let refused = server
        .graphql(
            "mutation($id: UUID) { setOperatorStatus(status: ONLINE, operatorId: $id) { changed } }",
            json!({ "id": id }),
            Some(&other),
        )
        .await;
    assert_eq!(error_extensions(&refused)["code"], "FORBIDDEN", "{refused}");
    server.set_status(&token, "BUSY").await;
    let me = eventually(WAIT, || async {
        let data = server
            .graphql_ok(
                "{ me { id name status capacity roles } }",
                json!({}),
                Some(&token),
            )
            .await;
        (data["me"]["status"] == "BUSY").then_some(data["me"].clone())
    })
    .await;
    assert_eq!(
        me,
        json!({ "id": id, "name": "Olena", "status": "BUSY", "capacity": 3, "roles": ["MODERATOR"] })
    );
    // Assigning someone who was never registered is refused, and so is another branch's.
    let c = start_in(
        &server,
        &inbox(&server, &admin, Some(Uuid::now_v7()), json!({})).await,
        None,
    )
    .await;
    let nobody = server
        .graphql(
            "mutation($id: UUID!, $op: UUID!) { assignConversation(conversationId: $id, operatorId: $op) { changed } }",
            json!({ "id": c, "op": Uuid::now_v7() }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_extensions(&nobody)["code"], "OPERATOR_NOT_FOUND");
    let (elsewhere, _) = server
        .register_operator("Far", vec![Role::Moderator], Some(Uuid::now_v7()), None)
        .await;
    let wrong = server
        .graphql(
            "mutation($id: UUID!, $op: UUID!) { assignConversation(conversationId: $id, operatorId: $op) { changed } }",
            json!({ "id": c, "op": elsewhere }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_extensions(&wrong)["code"], "OUTSIDE_BRANCH");
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn ops_3_escalates_unopened_assignment(_options: PgPoolOptions, connect: PgConnectOptions) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let admin = operator_token();
    let branch = Uuid::now_v7();
    let widget = inbox(
        &server,
        &admin,
        Some(branch),
        json!({ "escalationTimeoutSecs": 2 }),
    )
    .await;
    let (a, a_token) = server
        .register_operator("A", vec![Role::Moderator], Some(branch), None)
        .await;
    let (b, b_token) = server
        .register_operator("B", vec![Role::Moderator], Some(branch), None)
        .await;
    go_online(&server, &admin, a, &a_token).await;

    // A gets it and never opens it; once B is online it escalates to B, who opens it in time.
    let ignored = start_in(&server, &widget, None).await;
    details_when(&server, &admin, &ignored, |c| c["assigneeId"] == json!(a)).await;
    go_online(&server, &admin, b, &b_token).await;
    let escalated = details_when(&server, &admin, &ignored, |c| c["assigneeId"] == json!(b)).await;
    assert!(escalated["openedAt"].is_null());
    server
        .graphql_ok(
            "mutation($id: UUID!) { openConversation(conversationId: $id) { changed } }",
            json!({ "id": ignored }),
            Some(&b_token),
        )
        .await;
    details_when(&server, &admin, &ignored, |c| !c["openedAt"].is_null()).await;

    // A opens the next one in time (reading counts): it stays with A.
    let read = start_in(&server, &widget, None).await;
    details_when(&server, &admin, &read, |c| c["assigneeId"] == json!(a)).await;
    server
        .graphql_ok(
            "mutation($id: UUID!) { markConversationRead(conversationId: $id) { changed } }",
            json!({ "id": read }),
            Some(&a_token),
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        assignments(&pool, &ignored).await,
        [("auto".to_owned(), a), ("escalation".to_owned(), b)],
        "escalated once, and not again after B opened it"
    );
    assert_eq!(assignments(&pool, &read).await, [("auto".to_owned(), a)]);
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn inbox_2_routes_by_region_header(_options: PgPoolOptions, connect: PgConnectOptions) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let admin = operator_token();
    let (kyiv, ukraine, fallback) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let global = inbox(
        &server,
        &admin,
        None,
        json!({
            "routingRules": [{ "region": "UA-30", "branchId": kyiv }, { "region": "ua", "branchId": ukraine }],
            "defaultBranchId": fallback,
        }),
    )
    .await;
    for (region, branch, routed_by) in [
        (Some("UA-30"), kyiv, "rule"),
        (Some("UA-46"), ukraine, "rule"),
        (Some("PL"), fallback, "default"),
        (None, fallback, "default"),
    ] {
        let id = start_in(&server, &global, region).await;
        let c = details_when(&server, &admin, &id, |_| true).await;
        assert_eq!(
            (c["branchId"].clone(), c["transferable"].clone()),
            (json!(branch), json!(true)),
            "{region:?}"
        );
        let routing: (Option<String>, String) = sqlx::query_as(
            "select payload->'routing'->>'region', payload->'routing'->>'routed_by' from events
             where stream_id = $1::uuid and event_type = 'ConversationStarted'",
        )
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(routing, (region.map(str::to_owned), routed_by.to_owned()));
    }
    // A branch inbox's conversations are the branch's, whatever the region.
    let branch_inbox = inbox(&server, &admin, Some(kyiv), json!({})).await;
    let id = start_in(&server, &branch_inbox, Some("PL")).await;
    let c = details_when(&server, &admin, &id, |_| true).await;
    assert_eq!(
        (c["branchId"].clone(), c["transferable"].clone()),
        (json!(kyiv), json!(false))
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn ops_4_transfer_between_branches(_options: PgPoolOptions, connect: PgConnectOptions) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let admin = operator_token();
    let (north, south) = (Uuid::now_v7(), Uuid::now_v7());
    let global = inbox(&server, &admin, None, json!({ "defaultBranchId": north })).await;
    let (s1, _) = server
        .register_operator("S1", vec![Role::Moderator], Some(south), None)
        .await;
    let id = start_in(&server, &global, None).await;
    details_when(&server, &admin, &id, |c| c["branchId"] == json!(north)).await;

    const TRANSFER: &str = "mutation($id: UUID!, $op: UUID, $branch: UUID) {
      transferConversation(conversationId: $id, operatorId: $op, branchId: $branch) { changed } }";
    // To a chosen operator: the branch follows them.
    server
        .graphql_ok(TRANSFER, json!({ "id": id, "op": s1 }), Some(&admin))
        .await;
    details_when(&server, &admin, &id, |c| {
        c["branchId"] == json!(south) && c["assigneeId"] == json!(s1)
    })
    .await;
    // Back to the north's queue, for its first free operator.
    server
        .graphql_ok(TRANSFER, json!({ "id": id, "branch": north }), Some(&admin))
        .await;
    details_when(&server, &admin, &id, |c| {
        c["branchId"] == json!(north) && c["assigneeId"].is_null()
    })
    .await;
    let (n1, n1_token) = server
        .register_operator("N1", vec![Role::Moderator], Some(north), None)
        .await;
    go_online(&server, &admin, n1, &n1_token).await;
    details_when(&server, &admin, &id, |c| c["assigneeId"] == json!(n1)).await;
    assert_eq!(
        assignments(&pool, &id).await,
        [("transfer".to_owned(), s1), ("auto".to_owned(), n1)]
    );

    let both = server
        .graphql(
            TRANSFER,
            json!({ "id": id, "op": s1, "branch": north }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_extensions(&both)["code"], "INVALID_ARGUMENT");
    let branch_inbox = inbox(&server, &admin, Some(north), json!({})).await;
    let fixed = start_in(&server, &branch_inbox, None).await;
    let refused = server
        .graphql(
            TRANSFER,
            json!({ "id": fixed, "branch": south }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_extensions(&refused)["code"], "NOT_TRANSFERABLE");
    server.stop().await;
}

const AVAILABILITY: &str =
    "query($t: String!) { availability(widgetToken: $t) { state message nextOpening } }";

#[sqlx::test(migrations = "../migrations")]
async fn inbox_3_outside_working_hours(_options: PgPoolOptions, connect: PgConnectOptions) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let admin = operator_token();
    let branch = Uuid::now_v7();
    // Open all week in Kyiv, but today (there) is a holiday.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Kyiv)
        .date_naive();
    let all_day = json!([{ "start": "00:00", "end": "24:00" }]);
    let week: Vec<Value> = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
        .iter()
        .map(|day| json!({ "day": day, "periods": all_day }))
        .collect();
    let widget = inbox(
        &server,
        &admin,
        Some(branch),
        json!({
            "workingHours": { "timeZone": "Europe/Kyiv", "week": week, "holidays": [today] },
            "outsideHoursMessage": "We are closed today",
        }),
    )
    .await;
    let (a, a_token) = server
        .register_operator("A", vec![Role::Moderator], Some(branch), None)
        .await;
    go_online(&server, &admin, a, &a_token).await;

    let data = server
        .graphql_ok(AVAILABILITY, json!({ "t": widget }), None)
        .await;
    let tomorrow = today.succ_opt().unwrap();
    let next_opening = tomorrow
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(chrono_tz::Europe::Kyiv)
        .earliest()
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert_eq!(
        data["availability"],
        json!({
            "state": "OUTSIDE_WORKING_HOURS",
            "message": "We are closed today",
            "nextOpening": next_opening.to_rfc3339(),
        })
    );
    // Messages are accepted and kept, but nobody is assigned outside working hours.
    let id = start_in(&server, &widget, None).await;
    several_passes().await;
    let c = details_when(&server, &admin, &id, |c| {
        c["messages"]["nodes"].as_array().unwrap().len() == 1
    })
    .await;
    assert!(c["assigneeId"].is_null(), "{c}");
    let bad = server
        .graphql(
            CREATE_INBOX,
            json!({ "input": { "settings": { "title": "T", "workingHours": { "timeZone": "Mars/Base", "week": [], "holidays": [] } } } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_extensions(&bad)["code"], "MALFORMED_FIELD");
    assert_eq!(error_extensions(&bad)["field"], "time_zone");
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn inbox_4_offline_banner(_options: PgPoolOptions, connect: PgConnectOptions) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let admin = operator_token();
    let branch = Uuid::now_v7();
    let widget = inbox(
        &server,
        &admin,
        Some(branch),
        json!({ "offlineMessage": "Leave us a message" }),
    )
    .await;
    let data = server
        .graphql_ok(AVAILABILITY, json!({ "t": widget }), None)
        .await;
    assert_eq!(
        data["availability"],
        json!({ "state": "OFFLINE", "message": "Leave us a message", "nextOpening": null })
    );
    // Still accepted and kept while offline.
    let id = start_in(&server, &widget, None).await;
    details_when(&server, &admin, &id, |c| {
        c["messages"]["nodes"][0]["body"] == "hello"
    })
    .await;

    let (a, a_token) = server
        .register_operator("A", vec![Role::Moderator], Some(branch), None)
        .await;
    go_online(&server, &admin, a, &a_token).await;
    let data = server
        .graphql_ok(AVAILABILITY, json!({ "t": widget }), None)
        .await;
    assert_eq!(
        data["availability"],
        json!({ "state": "ONLINE", "message": null, "nextOpening": null })
    );
    // The conversation that waited is assigned as soon as A is online.
    details_when(&server, &admin, &id, |c| c["assigneeId"] == json!(a)).await;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn inbox_5_auto_reply_once(_options: PgPoolOptions, connect: PgConnectOptions) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let admin = operator_token();
    let branch = Uuid::now_v7();
    let widget = inbox(
        &server,
        &admin,
        Some(branch),
        json!({ "autoReply": "Thanks! An operator will answer shortly." }),
    )
    .await;
    let (a, a_token) = server
        .register_operator("A", vec![Role::Moderator], Some(branch), None)
        .await;
    go_online(&server, &admin, a, &a_token).await;

    let started = server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": widget, "message": "hello" } }),
            None,
        )
        .await;
    let id = started["startConversation"]["conversationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = started["startConversation"]["sessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = details_when(&server, &admin, &id, |c| {
        c["messages"]["nodes"].as_array().unwrap().len() == 2
    })
    .await;
    let reply = &c["messages"]["nodes"][1];
    assert_eq!(reply["body"], "Thanks! An operator will answer shortly.");
    assert_eq!(reply["autoReply"], true);
    assert_eq!(reply["sender"], json!({ "kind": "OPERATOR", "id": a }));
    assert_eq!(c["status"], "OPEN", "an auto-reply is not an answer");

    // The contact writes again: no second auto-reply.
    server
        .graphql_ok(
            SEND,
            json!({ "input": { "conversationId": id, "body": "still there?" } }),
            Some(&session),
        )
        .await;
    conversation_when(&server, &admin, &id, |c| c["messageCount"] == 3).await;
    several_passes().await;
    let sent: i64 = sqlx::query_scalar(
        "select count(*) from events where stream_id = $1::uuid and event_type = 'AutoReplySent'",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(sent, 1);
    server.stop().await;
}

/// A GeoIP database (MaxMind DB format) placing `network` in `country`, optionally in a
/// subdivision of it.
fn geoip_db(networks: &[(&str, &str, Option<&str>)]) -> Vec<u8> {
    let mut writer = mmdb_writer::Writer::new("GeoIP2-City");
    for (network, country, subdivision) in networks {
        let mut record = json!({ "country": { "iso_code": country } });
        if let Some(subdivision) = subdivision {
            record["subdivisions"] = json!([{ "iso_code": subdivision }]);
        }
        writer
            .insert(network.parse::<ipnet::IpNet>().unwrap(), &record)
            .unwrap();
    }
    writer.to_bytes().unwrap()
}

#[test]
fn inbox_2_region_from_a_geoip_file() {
    let db = switchboard_api::geoip::GeoIp::from_bytes(geoip_db(&[
        ("81.30.0.0/16", "UA", Some("30")),
        ("81.31.0.0/16", "UA", None),
    ]))
    .unwrap();
    let cases = [
        ("81.30.1.2", Some("UA-30")),
        ("81.31.200.1", Some("UA")),
        ("8.8.8.8", None),
        ("2001:db8::1", None),
    ];
    for (ip, region) in cases {
        assert_eq!(db.region(ip.parse().unwrap()).as_deref(), region, "{ip}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn inbox_2_routes_by_geoip_when_no_header(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let mut settings = test_settings();
    // The tests' client is 127.0.0.1: the database puts it in Kyiv.
    let file = std::env::temp_dir().join(format!("switchboard-geoip-{}.mmdb", Uuid::now_v7()));
    std::fs::write(&file, geoip_db(&[("127.0.0.0/8", "UA", Some("30"))])).unwrap();
    settings.geoip_db = Some(file.clone());
    let server = TestServer::start(&settings, pool.clone(), ALL).await;
    let admin = operator_token();
    let (kyiv, poland, fallback) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let global = inbox(
        &server,
        &admin,
        None,
        json!({
            "routingRules": [{ "region": "UA-30", "branchId": kyiv }, { "region": "PL", "branchId": poland }],
            "defaultBranchId": fallback,
        }),
    )
    .await;
    let by_address = start_in(&server, &global, None).await;
    let c = details_when(&server, &admin, &by_address, |_| true).await;
    assert_eq!(c["branchId"], json!(kyiv));
    // The trusted proxy's header, when present, wins over the address.
    let by_header = start_in(&server, &global, Some("PL")).await;
    let c = details_when(&server, &admin, &by_header, |_| true).await;
    assert_eq!(c["branchId"], json!(poland));
    server.stop().await;
    std::fs::remove_file(file).ok();
}

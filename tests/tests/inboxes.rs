//! SPEC's INBOX features end to end through GraphQL, one test per SPEC id, on real PostgreSQL
//! and Kafka.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{create_inbox, error_extensions, CREATE_INBOX, START};
use switchboard_tests::{operator_with_roles, pool_for, test_settings, TestServer};
use uuid::Uuid;

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];

async fn start_with(server: &TestServer, widget_token: &str) -> Value {
    server
        .graphql(
            START,
            json!({ "input": { "widgetToken": widget_token, "message": "hi" } }),
            None,
        )
        .await
}

/// The inbox as listed, once `ready` holds (the projection is asynchronous).
async fn inbox_when(
    server: &TestServer,
    admin: &str,
    id: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let data = server
            .graphql_ok(
                "{ inboxes { id branchId title greeting color rating active } }",
                json!({}),
                Some(admin),
            )
            .await;
        if let Some(inbox) = data["inboxes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
        {
            if ready(inbox) {
                return inbox.clone();
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "inbox never got ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn inbox_1_widget_token_branch_settings_and_active_flag(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let (_, admin) = operator_with_roles(vec![Role::Admin]);
    let (_, manager) = operator_with_roles(vec![Role::Manager]);

    // Only admins create inboxes; settings are validated.
    let create = |settings: Value, branch: Option<Uuid>, token: String| {
        let server = &server;
        async move {
            server
                .graphql(
                    CREATE_INBOX,
                    json!({ "input": { "settings": settings, "branchId": branch } }),
                    Some(&token),
                )
                .await
        }
    };
    let refused = create(json!({ "title": "Sales" }), None, manager.clone()).await;
    assert_eq!(error_extensions(&refused)["code"], "FORBIDDEN");
    let refused = create(
        json!({ "title": "Sales", "color": "red" }),
        None,
        admin.clone(),
    )
    .await;
    assert_eq!(
        error_extensions(&refused),
        json!({ "code": "MALFORMED_FIELD", "field": "color", "expected": "#rrggbb" })
    );

    let branch = Uuid::now_v7();
    let created = create(
        json!({ "title": "Sales", "greeting": "Hi!", "color": "#0A84FF", "rating": "CSAT" }),
        Some(branch),
        admin.clone(),
    )
    .await;
    let id = created["data"]["createInbox"]["inboxId"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = created["data"]["createInbox"]["widgetToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("sbw_") && token.len() == 68, "{token}");
    let listed = inbox_when(&server, &admin, &id, |_| true).await;
    assert_eq!(
        listed,
        json!({
            "id": id, "branchId": branch, "title": "Sales", "greeting": "Hi!",
            "color": "#0a84ff", "rating": "CSAT", "active": true,
        })
    );

    // The widget starts conversations with the token; a wrong one is refused.
    let started = start_with(&server, &token).await;
    assert!(
        started["data"]["startConversation"]["conversationId"].is_string(),
        "{started}"
    );
    assert_eq!(
        error_extensions(&start_with(&server, "sbw_not-a-token").await)["code"],
        "INVALID_WIDGET_TOKEN"
    );

    // Rotation: the old token stops working, the new one works.
    let rotated = server
        .graphql_ok(
            "mutation($id: UUID!) { rotateWidgetToken(inboxId: $id) { widgetToken } }",
            json!({ "id": id }),
            Some(&admin),
        )
        .await;
    let new_token = rotated["rotateWidgetToken"]["widgetToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_token, token);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while error_extensions_or_null(&start_with(&server, &token).await)
        != json!("INVALID_WIDGET_TOKEN")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old token kept working"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(start_with(&server, &new_token).await["data"]["startConversation"].is_object());

    // Settings change (the branch cannot), and an inactive inbox starts nothing.
    let updated = server
        .graphql_ok(
            "mutation($id: UUID!) { updateInbox(inboxId: $id, settings: { title: \"Sales EU\" }) { changed } }",
            json!({ "id": id }),
            Some(&admin),
        )
        .await;
    assert_eq!(updated["updateInbox"]["changed"], true);
    server
        .graphql_ok(
            "mutation($id: UUID!) { setInboxActive(inboxId: $id, active: false) { changed } }",
            json!({ "id": id }),
            Some(&admin),
        )
        .await;
    let listed = inbox_when(&server, &admin, &id, |i| i["active"] == false).await;
    assert_eq!(
        (&listed["title"], &listed["branchId"]),
        (&json!("Sales EU"), &json!(branch))
    );
    assert_eq!(
        error_extensions(&start_with(&server, &new_token).await)["code"],
        "INBOX_INACTIVE"
    );
    // The widget token never reaches the log, only its hash.
    let (_, other_token) = create_inbox(&server, &admin, "Other").await;
    let leaked: i64 =
        sqlx::query_scalar("select count(*) from events where payload::text like '%' || $1 || '%'")
            .bind(&other_token)
            .fetch_one(&pool_of(&server))
            .await
            .unwrap();
    assert_eq!(leaked, 0);
    server.stop().await;
}

fn error_extensions_or_null(response: &Value) -> Value {
    response["errors"][0]["extensions"]["code"].clone()
}

fn pool_of(server: &TestServer) -> sqlx::PgPool {
    server.pool.clone()
}

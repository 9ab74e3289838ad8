//! The operator console in a real browser (issue 21): each test starts the service, runs one
//! scenario of `web/tests/console.mjs` (Playwright driving Debian's Chromium) and then checks
//! the log: what the operator did is recorded exactly once.
//!
//! Needs node, Chromium and `npm ci --prefix web/tests` (`make test` installs them).

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use switchboard_server::runtime::Component;
use switchboard_tests::{browser, pool_for, test_settings, TestServer};

const ALL: &[Component] = &[
    Component::Api,
    Component::Relay,
    Component::Projections,
    Component::Scheduler,
    Component::Notifier,
];

async fn stream(pool: &PgPool, id: &Value) -> Vec<String> {
    sqlx::query_scalar(
        "select event_type from events where stream_id = $1::uuid order by stream_version",
    )
    .bind(id.as_str().expect("a stream id"))
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn console_invitation_sign_in_live_inbox_take_and_reply(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let settings = test_settings();
    let pool = pool_for(connect).await;
    let mut server = TestServer::start(&settings, pool.clone(), ALL).await;
    let result = browser::run(
        &mut server,
        &settings,
        ALL,
        "console.mjs",
        "sign-in-and-reply",
    )
    .await;
    server.stop().await;
    assert_eq!(
        result["refusal"],
        "This invitation link has expired, was already used or was replaced by a newer one. Ask your admin for a new invitation."
    );
    let conversation = stream(&pool, &result["conversationId"]).await;
    let kept: Vec<&str> = conversation
        .iter()
        .map(String::as_str)
        .filter(|t| {
            [
                "ConversationStarted",
                "ConversationAssigned",
                "MessagePosted",
            ]
            .contains(t)
        })
        .collect();
    assert_eq!(
        kept,
        [
            "ConversationStarted",
            "MessagePosted",
            "ConversationAssigned",
            "MessagePosted"
        ],
        "{conversation:?}"
    );
    let operator = stream(&pool, &result["operatorId"]).await;
    let access: Vec<&str> = operator
        .iter()
        .map(String::as_str)
        .filter(|t| !t.starts_with("OperatorStatus"))
        .collect();
    assert_eq!(
        access,
        [
            "OperatorRegistered",
            "OperatorInvited",
            "OperatorInvitationAccepted",
            "OperatorSignedIn",
            // The wrong password typed in the second browser.
            "OperatorSignInFailed",
            "OperatorSignedOut"
        ]
    );
}

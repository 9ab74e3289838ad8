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

/// Starts the service, runs `web/tests/console.mjs <name>` against it, stops it: the
/// scenario's result, and the test database to check the log in.
async fn scenario(connect: PgConnectOptions, name: &str) -> (Value, PgPool) {
    let settings = test_settings();
    let pool = pool_for(connect).await;
    let mut server = TestServer::start(&settings, pool.clone(), ALL).await;
    let result = browser::run(&mut server, &settings, ALL, "console.mjs", name).await;
    server.stop().await;
    (result, pool)
}

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
    let (result, pool) = scenario(connect, "sign-in-and-reply").await;
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

/// The stream's event types, without the read markers (they follow timers and focus).
fn without_reads(stream: &[String]) -> Vec<&str> {
    stream
        .iter()
        .map(String::as_str)
        .filter(|t| !t.starts_with("ConversationReadBy"))
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn console_conversation_work_note_priority_tag_transfer_resolve_and_rating(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, "conversation-work").await;
    let conversation = stream(&pool, &result["conversationId"]).await;
    assert_eq!(
        without_reads(&conversation),
        [
            "ConversationStarted",
            "MessagePosted",
            // Take, and Ann looking at it (OPS-3).
            "ConversationAssigned",
            "ConversationOpened",
            "MessagePosted",
            "ConversationStatusChanged",
            "InternalNoteAdded",
            "PriorityChanged",
            "ConversationTagged",
            // To Bob's branch, and to Bob.
            "ConversationTransferred",
            "ConversationAssigned",
            "ConversationStatusChanged",
            "ConversationRated",
        ],
        "{conversation:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn console_moderator_sees_only_their_own(_options: PgPoolOptions, connect: PgConnectOptions) {
    let (result, pool) = scenario(connect, "moderator-only-own").await;
    let theirs = stream(&pool, &result["theirs"]).await;
    assert_eq!(
        without_reads(&theirs),
        [
            "ConversationStarted",
            "MessagePosted",
            "ConversationAssigned",
            "ConversationOpened"
        ],
        "{theirs:?}"
    );
    // The refused one: nothing of Mo's.
    let other = stream(&pool, &result["other"]).await;
    assert_eq!(other, ["ConversationStarted", "MessagePosted"]);
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
            "OperatorSignedIn"
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn console_analyst_reports_charts_and_csv(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, "analyst-report").await;
    // A header and the 14 days of the default range.
    assert_eq!(result["csvLines"], 15);
    // Today: 2 conversations, 1 still open, one CSAT rating of 5 (the times are the
    // scenario's own, checked there against slaReport).
    let today: Vec<String> = result["today"]
        .as_str()
        .expect("today's line")
        .split(',')
        .map(str::to_owned)
        .collect();
    assert_eq!(today.len(), 14, "{today:?}");
    assert_eq!(
        [&today[1], &today[9], &today[10], &today[11], &today[12], &today[13]],
        ["2", "1", "5", "1", "", "0"],
        "{today:?}"
    );
    // Reading reports records nothing: the analyst's stream is their sign-up only.
    let operator = stream(&pool, &result["operatorId"]).await;
    assert_eq!(
        operator,
        [
            "OperatorRegistered",
            "OperatorInvited",
            "OperatorInvitationAccepted",
            "OperatorSignedIn"
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn console_admin_creates_an_inbox_its_snippet_works_until_rotated(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, "admin-inbox").await;
    let inbox = stream(&pool, &result["inboxId"]).await;
    assert_eq!(
        inbox,
        ["InboxCreated", "InboxSettingsChanged", "WidgetTokenRotated"]
    );
    let conversation = stream(&pool, &result["conversationId"]).await;
    assert_eq!(conversation, ["ConversationStarted", "MessagePosted"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn console_webhook_dead_delivery_redelivered_from_the_page(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, "webhook-redeliver").await;
    assert_eq!(result["event"], "message.in");
    let mut statuses = vec![500; 9];
    statuses.push(200);
    assert_eq!(result["statuses"], serde_json::json!(statuses));
    // Registered from the page; the redelivery is no event of the endpoint's but an audit row
    // of who asked, from which status.
    let endpoint = stream(&pool, &result["endpointId"]).await;
    assert_eq!(endpoint, ["WebhookEndpointRegistered"]);
    let delivery: uuid::Uuid = result["deliveryId"].as_str().unwrap().parse().unwrap();
    let operator: uuid::Uuid = result["operatorId"].as_str().unwrap().parse().unwrap();
    let audit: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "select requested_by, previous_status from webhook_redeliveries where delivery_id = $1",
    )
    .bind(delivery)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(audit, [(operator, "dead".to_owned())]);
    let conversation = stream(&pool, &result["conversationId"]).await;
    assert_eq!(conversation, ["ConversationStarted", "MessagePosted"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn console_sign_in_sentences_locked_account_and_replaced_invitation(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, "sign-in-sentences").await;
    let wrong = "The e-mail or the password is wrong.";
    let locked_sentence = "Too many failed attempts: the account is locked. Try again in 15 min.";
    // Four wrong passwords are wrong; the fifth locks; then the right one is refused too.
    assert_eq!(
        result["said"],
        serde_json::json!([wrong, wrong, wrong, wrong, locked_sentence, locked_sentence])
    );
    let locked = stream(&pool, &result["lockedId"]).await;
    let access: Vec<&str> = locked
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
            "OperatorSignedOut",
            "OperatorSignInFailed",
            "OperatorSignInFailed",
            "OperatorSignInFailed",
            "OperatorSignInFailed",
            "OperatorSignInFailed",
            "OperatorLockedOut",
            // The right password while locked: refused, no session.
            "OperatorSignInFailed"
        ]
    );
    // The first link refused changes nothing; the second one signs in.
    let invited = stream(&pool, &result["invitedId"]).await;
    let access: Vec<&str> = invited
        .iter()
        .map(String::as_str)
        .filter(|t| !t.starts_with("OperatorStatus"))
        .collect();
    assert_eq!(
        access,
        [
            "OperatorRegistered",
            "OperatorInvited",
            "OperatorInvited",
            "OperatorInvitationAccepted",
            "OperatorSignedIn"
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn console_admin_invites_an_operator_who_accepts_through_the_shown_link(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, "admin-invites").await;
    let mira = stream(&pool, &result["miraId"]).await;
    assert_eq!(
        mira,
        [
            "OperatorRegistered",
            "OperatorInvited",
            "OperatorInvitationAccepted",
            "OperatorSignedIn"
        ]
    );
    // The invitation was the admin's doing, from the page: they are its actor.
    let actors: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "select event_type, metadata->'actor'->>'kind', metadata->'actor'->>'id' from events
         where stream_id = $1::uuid and event_type in ('OperatorRegistered', 'OperatorInvited')
         order by stream_version",
    )
    .bind(result["miraId"].as_str().expect("Mira's id"))
    .fetch_all(&pool)
    .await
    .unwrap();
    let admin = result["adminId"]
        .as_str()
        .expect("the admin's id")
        .to_owned();
    let operator = |event: &str| {
        (
            event.to_owned(),
            Some("operator".to_owned()),
            Some(admin.clone()),
        )
    };
    assert_eq!(
        actors,
        [operator("OperatorRegistered"), operator("OperatorInvited")]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn console_reused_refresh_token_ends_the_session_with_its_sentence(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, "reused-refresh-token").await;
    // Signed in, then two rotations.
    assert_eq!(result["cookies"], 3);
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
            "OperatorSignedOut"
        ]
    );
    let reason: Option<String> = sqlx::query_scalar(
        "select payload->>'reason' from events
         where stream_id = $1::uuid and event_type = 'OperatorSignedOut'",
    )
    .bind(result["operatorId"].as_str().expect("the operator's id"))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(reason.as_deref(), Some("refresh_token_reused"));
}

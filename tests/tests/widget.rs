//! The website chat widget in a real browser (issue 20): each test starts the service, runs
//! one scenario of `web/tests/widget.mjs` (Playwright driving Debian's Chromium, the host page
//! on another origin than the API) and then checks the log: what the visitor did is recorded
//! exactly once, and what was refused recorded nothing.
//!
//! Needs node, Chromium and `npm ci --prefix web/tests` (`make test` installs them).

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::time::Duration;
use switchboard_server::config::Settings;
use switchboard_server::runtime::Component;

use switchboard_tests::fakes::{FakeBotApi, TelegramUser};
use switchboard_tests::{browser, pool_for, settings_with_fakes, test_settings, TestServer};

const ALL: &[Component] = &[
    Component::Api,
    Component::Relay,
    Component::Projections,
    Component::Scheduler,
    Component::Notifier,
];

async fn scenario(connect: PgConnectOptions, settings: Settings, name: &str) -> (Value, PgPool) {
    let pool = pool_for(connect).await;
    let mut server = TestServer::start(&settings, pool.clone(), ALL).await;
    let result = browser::run(&mut server, &settings, ALL, "widget.mjs", name).await;
    server.stop().await;
    (result, pool)
}

/// The event types of a stream, in order.
async fn stream(pool: &PgPool, id: &Value) -> Vec<String> {
    sqlx::query_scalar(
        "select event_type from events where stream_id = $1::uuid order by stream_version",
    )
    .bind(id.as_str().expect("a stream id"))
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn count(pool: &PgPool, event_type: &str) -> i64 {
    sqlx::query_scalar("select count(*) from events where event_type = $1")
        .bind(event_type)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// `types` of `stream`, keeping only those named in `of`.
fn only(types: &[String], of: &[&str]) -> Vec<String> {
    types
        .iter()
        .filter(|t| of.contains(&t.as_str()))
        .cloned()
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_chat_from_the_form_with_live_reply_typing_and_read_marker(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, test_settings(), "chat").await;
    let types = stream(&pool, &result["conversationId"]).await;
    // The visitor's first message, the reply, the visitor's second, the reply read from the
    // button: each once.
    assert_eq!(
        only(&types, &["ConversationStarted", "MessagePosted"]),
        [
            "ConversationStarted",
            "MessagePosted",
            "MessagePosted",
            "MessagePosted",
            "MessagePosted"
        ],
        "whole stream: {types:?}"
    );
    // Read after the first reply was shown, and after the last when the panel opened.
    let read: Vec<usize> = types
        .iter()
        .enumerate()
        .filter(|(_, t)| *t == "ConversationReadByContact")
        .map(|(i, _)| i)
        .collect();
    let reply = types
        .iter()
        .enumerate()
        .filter(|(_, t)| *t == "MessagePosted")
        .nth(1)
        .map(|(i, _)| i)
        .unwrap();
    assert!(
        read.len() == 2 && read[0] > reply && read[1] == types.len() - 1,
        "whole stream: {types:?}"
    );
    // The start refused for the missing name recorded nothing.
    assert_eq!(count(&pool, "ConversationStarted").await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_history_survives_reload_second_tab_and_restart(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, test_settings(), "history").await;
    let types = stream(&pool, &result["conversationId"]).await;
    // First to Sixth: each once.
    assert_eq!(
        only(&types, &["ConversationStarted", "MessagePosted"]),
        [
            "ConversationStarted",
            "MessagePosted",
            "MessagePosted",
            "MessagePosted",
            "MessagePosted",
            "MessagePosted",
            "MessagePosted"
        ],
        "whole stream: {types:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_attachment_goes_up_and_down_and_bad_files_get_sentences(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, test_settings(), "attachments").await;
    let types = stream(&pool, &result["conversationId"]).await;
    assert_eq!(
        only(&types, &["MessagePosted"]),
        ["MessagePosted", "MessagePosted"],
        "the first message and the one with the photo; the refused files recorded nothing: {types:?}"
    );
    let attached: i64 = sqlx::query_scalar(
        "select count(*) from events where event_type = 'MessagePosted' \
         and payload->'attachments'->0->>'attachment_id' = $1",
    )
    .bind(result["attachmentId"].as_str().unwrap())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(attached, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_callback_with_consent_from_a_chat_and_as_a_guest(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, test_settings(), "callback").await;
    for (conversation, version) in [
        (&result["inChat"], "switchboard-widget-callback-1/en"),
        (&result["guest"], "switchboard-widget-callback-1/uk"),
    ] {
        let consent: Vec<Value> = sqlx::query_scalar(
            "select payload->'consent' from events \
             where event_type = 'CallbackRequested' and stream_id = $1::uuid",
        )
        .bind(conversation.as_str().unwrap())
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(consent.len(), 1, "one request in {conversation}");
        assert_eq!(consent[0]["text_version"], version, "{consent:?}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_outside_hours_banner_names_the_next_opening(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    scenario(connect, test_settings(), "hours").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_rating_after_resolve_and_signed_in_users(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (result, pool) = scenario(connect, test_settings(), "rating").await;
    let types = stream(&pool, &result["conversationId"]).await;
    assert_eq!(
        only(&types, &["ConversationStarted", "ConversationRated"]),
        ["ConversationStarted", "ConversationRated"],
        "{types:?}"
    );
    let score: Value = sqlx::query_scalar(
        "select payload->'score' from events where event_type = 'ConversationRated'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(score, 4);
    // The forged identity started nothing: the one conversation is the verified user's.
    assert_eq!(count(&pool, "ConversationStarted").await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_keeps_its_design_under_hostile_css_and_on_a_phone(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    scenario(connect, test_settings(), "hostile").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_refuses_a_page_outside_the_allowed_origins(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (_, pool) = scenario(connect, test_settings(), "origin").await;
    assert_eq!(count(&pool, "ConversationStarted").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_shows_no_button_when_the_messenger_is_off(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut settings = test_settings();
    settings.widget_api_enabled = false;
    scenario(connect, settings, "messengerOff").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_waits_out_the_rate_limit_and_sends_each_message_once(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut settings = test_settings();
    // A burst of 8 calls per address, one more every half second.
    settings.rate_limit_per_ip = 8;
    settings.rate_limit_window_secs = 4;
    let (result, pool) = scenario(connect, settings, "rateLimited").await;
    let types = stream(&pool, &result["conversationId"]).await;
    assert_eq!(
        only(&types, &["MessagePosted"]).len(),
        7,
        "m0 and six more, each once: {types:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_continues_in_telegram(_options: PgPoolOptions, connect: PgConnectOptions) {
    let bot = FakeBotApi::start().await;
    let settings = settings_with_fakes(&bot, None);
    let mut server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let result = browser::run(&mut server, &settings, ALL, "widget.mjs", "telegram").await;
    // The link the page opened is one the bot takes: the visitor's Telegram chat gets the
    // conversation so far.
    let mut visitor = TelegramUser::new(7001);
    let start = result["start"].as_str().unwrap();
    assert_eq!(visitor.say(&server, &format!("/start {start}")).await, 200);
    let transcript = bot
        .wait_for(
            visitor.id,
            |t| t.starts_with("Conversation so far:"),
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(
        transcript.text,
        "Conversation so far:\nYou: Can we talk in Telegram?"
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn widget_demo_page_and_the_resume_link(_options: PgPoolOptions, connect: PgConnectOptions) {
    let mut settings = test_settings();
    settings.demo = true;
    let (result, pool) = scenario(connect, settings, "demoAndResume").await;
    let types = stream(&pool, &result["conversationId"]).await;
    assert_eq!(
        only(&types, &["ConversationStarted", "MessagePosted"]),
        [
            "ConversationStarted",
            "MessagePosted",
            "MessagePosted",
            "MessagePosted"
        ],
        "{types:?}"
    );
    // The demo inbox and the demo's conversation.
    assert_eq!(count(&pool, "InboxCreated").await, 2);
    assert_eq!(count(&pool, "ConversationStarted").await, 2);
}

/// `/widget.js` as sites and caches load it: JavaScript, revalidated by its ETag.
#[sqlx::test(migrations = "../migrations")]
async fn widget_script_is_served_embedded_with_a_validator(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server =
        TestServer::start(&test_settings(), pool_for(connect).await, &[Component::Api]).await;
    let first = server
        .http
        .get(format!("{}/widget.js", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let headers = first.headers().clone();
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    let body = first.text().await.unwrap();
    assert_eq!(body, switchboard_api::web::WIDGET_JS);
    let again = server
        .http
        .get(format!("{}/widget.js", server.base))
        .header("if-none-match", headers["etag"].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // A proxy that compressed it weakens the tag; it still matches.
    let weak = server
        .http
        .get(format!("{}/widget.js", server.base))
        .header(
            "if-none-match",
            format!("W/{}", headers["etag"].to_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), 304);
    // Browsers take it gzipped: about a quarter of the bytes.
    let gzipped = server
        .http
        .get(format!("{}/widget.js", server.base))
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert_eq!(gzipped.headers()["vary"], "Accept-Encoding");
    let compressed = gzipped.bytes().await.unwrap();
    assert!(
        compressed.len() < body.len() / 3 && compressed.len() <= 30 * 1024,
        "{} bytes gzipped of {}",
        compressed.len(),
        body.len()
    );
    // Without SWITCHBOARD_DEMO there is no demo page.
    let demo = server
        .http
        .get(format!("{}/demo", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(demo.status(), 404);
    server.stop().await;
}

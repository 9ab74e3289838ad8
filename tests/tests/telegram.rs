//! Telegram and notifications end to end (SPEC TG-1..5, CALL-2, INT-3): the real service
//! with its relay, projections and notifier, a local server that behaves like the Telegram
//! Bot API (`switchboard_tests::fakes::FakeBotApi`), updates posted to `/telegram/webhook` as
//! Telegram posts them, and a local SMTP server that keeps what it is sent.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{create_inbox, start, REPLY, SEND};
use switchboard_tests::fakes::{
    post_update, Failure, FakeBotApi, SmtpSink, TelegramUser, BOT_USERNAME, WEBHOOK_SECRET,
};
use switchboard_tests::{eventually, pool_for, settings_with_fakes, TestServer, WsClient};
use switchboard_workers::notifier;
use uuid::Uuid;

const ALL: &[Component] = &[
    Component::Api,
    Component::Relay,
    Component::Projections,
    Component::Notifier,
];
const WAIT: Duration = Duration::from_secs(60);

const THREAD: &str = "query($id: UUID!) { conversation(id: $id) {
  status assigneeId messages(first: 100) { nodes { body channel sender { kind id } } }
} }";

/// Registers an operator, waits until the projection has them, links their Telegram
/// account as `user` through `/login`, and returns their id and token.
async fn linked_operator(
    server: &TestServer,
    bot: &FakeBotApi,
    name: &str,
    roles: Vec<Role>,
    user: &mut TelegramUser,
) -> (Uuid, String) {
    let (id, token) = server.register_operator(name, roles, None, None).await;
    eventually(WAIT, || async {
        let me = server
            .graphql_ok("{ me { id } }", json!({}), Some(&token))
            .await;
        (!me["me"].is_null()).then_some(())
    })
    .await;
    let link = server
        .graphql_ok(
            "mutation { createTelegramLink { token command url expiresAt } }",
            json!({}),
            Some(&token),
        )
        .await;
    let link = &link["createTelegramLink"];
    assert_eq!(
        link["command"],
        format!("/login {}", link["token"].as_str().unwrap())
    );
    assert_eq!(link["url"], Value::Null);
    assert_eq!(
        user.say(server, link["command"].as_str().unwrap()).await,
        200
    );
    bot.wait_for(user.id, |t| t.starts_with("Linked."), WAIT)
        .await;
    let me = server
        .graphql_ok("{ me { telegramLinked } }", json!({}), Some(&token))
        .await;
    assert_eq!(me["me"]["telegramLinked"], true);
    (id, token)
}

/// The conversation's messages once `ready` holds, as (body, channel, sender kind).
async fn thread_when(
    server: &TestServer,
    operator: &str,
    id: &str,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<(String, String, String)> {
    eventually(WAIT, || async {
        let data = server
            .graphql_ok(THREAD, json!({ "id": id }), Some(operator))
            .await;
        let nodes = data["conversation"]["messages"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        ready(&nodes).then(|| {
            nodes
                .iter()
                .map(|m| {
                    (
                        m["body"].as_str().unwrap().to_owned(),
                        m["channel"].as_str().unwrap_or_default().to_owned(),
                        m["sender"]["kind"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
    })
    .await
}

/// Sends `text` as `user` and returns the bot's one answer to it.
async fn ask(server: &TestServer, bot: &FakeBotApi, user: &mut TelegramUser, text: &str) -> String {
    let answers = answers(server, bot, user, text).await;
    assert_eq!(answers.len(), 1, "{text}: {answers:#?}");
    answers[0].clone()
}

/// Sends `text` as `user` and returns the bot's answers to it (the webhook answers after
/// the bot has).
async fn answers(
    server: &TestServer,
    bot: &FakeBotApi,
    user: &mut TelegramUser,
    text: &str,
) -> Vec<String> {
    let (update, message_id) = user.update(text, None);
    assert_eq!(
        post_update(server, &update, Some(WEBHOOK_SECRET)).await,
        200
    );
    bot.sent_to(user.id)
        .into_iter()
        .filter(|s| s.reply_to == Some(message_id))
        .map(|s| s.text)
        .collect()
}

async fn events_of(server: &TestServer, stream: &str) -> i64 {
    sqlx::query_scalar("select count(*) from events where stream_id = $1::uuid")
        .bind(stream)
        .fetch_one(&server.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn tg_2_operator_answers_from_telegram_and_the_widget_sees_it(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let bot = FakeBotApi::start().await;
    let settings = settings_with_fakes(&bot, None);
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let mut anna = TelegramUser::new(1001);
    let (anna_id, admin) =
        linked_operator(&server, &bot, "Anna", vec![Role::Admin], &mut anna).await;
    let (_, widget_token) = create_inbox(&server, &admin, "Support").await;

    // The visitor writes on the website; nobody is assigned, so the branch's admins are told.
    let c = start(
        &server,
        json!({ "widgetToken": widget_token, "name": "Olena", "message": "Where is my order?" }),
    )
    .await;
    let id = c.conversation_id.clone();
    let forwarded = bot
        .wait_for(anna.id, |t| t.starts_with("[WEB]"), WAIT)
        .await;
    assert_eq!(
        forwarded.text,
        format!("[WEB] Olena · #{id}\nWhere is my order?")
    );

    // The widget listens; Anna replies to the forwarded message in Telegram.
    let mut widget = WsClient::connect(&server.ws_url(), Some(&c.session))
        .await
        .unwrap();
    let sub = widget
        .subscribe(
            "subscription($id: UUID!) { messagePosted(conversationId: $id, afterPosition: 0) {
               body channel sender { kind id } } }",
            json!({ "id": id }),
        )
        .await
        .unwrap();
    let first = widget.next_data(&sub, WAIT).await.unwrap();
    assert_eq!(first["messagePosted"]["body"], "Where is my order?");
    let (update, _) = anna.update("It ships tomorrow.", Some(&forwarded));
    assert_eq!(
        post_update(&server, &update, Some(WEBHOOK_SECRET)).await,
        200
    );
    let reply = widget.next_data(&sub, WAIT).await.unwrap();
    // The widget is told an operator wrote, not which one.
    assert_eq!(
        reply,
        json!({ "messagePosted": {
            "body": "It ships tomorrow.", "channel": "TELEGRAM",
            "sender": { "kind": "OPERATOR", "id": null },
        }})
    );
    // Operators are told who.
    let thread = eventually(WAIT, || async {
        let data = server
            .graphql_ok(THREAD, json!({ "id": id }), Some(&admin))
            .await;
        let nodes = data["conversation"]["messages"]["nodes"]
            .as_array()?
            .clone();
        (nodes.len() == 2).then_some(nodes)
    })
    .await;
    assert_eq!(
        thread[1]["sender"],
        json!({ "kind": "OPERATOR", "id": anna_id })
    );

    // Telegram delivers the same update again: nothing new is recorded.
    let before = events_of(&server, &id).await;
    assert_eq!(
        post_update(&server, &update, Some(WEBHOOK_SECRET)).await,
        200
    );
    assert_eq!(events_of(&server, &id).await, before);

    // Without the secret, or with a wrong one, or with a body that is not an update: refused,
    // and nothing recorded.
    let (forged, _) = anna.update("/close", None);
    assert_eq!(post_update(&server, &forged, None).await, 401);
    assert_eq!(post_update(&server, &forged, Some("wrong")).await, 401);
    let garbage = server
        .http
        .post(format!("{}/telegram/webhook", server.base))
        .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 400);
    let body: Value = garbage.json().await.unwrap();
    assert_eq!(body["code"], "BAD_REQUEST");
    assert_eq!(events_of(&server, &id).await, before);

    let thread = thread_when(&server, &admin, &id, |m| m.len() == 2).await;
    assert_eq!(
        thread,
        vec![
            ("Where is my order?".into(), "WEB".into(), "CONTACT".into()),
            (
                "It ships tomorrow.".into(),
                "TELEGRAM".into(),
                "OPERATOR".into()
            ),
        ]
    );
    // Anna was sent exactly the welcome and the one forwarded message: her own reply is not
    // echoed back to her.
    let texts: Vec<String> = bot.sent_to(anna.id).into_iter().map(|s| s.text).collect();
    assert_eq!(texts.len(), 2, "{texts:#?}");

    // Weeks later the notification is swept; a reply to the forwarded message still reaches
    // the conversation, by the id in its first line.
    sqlx::query("update notifications set updated_at = now() - interval '31 days'")
        .execute(&server.pool)
        .await
        .unwrap();
    let swept = notifier::sweep(&server.pool, Duration::from_secs(30 * 24 * 3600), 1000)
        .await
        .unwrap();
    assert_eq!(swept, 1);
    assert_eq!(
        anna.reply(&server, &forwarded, "It has shipped.").await,
        200
    );
    let late = widget.next_data(&sub, WAIT).await.unwrap();
    assert_eq!(late["messagePosted"]["body"], "It has shipped.");
    assert_eq!(late["messagePosted"]["channel"], "TELEGRAM");

    // Only the bot's own messages are read for a conversation id: a reply to Anna's own
    // message that looks like a forward goes nowhere.
    let before = events_of(&server, &id).await;
    let (update, _) = anna.update_replying(
        "Is this the one?",
        Some((forwarded.message_id + 100, forwarded.text.as_str(), false)),
    );
    assert_eq!(
        post_update(&server, &update, Some(WEBHOOK_SECRET)).await,
        200
    );
    bot.wait_for(anna.id, |t| t.starts_with("Which conversation?"), WAIT)
        .await;
    assert_eq!(events_of(&server, &id).await, before);
    server.stop().await;
}

/// A notification that is done with is kept `SWITCHBOARD_NOTIFY_KEEP_DAYS`, then swept with
/// its attempts, oldest first; a pending one is never swept, however old.
#[sqlx::test(migrations = "../migrations")]
async fn notifications_done_with_are_swept_after_their_keeping_time(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = &pool_for(connect).await;
    let row = |status: &'static str, days_ago: i32| async move {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into notifications
                 (notification_id, event_id, global_position, conversation_id, channel,
                  telegram_chat_id, body, status, attempts, next_attempt_at, created_at,
                  updated_at)
             values ($1, $2, 1, $3, 'telegram', 42, 'hi', $4, 1, now(),
                     now() - $5 * interval '1 day', now() - $5 * interval '1 day')",
        )
        .bind(id)
        .bind(Uuid::now_v7())
        .bind(Uuid::now_v7())
        .bind(status)
        .bind(days_ago)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into notification_attempts (notification_id, attempt, attempted_at, outcome)
             values ($1, 1, now(), $2)",
        )
        .bind(id)
        .bind(if status == "pending" { "retry" } else { status })
        .execute(pool)
        .await
        .unwrap();
        id
    };
    let oldest_sent = row("sent", 50).await;
    let old_failed = row("failed", 40).await;
    let old_skipped = row("skipped", 35).await;
    let old_pending = row("pending", 60).await;
    let recent_sent = row("sent", 29).await;
    let keep = Duration::from_secs(30 * 24 * 3600);

    let remaining = || async {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "select notification_id from notifications order by notification_id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let attempts: i64 = sqlx::query_scalar("select count(*) from notification_attempts")
            .fetch_one(pool)
            .await
            .unwrap();
        (ids, attempts)
    };
    // One at a time: the oldest goes first.
    assert_eq!(notifier::sweep(pool, keep, 1).await.unwrap(), 1);
    let mut expected = vec![old_failed, old_skipped, old_pending, recent_sent];
    expected.sort();
    assert_eq!(remaining().await, (expected, 4));
    // Then the rest that is past its time; the pending and the recent one stay.
    assert_eq!(notifier::sweep(pool, keep, 1000).await.unwrap(), 2);
    assert_eq!(notifier::sweep(pool, keep, 1000).await.unwrap(), 0);
    let mut expected = vec![old_pending, recent_sent];
    expected.sort();
    assert_eq!(remaining().await, (expected, 2));
    let gone: i64 =
        sqlx::query_scalar("select count(*) from notifications where notification_id = any($1)")
            .bind(vec![oldest_sent, old_failed, old_skipped])
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(gone, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn tg_3_every_bot_command_checks_the_role(_o: PgPoolOptions, connect: PgConnectOptions) {
    let bot = FakeBotApi::start().await;
    let settings = settings_with_fakes(&bot, None);
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let mut admin_user = TelegramUser::new(2001);
    let mut moderator_user = TelegramUser::new(2002);
    let mut analyst_user = TelegramUser::new(2003);
    let mut stranger = TelegramUser::new(2004);
    let (admin_id, admin) =
        linked_operator(&server, &bot, "Anna", vec![Role::Admin], &mut admin_user).await;
    linked_operator(
        &server,
        &bot,
        "Max",
        vec![Role::Moderator],
        &mut moderator_user,
    )
    .await;
    linked_operator(&server, &bot, "Ira", vec![Role::Analyst], &mut analyst_user).await;
    let (_, widget_token) = create_inbox(&server, &admin, "Support").await;
    let c = start(
        &server,
        json!({ "widgetToken": widget_token, "name": "Olena", "message": "Hello" }),
    )
    .await;
    let id = c.conversation_id.clone();
    thread_when(&server, &admin, &id, |m| m.len() == 1).await;

    let before = events_of(&server, &id).await;

    // Someone who never linked is told how, and nothing is recorded; what they write is a
    // customer's message, which no inbox takes here.
    let not_linked = ask(&server, &bot, &mut stranger, &format!("/open {id}")).await;
    assert!(
        not_linked.starts_with("This Telegram account is not linked"),
        "{not_linked}"
    );
    assert_eq!(
        ask(&server, &bot, &mut stranger, "hello?").await,
        "Sorry, we cannot take messages in Telegram yet. Please write to us from the chat on \
         our website. (Operators: link your account with /login <token>.)"
    );
    assert_eq!(
        ask(&server, &bot, &mut stranger, "/login not-a-token").await,
        "That token is unknown, used or expired. Get a new one in the operator UI."
    );
    assert!(ask(&server, &bot, &mut stranger, "/help")
        .await
        .starts_with("Switchboard bot."));

    // An analyst works no conversation, and has no status to set.
    for command in ["open", "close", "assign", "callback", "status"] {
        assert_eq!(
            ask(
                &server,
                &bot,
                &mut analyst_user,
                &format!("/{command} {id}")
            )
            .await,
            format!("/{command}: your role may not work conversations.")
        );
    }
    // A moderator works only what is assigned to them, cannot take it themselves, and does
    // not handle call-backs.
    for command in ["open", "close"] {
        assert_eq!(
            ask(
                &server,
                &bot,
                &mut moderator_user,
                &format!("/{command} {id}")
            )
            .await,
            format!("/{command}: moderators work only the conversations assigned to them.")
        );
    }
    assert_eq!(
        ask(
            &server,
            &bot,
            &mut moderator_user,
            &format!("/callback {id}")
        )
        .await,
        "/callback: call-backs are for admins and managers."
    );
    let take = ask(&server, &bot, &mut moderator_user, &format!("/assign {id}")).await;
    assert_eq!(
        take,
        format!("Not done: conversation {id} is not assigned to you.")
    );
    let lost = ask(&server, &bot, &mut moderator_user, "is anyone there?").await;
    assert!(lost.starts_with("Which conversation?"), "{lost}");
    assert_eq!(events_of(&server, &id).await, before);

    // The admin: bad arguments first, then every command.
    assert_eq!(
        ask(&server, &bot, &mut admin_user, "/open nope").await,
        "/open needs a conversation id, as in /open 0190a1b2-…"
    );
    let unknown = Uuid::now_v7();
    assert_eq!(
        ask(&server, &bot, &mut admin_user, &format!("/open {unknown}")).await,
        format!("There is no conversation {unknown}.")
    );
    assert!(ask(&server, &bot, &mut admin_user, "/frobnicate")
        .await
        .starts_with("Unknown command /frobnicate."));
    let opened = ask(&server, &bot, &mut admin_user, &format!("/open {id}")).await;
    assert_eq!(
        opened,
        format!(
            "#{id} · Olena · open\nYour messages here now go to this conversation.\nVisitor: Hello"
        )
    );
    // After /open, plain text is a reply to that conversation.
    let (update, _) = admin_user.update("Hi Olena, how can I help?", None);
    assert_eq!(
        post_update(&server, &update, Some(WEBHOOK_SECRET)).await,
        200
    );
    assert_eq!(
        ask(&server, &bot, &mut admin_user, &format!("/callback {id}")).await,
        format!(
            "#{id} now awaits a call.\nNo call-back request, and no phone number on record: \
             ask the contact for one."
        )
    );
    assert_eq!(
        ask(&server, &bot, &mut admin_user, &format!("/assign {id}")).await,
        format!("#{id} is yours now.")
    );
    assert_eq!(
        ask(&server, &bot, &mut admin_user, &format!("/assign {id}")).await,
        format!("#{id} was already yours.")
    );
    assert_eq!(
        ask(&server, &bot, &mut admin_user, "/status sleeping").await,
        "Say which: /status online, /status away, /status busy or /status offline."
    );
    assert_eq!(
        ask(&server, &bot, &mut admin_user, "/status busy").await,
        "Your status: busy."
    );
    assert_eq!(
        ask(&server, &bot, &mut admin_user, "/close").await,
        format!("Closed #{id}.")
    );
    assert_eq!(
        ask(&server, &bot, &mut admin_user, &format!("/close {id}")).await,
        format!("#{id} was already closed.")
    );
    let closed = ask(&server, &bot, &mut admin_user, "one more thing").await;
    assert_eq!(
        closed,
        format!("Not done: conversation {id} is closed; reopen it to reply.")
    );

    let view = eventually(WAIT, || async {
        let data = server
            .graphql_ok(THREAD, json!({ "id": id }), Some(&admin))
            .await;
        (data["conversation"]["status"] == "CLOSED"
            && data["conversation"]["messages"]["nodes"]
                .as_array()
                .unwrap()
                .len()
                == 2)
            .then_some(data)
    })
    .await;
    assert_eq!(view["conversation"]["assigneeId"], json!(admin_id));
    assert_eq!(
        view["conversation"]["messages"]["nodes"][1],
        json!({ "body": "Hi Olena, how can I help?", "channel": "TELEGRAM",
                "sender": { "kind": "OPERATOR", "id": admin_id } })
    );
    let status = eventually(WAIT, || async {
        let me = server
            .graphql_ok("{ me { status } }", json!({}), Some(&admin))
            .await;
        (me["me"]["status"] == "BUSY").then_some(())
    })
    .await;
    assert_eq!(status, ());
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn tg_4_visitor_continues_in_telegram_and_both_channels_agree(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let bot = FakeBotApi::start().await;
    let settings = settings_with_fakes(&bot, None);
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let mut anna = TelegramUser::new(3001);
    let (_, admin) = linked_operator(&server, &bot, "Anna", vec![Role::Admin], &mut anna).await;
    let (_, widget_token) = create_inbox(&server, &admin, "Support").await;
    let c = start(
        &server,
        json!({ "widgetToken": widget_token, "name": "Olena", "message": "first from the web" }),
    )
    .await;
    let id = c.conversation_id.clone();
    server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": id, "body": "first answer" } }),
            Some(&admin),
        )
        .await;
    thread_when(&server, &admin, &id, |m| m.len() == 2).await;

    // The widget asks for a link; the visitor opens it in Telegram.
    let link = server
        .graphql_ok(
            "mutation($id: UUID!) { linkTelegram(conversationId: $id) { token command url } }",
            json!({ "id": id }),
            Some(&c.session),
        )
        .await;
    let token = link["linkTelegram"]["token"].as_str().unwrap().to_owned();
    assert_eq!(
        link["linkTelegram"]["url"],
        format!("https://t.me/{BOT_USERNAME}?start=link_{token}")
    );
    let mut olena = TelegramUser::new(3002);
    assert_eq!(
        olena.say(&server, &format!("/start link_{token}")).await,
        200
    );
    let transcript = bot
        .wait_for(olena.id, |t| t.starts_with("Conversation so far:"), WAIT)
        .await;
    assert_eq!(
        transcript.text,
        "Conversation so far:\nYou: first from the web\nSupport: first answer"
    );
    // A token expired long ago is swept when the next one is issued.
    sqlx::query("update telegram_link_tokens set expires_at = now() - interval '2 days'")
        .execute(&server.pool)
        .await
        .unwrap();
    server
        .graphql_ok(
            "mutation($id: UUID!) { linkTelegram(conversationId: $id) { token } }",
            json!({ "id": id }),
            Some(&c.session),
        )
        .await;
    let tokens: i64 = sqlx::query_scalar("select count(*) from telegram_link_tokens")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(tokens, 1, "only the new token is left");
    // The spent token is gone; someone else cannot use it either.
    let mut intruder = TelegramUser::new(3003);
    assert_eq!(
        intruder.say(&server, &format!("/start link_{token}")).await,
        200
    );
    bot.wait_for(intruder.id, |t| t.starts_with("That link is unknown"), WAIT)
        .await;

    // Both channels, in turn; each step waits until the other side has it.
    assert_eq!(olena.say(&server, "from telegram").await, 200);
    bot.wait_for(
        anna.id,
        |t| t.starts_with("[TG] Olena") && t.ends_with("from telegram"),
        WAIT,
    )
    .await;
    server
        .graphql_ok(
            SEND,
            json!({ "input": { "conversationId": id, "body": "second from the web" } }),
            Some(&c.session),
        )
        .await;
    bot.wait_for(olena.id, |t| t == "[WEB] You: second from the web", WAIT)
        .await;
    server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": id, "body": "second answer" } }),
            Some(&admin),
        )
        .await;
    bot.wait_for(olena.id, |t| t == "Anna: second answer", WAIT)
        .await;

    // The widget's history and the Telegram chat's hold the same messages, in the same order.
    let web: Vec<String> = thread_when(&server, &admin, &id, |m| m.len() == 5)
        .await
        .into_iter()
        .map(|(body, _, _)| body)
        .collect();
    assert_eq!(
        web,
        [
            "first from the web",
            "first answer",
            "from telegram",
            "second from the web",
            "second answer"
        ]
    );
    let mut telegram: Vec<String> = transcript
        .text
        .lines()
        .skip(1)
        .map(|l| l.split_once(": ").unwrap().1.to_owned())
        .collect();
    telegram.push("from telegram".into());
    telegram.extend(
        bot.sent_to(olena.id)
            .into_iter()
            .filter(|s| s.message_id > transcript.message_id)
            .map(|s| s.text.split_once(": ").unwrap().1.to_owned()),
    );
    assert_eq!(telegram, web);
    // In a visitor's chat, a slash is just a character: `/order 1042` is what they wrote.
    assert_eq!(olena.say(&server, "/order 1042").await, 200);
    let thread = thread_when(&server, &admin, &id, |m| m.len() == 6).await;
    assert_eq!(
        thread[5],
        ("/order 1042".into(), "TELEGRAM".into(), "CONTACT".into())
    );

    // The visitor blocks the bot: the next message is refused, recorded, and the chat
    // unlinked; the conversation goes on in the widget.
    bot.block(olena.id);
    server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": id, "body": "are you still there?" } }),
            Some(&admin),
        )
        .await;
    let failed: (String, String) = eventually(WAIT, || async {
        sqlx::query_as(
            "select status, last_error from notifications
             where telegram_chat_id = $1 and status = 'failed'",
        )
        .bind(olena.id)
        .fetch_optional(&server.pool)
        .await
        .unwrap()
    })
    .await;
    assert_eq!(
        failed,
        (
            "failed".to_owned(),
            "Telegram refused: Forbidden: bot was blocked by the user".to_owned()
        )
    );
    let linked: i64 = sqlx::query_scalar("select count(*) from telegram_visitors")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(linked, 0);
    assert_eq!(bot.refused(), vec![(olena.id, 403)]);
    server.stop().await;
}

/// Messages before anyone linked Telegram are applied and tell nobody; once an operator
/// links, the next message reaches them (and what came before does not).
#[sqlx::test(migrations = "../migrations")]
async fn messages_before_anyone_links_are_passed_over_and_later_ones_arrive(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let bot = FakeBotApi::start().await;
    let settings = settings_with_fakes(&bot, None);
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let (_, widget_token) = create_inbox(&server, &server.operator_token(), "Support").await;
    let c = start(
        &server,
        json!({ "widgetToken": widget_token, "name": "Olena", "message": "before" }),
    )
    .await;
    let id = c.conversation_id.clone();
    server
        .graphql_ok(
            SEND,
            json!({ "input": { "conversationId": id, "body": "still before" } }),
            Some(&c.session),
        )
        .await;
    // The projection moves past the whole conversation so far, and tells nobody.
    eventually(WAIT, || async {
        let (applied, head): (i32, i32) = sqlx::query_as(
            "select coalesce((select version from projection_stream_positions
                              where projection = 'notifications' and stream_id = $1::uuid), 0),
                    (select max(stream_version) from events where stream_id = $1::uuid)",
        )
        .bind(&id)
        .fetch_one(&server.pool)
        .await
        .unwrap();
        (applied == head).then_some(())
    })
    .await;
    let queued: i64 = sqlx::query_scalar("select count(*) from notifications")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0);

    // An admin links; the visitor's next message reaches them, and only that one.
    let mut anna = TelegramUser::new(1501);
    linked_operator(&server, &bot, "Anna", vec![Role::Admin], &mut anna).await;
    server
        .graphql_ok(
            SEND,
            json!({ "input": { "conversationId": id, "body": "after" } }),
            Some(&c.session),
        )
        .await;
    let forwarded = bot
        .wait_for(anna.id, |t| t.starts_with("[WEB]"), WAIT)
        .await;
    assert_eq!(forwarded.text, format!("[WEB] Olena · #{id}\nafter"));
    let texts: Vec<String> = bot.sent_to(anna.id).into_iter().map(|s| s.text).collect();
    assert_eq!(texts.len(), 2, "{texts:#?}");
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn notifier_restarted_mid_stream_neither_repeats_nor_skips(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let bot = FakeBotApi::start().await;
    let settings = settings_with_fakes(&bot, None);
    let pool = pool_for(connect).await;
    // The API, relay and projections in one "process", the notifier in another.
    let server = TestServer::start(
        &settings,
        pool.clone(),
        &[Component::Api, Component::Relay, Component::Projections],
    )
    .await;
    let mut notifier = TestServer::start(&settings, pool.clone(), &[Component::Notifier]).await;
    let mut anna = TelegramUser::new(4001);
    let (_, admin) = linked_operator(&server, &bot, "Anna", vec![Role::Admin], &mut anna).await;
    let (_, widget_token) = create_inbox(&server, &admin, "Support").await;
    let c = start(
        &server,
        json!({ "widgetToken": widget_token, "name": "Olena", "message": "message 0" }),
    )
    .await;
    // Telegram rate-limits the chat once and fails once: both are retried.
    bot.fail_next(anna.id, &[Failure::RetryAfter(1), Failure::Unavailable]);

    const COUNT: usize = 30;
    let writer = {
        let (base, session, id) = (
            server.base.clone(),
            c.session.clone(),
            c.conversation_id.clone(),
        );
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            for n in 1..COUNT {
                let response: Value = http
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&session)
                    .json(&json!({ "query": SEND, "variables": { "input": {
                        "conversationId": id, "body": format!("message {n}") } } }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert!(response.get("errors").is_none(), "{response}");
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        })
    };
    // Restart the notifier twice while the messages come in.
    for _ in 0..2 {
        bot.wait_for(anna.id, |t| t.contains("message "), WAIT)
            .await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        notifier.stop().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        notifier = TestServer::start(&settings, pool.clone(), &[Component::Notifier]).await;
    }
    writer.await.unwrap();

    let forwarded = eventually(WAIT, || async {
        let forwarded: Vec<String> = bot
            .sent_to(anna.id)
            .into_iter()
            .filter(|s| s.text.starts_with("[WEB]"))
            .map(|s| s.text.lines().nth(1).unwrap().to_owned())
            .collect();
        (forwarded.len() >= COUNT).then_some(forwarded)
    })
    .await;
    // Every message once, in the order written.
    let expected: Vec<String> = (0..COUNT).map(|n| format!("message {n}")).collect();
    assert_eq!(forwarded, expected);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        bot.sent_to(anna.id)
            .iter()
            .filter(|s| s.text.starts_with("[WEB]"))
            .count(),
        COUNT
    );
    assert_eq!(bot.refused(), vec![(anna.id, 429), (anna.id, 500)]);
    // The refused attempts are on record.
    let attempts: Vec<(String, Option<String>)> = sqlx::query_as(
        "select outcome, error from notification_attempts where outcome <> 'sent'
         order by attempted_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        attempts,
        vec![
            (
                "retry".to_owned(),
                Some("rate limited by Telegram; retry after 1 s".to_owned())
            ),
            (
                "retry".to_owned(),
                Some("Telegram is unavailable: 500: Internal Server Error".to_owned())
            ),
        ]
    );
    notifier.stop().await;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn call_2_callback_reaches_the_manager_by_email_and_telegram(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let bot = FakeBotApi::start().await;
    let smtp = SmtpSink::start().await;
    let settings = settings_with_fakes(&bot, Some(&smtp));
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let admin = server.operator_token();
    let mut mira = TelegramUser::new(5001);
    let (mira_id, _) = linked_operator(&server, &bot, "Mira", vec![Role::Manager], &mut mira).await;
    // Her e-mail goes on her profile.
    server
        .graphql_ok(
            "mutation($id: UUID!, $p: OperatorProfileInput!) {
               updateOperator(operatorId: $id, profile: $p) { changed } }",
            json!({ "id": mira_id, "p": { "name": "Mira", "roles": ["MANAGER"],
                     "email": "mira@example.com" } }),
            Some(&admin),
        )
        .await;
    let refused = server
        .graphql(
            "mutation($id: UUID!, $p: OperatorProfileInput!) {
               updateOperator(operatorId: $id, profile: $p) { changed } }",
            json!({ "id": mira_id, "p": { "name": "Mira", "roles": ["MANAGER"],
                     "email": "not an address" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        switchboard_tests::calls::error_extensions(&refused)["code"],
        "MALFORMED_FIELD"
    );
    eventually(WAIT, || async {
        let data = server
            .graphql_ok("{ operators { id email } }", json!({}), Some(&admin))
            .await;
        data["operators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["email"] == "mira@example.com")
            .then_some(())
    })
    .await;
    let (_, widget_token) = create_inbox(&server, &admin, "Support").await;

    let requested = server
        .graphql_ok(
            "mutation($input: RequestCallbackInput!) {
               requestCallback(input: $input) { conversationId callbackId } }",
            json!({ "input": {
                "widgetToken": widget_token, "name": "Olena", "phone": "+380441234567",
                "consent": { "textVersion": "privacy-2026-01", "accepted": true },
            }}),
            None,
        )
        .await;
    let conversation_id = requested["requestCallback"]["conversationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let callback_id = requested["requestCallback"]["callbackId"]
        .as_str()
        .unwrap()
        .to_owned();

    let mails = smtp.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    let mut mail = mails[0].clone();
    // The text goes quoted-printable (it has non-ASCII characters); read it as written.
    mail.data = switchboard_tests::fakes::quoted_printable_decoded(&mail.data);
    assert_eq!(mail.from, "switchboard@localhost");
    assert_eq!(mail.to, vec!["mira@example.com".to_owned()]);
    assert!(
        mail.data
            .contains("Subject: Call-back requested: +380441234567"),
        "{}",
        mail.data
    );
    for line in [
        format!("Call-back requested · #{conversation_id}"),
        "Name: Olena".to_owned(),
        "Phone: +380441234567".to_owned(),
        "Preferred time: any time".to_owned(),
        "Consent: text version privacy-2026-01".to_owned(),
        "from 127.0.0.1".to_owned(),
    ] {
        assert!(
            mail.data.contains(&line),
            "{line} missing from {}",
            mail.data
        );
    }
    // The consent record travels as a JSON attachment.
    assert!(
        mail.data.contains("filename=\"consent.json\""),
        "{}",
        mail.data
    );
    assert!(
        mail.data
            .contains(&format!("\"callbackId\": \"{callback_id}\"")),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("\"textVersion\": \"privacy-2026-01\""),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("\"ip\": \"127.0.0.1\""), "{}", mail.data);

    let telegram = bot
        .wait_for(mira.id, |t| t.starts_with("Call-back requested"), WAIT)
        .await;
    assert!(
        telegram.text.contains("Phone: +380441234567"),
        "{}",
        telegram.text
    );
    // From Telegram, the manager reads the call-back with /callback, once the conversations
    // projection has it (the notifications projection may well have been faster).
    eventually(WAIT, || async {
        let data = server
            .graphql_ok(
                "query($id: UUID!) { conversation(id: $id) { id } }",
                json!({ "id": conversation_id }),
                Some(&admin),
            )
            .await;
        (!data["conversation"].is_null()).then_some(())
    })
    .await;
    assert_eq!(
        mira.say(&server, &format!("/callback {conversation_id}"))
            .await,
        200
    );
    let shown = bot
        .wait_for(mira.id, |t| t.contains("Call-back for"), WAIT)
        .await;
    assert_eq!(
        shown.text,
        format!(
            "#{conversation_id} already awaits a call.\nCall-back for #{conversation_id}\n\
             Name: Olena\nPhone: +380441234567\nPreferred time: any time\nStatus: requested"
        )
    );
    // One e-mail and one Telegram message, however long we wait.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(
        bot.sent_to(mira.id)
            .iter()
            .filter(|s| s.text.starts_with("Call-back requested"))
            .count(),
        1
    );
    server.stop().await;
}

/// The `switchboard` binary next to this test's (`cargo test --workspace` builds it).
fn switchboard_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("switchboard");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --bin switchboard` (or the whole workspace's tests)",
        binary.display()
    );
    binary
}

#[tokio::test]
async fn tg_1_set_webhook_points_telegram_at_the_service_with_the_secret() {
    let bot = FakeBotApi::start().await;
    let url = "https://support.example.com/telegram/webhook";
    let run = |token: &str, secret: Option<&str>| {
        let mut command = tokio::process::Command::new(switchboard_binary());
        command
            .args(["telegram", "set-webhook", "--url", url])
            .env("SWITCHBOARD_TELEGRAM_BOT_TOKEN", token)
            .env("SWITCHBOARD_TELEGRAM_API_URL", &bot.base)
            .env_remove("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET");
        if let Some(secret) = secret {
            command.env("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET", secret);
        }
        command.output()
    };

    let done = run(switchboard_tests::fakes::BOT_TOKEN, Some(WEBHOOK_SECRET))
        .await
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&done.stdout).trim(),
        format!("@{BOT_USERNAME} now sends its updates to {url}")
    );
    assert_eq!(
        bot.webhook(),
        Some((url.to_owned(), WEBHOOK_SECRET.to_owned()))
    );

    // A token Telegram does not know, a missing secret, a secret Telegram would refuse: each
    // is a clear error, and Telegram is not called.
    for (token, secret, expected) in [
        (
            "999:wrong",
            Some(WEBHOOK_SECRET),
            "the bot token was not accepted (getMe)",
        ),
        (
            switchboard_tests::fakes::BOT_TOKEN,
            None,
            "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET is required with SWITCHBOARD_TELEGRAM_BOT_TOKEN",
        ),
        (
            switchboard_tests::fakes::BOT_TOKEN,
            Some("has spaces"),
            "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET must be 1–256 characters",
        ),
    ] {
        let failed = run(token, secret).await.unwrap();
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(!failed.status.success());
        assert!(stderr.contains(expected), "{expected} not in {stderr}");
    }
    assert_eq!(
        bot.webhook(),
        Some((url.to_owned(), WEBHOOK_SECRET.to_owned()))
    );
}

const STATUS: &str = "mutation($id: UUID!, $s: ConversationStatus!) {
  changeConversationStatus(conversationId: $id, status: $s) { changed } }";

/// The triggers of the conversation's recorded status changes, in order, as (to, trigger).
async fn status_changes(server: &TestServer, stream: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "select payload->>'to', payload->>'trigger' from events
         where stream_id = $1::uuid and event_type = 'ConversationStatusChanged'
         order by stream_version",
    )
    .bind(stream)
    .fetch_all(&server.pool)
    .await
    .unwrap()
}

/// The conversation's status once the projection shows `expected`.
async fn status_becomes(server: &TestServer, operator: &str, id: &str, expected: &str) {
    eventually(WAIT, || async {
        let data = server
            .graphql_ok(THREAD, json!({ "id": id }), Some(operator))
            .await;
        (data["conversation"]["status"] == expected).then_some(())
    })
    .await;
}

/// Seed 000's `/callback <id>`: the conversation is marked as awaiting a call, for admins and
/// managers; the answer shows whom to call.
#[sqlx::test(migrations = "../migrations")]
async fn tg_3_callback_marks_awaiting_call(_o: PgPoolOptions, connect: PgConnectOptions) {
    let bot = FakeBotApi::start().await;
    let settings = settings_with_fakes(&bot, None);
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let mut anna = TelegramUser::new(7001);
    let mut mira = TelegramUser::new(7002);
    let mut max = TelegramUser::new(7003);
    let mut ira = TelegramUser::new(7004);
    let (_, admin) = linked_operator(&server, &bot, "Anna", vec![Role::Admin], &mut anna).await;
    linked_operator(&server, &bot, "Mira", vec![Role::Manager], &mut mira).await;
    let (max_id, _) = linked_operator(&server, &bot, "Max", vec![Role::Moderator], &mut max).await;
    linked_operator(&server, &bot, "Ira", vec![Role::Analyst], &mut ira).await;
    let (_, widget_token) = create_inbox(&server, &admin, "Support").await;
    let c = start(
        &server,
        json!({ "widgetToken": widget_token, "name": "Olena", "phone": "+380441234567",
                "message": "Please call me" }),
    )
    .await;
    let id = c.conversation_id.clone();
    // Max's own conversation: a moderator is refused for the role, not the assignment.
    server
        .graphql_ok(
            "mutation($c: UUID!, $m: UUID!) { assignConversation(conversationId: $c, operatorId: $m) { changed } }",
            json!({ "c": id, "m": max_id }),
            Some(&admin),
        )
        .await;
    eventually(WAIT, || async {
        let data = server
            .graphql_ok(THREAD, json!({ "id": id }), Some(&admin))
            .await;
        (data["conversation"]["assigneeId"] == json!(max_id)).then_some(())
    })
    .await;
    let before = events_of(&server, &id).await;
    assert_eq!(
        ask(&server, &bot, &mut max, &format!("/callback {id}")).await,
        "/callback: call-backs are for admins and managers."
    );
    assert_eq!(
        ask(&server, &bot, &mut ira, &format!("/callback {id}")).await,
        "/callback: your role may not work conversations."
    );
    let unknown = Uuid::now_v7();
    assert_eq!(
        ask(&server, &bot, &mut mira, &format!("/callback {unknown}")).await,
        format!("There is no conversation {unknown}.")
    );
    assert_eq!(
        ask(&server, &bot, &mut mira, "/callback").await,
        "/callback needs a conversation id, as in /callback 0190a1b2-…"
    );
    assert_eq!(
        events_of(&server, &id).await,
        before,
        "refusals record nothing"
    );

    // The manager marks it; GraphQL shows it; the change says it was made by hand.
    assert_eq!(
        ask(&server, &bot, &mut mira, &format!("/callback {id}")).await,
        format!(
            "#{id} now awaits a call.\nNo call-back request; the contact's phone: +380441234567."
        )
    );
    status_becomes(&server, &admin, &id, "PENDING_CALLBACK").await;
    assert_eq!(
        status_changes(&server, &id).await,
        vec![("pending_callback".to_owned(), "operator".to_owned())]
    );
    // Again: nothing to do, and said so; the same update delivered twice records nothing.
    let (update, _) = mira.update(&format!("/callback {id}"), None);
    let again = events_of(&server, &id).await;
    for _ in 0..2 {
        assert_eq!(
            post_update(&server, &update, Some(WEBHOOK_SECRET)).await,
            200
        );
    }
    bot.wait_for(
        mira.id,
        |t| t.starts_with(&format!("#{id} already awaits a call.")),
        WAIT,
    )
    .await;
    assert_eq!(events_of(&server, &id).await, again);

    // After /open, /callback alone marks the opened one; the visitor's own request, once
    // made, is shown instead of the phone.
    let c2 = start(
        &server,
        json!({ "widgetToken": widget_token, "name": "Petro", "message": "Hello" }),
    )
    .await;
    let id2 = c2.conversation_id.clone();
    thread_when(&server, &admin, &id2, |m| m.len() == 1).await;
    assert!(ask(&server, &bot, &mut anna, &format!("/open {id2}"))
        .await
        .starts_with(&format!("#{id2} · Petro · open")));
    assert_eq!(
        ask(&server, &bot, &mut anna, "/callback").await,
        format!(
            "#{id2} now awaits a call.\nNo call-back request, and no phone number on record: \
             ask the contact for one."
        )
    );
    server
        .graphql_ok(
            r#"mutation($c: UUID!) { requestCallback(input: {conversationId: $c,
               phone: "+380501112233", consent: {textVersion: "privacy-1", accepted: true}}) { callbackId } }"#,
            json!({ "c": id2 }),
            Some(&c2.session),
        )
        .await;
    eventually(WAIT, || async {
        let data = server
            .graphql_ok(
                "{ callbacks { nodes { conversationId } } }",
                json!({}),
                Some(&admin),
            )
            .await;
        (data["callbacks"]["nodes"][0]["conversationId"] == json!(id2)).then_some(())
    })
    .await;
    assert_eq!(
        ask(&server, &bot, &mut anna, "/callback").await,
        format!(
            "#{id2} already awaits a call.\nCall-back for #{id2}\nName: Petro\n\
             Phone: +380501112233\nPreferred time: any time\nStatus: requested"
        )
    );
    // The request found the status already there: one change, by hand.
    assert_eq!(
        status_changes(&server, &id2).await,
        vec![("pending_callback".to_owned(), "operator".to_owned())]
    );

    // A closed conversation is reopened first, not marked.
    assert_eq!(
        ask(&server, &bot, &mut anna, "/close").await,
        format!("Closed #{id2}.")
    );
    let closed = events_of(&server, &id2).await;
    assert_eq!(
        ask(&server, &bot, &mut anna, "/callback").await,
        "Not done: a conversation cannot go from closed to pending_callback by hand."
    );
    assert_eq!(events_of(&server, &id2).await, closed);
    server.stop().await;
}

/// CONV-2: operators set `PENDING_CALLBACK` through the status mutation too, from a
/// conversation still being worked; an illegal move is a typed error that writes nothing.
#[sqlx::test(migrations = "../migrations")]
async fn conv_2_operator_marks_awaiting_callback(_o: PgPoolOptions, connect: PgConnectOptions) {
    let bot = FakeBotApi::start().await;
    let settings = settings_with_fakes(&bot, None);
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let admin = server.operator_token();
    let (_, manager) = server
        .register_operator("Mira", vec![Role::Manager], None, None)
        .await;
    let (_, moderator) = server
        .register_operator("Max", vec![Role::Moderator], None, None)
        .await;
    let (_, analyst) = server
        .register_operator("Ira", vec![Role::Analyst], None, None)
        .await;
    let (_, widget_token) = create_inbox(&server, &admin, "Support").await;
    let c = start(
        &server,
        json!({ "widgetToken": widget_token, "name": "Olena", "message": "Call me?" }),
    )
    .await;
    let id = c.conversation_id.clone();
    let srv = &server;
    let set = |status: &'static str, token: String| {
        let id = id.clone();
        async move {
            srv.graphql(STATUS, json!({ "id": id, "s": status }), Some(&token))
                .await
        }
    };
    let changed =
        |response: &Value| response["data"]["changeConversationStatus"]["changed"].clone();

    // From OPEN, by a manager (managers record the calls); again changes nothing.
    assert_eq!(
        changed(&set("PENDING_CALLBACK", manager.clone()).await),
        true
    );
    assert_eq!(
        changed(&set("PENDING_CALLBACK", manager.clone()).await),
        false
    );
    status_becomes(&server, &admin, &id, "PENDING_CALLBACK").await;
    // From IN_PROGRESS and from WAITING_FOR_USER too; left by hand like any status.
    for status in [
        "IN_PROGRESS",
        "PENDING_CALLBACK",
        "IN_PROGRESS",
        "WAITING_FOR_USER",
    ] {
        assert_eq!(changed(&set(status, admin.clone()).await), true, "{status}");
    }
    assert_eq!(changed(&set("PENDING_CALLBACK", admin.clone()).await), true);
    status_becomes(&server, &admin, &id, "PENDING_CALLBACK").await;

    // Refusals, each typed and writing nothing: a move the machine does not have, a
    // resolved conversation (reopen it first), a moderator's on what is not theirs, an
    // analyst's.
    let refused = |response: &Value| {
        let ext = switchboard_tests::calls::error_extensions(response);
        (
            ext["code"].as_str().unwrap_or_default().to_owned(),
            ext["from"].as_str().map(str::to_owned),
            ext["to"].as_str().map(str::to_owned),
        )
    };
    let before = events_of(&server, &id).await;
    assert_eq!(
        refused(&set("WAITING_FOR_USER", admin.clone()).await),
        (
            "ILLEGAL_TRANSITION".to_owned(),
            Some("pending_callback".to_owned()),
            Some("waiting_for_user".to_owned())
        )
    );
    assert_eq!(changed(&set("RESOLVED", admin.clone()).await), true);
    let resolved = events_of(&server, &id).await;
    assert_eq!(resolved, before + 1);
    let illegal = set("PENDING_CALLBACK", admin.clone()).await;
    assert_eq!(
        refused(&illegal),
        (
            "ILLEGAL_TRANSITION".to_owned(),
            Some("resolved".to_owned()),
            Some("pending_callback".to_owned())
        )
    );
    assert_eq!(
        illegal["errors"][0]["message"],
        "a conversation cannot go from resolved to pending_callback by hand"
    );
    assert_eq!(changed(&set("OPEN", admin.clone()).await), true);
    let reopened = events_of(&server, &id).await;
    assert_eq!(
        refused(&set("PENDING_CALLBACK", moderator.clone()).await).0,
        "NOT_ASSIGNEE"
    );
    assert_eq!(
        refused(&set("PENDING_CALLBACK", analyst.clone()).await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        events_of(&server, &id).await,
        reopened,
        "refusals write nothing"
    );

    let by_hand = |to: &str| (to.to_owned(), "operator".to_owned());
    assert_eq!(
        status_changes(&server, &id).await,
        vec![
            by_hand("pending_callback"),
            by_hand("in_progress"),
            by_hand("pending_callback"),
            by_hand("in_progress"),
            by_hand("waiting_for_user"),
            by_hand("pending_callback"),
            by_hand("resolved"),
            by_hand("open"),
        ]
    );
    status_becomes(&server, &admin, &id, "OPEN").await;
    server.stop().await;
}

/// Seed 002: a customer writes to the bot and a conversation starts in the inbox that takes
/// Telegram conversations; their next messages join it, operators' replies reach their chat,
/// and it is one contact throughout.
#[sqlx::test(migrations = "../migrations")]
async fn tg_customer_starts_conversation_by_writing_to_bot(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let bot = FakeBotApi::start().await;
    let settings = settings_with_fakes(&bot, None);
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let mut anna = TelegramUser::new(8001);
    let (_, admin) = linked_operator(&server, &bot, "Anna", vec![Role::Admin], &mut anna).await;
    let mut olena = TelegramUser::named(8002, "Olena", Some("Kovalenko"));
    let conversations = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from events where event_type = 'ConversationStarted'",
        )
        .fetch_one(&server.pool)
        .await
        .unwrap()
    };

    // No inbox takes Telegram conversations yet: she is told so, and nothing is recorded.
    create_inbox(&server, &admin, "Web only").await;
    let no_intake = "Sorry, we cannot take messages in Telegram yet. Please write to us from \
                     the chat on our website. (Operators: link your account with /login <token>.)";
    assert_eq!(ask(&server, &bot, &mut olena, "/start").await, no_intake);
    assert_eq!(ask(&server, &bot, &mut olena, "Hello?").await, no_intake);
    assert_eq!(conversations().await, 0);

    // An admin has an inbox take them (and sees that it does).
    let created = server
        .graphql_ok(
            "mutation($input: CreateInboxInput!) { createInbox(input: $input) { inboxId } }",
            json!({ "input": { "settings": {
                "title": "Telegram", "greeting": "Hi! Ask us anything.", "telegramIntake": true } } }),
            Some(&admin),
        )
        .await;
    let inbox_id = created["createInbox"]["inboxId"]
        .as_str()
        .unwrap()
        .to_owned();
    eventually(WAIT, || async {
        let data = server
            .graphql_ok("{ inboxes { id telegramIntake } }", json!({}), Some(&admin))
            .await;
        let intake: Vec<Value> = data["inboxes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["telegramIntake"] == true)
            .map(|i| i["id"].clone())
            .collect();
        (intake == [json!(inbox_id)]).then_some(())
    })
    .await;
    assert_eq!(
        ask(&server, &bot, &mut olena, "/start").await,
        "Hi! Ask us anything."
    );

    // Her first message starts the conversation; the admins of head office hear of it.
    let (first, _) = olena.update("Where is my order?", None);
    assert_eq!(
        post_update(&server, &first, Some(WEBHOOK_SECRET)).await,
        200
    );
    bot.wait_for(
        olena.id,
        |t| t == "Thank you! Your message is with our support team; their answers will come to this chat.",
        WAIT,
    )
    .await;
    let forwarded = bot
        .wait_for(anna.id, |t| t.starts_with("[TG] Olena Kovalenko"), WAIT)
        .await;
    let id = switchboard_projections::notifications::conversation_of_operator_text(&forwarded.text)
        .expect("the forward names the conversation")
        .to_string();
    assert_eq!(
        forwarded.text,
        format!("[TG] Olena Kovalenko · #{id}\nWhere is my order?")
    );

    // An operator's reply in GraphQL reaches her chat, straight after her first message.
    server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": id, "body": "It ships tomorrow." } }),
            Some(&admin),
        )
        .await;
    let reply = bot
        .wait_for(olena.id, |t| t.ends_with("It ships tomorrow."), WAIT)
        .await;
    assert_eq!(reply.text, "Anna: It ships tomorrow.");
    // Telegram delivers the first update again: nothing new is recorded.
    let recorded = events_of(&server, &id).await;
    assert_eq!(
        post_update(&server, &first, Some(WEBHOOK_SECRET)).await,
        200
    );
    assert_eq!(events_of(&server, &id).await, recorded);

    // Her second message joins it, unanswered by the bot.
    assert!(answers(&server, &bot, &mut olena, "Order 1042")
        .await
        .is_empty());
    let thread = thread_when(&server, &admin, &id, |m| m.len() == 3).await;
    assert_eq!(
        thread,
        vec![
            (
                "Where is my order?".into(),
                "TELEGRAM".into(),
                "CONTACT".into()
            ),
            ("It ships tomorrow.".into(), "API".into(), "OPERATOR".into()),
            ("Order 1042".into(), "TELEGRAM".into(), "CONTACT".into()),
        ]
    );
    let view = server
        .graphql_ok(
            "query($id: UUID!) { conversation(id: $id) { inboxId source contact { id name }
               messages(first: 10) { nodes { sender { id } } } } }",
            json!({ "id": id }),
            Some(&admin),
        )
        .await;
    let contact_id = view["conversation"]["contact"]["id"].clone();
    assert_eq!(view["conversation"]["inboxId"], json!(inbox_id));
    assert_eq!(view["conversation"]["source"], "TELEGRAM");
    assert_eq!(view["conversation"]["contact"]["name"], "Olena Kovalenko");
    let nodes = view["conversation"]["messages"]["nodes"]
        .as_array()
        .unwrap();
    for message in [&nodes[0], &nodes[2]] {
        assert_eq!(
            message["sender"]["id"], contact_id,
            "one contact throughout"
        );
    }

    // Resolved, then she writes again: the same conversation reopens (CONV-2).
    server
        .graphql_ok(STATUS, json!({ "id": id, "s": "RESOLVED" }), Some(&admin))
        .await;
    status_becomes(&server, &admin, &id, "RESOLVED").await;
    assert!(answers(&server, &bot, &mut olena, "One more thing")
        .await
        .is_empty());
    status_becomes(&server, &admin, &id, "OPEN").await;
    let thread = thread_when(&server, &admin, &id, |m| m.len() == 4).await;
    assert_eq!(thread[3].0, "One more thing");
    assert_eq!(conversations().await, 1, "one conversation for her, ever");

    // An operator's chat works as it did: Anna's text is her reply, not a customer's.
    assert_eq!(anna.reply(&server, &forwarded, "On it.").await, 200);
    let thread = thread_when(&server, &admin, &id, |m| m.len() == 5).await;
    assert_eq!(
        thread[4],
        ("On it.".into(), "TELEGRAM".into(), "OPERATOR".into())
    );
    bot.wait_for(olena.id, |t| t == "Anna: On it.", WAIT).await;
    assert_eq!(conversations().await, 1);
    server.stop().await;
}

/// A conversation started in the inbox of `widget_token` by `name`, with `email` if given.
async fn visitor(
    server: &TestServer,
    widget_token: &str,
    name: &str,
    email: Option<&str>,
) -> switchboard_tests::calls::Started {
    start(
        server,
        json!({ "widgetToken": widget_token, "name": name, "email": email, "message": "Hello?" }),
    )
    .await
}

/// An operator's reply; its message id.
async fn reply(server: &TestServer, operator: &str, conversation_id: &str, body: &str) -> String {
    let data = server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": conversation_id, "body": body } }),
            Some(operator),
        )
        .await;
    data["replyToConversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The visitor has read the conversation up to `message_id` (everything, without one).
async fn read_by_visitor(
    server: &TestServer,
    visitor: &switchboard_tests::calls::Started,
    message_id: Option<&str>,
) {
    server
        .graphql_ok(
            "mutation($input: MarkReadInput!) { markRead(input: $input) { changed } }",
            json!({ "input": {
                "conversationId": visitor.conversation_id, "upToMessageId": message_id,
            }}),
            Some(&visitor.session),
        )
        .await;
}

/// The statuses of the notifications of a conversation.
async fn notification_statuses(server: &TestServer, conversation_id: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select status from notifications where conversation_id = $1::uuid
         order by global_position",
    )
    .bind(conversation_id)
    .fetch_all(&server.pool)
    .await
    .unwrap()
}

/// Seed 000, issue 19: a reply to a visitor who left reaches them by e-mail when they gave
/// one, with a link back into the conversation. "Left": they did not read the reply within
/// the delay. One e-mail per batch of unread replies; a read in time sends none, and a read
/// starts the next batch.
#[sqlx::test(migrations = "../migrations")]
async fn notif_email_reaches_visitor_who_left(_o: PgPoolOptions, connect: PgConnectOptions) {
    let bot = FakeBotApi::start().await;
    let smtp = SmtpSink::start().await;
    let mut settings = settings_with_fakes(&bot, Some(&smtp));
    settings.notify.public_url = Some("https://chat.example.com/".into());
    settings.notify.visitor_email_delay_secs = 4;
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let admin = server.operator_token();
    let (_, widget_token) = create_inbox(&server, &admin, "Acme Support").await;
    let olena = visitor(&server, &widget_token, "Olena", Some("olena@example.com")).await;
    let petro = visitor(&server, &widget_token, "Petro", Some("petro@example.com")).await;
    let ivan = visitor(&server, &widget_token, "Ivan", None).await;
    let mariia = visitor(&server, &widget_token, "Mariia", Some("mariia@example.com")).await;

    // Olena leaves before two replies; Petro reads his at once; Ivan gave no address;
    // Mariia is erased before her reply's delay is up.
    reply(&server, &admin, &olena.conversation_id, "First answer").await;
    reply(&server, &admin, &olena.conversation_id, "Second answer").await;
    let to_petro = reply(
        &server,
        &admin,
        &petro.conversation_id,
        "Your order shipped",
    )
    .await;
    read_by_visitor(&server, &petro, Some(&to_petro)).await;
    reply(&server, &admin, &ivan.conversation_id, "Hi Ivan").await;
    reply(&server, &admin, &mariia.conversation_id, "Hi Mariia").await;
    server
        .graphql_ok(
            "mutation($c: UUID!) { eraseContact(contactId: $c) { newlyErased } }",
            json!({ "c": mariia.contact_id }),
            Some(&admin),
        )
        .await;

    let mails = smtp.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let mail = switchboard_tests::fakes::quoted_printable_decoded(&mails[0].data);
    assert_eq!(mails[0].to, vec!["olena@example.com".to_owned()]);
    assert_eq!(mails[0].from, "switchboard@localhost");
    let header = |name: &str| {
        mail.lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {mail}"))
            .to_owned()
    };
    assert_eq!(
        header("From: "),
        "From: \"Acme Support\" <switchboard@localhost>"
    );
    assert_eq!(header("Subject: "), "Subject: New reply from Acme Support");
    for text in [
        "You have a reply in your conversation with Acme Support:",
        "Operator: First answer",
        "Operator: Second answer",
        "Continue the conversation: https://chat.example.com/chat/resume?token=",
    ] {
        assert!(mail.contains(text), "{text} missing from {mail}");
    }
    // The link's token opens Olena's conversation as her widget session.
    let token = mail
        .split("/chat/resume?token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    let resumed = server
        .graphql_ok("{ myConversation { id } }", json!({}), Some(&token))
        .await;
    assert_eq!(resumed["myConversation"]["id"], olena.conversation_id);

    // Petro read in time: his e-mail was cancelled, never sent. Ivan and Mariia: none at all.
    eventually(WAIT, || async {
        (notification_statuses(&server, &petro.conversation_id).await == ["cancelled"])
            .then_some(())
    })
    .await;
    for nobody in [&ivan, &mariia] {
        assert_eq!(
            notification_statuses(&server, &nobody.conversation_id).await,
            Vec::<String>::new()
        );
    }

    // Olena has the e-mail and has not read it: another reply sends nothing more. Once she
    // has read, the next reply starts a new batch.
    reply(&server, &admin, &olena.conversation_id, "Third answer").await;
    read_by_visitor(&server, &olena, None).await;
    reply(&server, &admin, &olena.conversation_id, "Fourth answer").await;
    let mails = smtp.wait_for(2, WAIT).await;
    let second = switchboard_tests::fakes::quoted_printable_decoded(&mails[1].data);
    assert_eq!(mails[1].to, vec!["olena@example.com".to_owned()]);
    assert!(second.contains("Operator: Fourth answer"), "{second}");
    for earlier in ["First answer", "Third answer"] {
        assert!(!second.contains(earlier), "{earlier} in {second}");
    }
    // Nothing is left to send: exactly these two e-mails, however long we wait.
    eventually(WAIT, || async {
        (notification_statuses(&server, &olena.conversation_id).await == ["sent", "sent"])
            .then_some(())
    })
    .await;
    assert_eq!(
        notification_statuses(&server, &mariia.conversation_id)
            .await
            .len(),
        0
    );
    assert_eq!(smtp.mails().len(), 2);
    server.stop().await;
}

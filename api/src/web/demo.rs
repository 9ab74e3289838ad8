//! The local demo (`SWITCHBOARD_DEMO`, which `make run` turns on): an inbox the service makes
//! for itself at start-up, and `/demo`, a host page that embeds its widget, so a newcomer sees
//! a working widget against the local service before writing a line. Also the resume page's
//! HTML, which shares the frame.
//!
//! The demo inbox's widget token is derived from the token secret (the log keeps only its
//! hash, so the service must be able to compute it again on every start), and its inbox and
//! command ids from that token: the creation is one idempotent command, and a new secret makes
//! a new demo inbox rather than a page with a dead token.

use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use switchboard_commands::handler::{CommandMeta, InboxHandler};
use switchboard_domain::envelope::Actor;
use switchboard_domain::inbox::{InboxCommand, InboxSettings, RatingScale};
use uuid::Uuid;

use crate::graphql::widget_token::widget_token_hash;

/// The namespace of the demo's derived ids.
const DEMO_NAMESPACE: Uuid = Uuid::from_u128(0x5b0a_7d3e_1c44_4f2a_9d1e_6a0c_de30_0001);

/// The demo inbox's widget token for the service signing with `secret`.
pub fn widget_token(secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(b"switchboard demo inbox widget token");
    format!("sbw_{}", hex::encode(mac.finalize().into_bytes()))
}

/// Makes the demo inbox if this secret's is not there yet; returns its widget token.
pub async fn provision(handler: &InboxHandler, secret: &str) -> anyhow::Result<String> {
    let token = widget_token(secret);
    let hash = widget_token_hash(&token);
    let inbox_id = Uuid::new_v5(&DEMO_NAMESPACE, format!("inbox:{hash}").as_bytes());
    // Its token is shown on a public page: no other site may use it (the service's own
    // /demo is not held to the list).
    let settings = InboxSettings::new(
        "Switchboard demo",
        Some("Hi! This is your local Switchboard. Write anything: you answer it as the operator."),
        None,
        RatingScale::Csat,
    )?
    .with_allowed_origins(&["https://demo.invalid"])?;
    let meta = CommandMeta {
        command_id: Uuid::new_v5(&DEMO_NAMESPACE, format!("create:{hash}").as_bytes()),
        actor: Actor::system(),
        correlation_id: None,
        ip: None,
    };
    let command = InboxCommand::Create {
        inbox_id,
        branch_id: None,
        settings: settings.clone(),
        widget_token_hash: hash.clone(),
        at: Utc::now(),
    };
    handler.handle(&meta, &command).await?;
    // A demo inbox made by an earlier version gets these settings too (nothing is recorded
    // when they are already so).
    let meta = CommandMeta {
        command_id: Uuid::new_v5(&DEMO_NAMESPACE, format!("settings-1:{hash}").as_bytes()),
        ..meta
    };
    let command = InboxCommand::ChangeSettings {
        inbox_id,
        settings,
        at: Utc::now(),
    };
    handler.handle(&meta, &command).await?;
    Ok(token)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "body{margin:0;font:16px/1.55 Georgia,'Times New Roman',serif;color:#222;background:#faf7f2}\
header{background:#2f3e46;color:#fff;padding:18px 32px;display:flex;justify-content:space-between;align-items:center}\
header b{font-size:22px}nav a{color:#cfe3e8;margin-left:18px;text-decoration:none}\
main{max-width:860px;margin:0 auto;padding:32px}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:18px;margin:24px 0}\
.card{background:#fff;border:1px solid #e6e0d6;border-radius:10px;padding:16px}\
code,pre{font:13px/1.5 ui-monospace,Menlo,Consolas,monospace;background:#f0ece4;border-radius:6px}\
pre{padding:12px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}\
.note{background:#fff;border-left:4px solid #52796f;padding:12px 16px;margin:20px 0}";

/// `/demo`: a small shop's page with the widget of the demo inbox.
pub fn page(widget_token: &str, origin: &str, locale: Option<&str>) -> String {
    let origin = escape(origin);
    let token = escape(widget_token);
    let locale = locale
        .filter(|l| ["ru", "uk", "en"].contains(l))
        .map(|l| format!(" data-locale=\"{l}\""))
        .unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Switchboard demo: a site with the chat widget</title><style>{STYLE}</style></head>
<body>
<header><b>Bike &amp; Co.</b><nav><a href="/demo?locale=en">English</a><a href="/demo?locale=uk">Українська</a><a href="/demo?locale=ru">Русский</a></nav></header>
<main>
<h1>A website with the Switchboard chat</h1>
<p>This page stands for your site. The chat button at the bottom right is the widget of the
local <em>demo inbox</em>, added with one tag:</p>
<pre>&lt;script src="{origin}/widget.js" data-widget-token="{token}" async&gt;&lt;/script&gt;</pre>
<div class="note">Write in the chat, then answer it from the <a href="/">operator console</a>
(the first time, <code>make -s invite EMAIL=you@example.com NAME="Your Name"</code> prints the
link where you set your password; the README's "Try it" has the rest); the reply appears here
live. The language follows your browser; the links above pick one.</div>
<div class="grid">
<div class="card"><h3>City bike</h3><p>Seven gears, a basket and lights.</p></div>
<div class="card"><h3>Gravel bike</h3><p>For roads that stop being roads.</p></div>
<div class="card"><h3>Repairs</h3><p>Bring it in; we call you when it is ready.</p></div>
</div>
</main>
<script src="/widget.js" data-widget-token="{token}"{locale} async></script>
</body></html>
"#,
    )
}

/// `/chat/resume?token=…`: the visitor's conversation, full-page.
pub fn resume_page(session_token: &str, conversation_id: Uuid) -> String {
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Chat</title><style>body{{margin:0;background:#f6f7f9}}</style></head>
<body>
<script src="/widget.js" data-session-token="{token}" data-conversation-id="{conversation_id}" data-fullpage="true" data-open="true" async></script>
</body></html>
"#,
        token = escape(session_token),
    )
}

/// The resume page for a link that no longer works.
pub fn expired_page() -> String {
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Chat</title><style>{STYLE}</style></head>
<body><main>
<h1 lang="en">This chat link has expired</h1>
<p lang="en">Write to us again from the chat on our site.</p>
<h1 lang="uk">Посилання на чат більше не дійсне</h1>
<p lang="uk">Напишіть нам знову в чаті на нашому сайті.</p>
<h1 lang="ru">Ссылка на чат больше не действует</h1>
<p lang="ru">Напишите нам снова в чате на нашем сайте.</p>
</main></body></html>
"#
    )
}

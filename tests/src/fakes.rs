//! Local stand-ins for what the tests cannot reach: a server that behaves like the Telegram
//! Bot API (TG-5), and an SMTP server that keeps what it is sent (INT-3).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::TestServer;

/// The bot token the fake accepts.
pub const BOT_TOKEN: &str = "123456:TEST-token";
/// The username the fake's `getMe` gives.
pub const BOT_USERNAME: &str = "switchboard_test_bot";
/// The fake bot's Telegram user id, as `getMe` gives it.
pub const BOT_ID: i64 = 123456;
/// The webhook secret the tests configure.
pub const WEBHOOK_SECRET: &str = "test-webhook-secret_1";

/// A message the bot sent through the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub chat_id: i64,
    pub message_id: i64,
    pub text: String,
    pub reply_to: Option<i64>,
}

/// What the fake answers the next `sendMessage` to a chat with, instead of sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 429 with `retry_after`.
    RetryAfter(u64),
    /// 500.
    Unavailable,
}

#[derive(Default)]
struct BotState {
    sent: Vec<Sent>,
    next_message_id: HashMap<i64, i64>,
    failures: HashMap<i64, VecDeque<Failure>>,
    blocked: HashSet<i64>,
    webhook: Option<(String, String)>,
    refused: Vec<(i64, u16)>,
}

/// A local server that answers `getMe`, `sendMessage` and `setWebhook` like the Bot API,
/// including its errors (401 for a wrong token, 429 with `retry_after`, 403 for a chat that
/// blocked the bot).
#[derive(Clone)]
pub struct FakeBotApi {
    pub base: String,
    state: Arc<Mutex<BotState>>,
}

impl FakeBotApi {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(BotState::default()));
        let app = Router::new()
            .route("/{bot}/{method}", post(bot_method))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, state }
    }

    /// Everything the bot sent, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.state.lock().unwrap().sent.clone()
    }

    /// What the bot sent to one chat, in order.
    pub fn sent_to(&self, chat_id: i64) -> Vec<Sent> {
        self.sent()
            .into_iter()
            .filter(|s| s.chat_id == chat_id)
            .collect()
    }

    /// `sendMessage` calls refused, as (chat, status).
    pub fn refused(&self) -> Vec<(i64, u16)> {
        self.state.lock().unwrap().refused.clone()
    }

    /// The next `sendMessage`s to `chat_id` fail as listed, in order.
    pub fn fail_next(&self, chat_id: i64, failures: &[Failure]) {
        self.state
            .lock()
            .unwrap()
            .failures
            .entry(chat_id)
            .or_default()
            .extend(failures);
    }

    /// The user of `chat_id` blocks the bot: 403 from now on.
    pub fn block(&self, chat_id: i64) {
        self.state.lock().unwrap().blocked.insert(chat_id);
    }

    /// The URL and secret of the last `setWebhook`.
    pub fn webhook(&self) -> Option<(String, String)> {
        self.state.lock().unwrap().webhook.clone()
    }

    /// Waits until the bot has sent `chat_id` a message `matching`, and returns it.
    pub async fn wait_for(
        &self,
        chat_id: i64,
        matching: impl Fn(&str) -> bool,
        within: Duration,
    ) -> Sent {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(sent) = self
                .sent_to(chat_id)
                .into_iter()
                .find(|s| matching(&s.text))
            {
                return sent;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chat {chat_id} never got the message; it got: {:#?}",
                self.sent_to(chat_id)
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn refusal(code: u16, description: &str, parameters: Option<Value>) -> (StatusCode, Json<Value>) {
    let mut body = json!({ "ok": false, "error_code": code, "description": description });
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    (StatusCode::from_u16(code).unwrap(), Json(body))
}

async fn bot_method(
    State(state): State<Arc<Mutex<BotState>>>,
    Path((bot, method)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if bot != format!("bot{BOT_TOKEN}") {
        return refusal(401, "Unauthorized", None);
    }
    let mut state = state.lock().unwrap();
    match method.as_str() {
        "getMe" => (
            StatusCode::OK,
            Json(json!({ "ok": true, "result": {
                "id": BOT_ID, "is_bot": true, "first_name": "Switchboard", "username": BOT_USERNAME,
            }})),
        ),
        "setWebhook" => {
            let url = body["url"].as_str().unwrap_or_default().to_owned();
            let secret = body["secret_token"].as_str().unwrap_or_default().to_owned();
            state.webhook = Some((url, secret));
            (
                StatusCode::OK,
                Json(json!({ "ok": true, "result": true, "description": "Webhook was set" })),
            )
        }
        "sendMessage" => {
            let Some(chat_id) = body["chat_id"].as_i64() else {
                return refusal(400, "Bad Request: chat_id is empty", None);
            };
            let Some(text) = body["text"].as_str().filter(|t| !t.is_empty()) else {
                return refusal(400, "Bad Request: message text is empty", None);
            };
            if text.encode_utf16().count() > 4096 {
                return refusal(400, "Bad Request: message is too long", None);
            }
            if state.blocked.contains(&chat_id) {
                state.refused.push((chat_id, 403));
                return refusal(403, "Forbidden: bot was blocked by the user", None);
            }
            let failure = state
                .failures
                .get_mut(&chat_id)
                .and_then(VecDeque::pop_front);
            match failure {
                Some(Failure::RetryAfter(secs)) => {
                    state.refused.push((chat_id, 429));
                    return refusal(
                        429,
                        &format!("Too Many Requests: retry after {secs}"),
                        Some(json!({ "retry_after": secs })),
                    );
                }
                Some(Failure::Unavailable) => {
                    state.refused.push((chat_id, 500));
                    return refusal(500, "Internal Server Error", None);
                }
                None => {}
            }
            let next = state.next_message_id.entry(chat_id).or_insert(1000);
            *next += 1;
            let message_id = *next;
            let reply_to = body["reply_parameters"]["message_id"].as_i64();
            state.sent.push(Sent {
                chat_id,
                message_id,
                text: text.to_owned(),
                reply_to,
            });
            (
                StatusCode::OK,
                Json(json!({ "ok": true, "result": {
                    "message_id": message_id, "date": 0, "text": text,
                    "chat": { "id": chat_id, "type": "private" },
                }})),
            )
        }
        _ => refusal(404, "Not Found", None),
    }
}

/// A Telegram user writing to the bot: posts updates to the service's webhook as Telegram
/// would, numbering them as Telegram does.
pub struct TelegramUser {
    /// The user's id; their private chat with the bot has the same id.
    pub id: i64,
    /// The profile's names, as Telegram sends them with every message.
    pub first_name: String,
    pub last_name: Option<String>,
    next_message_id: i64,
    next_update_id: i64,
}

impl TelegramUser {
    /// A user whose profile is named "Test".
    pub fn new(id: i64) -> Self {
        Self::named(id, "Test", None)
    }

    /// A user whose profile has these names.
    pub fn named(id: i64, first_name: &str, last_name: Option<&str>) -> Self {
        Self {
            id,
            first_name: first_name.to_owned(),
            last_name: last_name.map(str::to_owned),
            next_message_id: 1,
            next_update_id: id * 1000,
        }
    }

    fn profile(&self) -> Value {
        let mut profile = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        if let Some(last_name) = &self.last_name {
            profile["last_name"] = json!(last_name);
        }
        profile
    }

    /// The update for a message with `text` (replying to `reply_to`), with its message id.
    pub fn update(&mut self, text: &str, reply_to: Option<&Sent>) -> (Value, i64) {
        let replied = reply_to.map(|sent| (sent.message_id, sent.text.as_str(), true));
        self.update_replying(text, replied)
    }

    /// An update with `text`, replying to `(message id, its text, whether the bot wrote it)`:
    /// a reply to one's own message is one Telegram marks as not the bot's.
    pub fn update_replying(
        &mut self,
        text: &str,
        replied: Option<(i64, &str, bool)>,
    ) -> (Value, i64) {
        let message_id = self.next_message_id;
        self.next_message_id += 1;
        self.next_update_id += 1;
        let mut message = json!({
            "message_id": message_id, "date": 0, "text": text,
            "from": self.profile(),
            "chat": { "id": self.id, "type": "private" },
        });
        if let Some((replied_id, replied_text, by_bot)) = replied {
            // Telegram includes the whole replied-to message, with its author and text.
            let from = match by_bot {
                true => json!({ "id": BOT_ID, "is_bot": true, "first_name": "Switchboard",
                                "username": BOT_USERNAME }),
                false => self.profile(),
            };
            message["reply_to_message"] = json!({
                "message_id": replied_id, "date": 0, "text": replied_text, "from": from,
                "chat": { "id": self.id, "type": "private" },
            });
        }
        (
            json!({ "update_id": self.next_update_id, "message": message }),
            message_id,
        )
    }

    /// Sends `text` to the bot; the webhook's status.
    pub async fn say(&mut self, server: &TestServer, text: &str) -> u16 {
        let (update, _) = self.update(text, None);
        post_update(server, &update, Some(WEBHOOK_SECRET)).await
    }

    /// Replies to the bot's message `reply_to` with `text`; the webhook's status.
    pub async fn reply(&mut self, server: &TestServer, reply_to: &Sent, text: &str) -> u16 {
        let (update, _) = self.update(text, Some(reply_to));
        post_update(server, &update, Some(WEBHOOK_SECRET)).await
    }
}

/// POSTs `update` to the service's webhook with `secret` in Telegram's header.
pub async fn post_update(server: &TestServer, update: &Value, secret: Option<&str>) -> u16 {
    let mut request = server
        .http
        .post(format!("{}/telegram/webhook", server.base))
        .json(update);
    if let Some(secret) = secret {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    request.send().await.unwrap().status().as_u16()
}

/// An e-mail the sink received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-unstuffed.
    pub data: String,
}

/// A local SMTP server that accepts every message and keeps it.
#[derive(Clone)]
pub struct SmtpSink {
    pub url: String,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(socket, kept).await;
                });
            }
        });
        Self { url, mails }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// Waits until `count` mails have arrived.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let mails = self.mails();
            if mails.len() >= count {
                return mails;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{count} mails never came; got {mails:#?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn smtp_session(
    socket: tokio::net::TcpStream,
    mails: Arc<Mutex<Vec<Mail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RSET") {
            (from, to) = (String::new(), Vec::new());
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command["MAIL FROM:".len()..]);
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command["RCPT TO:".len()..]));
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                let mut line = String::new();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            mails.lock().unwrap().push(Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            });
            write.write_all(b"250 OK queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 command not implemented\r\n").await?;
        }
    }
}

/// `<a@b> SIZE=1` → `a@b`.
fn address(argument: &str) -> String {
    let argument = argument.trim();
    match (argument.find('<'), argument.find('>')) {
        (Some(start), Some(end)) if start < end => argument[start + 1..end].to_owned(),
        _ => argument
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// `data` with quoted-printable escapes (`=C2=B7`, soft line breaks) undone.
pub fn quoted_printable_decoded(data: &str) -> String {
    let joined = data.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

//! Telegram (TG-1..5): the bot operators answer from, visitors can continue a chat in, and
//! customers can start one in (seed 002).
//!
//! # Setting up
//! The bot's token (`SWITCHBOARD_TELEGRAM_BOT_TOKEN`) switches Telegram on; a webhook secret
//! (`SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET`) is then required. `switchboard telegram
//! set-webhook --url https://<public host>/telegram/webhook` tells Telegram where to send
//! updates and which secret to send with them. The Bot API base URL is a setting too (TG-5),
//! so tests run against a local server that behaves like the Bot API.
//!
//! # The webhook
//! `POST /telegram/webhook` answers 401 unless `X-Telegram-Bot-Api-Secret-Token` is the
//! secret, 400 for a body that is not an update, and 200 once the update is handled (a user's
//! mistake is answered in the chat, and is still a 200: Telegram must not send it again). A
//! storage failure answers 500, so Telegram delivers the update again; everything an update
//! records has an id derived from the chat and message ids, so a second delivery records
//! nothing new.
//!
//! # Links (TG-1, TG-4)
//! A link token is 32 random bytes (base64url), valid for `SWITCHBOARD_TELEGRAM_LINK_MINUTES`,
//! kept only as its SHA-256, and spent by the first Telegram user who sends it. An operator's
//! token (`createTelegramLink`) is sent as `/login <token>` and binds the Telegram account to
//! the operator; a visitor's (`linkTelegram`) opens `https://t.me/<bot>?start=link_<token>`,
//! and binds that Telegram chat to the conversation. Bindings are credentials, kept in
//! `telegram_operators` and `telegram_visitors` outside the log, like webhook secrets.
//!
//! # Customers (seed 002)
//! Anyone else who writes to the bot starts a conversation (source `telegram`) in the inbox
//! set to take them (`telegramIntake` in its settings); [`intake`] says who they are and
//! where it goes, and links their chat to it as a visitor's is linked.
//!
//! What the bot does with messages and commands is [`bot`]; who is notified of what is the
//! notifications projection and `switchboard_workers::notifier`.

pub mod bot;
pub mod intake;

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::OnceCell;
use uuid::Uuid;

pub use switchboard_workers::telegram::{BotApi, BotApiError};

use crate::error::ApiError;

/// The header Telegram sends the webhook secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The prefix of a visitor's `/start` parameter.
pub const VISITOR_LINK_PREFIX: &str = "link_";

/// The bot as this process runs it.
pub struct Telegram {
    pub api: BotApi,
    webhook_secret: String,
    link_ttl: Duration,
    /// The bot's `@username`, asked of `getMe` once.
    username: OnceCell<String>,
}

/// Telegram's settings, from the binary's settings (`server/src/config.rs`). `Debug` masks the token and secret.
#[derive(Clone)]
pub struct TelegramSettings {
    pub api_url: String,
    pub bot_token: String,
    pub webhook_secret: String,
    pub link_ttl: Duration,
    pub timeout: Duration,
}

impl std::fmt::Debug for TelegramSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramSettings")
            .field("api_url", &self.api_url)
            .field("bot_token", &"<masked>")
            .field("webhook_secret", &"<masked>")
            .field("link_ttl", &self.link_ttl)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The webhook secret is not what Telegram accepts: 1–256 characters of `A–Z a–z 0–9 _ -`.
#[derive(Debug, thiserror::Error)]
#[error("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET must be 1–256 characters of A–Z, a–z, 0–9, _ and -")]
pub struct BadWebhookSecret;

/// Checks a webhook secret against Telegram's rules for `secret_token`.
pub fn check_webhook_secret(secret: &str) -> Result<(), BadWebhookSecret> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if (1..=256).contains(&secret.len()) && secret.chars().all(allowed) {
        Ok(())
    } else {
        Err(BadWebhookSecret)
    }
}

impl Telegram {
    pub fn new(settings: &TelegramSettings) -> anyhow::Result<Arc<Self>> {
        check_webhook_secret(&settings.webhook_secret)?;
        Ok(Arc::new(Self {
            api: BotApi::new(&settings.api_url, &settings.bot_token, settings.timeout)?,
            webhook_secret: settings.webhook_secret.clone(),
            link_ttl: settings.link_ttl,
            username: OnceCell::new(),
        }))
    }

    /// Whether `presented` is the webhook secret. Both sides are hashed first, so the
    /// comparison takes the same time whatever the presented value shares with the secret.
    pub fn secret_matches(&self, presented: Option<&[u8]>) -> bool {
        presented.is_some_and(|presented| {
            Sha256::digest(presented) == Sha256::digest(self.webhook_secret.as_bytes())
        })
    }

    /// The bot's username, for `t.me` links.
    pub async fn username(&self) -> Result<&str, ApiError> {
        self.username
            .get_or_try_init(|| async {
                let me = self.api.get_me().await.map_err(|err| {
                    tracing::warn!(error = %err, "getMe failed");
                    ApiError::TelegramUnavailable
                })?;
                me.username.ok_or(ApiError::TelegramUnavailable)
            })
            .await
            .map(String::as_str)
    }

    /// Issues a one-time link token for `target`, valid for the configured time.
    pub async fn issue_link(
        &self,
        pool: &PgPool,
        target: LinkTarget,
    ) -> Result<IssuedLink, sqlx::Error> {
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes[..]);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let expires_at = Utc::now()
            + chrono::Duration::from_std(self.link_ttl).unwrap_or(chrono::Duration::minutes(30));
        let (kind, operator_id, conversation_id, contact_id) = match target {
            LinkTarget::Operator(id) => ("operator", Some(id), None, None),
            LinkTarget::Conversation {
                conversation_id,
                contact_id,
            } => (
                "conversation",
                None,
                Some(conversation_id),
                Some(contact_id),
            ),
        };
        // Tokens long expired are of no use to anyone (a retried update comes within
        // minutes): each new one sweeps them, so the table holds about a day of links.
        sqlx::query("delete from telegram_link_tokens where expires_at < now() - interval '1 day'")
            .execute(pool)
            .await?;
        sqlx::query(
            "insert into telegram_link_tokens
                 (token_hash, kind, operator_id, conversation_id, contact_id, expires_at)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash(&token))
        .bind(kind)
        .bind(operator_id)
        .bind(conversation_id)
        .bind(contact_id)
        .bind(expires_at)
        .execute(pool)
        .await?;
        Ok(IssuedLink { token, expires_at })
    }
}

/// What a link token binds a Telegram account or chat to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkTarget {
    Operator(Uuid),
    Conversation {
        conversation_id: Uuid,
        contact_id: Uuid,
    },
}

#[derive(Debug, Clone)]
pub struct IssuedLink {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Spends a link token of `kind` for Telegram user `user_id`: the target, if the token is
/// known, unexpired and unspent, or spent by this same user (Telegram delivering the update
/// again; an unlink deletes the operator's tokens, so it cannot bring an old account back).
/// `None` otherwise: the caller cannot tell an unknown token from a used one, and need not.
pub(crate) async fn spend_link(
    tx: &mut sqlx::PgConnection,
    token: &str,
    kind: &str,
    user_id: i64,
) -> Result<Option<LinkTarget>, sqlx::Error> {
    let row: Option<(Option<Uuid>, Option<Uuid>, Option<Uuid>)> = sqlx::query_as(
        "update telegram_link_tokens
         set used_at = coalesce(used_at, now()), used_by = $3
         where token_hash = $1 and kind = $2 and expires_at > now()
           and (used_by is null or used_by = $3)
         returning operator_id, conversation_id, contact_id",
    )
    .bind(token_hash(token))
    .bind(kind)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.and_then(
        |(operator, conversation, contact)| match (operator, conversation, contact) {
            (Some(operator_id), _, _) => Some(LinkTarget::Operator(operator_id)),
            (None, Some(conversation_id), Some(contact_id)) => Some(LinkTarget::Conversation {
                conversation_id,
                contact_id,
            }),
            _ => None,
        },
    ))
}

/// Gives up pending Telegram notifications that would reach the wrong account after a link
/// changed: the operator's to any chat but `chat_id` (all of them when `None`, an unlink),
/// and other operators' to `chat_id`.
pub(crate) async fn drop_pending_elsewhere(
    tx: &mut sqlx::PgConnection,
    operator_id: Uuid,
    chat_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update notifications
         set status = 'failed', last_error = 'the Telegram account was unlinked',
             claim_id = null, updated_at = now()
         where status = 'pending' and channel = 'telegram'
           and ((operator_id = $1 and telegram_chat_id is distinct from $2)
                or (telegram_chat_id = $2 and operator_id <> $1))",
    )
    .bind(operator_id)
    .bind(chat_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Unlinks the operator's Telegram account, if one is linked; true if one was. Their link
/// tokens go too (a spent one could otherwise be presented again), and so do the
/// notifications still queued for the account.
pub async fn unlink_operator(pool: &PgPool, operator_id: Uuid) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query("delete from telegram_operators where operator_id = $1")
        .bind(operator_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("delete from telegram_link_tokens where operator_id = $1")
        .bind(operator_id)
        .execute(&mut *tx)
        .await?;
    drop_pending_elsewhere(&mut tx, operator_id, None).await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

/// An update as Telegram sends it; only what the bot reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub update_id: i64,
    pub message: Option<IncomingMessage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IncomingMessage {
    pub message_id: i64,
    pub from: Option<TelegramUser>,
    pub chat: Chat,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub reply_to_message: Option<RepliedMessage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RepliedMessage {
    pub message_id: i64,
    pub from: Option<TelegramUser>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TelegramUser {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    /// The profile's names: a customer's contact is named after them.
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_secrets_follow_telegrams_rules() {
        assert!(check_webhook_secret("abc_DEF-123").is_ok());
        assert!(check_webhook_secret("").is_err());
        assert!(check_webhook_secret("has space").is_err());
        assert!(check_webhook_secret(&"x".repeat(257)).is_err());
    }

    #[test]
    fn only_the_secret_matches() {
        let telegram = Telegram::new(&TelegramSettings {
            api_url: "http://127.0.0.1:1".into(),
            bot_token: "1:x".into(),
            webhook_secret: "s3cret".into(),
            link_ttl: Duration::from_secs(60),
            timeout: Duration::from_secs(1),
        })
        .unwrap();
        assert!(telegram.secret_matches(Some(b"s3cret")));
        assert!(!telegram.secret_matches(Some(b"s3cre")));
        assert!(!telegram.secret_matches(None));
    }

    #[test]
    fn updates_read_what_the_bot_needs() {
        let update: Update = serde_json::from_str(
            r#"{"update_id": 7, "message": {"message_id": 3, "date": 0,
                "from": {"id": 42, "is_bot": false, "first_name": "A"},
                "chat": {"id": 42, "type": "private"}, "text": "/help",
                "reply_to_message": {"message_id": 2, "date": 0, "chat": {"id": 42, "type": "private"}}}}"#,
        )
        .unwrap();
        let message = update.message.unwrap();
        assert_eq!(message.text.as_deref(), Some("/help"));
        assert_eq!(message.reply_to_message.unwrap().message_id, 2);
        assert_eq!(message.chat.kind, "private");
    }
}

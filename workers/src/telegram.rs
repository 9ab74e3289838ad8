//! A client of the Telegram Bot API: the three methods Switchboard calls (`getMe`,
//! `sendMessage`, `setWebhook`) and the errors it tells apart. The base URL is a setting
//! (TG-5): `https://api.telegram.org` in production, a local fake in tests.
//!
//! The bot's token is part of every request's path, so no error of this module carries a
//! URL: reqwest's errors are stripped of theirs before they are kept or logged.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use thiserror::Error;

/// Why a Bot API call failed, as far as what to do next goes.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BotApiError {
    /// 429: too many requests; Telegram says when to try again.
    #[error("rate limited by Telegram; retry after {} s", .0.as_secs())]
    RetryAfter(Duration),
    /// 403: the user blocked the bot or never started it; retrying will not help.
    #[error("Telegram refused: {0}")]
    Blocked(String),
    /// Another 4xx: the request itself is wrong (no such chat, text too long, bad token).
    #[error("Telegram rejected the request ({code}): {description}")]
    Rejected { code: u16, description: String },
    /// 5xx, a timeout, no connection, or a token Telegram does not know (401, 404): worth
    /// trying again later.
    #[error("Telegram is unavailable: {0}")]
    Unavailable(String),
}

impl BotApiError {
    /// Will the same request fail the same way however often it is sent?
    pub fn is_permanent(&self) -> bool {
        matches!(self, BotApiError::Blocked(_) | BotApiError::Rejected { .. })
    }
}

/// The bot, as `getMe` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct BotUser {
    pub id: i64,
    pub username: Option<String>,
}

/// A message the bot sent.
#[derive(Debug, Clone, Deserialize)]
pub struct SentMessage {
    pub message_id: i64,
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<Parameters>,
}

#[derive(Debug, Deserialize)]
struct Parameters {
    retry_after: Option<u64>,
}

/// Calls the Bot API for one bot.
#[derive(Clone)]
pub struct BotApi {
    http: reqwest::Client,
    /// `{base}/bot{token}`: holds the token, never logged.
    endpoint: String,
}

impl std::fmt::Debug for BotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotApi { token: <masked> }")
    }
}

impl BotApi {
    pub fn new(base_url: &str, token: &str, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            endpoint: format!("{}/bot{token}", base_url.trim_end_matches('/')),
        })
    }

    pub async fn get_me(&self) -> Result<BotUser, BotApiError> {
        self.call("getMe", json!({})).await
    }

    /// Sends plain text (no parse mode: nothing a contact writes is read as markup).
    pub async fn send_message(
        &self,
        chat_id: i64,
        text: &str,
        reply_to: Option<i64>,
    ) -> Result<SentMessage, BotApiError> {
        let mut body = json!({
            "chat_id": chat_id,
            "text": text,
            "link_preview_options": {"is_disabled": true},
        });
        if let Some(message_id) = reply_to {
            body["reply_parameters"] =
                json!({"message_id": message_id, "allow_sending_without_reply": true});
        }
        self.call("sendMessage", body).await
    }

    /// Points Telegram at `url`, with the secret it must send back in
    /// `X-Telegram-Bot-Api-Secret-Token`; only messages are asked for.
    pub async fn set_webhook(&self, url: &str, secret_token: &str) -> Result<(), BotApiError> {
        let _: Value = self
            .call(
                "setWebhook",
                json!({
                    "url": url,
                    "secret_token": secret_token,
                    "allowed_updates": ["message"],
                }),
            )
            .await?;
        Ok(())
    }

    async fn call<T: DeserializeOwned>(&self, method: &str, body: Value) -> Result<T, BotApiError> {
        let response = self
            .http
            .post(format!("{}/{method}", self.endpoint))
            .json(&body)
            .send()
            .await
            .map_err(|err| BotApiError::Unavailable(err.without_url().to_string()))?;
        let status = response.status();
        let envelope: Envelope<T> = match response.json().await {
            Ok(envelope) => envelope,
            Err(err) if status.is_success() => {
                return Err(BotApiError::Unavailable(format!(
                    "unreadable answer to {method}: {}",
                    err.without_url()
                )))
            }
            Err(_) => Envelope {
                ok: false,
                result: None,
                error_code: Some(status.as_u16()),
                description: status.canonical_reason().map(str::to_owned),
                parameters: None,
            },
        };
        if envelope.ok {
            return envelope.result.ok_or_else(|| {
                BotApiError::Unavailable(format!("{method} answered ok without a result"))
            });
        }
        let code = envelope.error_code.unwrap_or(status.as_u16());
        let description = envelope
            .description
            .unwrap_or_else(|| format!("{method} failed"));
        Err(match code {
            429 => BotApiError::RetryAfter(Duration::from_secs(
                envelope
                    .parameters
                    .and_then(|p| p.retry_after)
                    .unwrap_or(1)
                    .max(1),
            )),
            403 => BotApiError::Blocked(description),
            // A wrong or revoked token (or base URL) is the operator's to fix, not the
            // message's fault: worth retrying once it is fixed.
            401 | 404 => BotApiError::Unavailable(format!("{code}: {description}")),
            400..=499 => BotApiError::Rejected { code, description },
            _ => BotApiError::Unavailable(format!("{code}: {description}")),
        })
    }
}

/// Telegram's limit on a message's text, in UTF-16 code units (an emoji counts two).
pub const MAX_TEXT_UNITS: usize = 4096;

/// `text`, cut to [`MAX_TEXT_UNITS`] with an ellipsis if it is longer.
pub fn fit_text(text: &str) -> String {
    if text.encode_utf16().count() <= MAX_TEXT_UNITS {
        return text.to_owned();
    }
    let mut cut = String::new();
    let mut units = 0;
    for c in text.chars() {
        // Room for the ellipsis (one unit).
        if units + c.len_utf16() > MAX_TEXT_UNITS - 1 {
            break;
        }
        units += c.len_utf16();
        cut.push(c);
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_to_telegrams_limit() {
        assert_eq!(fit_text("short"), "short");
        let long = "ж".repeat(MAX_TEXT_UNITS + 10);
        let fitted = fit_text(&long);
        assert_eq!(fitted.encode_utf16().count(), MAX_TEXT_UNITS);
        assert!(fitted.ends_with('…'));
        // An emoji is two units: 2,100 of them are over the limit.
        let emoji = fit_text(&"🙂".repeat(2100));
        assert!(emoji.encode_utf16().count() <= MAX_TEXT_UNITS);
        assert!(emoji.ends_with('…'));
    }

    #[test]
    fn the_token_is_not_in_debug_output() {
        let api = BotApi::new("http://127.0.0.1:1", "123:SECRET", Duration::from_secs(1)).unwrap();
        assert_eq!(format!("{api:?}"), "BotApi { token: <masked> }");
    }
}

//! The notifier (TG-2, TG-4, CALL-2, INT-3): sends the notifications the notifications
//! projection (`switchboard_projections::notifications`) inserted, over the Telegram Bot API
//! or SMTP, retries them, and records every attempt in `notification_attempts`.
//!
//! # A notification's life
//! ```text
//! pending ──sent───────────────────────────────────► sent
//!    │ ▲ 429: after Telegram's retry_after (not counted as an attempt)
//!    │ │ unavailable (5xx, timeout, 401/404 of a bad token, SMTP 4xx): after the backoff,
//!    │ │ MAX_ATTEMPTS in all
//!    └─┘
//!    ├──refused (403 blocked, another 4xx, SMTP 5xx) or out of attempts──► failed
//!    └──the channel is not set up here (no bot token, no SMTP URL)──────► skipped
//! ```
//! A chat whose user blocked the bot (403) is unlinked, a visitor's or an operator's: nothing
//! more is queued for it. A visitor's e-mail the projection cancelled (they read the replies
//! in time) is never claimed.
//!
//! # A visitor's e-mail
//! The projection decides that a visitor who left is e-mailed (see its docs); the notifier
//! sends it from the inbox's title and appends the link back into the conversation,
//! `{SWITCHBOARD_PUBLIC_URL}/chat/resume?token=…`, where the token is a widget session for
//! that conversation's contact, minted as the e-mail goes out ([`ResumeLinks`]).
//!
//! # Order and claiming
//! Any number of notifiers share the queue. Each claims due rows with `for update skip
//! locked`, stamping them with a claim id and a lease, and sends without holding a
//! transaction; the outcome is written only while the claim is still its own. A Telegram
//! chat's notifications go out in log order: a row is claimed only when no earlier row for
//! the same chat is still pending, so a rate-limited chat waits without holding up others.
//!
//! # Exactly once, and the one gap
//! Rows are inserted once per event and recipient (the projection's guarantee), and a sent
//! row is never sent again. A notifier stopped between Telegram's (or the mail server's)
//! answer and the write of the outcome would send that one row again when its lease runs out:
//! neither the Bot API nor SMTP takes an idempotency key. A graceful stop finishes the
//! attempts in flight first, so a restart neither sends twice nor skips. E-mails carry a
//! `Message-ID` derived from the notification, so a mail client can fold such a repeat.
//!
//! # Keeping
//! Notifications that are done with (sent, failed, skipped) are kept, with their attempts, for
//! `SWITCHBOARD_NOTIFY_KEEP_DAYS` (30 by default) after their last change, then swept by a
//! task beside the notifier's sends: at start and hourly, a thousand rows per transaction.
//! Pending ones are never swept. A Telegram reply to a swept message still reaches its conversation: the bot reads
//! the id from the message's first line. A redelivered event does not bring a swept row back:
//! the projection skips events it has applied.
//!
//! # Crates
//! lettre sends e-mail (see the crate's Cargo.toml for why).

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::{FromRow, PgPool};
use switchboard_projections::notifications::{OperatorLink, NOTIFICATIONS_CHANNEL};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::telegram::fit_text;
use crate::telegram::{BotApi, BotApiError};

/// Attempts before a notification that keeps failing is given up (rate limits aside).
pub const MAX_ATTEMPTS: i32 = 8;

/// Notifications a notifier claims at once (and sends concurrently: one per chat at most).
const CLAIM_BATCH: i64 = 16;

/// How often a notifier sweeps notifications past their keeping time (and once at start).
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The most notifications one sweep transaction deletes, so it never holds many rows.
const SWEEP_BATCH: i64 = 1000;

/// The notifier's settings, from the `switchboard` binary's settings (`server/src/config.rs`).
#[derive(Debug, Clone)]
pub struct NotifierSettings {
    /// How often to look for due notifications when no notification woke it.
    pub poll: Duration,
    /// The first retry's delay; each next one doubles it (1, 2, 4 … 64 units).
    pub backoff_unit: Duration,
    /// How long Telegram or the mail server has to answer.
    pub timeout: Duration,
    /// How long a notification that is done with is kept, with its attempts; `None` keeps
    /// them forever.
    pub keep: Option<Duration>,
    /// How long a visitor's e-mail waits after the reply that started it: a read in that time
    /// cancels it (the visitor had not left).
    pub visitor_email_delay: Duration,
}

/// Where e-mail goes out.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// From an SMTP URL (`smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host:465`) and the `From` address.
    pub fn new(url: &str, from: &str, timeout: Duration) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|err| anyhow::anyhow!("SWITCHBOARD_SMTP_URL is not usable: {err}"))?
            .timeout(Some(timeout))
            .build();
        let from = from
            .parse()
            .map_err(|err| anyhow::anyhow!("SWITCHBOARD_MAIL_FROM is not an address: {err}"))?;
        Ok(Self { transport, from })
    }
}

/// Mints a widget session token for (contact, conversation, inbox). The composition root
/// hands in the API's issuer (`switchboard_api::auth::Auth::issue_widget_session`): this crate
/// may not depend on the API, and the token's claims are defined once, there.
pub type WidgetSessionIssuer = Arc<dyn Fn(Uuid, Uuid, Uuid) -> String + Send + Sync>;

/// Links back into a conversation, for a visitor's e-mail.
#[derive(Clone)]
pub struct ResumeLinks {
    /// Where the chat is served, without a trailing `/` (`https://example.com`).
    pub public_url: String,
    pub widget_session: WidgetSessionIssuer,
}

impl ResumeLinks {
    /// `{public_url}/chat/resume?token=<a widget session for the conversation>`; the token is
    /// URL-safe as it is (base64url and dots).
    pub fn link(&self, contact_id: Uuid, conversation_id: Uuid, inbox_id: Uuid) -> String {
        let token = (self.widget_session)(contact_id, conversation_id, inbox_id);
        format!("{}/chat/resume?token={token}", self.public_url)
    }
}

/// Mints the token of an operator's one-time link (invitation or password reset) for
/// (operator, link). Handed in by the composition root, like [`WidgetSessionIssuer`]: the
/// token's form is the API's (`switchboard_api::sign_in`).
pub type OperatorLinkIssuer = Arc<dyn Fn(Uuid, OperatorLink) -> String + Send + Sync>;

/// Links into the console, for operators' invitation and reset e-mails.
#[derive(Clone)]
pub struct ConsoleLinks {
    /// Where the console is served, without a trailing `/`.
    pub public_url: String,
    pub token: OperatorLinkIssuer,
}

impl ConsoleLinks {
    /// `{public_url}/#/invitation?token=…` or `{public_url}/#/reset-password?token=…`: in the
    /// fragment, so the token reaches no server log and no referrer.
    pub fn link(&self, operator_id: Uuid, link: OperatorLink) -> String {
        let page = match link {
            OperatorLink::Invitation(_) => "invitation",
            OperatorLink::PasswordReset(_) => "reset-password",
        };
        let token = (self.token)(operator_id, link);
        format!("{}/#/{page}?token={token}", self.public_url)
    }
}

/// The ways out this process has.
#[derive(Clone, Default)]
pub struct Channels {
    pub telegram: Option<BotApi>,
    pub mail: Option<Mailer>,
    /// Without it, visitors' e-mails are skipped: they would have no way back.
    pub resume: Option<ResumeLinks>,
    /// Without it, operators' invitation and reset e-mails are skipped.
    pub console: Option<ConsoleLinks>,
}

#[derive(Debug, Clone, FromRow)]
struct Claimed {
    notification_id: Uuid,
    /// None for an operator's invitation or reset e-mail.
    conversation_id: Option<Uuid>,
    channel: String,
    telegram_chat_id: Option<i64>,
    email: Option<String>,
    subject: Option<String>,
    body: String,
    attachment: Option<serde_json::Value>,
    attempts: i32,
    /// A visitor's e-mail: the inbox's title, and whose widget session its link opens.
    sender_name: Option<String>,
    contact_id: Option<Uuid>,
    inbox_id: Option<Uuid>,
    /// An operator's one-time link: its kind and id, and whose it is.
    link_kind: Option<String>,
    link_id: Option<Uuid>,
    operator_id: Option<Uuid>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Sent {
        telegram_message_id: Option<i64>,
    },
    /// Try again: after `after` (Telegram's rate limit), or after the backoff.
    Retry {
        after: Option<Duration>,
        error: String,
    },
    Failed {
        error: String,
        blocked: bool,
    },
    /// The channel is not set up on this service.
    Skipped {
        reason: String,
    },
}

/// The delay after failed attempt `attempt` (1-based): `unit` × 2^(attempt-1), at most 64
/// units; `None` once [`MAX_ATTEMPTS`] are used.
pub fn backoff(attempt: i32, unit: Duration) -> Option<Duration> {
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let exponent = u32::try_from(attempt.clamp(1, 7) - 1).unwrap_or(0);
    Some(unit * 2u32.pow(exponent))
}

/// Sends due notifications until `shutdown` is cancelled; attempts under way are finished
/// first. Woken by the projection's NOTIFY, and polls every `settings.poll` besides.
pub async fn run_notifier(
    pool: PgPool,
    channels: Arc<Channels>,
    settings: NotifierSettings,
    shutdown: CancellationToken,
) {
    let mut listener = crate::outbox::listen(&pool, NOTIFICATIONS_CHANNEL, "notifier").await;
    tracing::info!(
        telegram = channels.telegram.is_some(),
        email = channels.mail.is_some(),
        "notifier is running"
    );
    // The sweep runs beside the sends, so a large first sweep never holds them up.
    let sweeper = settings
        .keep
        .map(|keep| tokio::spawn(run_sweeper(pool.clone(), keep, shutdown.clone())));
    while !shutdown.is_cancelled() {
        let claimed = match claim(&pool, &settings).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(error = %err, "claiming notifications failed");
                Vec::new()
            }
        };
        let busy = claimed.len() as i64 == CLAIM_BATCH;
        let attempts = claimed.into_iter().map(|(claim_id, row)| {
            let (pool, channels, settings) = (&pool, &channels, &settings);
            async move {
                let outcome = send(channels, &row).await;
                if let Err(err) = record(pool, settings, claim_id, &row, &outcome).await {
                    tracing::warn!(notification_id = %row.notification_id, error = %err, "recording a notification attempt failed; it is tried again when its claim runs out");
                }
            }
        });
        futures::future::join_all(attempts).await;
        if busy {
            continue;
        }
        if !crate::outbox::wait(&mut listener, settings.poll, &shutdown).await {
            break;
        }
    }
    if let Some(sweeper) = sweeper {
        let _ = sweeper.await;
    }
}

/// Sweeps at start and every [`SWEEP_EVERY`] until `shutdown`.
async fn run_sweeper(pool: PgPool, keep: Duration, shutdown: CancellationToken) {
    loop {
        sweep_all(&pool, keep, &shutdown).await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}

/// Sweeps batch after batch until nothing is past `keep` (or shutdown).
async fn sweep_all(pool: &PgPool, keep: Duration, shutdown: &CancellationToken) {
    let mut swept = 0;
    while !shutdown.is_cancelled() {
        match sweep(pool, keep, SWEEP_BATCH).await {
            Ok(0) => break,
            Ok(n) => swept += n,
            Err(err) => {
                tracing::warn!(error = %err, "sweeping old notifications failed; the next sweep tries again");
                break;
            }
        }
    }
    if swept > 0 {
        tracing::info!(swept, "old notifications swept");
    }
}

/// Deletes up to `limit` notifications that have been done with (sent, failed or skipped)
/// for longer than `keep`, oldest first, with their attempts. Pending ones are never swept,
/// whatever their age. Returns how many went. Rows another notifier is sweeping are left to
/// it.
pub async fn sweep(pool: &PgPool, keep: Duration, limit: i64) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select notification_id from notifications
         where status <> 'pending' and updated_at < now() - $1 * interval '1 millisecond'
         order by updated_at
         limit $2
         for update skip locked",
    )
    .bind(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    sqlx::query("delete from notification_attempts where notification_id = any($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("delete from notifications where notification_id = any($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(deleted)
}

/// Claims up to [`CLAIM_BATCH`] due notifications, at most one per Telegram chat: the
/// earliest pending one of that chat.
async fn claim(
    pool: &PgPool,
    settings: &NotifierSettings,
) -> Result<Vec<(Uuid, Claimed)>, sqlx::Error> {
    let claim_id = Uuid::now_v7();
    // Long enough for a whole SMTP exchange (the timeout bounds each of its ~7 commands) and
    // for writing the outcome; a claim that outlives it could be sent twice.
    let lease_ms = (settings.timeout * 8 + Duration::from_secs(30)).as_millis() as i64;
    let rows: Vec<Claimed> = sqlx::query_as(
        "with due as (
             select n.notification_id
             from notifications n
             where n.status = 'pending' and n.next_attempt_at <= now()
               -- A visitor's e-mail is first tried the delay after its reply.
               and (n.contact_id is null or n.attempts > 0
                    or n.next_attempt_at <= now() - $4 * interval '1 millisecond')
               and not exists (select 1 from notifications p
                               where p.status = 'pending'
                                 and p.telegram_chat_id = n.telegram_chat_id
                                 and p.global_position < n.global_position)
             order by n.global_position
             limit $1
             for update of n skip locked
         )
         update notifications n
         set claim_id = $2,
             next_attempt_at = now() + $3 * interval '1 millisecond',
             attempts = n.attempts + 1,
             updated_at = now()
         from due
         where n.notification_id = due.notification_id
         returning n.notification_id, n.conversation_id, n.channel, n.telegram_chat_id,
                   n.email, n.subject, n.body, n.attachment, n.attempts, n.sender_name,
                   n.contact_id, n.inbox_id, n.link_kind, n.link_id, n.operator_id",
    )
    .bind(CLAIM_BATCH)
    .bind(claim_id)
    .bind(lease_ms)
    .bind(i64::try_from(settings.visitor_email_delay.as_millis()).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|row| (claim_id, row)).collect())
}

async fn send(channels: &Channels, row: &Claimed) -> Outcome {
    match (
        row.channel.as_str(),
        row.telegram_chat_id,
        row.email.as_deref(),
    ) {
        ("telegram", Some(chat_id), _) => {
            let Some(api) = &channels.telegram else {
                return Outcome::Skipped {
                    reason: "Telegram is not set up on this service".into(),
                };
            };
            match api.send_message(chat_id, &fit_text(&row.body), None).await {
                Ok(sent) => Outcome::Sent {
                    telegram_message_id: Some(sent.message_id),
                },
                Err(BotApiError::RetryAfter(after)) => Outcome::Retry {
                    after: Some(after),
                    error: BotApiError::RetryAfter(after).to_string(),
                },
                Err(err @ BotApiError::Blocked(_)) => Outcome::Failed {
                    error: err.to_string(),
                    blocked: true,
                },
                Err(err) if err.is_permanent() => Outcome::Failed {
                    error: err.to_string(),
                    blocked: false,
                },
                Err(err) => Outcome::Retry {
                    after: None,
                    error: err.to_string(),
                },
            }
        }
        ("email", _, Some(address)) => {
            let Some(mailer) = &channels.mail else {
                return Outcome::Skipped {
                    reason: "e-mail is not set up on this service".into(),
                };
            };
            let operator_link = match (&row.link_kind, row.link_id, row.operator_id) {
                (Some(kind), Some(id), Some(operator)) => {
                    OperatorLink::from_columns(kind, id).map(|link| (operator, link))
                }
                _ => None,
            };
            let link = match (
                row.contact_id,
                row.inbox_id,
                &channels.resume,
                operator_link,
            ) {
                (_, _, _, Some((operator, link))) => match &channels.console {
                    Some(console) => Some(console.link(operator, link)),
                    None => {
                        return Outcome::Skipped {
                            reason: "SWITCHBOARD_PUBLIC_URL is not set: an operator's e-mail \
                                     needs the link into the console"
                                .into(),
                        }
                    }
                },
                (Some(contact), Some(inbox), Some(links), None) => row
                    .conversation_id
                    .map(|conversation| links.link(contact, conversation, inbox)),
                (Some(_), _, None, None) => {
                    return Outcome::Skipped {
                        reason: "SWITCHBOARD_PUBLIC_URL is not set: a visitor's e-mail needs \
                                 the link back into the conversation"
                            .into(),
                    }
                }
                _ => None,
            };
            let message = match email(mailer, row, address, link.as_deref()) {
                Ok(message) => message,
                Err(error) => {
                    return Outcome::Failed {
                        error,
                        blocked: false,
                    }
                }
            };
            match mailer.transport.send(message).await {
                Ok(_) => Outcome::Sent {
                    telegram_message_id: None,
                },
                Err(err) if err.is_permanent() => Outcome::Failed {
                    error: format!("the mail server refused: {err}"),
                    blocked: false,
                },
                Err(err) => Outcome::Retry {
                    after: None,
                    error: format!("the mail server is unavailable: {err}"),
                },
            }
        }
        _ => Outcome::Failed {
            error: "the notification has no address".into(),
            blocked: false,
        },
    }
}

/// The e-mail of a notification: its text (and `link` after it), and its JSON attachment
/// (the consent record) as `consent.json`. It comes from the row's sender name, if it has one,
/// at the service's address.
fn email(
    mailer: &Mailer,
    row: &Claimed,
    address: &str,
    link: Option<&str>,
) -> Result<Message, String> {
    let to: Mailbox = address
        .parse()
        .map_err(|err| format!("the address {address} is not usable: {err}"))?;
    let from = match &row.sender_name {
        Some(name) => Mailbox::new(Some(name.clone()), mailer.from.email.clone()),
        None => mailer.from.clone(),
    };
    let builder = Message::builder()
        .from(from)
        .to(to)
        .subject(row.subject.as_deref().unwrap_or("Switchboard notification"))
        .message_id(Some(format!("<{}@switchboard>", row.notification_id)));
    let body = match link {
        Some(link) if row.link_kind.is_some() => format!("{}\n\n{link}\n", row.body),
        Some(link) => format!("{}\n\nContinue the conversation: {link}\n", row.body),
        None => row.body.clone(),
    };
    let text = SinglePart::plain(body);
    let built = match &row.attachment {
        Some(attachment) => builder.multipart(MultiPart::mixed().singlepart(text).singlepart(
            Attachment::new("consent.json".to_owned()).body(
                serde_json::to_string_pretty(attachment).unwrap_or_default(),
                ContentType::parse("application/json").expect("a valid content type"),
            ),
        )),
        None => builder.singlepart(text),
    };
    built.map_err(|err| format!("the e-mail could not be built: {err}"))
}

/// Writes the attempt's outcome while the claim is still ours, and records the attempt.
async fn record(
    pool: &PgPool,
    settings: &NotifierSettings,
    claim_id: Uuid,
    row: &Claimed,
    outcome: &Outcome,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (label, error) = match outcome {
        Outcome::Sent {
            telegram_message_id,
        } => {
            let done = sqlx::query(
                "update notifications
                 set status = 'sent', sent_at = now(), telegram_message_id = $3,
                     claim_id = null, last_error = null, updated_at = now()
                 where notification_id = $1 and claim_id = $2",
            )
            .bind(row.notification_id)
            .bind(claim_id)
            .bind(telegram_message_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(());
            }
            ("sent", None)
        }
        Outcome::Retry { after, error } => {
            // A rate limit says when; anything else backs off, and gives up at the end.
            let delay = match after {
                Some(after) => Some(*after),
                None => backoff(row.attempts, settings.backoff_unit),
            };
            let done = match delay {
                Some(delay) => {
                    // A rate limit is Telegram pacing us, not a failure: it uses no attempt.
                    sqlx::query(
                        "update notifications
                         set next_attempt_at = now() + $3 * interval '1 millisecond',
                             attempts = attempts - $5, claim_id = null, last_error = $4,
                             updated_at = now()
                         where notification_id = $1 and claim_id = $2",
                    )
                    .bind(row.notification_id)
                    .bind(claim_id)
                    .bind(delay.as_millis() as i64)
                    .bind(error)
                    .bind(i32::from(after.is_some()))
                    .execute(&mut *tx)
                    .await?
                }
                None => fail(&mut tx, row.notification_id, claim_id, error).await?,
            };
            if done.rows_affected() == 0 {
                return Ok(());
            }
            (
                if delay.is_some() { "retry" } else { "failed" },
                Some(error),
            )
        }
        Outcome::Failed { error, blocked } => {
            let done = fail(&mut tx, row.notification_id, claim_id, error).await?;
            if done.rows_affected() == 0 {
                return Ok(());
            }
            if *blocked {
                // Whoever blocked the bot wants nothing more there: a visitor's chat no longer
                // carries the conversation, an operator's account is unlinked.
                sqlx::query("delete from telegram_visitors where chat_id = $1")
                    .bind(row.telegram_chat_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("delete from telegram_operators where chat_id = $1")
                    .bind(row.telegram_chat_id)
                    .execute(&mut *tx)
                    .await?;
            }
            ("failed", Some(error))
        }
        Outcome::Skipped { reason } => {
            let done = sqlx::query(
                "update notifications
                 set status = 'skipped', claim_id = null, last_error = $3, updated_at = now()
                 where notification_id = $1 and claim_id = $2",
            )
            .bind(row.notification_id)
            .bind(claim_id)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(());
            }
            ("skipped", Some(reason))
        }
    };
    sqlx::query(
        "insert into notification_attempts (notification_id, attempt, attempted_at, outcome, error)
         values ($1, $2, now(), $3, $4)",
    )
    .bind(row.notification_id)
    .bind(row.attempts)
    .bind(label)
    .bind(error)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if let (Some(error), false) = (error, label == "skipped") {
        tracing::warn!(notification_id = %row.notification_id, attempt = row.attempts, outcome = label, %error, "a notification was not sent");
    }
    Ok(())
}

async fn fail(
    tx: &mut sqlx::PgConnection,
    notification_id: Uuid,
    claim_id: Uuid,
    error: &str,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    sqlx::query(
        "update notifications
         set status = 'failed', claim_id = null, last_error = $3, updated_at = now()
         where notification_id = $1 and claim_id = $2",
    )
    .bind(notification_id)
    .bind(claim_id)
    .bind(error)
    .execute(&mut *tx)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_gives_up() {
        let unit = Duration::from_secs(5);
        assert_eq!(backoff(1, unit), Some(Duration::from_secs(5)));
        assert_eq!(backoff(2, unit), Some(Duration::from_secs(10)));
        assert_eq!(backoff(7, unit), Some(Duration::from_secs(320)));
        assert_eq!(backoff(MAX_ATTEMPTS, unit), None);
    }
}

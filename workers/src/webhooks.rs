//! The webhook delivery worker (PROJ-4, INT-2): sends the deliveries the webhooks projection
//! (`switchboard_projections::webhooks`) inserted, signs them, retries them, dead-letters them,
//! records every attempt, and switches off endpoints that keep failing. Also the secrets
//! (generated here, kept in `webhook_secrets`, never in the log) and the delivery queries the
//! GraphQL API reads.
//!
//! # A delivery's life
//! ```text
//! pending ──2xx──────────────────────────► delivered
//!    │ ▲ failure, attempts left: next try after the backoff
//!    └─┘
//!    └──failure on the last attempt───────► dead
//! delivered | dead ──redeliverWebhook──────► pending (a fresh attempt budget; recorded)
//! ```
//! A pending delivery of a disabled endpoint waits: it is not claimed until the endpoint is
//! enabled again.
//!
//! # Claiming
//! Any number of workers (one per process running the projections) share the queue: each
//! claims due rows with `select … for update skip locked` in a short transaction that stamps
//! them with a claim id and pushes `next_attempt_at` past the request timeout (a lease), and
//! then sends without holding a transaction (an open transaction would stall the log's
//! commit-order tail). The outcome is written only while the claim is still ours; if a worker
//! dies mid-attempt the lease runs out and another worker tries again.
//!
//! # Sending
//! `POST` with `Content-Type: application/json`, the Standard Webhooks headers (`webhook-id` =
//! the delivery id, the same on every retry; `webhook-timestamp` = this attempt's unix seconds;
//! `webhook-signature` = `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}` keyed
//! with the base64-decoded part of the secret after `whsec_`), and the seed's
//! `X-Messenger-Event`, `X-Messenger-Inbox-Id` and `X-Messenger-Signature` = lowercase hex
//! HMAC-SHA256 of the raw body keyed with the **whole secret string** (`whsec_…`) as bytes: the
//! seed calls it a shared secret the integrator pastes, so the string they see is the key.
//! A 2xx answer within the timeout succeeds; anything else (another status, a timeout, a
//! connection error) is a failed attempt. Redirects are not followed (a redirect is a failure):
//! the endpoint's URL is what the admin registered.
//!
//! # Retries
//! [`MAX_ATTEMPTS`] attempts: the first at once, then after 30 s, 2 min, 10 min, 30 min, 1 h,
//! 3 h, 6 h and 12 h (about 23 hours in all), each ±20 % at random so that a receiver coming
//! back is not hit by every retry at once. The schedule is [`RETRY_UNITS`] times a unit
//! (`SWITCHBOARD_WEBHOOK_BACKOFF_UNIT_MS`, 30 s), so tests run it in milliseconds.
//!
//! # Disabling
//! An endpoint whose deliveries are dead-lettered `disable_after_dead` times in a row (5 by
//! default; any delivered one resets the count) is switched off through the log
//! (`WebhookEndpointDisabled`, reason `failing`). With the default schedule that is at least a
//! day of failures. Counting dead deliveries rather than failed attempts keeps a receiver that
//! is down for an hour from being switched off.
//!
//! # Crates
//! reqwest (rustls with the system's trust store) sends; RustCrypto's `hmac` + `sha2` sign; the
//! `base64` crate encodes. Hand-written crypto or encoding would be the one place a subtle bug
//! makes every signature wrong.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use sqlx::{FromRow, PgPool};
use switchboard_commands::handler::{CommandMeta, WebhookEndpointHandler};
use switchboard_domain::webhook::{DisableReason, WebhookEndpointCommand};
use switchboard_domain::Actor;
use switchboard_projections::webhooks::WEBHOOKS_CHANNEL;
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The prefix of every secret, as Standard Webhooks writes them.
pub const SECRET_PREFIX: &str = "whsec_";

/// Random bytes in a secret (Standard Webhooks asks for 24 to 64).
const SECRET_BYTES: usize = 24;

/// The retry delays in units of the backoff unit (30 s by default): 30 s, 2 min, 10 min,
/// 30 min, 1 h, 3 h, 6 h, 12 h.
pub const RETRY_UNITS: [u32; 8] = [1, 4, 20, 60, 120, 360, 720, 1440];

/// The first attempt and one per retry delay.
pub const MAX_ATTEMPTS: i32 = RETRY_UNITS.len() as i32 + 1;

/// How much of a response body an attempt keeps, in bytes.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;

/// Deliveries a worker claims at once (and sends concurrently).
const CLAIM_BATCH: i64 = 16;

/// The worker's settings, from the `switchboard` binary's settings (`server/src/config.rs`).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// How often to look for due deliveries when no notification came.
    pub poll: Duration,
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// The unit of [`RETRY_UNITS`].
    pub backoff_unit: Duration,
    /// Dead-lettered deliveries in a row that switch an endpoint off.
    pub disable_after_dead: u32,
}

/// A fresh secret: `whsec_` + base64 of 24 random bytes from the OS's generator.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill(&mut bytes[..]);
    format!("{SECRET_PREFIX}{}", BASE64.encode(bytes))
}

/// The secret is not `whsec_` + base64: it was not made by [`generate_secret`].
#[derive(Debug, Error, PartialEq, Eq)]
#[error("the signing secret is not in the whsec_<base64> form")]
pub struct MalformedSecret;

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` (Standard Webhooks).
pub fn standard_signature(
    secret: &str,
    webhook_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, MalformedSecret> {
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b64| BASE64.decode(b64).ok())
        .filter(|key| !key.is_empty())
        .ok_or(MalformedSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// Lowercase hex HMAC-SHA256 of `body`, keyed with the whole secret string (the seed's
/// `X-Messenger-Signature`).
pub fn messenger_signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// How long to wait after failed attempt `attempt` (1-based) before the next, with `jitter`
/// in [-1, 1] scaling ±20 %; `None` when it was the last attempt.
pub fn retry_delay(attempt: i32, unit: Duration, jitter: f64) -> Option<Duration> {
    let units = *RETRY_UNITS.get(usize::try_from(attempt - 1).ok()?)?;
    let factor = 1.0 + 0.2 * jitter.clamp(-1.0, 1.0);
    Some(unit.mul_f64(f64::from(units) * factor))
}

/// A delivery claimed for one attempt.
#[derive(Debug, Clone, FromRow)]
struct Claimed {
    delivery_id: Uuid,
    endpoint_id: Uuid,
    inbox_id: Uuid,
    event_type: String,
    body: String,
    budget_attempts: i32,
    total_attempts: i32,
    url: String,
    secret: Option<String>,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
struct Outcome {
    started_at: DateTime<Utc>,
    duration: Duration,
    status_code: Option<u16>,
    error: Option<String>,
    response_body: Option<String>,
}

impl Outcome {
    fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Sends due deliveries until `shutdown` is cancelled. Woken by the projection's NOTIFY on
/// [`WEBHOOKS_CHANNEL`], and polls every `settings.poll` besides (for retries coming due).
pub async fn run_webhook_worker(
    pool: PgPool,
    handler: WebhookEndpointHandler,
    settings: WebhookSettings,
    shutdown: CancellationToken,
) {
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(error = %err, "could not build the webhook HTTP client; webhooks are not sent");
            return;
        }
    };
    let mut listener = crate::outbox::listen(&pool, WEBHOOKS_CHANNEL, "webhook worker").await;
    tracing::info!("webhook worker is running");
    loop {
        let claimed = match claim(&pool, &settings).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(error = %err, "claiming webhook deliveries failed");
                Vec::new()
            }
        };
        let busy = claimed.len() as i64 == CLAIM_BATCH;
        let attempts = claimed.into_iter().map(|(claim_id, delivery)| {
            let (client, pool, handler, settings) = (&client, &pool, &handler, &settings);
            async move {
                let outcome = send(client, &delivery).await;
                if let Err(err) =
                    record(pool, handler, settings, claim_id, &delivery, &outcome).await
                {
                    tracing::warn!(delivery_id = %delivery.delivery_id, error = %err, "recording a webhook attempt failed; it is tried again when its claim runs out");
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
}

/// Claims up to [`CLAIM_BATCH`] due deliveries of enabled endpoints for one attempt each.
async fn claim(
    pool: &PgPool,
    settings: &WebhookSettings,
) -> Result<Vec<(Uuid, Claimed)>, sqlx::Error> {
    let claim_id = Uuid::now_v7();
    // The lease: long enough for the request and for writing its outcome.
    let lease_ms = (settings.timeout + Duration::from_secs(30)).as_millis() as i64;
    let rows: Vec<Claimed> = sqlx::query_as(
        "with due as (
             select d.delivery_id
             from webhook_deliveries d
             join webhook_endpoints e on e.endpoint_id = d.endpoint_id
             where d.status = 'pending' and d.next_attempt_at <= now() and e.enabled
             order by d.next_attempt_at
             limit $1
             for update of d skip locked
         )
         update webhook_deliveries d
         set claim_id = $2,
             next_attempt_at = now() + $3 * interval '1 millisecond',
             budget_attempts = d.budget_attempts + 1,
             total_attempts = d.total_attempts + 1,
             updated_at = now()
         from due, webhook_endpoints e
         left join webhook_secrets s on s.endpoint_id = e.endpoint_id
         where d.delivery_id = due.delivery_id and e.endpoint_id = d.endpoint_id
         returning d.delivery_id, d.endpoint_id, d.inbox_id, d.event_type, d.body,
                   d.budget_attempts, d.total_attempts, e.url, s.secret",
    )
    .bind(CLAIM_BATCH)
    .bind(claim_id)
    .bind(lease_ms)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|row| (claim_id, row)).collect())
}

/// One attempt: the signed POST and what came back.
async fn send(client: &reqwest::Client, delivery: &Claimed) -> Outcome {
    let started_at = Utc::now();
    let started = Instant::now();
    let finish = |status_code: Option<u16>, error: Option<String>, body: Option<String>| Outcome {
        started_at,
        duration: started.elapsed(),
        status_code,
        error,
        response_body: body,
    };
    let Some(secret) = delivery.secret.as_deref() else {
        return finish(
            None,
            Some("the endpoint has no signing secret".into()),
            None,
        );
    };
    let id = delivery.delivery_id.to_string();
    let timestamp = started_at.timestamp();
    let body = delivery.body.as_bytes();
    let signature = match standard_signature(secret, &id, timestamp, body) {
        Ok(signature) => signature,
        Err(err) => return finish(None, Some(err.to_string()), None),
    };
    let request = client
        .post(&delivery.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header("X-Messenger-Event", &delivery.event_type)
        .header("X-Messenger-Inbox-Id", delivery.inbox_id.to_string())
        .header("X-Messenger-Signature", messenger_signature(secret, body))
        .body(delivery.body.clone());
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(err) => return finish(None, Some(describe(&err)), None),
    };
    let status = response.status().as_u16();
    let mut excerpt = Vec::new();
    let mut error = None;
    while excerpt.len() < RESPONSE_EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(err) => {
                error = Some(describe(&err));
                break;
            }
        }
    }
    excerpt.truncate(RESPONSE_EXCERPT_BYTES);
    let text = String::from_utf8_lossy(&excerpt).into_owned();
    // A body cut off by the timeout is a timeout, whatever the status said.
    match error {
        Some(error) => finish(None, Some(error), Some(text)),
        None => finish(Some(status), None, Some(text)),
    }
}

/// The error in words, with its kind first (timeouts and refused connections are what an
/// admin looks for).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        text.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    text.chars().take(RESPONSE_EXCERPT_BYTES).collect()
}

/// Writes the attempt and the delivery's next state; on a dead letter, applies the disabling
/// rule.
async fn record(
    pool: &PgPool,
    handler: &WebhookEndpointHandler,
    settings: &WebhookSettings,
    claim_id: Uuid,
    delivery: &Claimed,
    outcome: &Outcome,
) -> anyhow::Result<()> {
    let succeeded = outcome.succeeded();
    let (status, next) = if succeeded {
        ("delivered", Duration::ZERO)
    } else {
        let jitter = rand::rng().random_range(-1.0..=1.0);
        match retry_delay(delivery.budget_attempts, settings.backoff_unit, jitter) {
            Some(delay) => ("pending", delay),
            None => ("dead", Duration::ZERO),
        }
    };
    let mut tx = pool.begin().await?;
    sqlx::query(
        "insert into webhook_attempts (delivery_id, attempt, started_at, duration_ms,
                                       status_code, error, response_body, succeeded)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict do nothing",
    )
    .bind(delivery.delivery_id)
    .bind(delivery.total_attempts)
    .bind(outcome.started_at)
    .bind(i32::try_from(outcome.duration.as_millis()).unwrap_or(i32::MAX))
    .bind(outcome.status_code.map(i32::from))
    .bind(&outcome.error)
    .bind(&outcome.response_body)
    .bind(succeeded)
    .execute(&mut *tx)
    .await?;
    let updated = sqlx::query(
        "update webhook_deliveries
         set status = $3, claim_id = null,
             next_attempt_at = now() + $4 * interval '1 millisecond',
             delivered_at = case when $3 = 'delivered' then now() else delivered_at end,
             dead_at = case when $3 = 'dead' then now() else null end,
             updated_at = now()
         where delivery_id = $1 and claim_id = $2",
    )
    .bind(delivery.delivery_id)
    .bind(claim_id)
    .bind(status)
    .bind(next.as_millis() as i64)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        // Our claim ran out and another worker took the delivery: its outcome counts.
        tx.commit().await?;
        return Ok(());
    }
    let consecutive_dead: Option<i32> = match status {
        "delivered" => {
            sqlx::query(
                "insert into webhook_endpoint_health (endpoint_id, consecutive_dead, last_success_at)
                 values ($1, 0, now())
                 on conflict (endpoint_id) do update
                 set consecutive_dead = 0, last_success_at = now()",
            )
            .bind(delivery.endpoint_id)
            .execute(&mut *tx)
            .await?;
            None
        }
        "dead" => Some(
            sqlx::query_scalar(
                "insert into webhook_endpoint_health (endpoint_id, consecutive_dead, last_failure_at)
                 values ($1, 1, now())
                 on conflict (endpoint_id) do update
                 set consecutive_dead = webhook_endpoint_health.consecutive_dead + 1,
                     last_failure_at = now()
                 returning consecutive_dead",
            )
            .bind(delivery.endpoint_id)
            .fetch_one(&mut *tx)
            .await?,
        ),
        _ => None,
    };
    let disable = consecutive_dead.is_some_and(|n| {
        settings.disable_after_dead > 0 && n >= settings.disable_after_dead as i32
    });
    if disable {
        // A fresh count once it is switched on again.
        sqlx::query(
            "update webhook_endpoint_health set consecutive_dead = 0 where endpoint_id = $1",
        )
        .bind(delivery.endpoint_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if disable {
        let detail = format!(
            "{} deliveries in a row were dead-lettered after {MAX_ATTEMPTS} attempts each; the last was {}",
            settings.disable_after_dead, delivery.delivery_id
        );
        let meta = CommandMeta {
            // Derived from the delivery that tipped it and its attempt count: a retry of this
            // write disables once, and the same delivery tipping it again after a redelivery
            // (the endpoint re-enabled meanwhile) disables again.
            command_id: Uuid::new_v5(
                &delivery.delivery_id,
                format!("webhook-endpoint-disabled/{}", delivery.total_attempts).as_bytes(),
            ),
            actor: Actor::system(),
            correlation_id: None,
            ip: None,
        };
        let command = WebhookEndpointCommand::Disable {
            endpoint_id: delivery.endpoint_id,
            reason: DisableReason::Failing,
            detail: Some(detail),
            at: Utc::now(),
        };
        handler.handle(&meta, &command).await?;
        tracing::warn!(endpoint_id = %delivery.endpoint_id, "webhook endpoint disabled: its deliveries keep failing");
    }
    Ok(())
}

/// Secrets and deliveries as the GraphQL API reads and changes them.
pub mod store {
    use chrono::{DateTime, Utc};
    use sqlx::{FromRow, PgPool};
    use uuid::Uuid;

    /// Stores (or replaces) an endpoint's secret.
    pub async fn put_secret(
        pool: &PgPool,
        endpoint_id: Uuid,
        secret: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "insert into webhook_secrets (endpoint_id, secret) values ($1, $2)
             on conflict (endpoint_id) do update set secret = excluded.secret, rotated_at = now()",
        )
        .bind(endpoint_id)
        .bind(secret)
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Forgets the secret of an endpoint whose registration was refused.
    pub async fn delete_secret(pool: &PgPool, endpoint_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query("delete from webhook_secrets where endpoint_id = $1")
            .bind(endpoint_id)
            .execute(pool)
            .await?;
        Ok(())
    }

    #[derive(Debug, Clone, FromRow)]
    pub struct DeliveryRow {
        pub delivery_id: Uuid,
        pub endpoint_id: Uuid,
        pub inbox_id: Uuid,
        pub event_id: Uuid,
        pub global_position: i64,
        pub conversation_id: Uuid,
        pub event_type: String,
        pub body: String,
        pub status: String,
        pub budget_attempts: i32,
        pub total_attempts: i32,
        pub next_attempt_at: DateTime<Utc>,
        pub created_at: DateTime<Utc>,
        pub delivered_at: Option<DateTime<Utc>>,
        pub dead_at: Option<DateTime<Utc>>,
    }

    #[derive(Debug, Clone, FromRow)]
    pub struct AttemptRow {
        pub delivery_id: Uuid,
        pub attempt: i32,
        pub started_at: DateTime<Utc>,
        pub duration_ms: i32,
        pub status_code: Option<i32>,
        pub error: Option<String>,
        pub response_body: Option<String>,
        pub succeeded: bool,
    }

    const DELIVERY_COLUMNS: &str = "delivery_id, endpoint_id, inbox_id, event_id, global_position,
        conversation_id, event_type, body, status, budget_attempts, total_attempts,
        next_attempt_at, created_at, delivered_at, dead_at";

    pub async fn delivery(
        pool: &PgPool,
        delivery_id: Uuid,
    ) -> Result<Option<DeliveryRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "select {DELIVERY_COLUMNS} from webhook_deliveries where delivery_id = $1"
        ))
        .bind(delivery_id)
        .fetch_optional(pool)
        .await
    }

    /// An endpoint's deliveries, newest event first, after the cursor `(position, id)`.
    pub async fn deliveries(
        pool: &PgPool,
        endpoint_id: Uuid,
        status: Option<&str>,
        after: Option<(i64, Uuid)>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "select {DELIVERY_COLUMNS} from webhook_deliveries
             where endpoint_id = $1
               and ($2::text is null or status = $2)
               and ($3::bigint is null or (global_position, delivery_id) < ($3, $4))
             order by global_position desc, delivery_id desc
             limit $5"
        ))
        .bind(endpoint_id)
        .bind(status)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .fetch_all(pool)
        .await
    }

    /// The attempts of `delivery_ids`, in attempt order.
    pub async fn attempts(
        pool: &PgPool,
        delivery_ids: &[Uuid],
    ) -> Result<Vec<AttemptRow>, sqlx::Error> {
        sqlx::query_as(
            "select delivery_id, attempt, started_at, duration_ms, status_code, error,
                    response_body, succeeded
             from webhook_attempts where delivery_id = any($1)
             order by delivery_id, attempt",
        )
        .bind(delivery_ids)
        .fetch_all(pool)
        .await
    }

    /// Why a redelivery was refused.
    #[derive(Debug, PartialEq, Eq)]
    pub enum RedeliverRefused {
        NotFound,
        /// It is still pending: it will be tried anyway.
        StillPending,
    }

    /// Puts a delivered or dead delivery back to pending with a fresh attempt budget, and
    /// records who asked. Returns the endpoint it belongs to.
    pub async fn redeliver(
        pool: &PgPool,
        delivery_id: Uuid,
        requested_by: Uuid,
    ) -> Result<Result<Uuid, RedeliverRefused>, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let current: Option<(String, Uuid)> = sqlx::query_as(
            "select status, endpoint_id from webhook_deliveries where delivery_id = $1 for update",
        )
        .bind(delivery_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((status, endpoint_id)) = current else {
            return Ok(Err(RedeliverRefused::NotFound));
        };
        if status == "pending" {
            return Ok(Err(RedeliverRefused::StillPending));
        }
        sqlx::query(
            "insert into webhook_redeliveries (delivery_id, requested_at, requested_by, previous_status)
             values ($1, clock_timestamp(), $2, $3)",
        )
        .bind(delivery_id)
        .bind(requested_by)
        .bind(&status)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "update webhook_deliveries
             set status = 'pending', budget_attempts = 0, next_attempt_at = now(),
                 claim_id = null, dead_at = null, updated_at = now()
             where delivery_id = $1",
        )
        .bind(delivery_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("select pg_notify($1, '')")
            .bind(switchboard_projections::webhooks::WEBHOOKS_CHANNEL)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(endpoint_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification, recomputed independently with
    /// `openssl dgst -sha256 -mac HMAC -macopt hexkey:<hex of the base64-decoded key>
    /// -binary | base64` over `msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}`.
    #[test]
    fn standard_webhooks_test_vector() {
        assert_eq!(
            standard_signature(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#,
            ),
            Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".into())
        );
    }

    /// Recomputed with `printf '%s' '{"test": 2432232314}' | openssl dgst -sha256 -hmac
    /// 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'`.
    #[test]
    fn messenger_signature_is_hex_hmac_of_the_body_keyed_by_the_whole_secret() {
        assert_eq!(
            messenger_signature(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                br#"{"test": 2432232314}"#
            ),
            "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c"
        );
    }

    #[test]
    fn secrets_are_whsec_and_24_random_bytes() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        let key = BASE64
            .decode(a.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(key.len(), SECRET_BYTES);
        assert!(standard_signature(&a, "id", 1, b"{}").is_ok());
        for bad in ["nope", "whsec_", "whsec_!!!"] {
            assert_eq!(
                standard_signature(bad, "id", 1, b"{}"),
                Err(MalformedSecret)
            );
        }
    }

    #[test]
    fn the_retry_schedule_spans_about_a_day() {
        let unit = Duration::from_secs(30);
        let plain: Vec<u64> = (1..MAX_ATTEMPTS)
            .map(|n| retry_delay(n, unit, 0.0).unwrap().as_secs())
            .collect();
        assert_eq!(
            plain,
            [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600]
        );
        assert_eq!(MAX_ATTEMPTS, 9);
        assert_eq!(retry_delay(MAX_ATTEMPTS, unit, 0.0), None);
        assert_eq!(retry_delay(0, unit, 0.0), None);
        let total: u64 = plain.iter().sum();
        assert_eq!(total, 81_750); // 22 h 42 min 30 s
        assert_eq!(retry_delay(1, unit, 1.0), Some(Duration::from_secs(36)));
        assert_eq!(retry_delay(1, unit, -1.0), Some(Duration::from_secs(24)));
        assert_eq!(retry_delay(1, unit, 7.0), Some(Duration::from_secs(36)));
        // Tests run the same schedule in milliseconds.
        assert_eq!(
            retry_delay(8, Duration::from_millis(1), 0.0),
            Some(Duration::from_millis(1440))
        );
    }
}

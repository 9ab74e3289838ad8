//! The relay: tails the log in commit order and publishes every event to one Kafka topic.
//!
//! Key = stream id (so a conversation's events share a partition and keep their order), value =
//! the [`RecordedEvent`] JSON, CloudEvents binary-mode headers plus the global position and
//! stream version. The checkpoint (table `log_checkpoints`) moves only after the broker has
//! acknowledged every event of a batch: delivery is at-least-once, and consumers skip what they
//! have already applied. One relay per name runs at a time (a PostgreSQL advisory lock); a
//! second one waits as a hot standby.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::PgPool;
use switchboard_domain::envelope::RecordedEvent;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::kafka::{ensure_topic, idempotent_producer, topic_is_empty, KafkaSettings};
use crate::log::LoggedEvent;
use crate::tail::{LogTail, TailConfig, TailPosition};

/// The name of the Kafka relay's checkpoint (in `log_checkpoints`) for `topic`, which also
/// names its advisory lock.
pub fn checkpoint_name(topic: &str) -> String {
    format!("kafka:{topic}")
}

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The checkpoint's name; also names the advisory lock.
    pub name: String,
    pub kafka: KafkaSettings,
    pub tail: TailConfig,
}

#[derive(Debug, Error)]
pub enum RelayError {
    #[error("relay storage failed: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("publishing to Kafka failed: {0}")]
    Kafka(#[from] KafkaError),
}

/// The CloudEvents `type` of an event.
pub fn cloudevents_type(event: &RecordedEvent) -> String {
    format!("switchboard.{}.v{}", event.event_type, event.schema_version)
}

/// The Kafka headers of an event: CloudEvents binary mode, plus Switchboard's positions.
pub fn headers_for(event: &RecordedEvent) -> OwnedHeaders {
    let id = event.event_id.to_string();
    let ce_type = cloudevents_type(event);
    let source = format!("/switchboard/{}", event.stream_type);
    let time = event
        .recorded_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let subject = event.stream_id.to_string();
    let position = event.global_position.to_string();
    let version = event.stream_version.to_string();
    let pairs: [(&str, &str); 9] = [
        ("ce_specversion", "1.0"),
        ("ce_id", &id),
        ("ce_type", &ce_type),
        ("ce_source", &source),
        ("ce_time", &time),
        ("ce_subject", &subject),
        ("content-type", "application/json"),
        ("switchboard_global_position", &position),
        ("switchboard_stream_version", &version),
    ];
    pairs.into_iter().fold(
        OwnedHeaders::new_with_capacity(9),
        |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value),
            })
        },
    )
}

/// Runs until `shutdown` is cancelled. Failures are logged and retried from the checkpoint;
/// the relay never skips an event.
pub async fn run_relay(
    pool: PgPool,
    config: RelayConfig,
    shutdown: CancellationToken,
) -> Result<(), RelayError> {
    let mut backoff = Duration::from_millis(200);
    loop {
        let result = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            result = relay_until_error(&pool, &config, &shutdown) => result,
        };
        match result {
            Ok(()) => return Ok(()), // shut down while waiting for the lock
            Err(err) => {
                tracing::warn!(relay = %config.name, error = %err, ?backoff, "relay failed; retrying from its checkpoint");
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// One term as the active relay: take the lock, start from the checkpoint, publish until
/// something fails. A fresh producer each term, because an idempotent producer that hit a
/// fatal error stays unusable.
async fn relay_until_error(
    pool: &PgPool,
    config: &RelayConfig,
    shutdown: &CancellationToken,
) -> Result<(), RelayError> {
    let Some(mut lock) = acquire_lock(pool, &config.name, shutdown).await? else {
        return Ok(());
    };
    tracing::info!(relay = %config.name, topic = %config.kafka.topic, "relay is active");
    let producer = idempotent_producer(&config.kafka.brokers)?;
    ensure_topic(&config.kafka).await?;
    let mut start = load_checkpoint(pool, &config.name).await?;
    if start != TailPosition::START && topic_is_empty(&config.kafka).await? {
        // The broker lost what we published (Tansu's memory engine restarted, or the topic
        // was recreated): publish the whole log again. Consumers skip what they have.
        tracing::warn!(relay = %config.name, topic = %config.kafka.topic, "the topic is empty but the relay had published; republishing the log from the start");
        start = TailPosition::START;
        store_checkpoint(pool, &config.name, start).await?;
    }
    let mut tail = LogTail::start(pool.clone(), start, config.tail.clone()).await?;
    // The checkpoint is written on the lock's own session, so each write also proves this
    // relay still holds the lock (a lost session fails it, and this term ends), and without
    // waiting for its WAL flush: a checkpoint lost in a database crash only republishes a few
    // batches, which consumers skip as already applied.
    sqlx::query("set synchronous_commit = off")
        .execute(&mut lock)
        .await?;
    loop {
        let batch = tail.next_batch().await?;
        publish(&producer, &config.kafka.topic, &batch).await?;
        store_checkpoint(&mut lock, &config.name, tail.position()).await?;
        tracing::debug!(relay = %config.name, events = batch.len(), position = ?tail.position(), "published");
    }
}

/// Sends the batch in order and waits for every acknowledgement.
async fn publish(
    producer: &FutureProducer,
    topic: &str,
    batch: &[LoggedEvent],
) -> Result<(), KafkaError> {
    let mut deliveries = Vec::with_capacity(batch.len());
    for logged in batch {
        let event = &logged.event;
        let key = event.stream_id.to_string();
        let value = serde_json::to_vec(event).expect("recorded events serialize");
        let mut record = FutureRecord::to(topic)
            .key(&key)
            .payload(&value)
            .headers(headers_for(event));
        // Enqueue strictly in order; when the local queue is full, wait and retry the same
        // record rather than skipping ahead of it.
        loop {
            match producer.send_result(record) {
                Ok(delivery) => {
                    deliveries.push(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((err, _)) => return Err(err),
            }
        }
    }
    for delivery in deliveries {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((err, _))) => return Err(err),
            Err(_canceled) => return Err(KafkaError::Canceled),
        }
    }
    Ok(())
}

pub async fn load_checkpoint(pool: &PgPool, name: &str) -> Result<TailPosition, sqlx::Error> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "select transaction_id, global_position from log_checkpoints where name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(row
        .map(|(transaction_id, global_position)| TailPosition {
            transaction_id,
            global_position,
        })
        .unwrap_or(TailPosition::START))
}

async fn store_checkpoint(
    conn: impl sqlx::PgExecutor<'_>,
    name: &str,
    position: TailPosition,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into log_checkpoints (name, transaction_id, global_position) values ($1, $2, $3)
         on conflict (name) do update
         set transaction_id = excluded.transaction_id,
             global_position = excluded.global_position,
             updated_at = now()",
    )
    .bind(name)
    .bind(position.transaction_id)
    .bind(position.global_position)
    .execute(conn)
    .await?;
    Ok(())
}

/// Holds the relay's advisory lock for as long as the returned connection lives. Waits (as a
/// standby) while another relay holds it; `None` if shut down while waiting.
///
/// The connection is detached from the pool: dropping it closes the session, which is what
/// releases a session-level advisory lock. A pooled connection would keep the lock after
/// the relay stopped, and a restarted relay would wait forever.
async fn acquire_lock(
    pool: &PgPool,
    name: &str,
    shutdown: &CancellationToken,
) -> Result<Option<sqlx::PgConnection>, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    loop {
        let locked: bool =
            sqlx::query_scalar("select pg_try_advisory_lock(hashtextextended($1, 0))")
                .bind(format!("switchboard.relay.{name}"))
                .fetch_one(&mut conn)
                .await?;
        if locked {
            return Ok(Some(conn));
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

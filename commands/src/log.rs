//! The event log over sqlx: append with an expected version, read a stream.
//!
//! An append is one `INSERT … SELECT FROM unnest(…)` statement. It inserts nothing unless the
//! stream's head is exactly what the caller decided on (version and hash), and the unique
//! `(stream_id, stream_version)` constraint catches a concurrent writer that got there first.
//! Either way the caller gets [`AppendError::VersionConflict`] and retries against fresh state.
//!
//! After a commit, [`EventLog`] wakes the log's tailers with `NOTIFY switchboard_events` from a
//! transaction that writes nothing, coalescing a burst of appends into one notification. Not
//! inside the appending transaction: PostgreSQL serialises the commits of notifying
//! transactions, flush included, which would cost the log its group commit (migration 0018).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};
use switchboard_domain::envelope::RecordedEvent;
use thiserror::Error;
use uuid::Uuid;

use crate::hash::{event_hash, HashedFields};
use crate::tail::EVENTS_CHANNEL;

/// The last event of a stream as the appender saw it: what an append builds on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamHead {
    /// 0 for a stream with no events yet.
    pub version: i32,
    /// The hash of event `version`; `None` when `version` is 0.
    pub hash: Option<Vec<u8>>,
}

/// An event to append: the payload and metadata are already JSON.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i16,
    pub payload: Value,
    pub metadata: Value,
}

/// An event read from the log, with the columns only the log itself cares about.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    pub event: RecordedEvent,
    /// The id of the transaction that inserted it (`xid8`), for commit-order tailing.
    pub transaction_id: i64,
    pub prev_hash: Option<Vec<u8>>,
    pub hash: Vec<u8>,
}

impl LoggedEvent {
    pub fn head(&self) -> StreamHead {
        StreamHead {
            version: self.event.stream_version,
            hash: Some(self.hash.clone()),
        }
    }
}

/// Why an append did not happen. Nothing was written in any case.
#[derive(Debug, Error)]
pub enum AppendError {
    /// The stream is not at the version the caller decided on: somebody appended first, or
    /// the caller's view is stale. Reload the stream and decide again.
    #[error("stream {stream_id} is not at version {expected}")]
    VersionConflict { stream_id: Uuid, expected: i32 },
    /// One of the event ids is already in the log: the same command was already recorded.
    #[error("event {0} is already in the log")]
    DuplicateEvent(Uuid),
    /// The append had no events.
    #[error("nothing to append")]
    Empty,
    /// PostgreSQL failed or could not be reached.
    #[error("event log storage failed: {0}")]
    Storage(#[from] sqlx::Error),
}

/// The columns every read selects, in the order [`decode_row`] expects.
pub(crate) const EVENT_COLUMNS: &str =
    "global_position, transaction_id::text::bigint as transaction_id, \
     stream_id, stream_type, stream_version, event_id, event_type, schema_version, payload, \
     metadata, recorded_at, prev_hash, hash";

pub(crate) fn decode_row(row: &sqlx::postgres::PgRow) -> Result<LoggedEvent, sqlx::Error> {
    Ok(LoggedEvent {
        event: RecordedEvent {
            global_position: row.try_get("global_position")?,
            stream_id: row.try_get("stream_id")?,
            stream_type: row.try_get("stream_type")?,
            stream_version: row.try_get("stream_version")?,
            event_id: row.try_get("event_id")?,
            event_type: row.try_get("event_type")?,
            schema_version: row.try_get("schema_version")?,
            payload: row.try_get("payload")?,
            metadata: row.try_get("metadata")?,
            recorded_at: row.try_get("recorded_at")?,
        },
        transaction_id: row.try_get("transaction_id")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// The event log. Cheap to clone (it holds a pool).
#[derive(Debug, Clone)]
pub struct EventLog {
    pool: PgPool,
    wake: Arc<Wake>,
}

/// Wakes the log's tailers after appends, one notification for a burst of them.
#[derive(Debug, Default)]
struct Wake {
    /// A notification is on its way and has not been sent yet: an append that finds it set
    /// is covered by it.
    pending: AtomicBool,
}

impl EventLog {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            wake: Arc::default(),
        }
    }

    /// Tells the log's tailers (relay, tests) that events were committed. [`EventLog::append`]
    /// does this itself; callers of [`append_on`] call it after their commit. Returns at once:
    /// the notification goes out from a task, and appends made before it is sent share it.
    /// A lost one only delays the tailers until their next poll.
    pub fn notify_appended(&self) {
        if self.wake.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let (pool, wake) = (self.pool.clone(), self.wake.clone());
        tokio::spawn(async move {
            // Cleared before sending: an append committed after this point sends its own.
            wake.pending.store(false, Ordering::Release);
            if let Err(err) = sqlx::query("select pg_notify($1, '')")
                .bind(EVENTS_CHANNEL)
                .execute(&pool)
                .await
            {
                tracing::debug!(error = %err, "could not wake the log's tailers; they will poll");
            }
        });
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Appends `events` after `head` in one statement and returns them as recorded.
    ///
    /// Guarantees: all events or none; versions `head.version + 1 ..`; each event's hash
    /// chained to its predecessor. Fails with [`AppendError::VersionConflict`] when the
    /// stream's head is not `head`, and [`AppendError::DuplicateEvent`] when an event id is
    /// already recorded (in this stream or another).
    pub async fn append(
        &self,
        stream_id: Uuid,
        stream_type: &str,
        head: &StreamHead,
        events: Vec<NewEvent>,
        recorded_at: DateTime<Utc>,
    ) -> Result<Vec<LoggedEvent>, AppendError> {
        let mut conn = self.pool.acquire().await?;
        let recorded =
            append_on(&mut conn, stream_id, stream_type, head, events, recorded_at).await?;
        drop(conn);
        self.notify_appended();
        Ok(recorded)
    }

    /// The events of one stream after `after_version` (0 = from the start), in version order.
    pub async fn read_stream(
        &self,
        stream_id: Uuid,
        after_version: i32,
    ) -> Result<Vec<LoggedEvent>, sqlx::Error> {
        let sql = format!(
            "select {EVENT_COLUMNS} from events
             where stream_id = $1 and stream_version > $2
             order by stream_version"
        );
        sqlx::query(&sql)
            .bind(stream_id)
            .bind(after_version)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(decode_row)
            .collect()
    }

    /// The events with these ids, in log order. Used to answer a repeated command with what
    /// it recorded the first time.
    pub async fn read_events(&self, event_ids: &[Uuid]) -> Result<Vec<LoggedEvent>, sqlx::Error> {
        let sql = format!(
            "select {EVENT_COLUMNS} from events where event_id = any($1) order by global_position"
        );
        sqlx::query(&sql)
            .bind(event_ids)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(decode_row)
            .collect()
    }

    /// The head of a stream (version 0 when it has no events).
    pub async fn head(&self, stream_id: Uuid) -> Result<StreamHead, sqlx::Error> {
        let row: Option<(i32, Vec<u8>)> = sqlx::query_as(
            "select stream_version, hash from events
             where stream_id = $1 order by stream_version desc limit 1",
        )
        .bind(stream_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some((version, hash)) => StreamHead {
                version,
                hash: Some(hash),
            },
            None => StreamHead::default(),
        })
    }
}

/// The columns of the events an append wrote, event by event in version order.
type Written = (Uuid, String, i16, Value, Value, Option<Vec<u8>>, Vec<u8>);

fn events_written(
    event_ids: Vec<Uuid>,
    event_types: Vec<String>,
    schema_versions: Vec<i16>,
    payloads: Vec<Value>,
    metadatas: Vec<Value>,
    prev_hashes: Vec<Option<Vec<u8>>>,
    hashes: Vec<Vec<u8>>,
) -> impl Iterator<Item = Written> {
    event_ids
        .into_iter()
        .zip(event_types)
        .zip(schema_versions)
        .zip(payloads)
        .zip(metadatas)
        .zip(prev_hashes)
        .zip(hashes)
        .map(|((((((id, ty), v), p), m), ph), h)| (id, ty, v, p, m, ph, h))
}

/// PostgreSQL names the offending key in the error's detail: `Key (event_id)=(…) already exists.`
fn duplicate_id_in(message: &str, candidates: &[Uuid]) -> Option<Uuid> {
    candidates
        .iter()
        .copied()
        .find(|id| message.contains(&id.to_string()))
}

/// [`EventLog::append`] on a connection the caller holds, possibly inside a transaction the
/// caller commits; after the commit, the caller wakes the tailers with
/// [`EventLog::notify_appended`]. The caller's transaction must not have written anything
/// before this call:
/// its transaction id has to be taken here, after the state it decided on was read, or the
/// commit-order tail could deliver this stream's events out of version order.
pub async fn append_on(
    conn: &mut PgConnection,
    stream_id: Uuid,
    stream_type: &str,
    head: &StreamHead,
    events: Vec<NewEvent>,
    recorded_at: DateTime<Utc>,
) -> Result<Vec<LoggedEvent>, AppendError> {
    if events.is_empty() {
        return Err(AppendError::Empty);
    }
    // PostgreSQL keeps microseconds; hash what it will store.
    let recorded_at = recorded_at.trunc_subsecs(6);
    let n = events.len();
    let mut versions = Vec::with_capacity(n);
    let mut event_ids = Vec::with_capacity(n);
    let mut event_types = Vec::with_capacity(n);
    let mut schema_versions = Vec::with_capacity(n);
    let mut prev_hashes: Vec<Option<Vec<u8>>> = Vec::with_capacity(n);
    let mut hashes: Vec<Vec<u8>> = Vec::with_capacity(n);
    let mut prev = head.hash.clone();
    for (i, e) in events.iter().enumerate() {
        let version = head.version + 1 + i as i32;
        let hash = event_hash(
            prev.as_deref(),
            &HashedFields {
                stream_id,
                stream_type,
                stream_version: version,
                event_id: e.event_id,
                event_type: &e.event_type,
                schema_version: e.schema_version,
                payload: &e.payload,
                metadata: &e.metadata,
                recorded_at,
            },
        )
        .to_vec();
        versions.push(version);
        event_ids.push(e.event_id);
        event_types.push(e.event_type.clone());
        schema_versions.push(e.schema_version);
        prev_hashes.push(prev.replace(hash.clone()));
        hashes.push(hash);
    }
    let (payloads, metadatas): (Vec<Value>, Vec<Value>) =
        events.into_iter().map(|e| (e.payload, e.metadata)).unzip();

    // The guard makes the insert a no-op unless event `head.version` is the one the caller
    // decided on; the unique constraint settles races between appenders that both pass it.
    let sql = "insert into events (stream_id, stream_type, stream_version, event_id, event_type,
                             schema_version, payload, metadata, recorded_at, prev_hash, hash)
         select $1, $2, e.version, e.event_id, e.event_type, e.schema_version, e.payload,
                e.metadata, $3, e.prev_hash, e.hash
         from unnest($4::int[], $5::uuid[], $6::text[], $7::smallint[], $8::jsonb[],
                     $9::jsonb[], $10::bytea[], $11::bytea[])
              as e(version, event_id, event_type, schema_version, payload, metadata,
                   prev_hash, hash)
         where $12::int = 0
            or exists (select 1 from events
                       where stream_id = $1 and stream_version = $12 and hash = $13)
         order by e.version
         returning stream_version, global_position,
                   transaction_id::text::bigint as transaction_id";
    let result = sqlx::query(sql)
        .bind(stream_id)
        .bind(stream_type)
        .bind(recorded_at)
        .bind(&versions)
        .bind(&event_ids)
        .bind(&event_types)
        .bind(&schema_versions)
        .bind(&payloads)
        .bind(&metadatas)
        .bind(&prev_hashes)
        .bind(&hashes)
        .bind(head.version)
        .bind(head.hash.as_deref())
        .fetch_all(&mut *conn)
        .await;
    let rows = match result {
        Ok(rows) => rows,
        Err(sqlx::Error::Database(db)) if db.constraint() == Some("events_stream_version_key") => {
            return Err(AppendError::VersionConflict {
                stream_id,
                expected: head.version,
            })
        }
        Err(sqlx::Error::Database(db)) if db.constraint() == Some("events_event_id_key") => {
            let detail = db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|e| e.detail())
                .unwrap_or_default();
            let duplicate = duplicate_id_in(detail, &event_ids).unwrap_or(event_ids[0]);
            return Err(AppendError::DuplicateEvent(duplicate));
        }
        Err(other) => return Err(other.into()),
    };
    if rows.is_empty() {
        return Err(AppendError::VersionConflict {
            stream_id,
            expected: head.version,
        });
    }
    // Only what the database chose comes back; the rest is what was just written.
    let mut assigned: Vec<(i32, i64, i64)> = rows
        .iter()
        .map(|row| {
            Ok((
                row.try_get("stream_version")?,
                row.try_get("global_position")?,
                row.try_get("transaction_id")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    assigned.sort_unstable();
    let recorded = assigned
        .into_iter()
        .zip(events_written(
            event_ids,
            event_types,
            schema_versions,
            payloads,
            metadatas,
            prev_hashes,
            hashes,
        ))
        .map(
            |((stream_version, global_position, transaction_id), written)| LoggedEvent {
                event: RecordedEvent {
                    global_position,
                    stream_id,
                    stream_type: stream_type.to_owned(),
                    stream_version,
                    event_id: written.0,
                    event_type: written.1,
                    schema_version: written.2,
                    payload: written.3,
                    metadata: written.4,
                    recorded_at,
                },
                transaction_id,
                prev_hash: written.5,
                hash: written.6,
            },
        )
        .collect();
    Ok(recorded)
}

//! The event log over sqlx: append with an expected version, read a stream.
//!
//! An append is written by one `INSERT … SELECT FROM unnest(…)` statement, alone or with the
//! appends of other streams that wait at the same moment (group commit: one transaction, one
//! WAL flush for all of them, see `GroupAppender`). It inserts nothing unless the stream's head
//! is exactly what the caller decided on (version and hash), and the unique
//! `(stream_id, stream_version)` constraint catches a concurrent writer that got there first.
//! Either way the caller gets [`AppendError::VersionConflict`] and retries against fresh state.
//!
//! After a commit, [`EventLog`] wakes the log's tailers with `NOTIFY switchboard_events` from a
//! transaction that writes nothing, coalescing a burst of appends into one notification. Not
//! inside the appending transaction: PostgreSQL serialises the commits of notifying
//! transactions, flush included, which would cost the log its group commit (migration 0018).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};
use switchboard_domain::envelope::RecordedEvent;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::hash::{event_hash, HashedFields};

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
    /// The event as readers see it: personal data opened, or erased (GDPR-2).
    pub event: RecordedEvent,
    /// The id of the transaction that inserted it (`xid8`), for commit-order tailing.
    pub transaction_id: i64,
    pub prev_hash: Option<Vec<u8>>,
    pub hash: Vec<u8>,
    /// The payload and metadata as stored, when they differ from `event`'s (sealed values):
    /// what the hash covers.
    pub stored: Option<Box<StoredContent>>,
}

/// An event's payload and metadata exactly as the log stores them.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredContent {
    pub payload: Value,
    pub metadata: Value,
}

impl LoggedEvent {
    /// The payload as stored (sealed values sealed): what the hash chain covers.
    pub fn stored_payload(&self) -> &Value {
        self.stored
            .as_ref()
            .map_or(&self.event.payload, |s| &s.payload)
    }

    /// The metadata as stored.
    pub fn stored_metadata(&self) -> &Value {
        self.stored
            .as_ref()
            .map_or(&self.event.metadata, |s| &s.metadata)
    }

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

/// The channel the log notifies after appends commit (see [`EventLog::notify_appended`]), on
/// which its tailers ([`crate::tail`]) listen.
pub const EVENTS_CHANNEL: &str = "switchboard_events";

/// The SQL expression, for a query that reads `events` under the name given, of the key of the
/// row's data subject (GDPR-2): null when it has none, or once they were erased. The subject
/// is matched as text first, so an edited, malformed `data_subject` reads as erased instead of
/// failing the read (and `replay verify` names the event).
macro_rules! subject_key_sql {
    ($events:literal) => {
        concat!(
            "(select k.key from contact_keys k where k.contact_id = case when ",
            $events,
            ".metadata->>'data_subject' ~ '^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$' then (",
            $events,
            ".metadata->>'data_subject')::uuid end)"
        )
    };
}

/// The columns every read selects, in the order [`decode_row`] expects: the event's, and its
/// data subject's key.
pub(crate) const EVENT_COLUMNS: &str = concat!(
    "global_position, transaction_id::text::bigint as transaction_id, \
     stream_id, stream_type, stream_version, event_id, event_type, schema_version, payload, \
     metadata, recorded_at, prev_hash, hash, ",
    subject_key_sql!("events"),
    " as subject_key"
);

pub(crate) fn decode_row(row: &sqlx::postgres::PgRow) -> Result<LoggedEvent, sqlx::Error> {
    let mut logged = decode_stored_row(row)?;
    if logged.event.metadata.get("sealed").is_some() {
        let key: Option<Vec<u8>> = row.try_get("subject_key")?;
        let stored = StoredContent {
            payload: logged.event.payload.clone(),
            metadata: logged.event.metadata.clone(),
        };
        crate::seal::open_with_stored_key(&mut logged.event, key.as_deref());
        logged.stored = Some(Box::new(stored));
    }
    Ok(logged)
}

fn decode_stored_row(row: &sqlx::postgres::PgRow) -> Result<LoggedEvent, sqlx::Error> {
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
        stored: None,
    })
}

/// The event log. Cheap to clone (it holds a pool).
#[derive(Debug, Clone)]
pub struct EventLog {
    pool: PgPool,
    wake: Arc<Wake>,
    appender: Arc<GroupAppender>,
    keyring: Arc<crate::seal::Keyring>,
}

/// Wakes the log's tailers after appends, one notification for a burst of them.
#[derive(Debug, Default)]
struct Wake {
    /// A notification is on its way and has not been sent yet: an append that finds it set
    /// is covered by it.
    pending: AtomicBool,
}

/// Sends the log's wake-up unless one is already on its way (see
/// [`EventLog::notify_appended`]).
fn wake_tailers(pool: &PgPool, wake: &Arc<Wake>) {
    if wake.pending.swap(true, Ordering::AcqRel) {
        return;
    }
    let (pool, wake) = (pool.clone(), wake.clone());
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

/// How many group commits an [`EventLog`] has in flight at once by default.
pub const DEFAULT_APPEND_LANES: usize = 2;

impl EventLog {
    pub fn new(pool: PgPool) -> Self {
        Self::with_lanes(pool, DEFAULT_APPEND_LANES)
    }

    /// A log whose appends share commits in up to `lanes` groups in flight at once (see
    /// [`EventLog::append`]); with 0, each append is written on its own, on the caller's
    /// task (the bench compares the two). Clones share the groups.
    pub fn with_lanes(pool: PgPool, lanes: usize) -> Self {
        Self {
            keyring: Arc::new(crate::seal::Keyring::new(pool.clone())),
            pool,
            wake: Arc::default(),
            appender: Arc::new(GroupAppender::new(lanes)),
        }
    }

    /// The contacts' keys that seal personal data in this log (GDPR-2).
    pub fn keyring(&self) -> &crate::seal::Keyring {
        &self.keyring
    }

    /// Tells the log's tailers (relay, tests) that events were committed. [`EventLog::append`]
    /// does this itself; callers of [`append_on`] call it after their commit. Returns at once:
    /// the notification goes out from a task, and appends made before it is sent share it.
    /// A lost one only delays the tailers until their next poll.
    pub fn notify_appended(&self) {
        wake_tailers(&self.pool, &self.wake);
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Appends `events` after `head` and returns them as recorded.
    ///
    /// Guarantees: all events or none; versions `head.version + 1 ..`; each event's hash
    /// chained to its predecessor. Fails with [`AppendError::VersionConflict`] when the
    /// stream's head is not `head`, and [`AppendError::DuplicateEvent`] when an event id is
    /// already recorded (in this stream or another).
    ///
    /// Appends of other streams waiting at the same moment share the statement and its commit
    /// (group commit, see `GroupAppender`); each keeps its own guard and its own outcome.
    pub async fn append(
        &self,
        stream_id: Uuid,
        stream_type: &str,
        head: &StreamHead,
        events: Vec<NewEvent>,
        recorded_at: DateTime<Utc>,
    ) -> Result<Vec<LoggedEvent>, AppendError> {
        let prepared = Prepared::new(stream_id, stream_type, head, events, recorded_at)?;
        // The lanes wake the tailers themselves, even for a caller that stopped waiting.
        let recorded = if self.appender.lanes == 0 {
            let mut conn = self.pool.acquire().await?;
            let recorded = append_prepared(&mut conn, prepared).await?;
            self.notify_appended();
            recorded
        } else {
            self.appender
                .append(&self.pool, &self.wake, prepared)
                .await?
        };
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

/// Which events an auditor's read selects (AUD-3): every condition given must hold. The
/// reads built from it page by global position, so an export of any size runs in bounded
/// memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only these streams.
    pub streams: Option<Vec<Uuid>>,
    /// Recorded at or after this instant.
    pub recorded_from: Option<DateTime<Utc>>,
    /// Recorded strictly before this instant.
    pub recorded_before: Option<DateTime<Utc>>,
    /// Global positions in this inclusive range.
    pub positions: Option<(i64, i64)>,
}

/// The events of `streams` (each up to the version it names) recorded after
/// `after_position`, and those of the types `or_types` whatever their position, in stream and
/// version order, read on `conn`: a caller's transaction then sees exactly the versions it
/// names (the webhooks projection's catch-up, through its `LogReader`).
pub async fn read_streams_on(
    conn: &mut PgConnection,
    streams: &[(Uuid, i32)],
    after_position: i64,
    or_types: &[&str],
) -> Result<Vec<LoggedEvent>, sqlx::Error> {
    let (ids, versions): (Vec<Uuid>, Vec<i32>) = streams.iter().copied().unzip();
    let sql = format!(
        "select {EVENT_COLUMNS}
         from unnest($1::uuid[], $2::int4[]) as wanted(wanted_stream, up_to)
         join events on events.stream_id = wanted.wanted_stream
                    and events.stream_version <= wanted.up_to
         where events.global_position > $3 or events.event_type = any($4)
         order by events.stream_id, events.stream_version"
    );
    sqlx::query(&sql)
        .bind(&ids)
        .bind(&versions)
        .bind(after_position)
        .bind(or_types)
        .fetch_all(conn)
        .await?
        .iter()
        .map(decode_row)
        .collect()
}

/// Up to `limit` events matching `filter` with a global position above `after_position`, in
/// global position order.
///
/// This reads committed rows by position, which is what an auditor asks for ("events 100 to
/// 200"); unlike the commit-order tail it may, at the log's very end, skip an event whose
/// transaction commits after the read with a lower position. Exports of history are not
/// affected; a reader following the live log uses [`crate::tail`].
pub async fn read_filtered(
    pool: &PgPool,
    filter: &EventFilter,
    after_position: i64,
    limit: i64,
) -> Result<Vec<LoggedEvent>, sqlx::Error> {
    let mut query = sqlx::QueryBuilder::new(format!("select {EVENT_COLUMNS} from events where "));
    query.push("global_position > ").push_bind(after_position);
    if let Some(streams) = &filter.streams {
        query
            .push(" and stream_id = any(")
            .push_bind(streams.clone())
            .push(")");
    }
    if let Some(from) = filter.recorded_from {
        query.push(" and recorded_at >= ").push_bind(from);
    }
    if let Some(before) = filter.recorded_before {
        query.push(" and recorded_at < ").push_bind(before);
    }
    if let Some((first, last)) = filter.positions {
        query
            .push(" and global_position between ")
            .push_bind(first)
            .push(" and ")
            .push_bind(last);
    }
    query
        .push(" order by global_position limit ")
        .push_bind(limit);
    query
        .build()
        .fetch_all(pool)
        .await?
        .iter()
        .map(decode_row)
        .collect()
}

/// The conversation streams of a contact: those whose `ConversationStarted` names them, in
/// the order they started.
pub async fn conversations_of_contact(
    pool: &PgPool,
    contact_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "select stream_id from events
         where event_type = 'ConversationStarted' and stream_version = 1
           and payload->'contact'->>'id' = $1
         order by global_position",
    )
    .bind(contact_id.to_string())
    .fetch_all(pool)
    .await
}

/// One append, hashed and laid out as the columns it will write, before it is sent.
struct Prepared {
    stream_id: Uuid,
    stream_type: String,
    head: StreamHead,
    recorded_at: DateTime<Utc>,
    versions: Vec<i32>,
    event_ids: Vec<Uuid>,
    event_types: Vec<String>,
    schema_versions: Vec<i16>,
    payloads: Vec<Value>,
    metadatas: Vec<Value>,
    prev_hashes: Vec<Option<Vec<u8>>>,
    hashes: Vec<Vec<u8>>,
}

impl Prepared {
    /// Numbers and chains `events` after `head`.
    fn new(
        stream_id: Uuid,
        stream_type: &str,
        head: &StreamHead,
        events: Vec<NewEvent>,
        recorded_at: DateTime<Utc>,
    ) -> Result<Self, AppendError> {
        if events.is_empty() {
            return Err(AppendError::Empty);
        }
        // PostgreSQL keeps microseconds; hash what it will store.
        let recorded_at = recorded_at.trunc_subsecs(6);
        let n = events.len();
        let mut prepared = Prepared {
            stream_id,
            stream_type: stream_type.to_owned(),
            head: head.clone(),
            recorded_at,
            versions: Vec::with_capacity(n),
            event_ids: Vec::with_capacity(n),
            event_types: Vec::with_capacity(n),
            schema_versions: Vec::with_capacity(n),
            payloads: Vec::with_capacity(n),
            metadatas: Vec::with_capacity(n),
            prev_hashes: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
        };
        let mut prev = head.hash.clone();
        for (i, e) in events.into_iter().enumerate() {
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
            prepared.versions.push(version);
            prepared.event_ids.push(e.event_id);
            prepared.event_types.push(e.event_type);
            prepared.schema_versions.push(e.schema_version);
            prepared.payloads.push(e.payload);
            prepared.metadatas.push(e.metadata);
            prepared.prev_hashes.push(prev.replace(hash.clone()));
            prepared.hashes.push(hash);
        }
        Ok(prepared)
    }

    fn conflict(&self) -> AppendError {
        AppendError::VersionConflict {
            stream_id: self.stream_id,
            expected: self.head.version,
        }
    }

    /// What a failed insert means for this append: a conflict, a repeated event id, or a
    /// storage failure.
    fn failure(&self, err: sqlx::Error) -> AppendError {
        match err {
            sqlx::Error::Database(db) if db.constraint() == Some("events_stream_version_key") => {
                self.conflict()
            }
            sqlx::Error::Database(db) if db.constraint() == Some("events_event_id_key") => {
                let detail = db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .and_then(|e| e.detail())
                    .unwrap_or_default();
                // PostgreSQL names the offending key: `Key (event_id)=(…) already exists.`
                let duplicate = self
                    .event_ids
                    .iter()
                    .copied()
                    .find(|id| detail.contains(&id.to_string()))
                    .unwrap_or(self.event_ids[0]);
                AppendError::DuplicateEvent(duplicate)
            }
            other => other.into(),
        }
    }

    /// The events as recorded, given what the database assigned to each: `(stream_version,
    /// global_position, transaction_id)`, one per event in any order.
    fn recorded(self, mut assigned: Vec<(i32, i64, i64)>) -> Vec<LoggedEvent> {
        assigned.sort_unstable();
        let Prepared {
            stream_id,
            stream_type,
            recorded_at,
            event_ids,
            event_types,
            schema_versions,
            payloads,
            metadatas,
            prev_hashes,
            hashes,
            ..
        } = self;
        assigned
            .into_iter()
            .zip(event_ids)
            .zip(event_types)
            .zip(schema_versions)
            .zip(payloads)
            .zip(metadatas)
            .zip(prev_hashes.into_iter().zip(hashes))
            .map(
                |(
                    (((((assigned, event_id), event_type), schema_version), payload), metadata),
                    (prev_hash, hash),
                )| {
                    let (stream_version, global_position, transaction_id) = assigned;
                    LoggedEvent {
                        event: RecordedEvent {
                            global_position,
                            stream_id,
                            stream_type: stream_type.clone(),
                            stream_version,
                            event_id,
                            event_type,
                            schema_version,
                            payload,
                            metadata,
                            recorded_at,
                        },
                        transaction_id,
                        prev_hash,
                        hash,
                        stored: None,
                    }
                },
            )
            .collect()
    }
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
    let prepared = Prepared::new(stream_id, stream_type, head, events, recorded_at)?;
    append_prepared(conn, prepared).await
}

async fn append_prepared(
    conn: &mut PgConnection,
    prepared: Prepared,
) -> Result<Vec<LoggedEvent>, AppendError> {
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
        .bind(prepared.stream_id)
        .bind(&prepared.stream_type)
        .bind(prepared.recorded_at)
        .bind(&prepared.versions)
        .bind(&prepared.event_ids)
        .bind(&prepared.event_types)
        .bind(&prepared.schema_versions)
        .bind(&prepared.payloads)
        .bind(&prepared.metadatas)
        .bind(&prepared.prev_hashes)
        .bind(&prepared.hashes)
        .bind(prepared.head.version)
        .bind(prepared.head.hash.as_deref())
        .fetch_all(&mut *conn)
        .await;
    let rows = match result {
        Ok(rows) => rows,
        Err(err) => return Err(prepared.failure(err)),
    };
    if rows.is_empty() {
        return Err(prepared.conflict());
    }
    // Only what the database chose comes back; the rest is what was just written.
    let assigned = rows
        .iter()
        .map(|row| {
            Ok((
                row.try_get("stream_version")?,
                row.try_get("global_position")?,
                row.try_get("transaction_id")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(prepared.recorded(assigned))
}

/// What [`EventLog::append`] hands to the group appender, and where the answer goes.
struct Pending {
    prepared: Prepared,
    reply: oneshot::Sender<Result<Vec<LoggedEvent>, AppendError>>,
}

/// The most appends one group commit carries.
const MAX_GROUP: usize = 128;

/// Group commit for appends (issue 5). Appends that wait at the same moment are written by
/// one statement in one transaction: one commit, one WAL flush, for all of them.
///
/// Each append keeps its own guard, evaluated per stream in the statement, so one stream's
/// conflict does not fail the others: its rows are simply not inserted and it gets
/// [`AppendError::VersionConflict`]. A group never holds two appends of one stream (the second
/// waits for the next group), and rows go in in stream order, so two groups in flight cannot
/// deadlock on each other's unique keys. Anything that fails the whole statement (two nodes
/// racing past the same guard, a repeated event id) sends every append of the group again on
/// its own, through the one-append path and its exact errors; a database that cannot be
/// reached fails the whole group at once.
///
/// Each of the `lanes` tasks takes whatever is waiting when it is free, so a lone append goes
/// out at once and a crowd shares commits; with more than one lane, one group's statement runs
/// while another's commit is flushed.
#[derive(Debug)]
struct GroupAppender {
    sender: OnceLock<mpsc::UnboundedSender<Pending>>,
    lanes: usize,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("stream_id", &self.prepared.stream_id)
            .finish_non_exhaustive()
    }
}

impl GroupAppender {
    fn new(lanes: usize) -> Self {
        Self {
            sender: OnceLock::new(),
            lanes,
        }
    }

    /// Appends `prepared` in the next group; starts the lanes on first use.
    async fn append(
        &self,
        pool: &PgPool,
        wake: &Arc<Wake>,
        prepared: Prepared,
    ) -> Result<Vec<LoggedEvent>, AppendError> {
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
            for _ in 0..self.lanes {
                tokio::spawn(run_lane(pool.clone(), wake.clone(), receiver.clone()));
            }
            sender
        });
        let (reply, answer) = oneshot::channel();
        // Only a lane that panicked drops an append unanswered.
        let stopped = || AppendError::Storage(sqlx::Error::WorkerCrashed);
        sender
            .send(Pending { prepared, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// One lane of the group appender: takes every append waiting (up to [`MAX_GROUP`], one per
/// stream), writes them as one group, answers each, wakes the log's tailers, and again until
/// every [`EventLog`] that could send one is gone.
async fn run_lane(
    pool: PgPool,
    wake: Arc<Wake>,
    receiver: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>>,
) {
    // Appends of a stream that already had one in the group, for the next group.
    let mut held: VecDeque<Pending> = VecDeque::new();
    loop {
        let mut group: Vec<Pending> = Vec::new();
        let mut streams = HashSet::new();
        let mut take =
            |pending: Pending, group: &mut Vec<Pending>, held: &mut VecDeque<Pending>| {
                if group.len() < MAX_GROUP && streams.insert(pending.prepared.stream_id) {
                    group.push(pending);
                } else {
                    held.push_back(pending);
                }
            };
        for pending in std::mem::take(&mut held) {
            take(pending, &mut group, &mut held);
        }
        // With appends in hand, never wait for the receiver: another lane may hold it while it
        // waits for new appends, which may never come.
        let receiver = if group.is_empty() {
            let mut receiver = receiver.lock().await;
            match receiver.recv().await {
                Some(pending) => take(pending, &mut group, &mut held),
                None => return,
            }
            Some(receiver)
        } else {
            receiver.try_lock().ok()
        };
        if let Some(mut receiver) = receiver {
            while group.len() < MAX_GROUP {
                match receiver.try_recv() {
                    Ok(pending) => take(pending, &mut group, &mut held),
                    Err(_) => break,
                }
            }
        }
        if write_group(&pool, group).await {
            wake_tailers(&pool, &wake);
        }
    }
}

/// Writes a group and answers every append in it (a caller may have given up waiting: its
/// append stands either way). True when anything was written.
async fn write_group(pool: &PgPool, mut group: Vec<Pending>) -> bool {
    if group.len() > 1 {
        group.sort_by_key(|pending| pending.prepared.stream_id);
        match insert_group(pool, &group).await {
            Ok(mut assigned) => {
                let written = !assigned.is_empty();
                for Pending { prepared, reply } in group {
                    let result = match assigned.remove(&prepared.stream_id) {
                        Some(rows) => Ok(prepared.recorded(rows)),
                        None => Err(prepared.conflict()),
                    };
                    let _ = reply.send(result);
                }
                return written;
            }
            // The database refused the statement as a whole (a race past a guard, a repeated
            // event id): each append on its own gets its own outcome.
            Err(sqlx::Error::Database(err)) => {
                tracing::debug!(error = %err, appends = group.len(), "group append refused; appending one by one");
            }
            // The database could not be reached: so it is for every append of the group, at
            // once, rather than after a wait for a connection each.
            Err(err) => {
                for Pending { reply, .. } in group {
                    let _ = reply.send(Err(AppendError::Storage(same_failure(&err))));
                }
                return false;
            }
        }
    }
    let mut conn = match pool.acquire().await {
        Ok(conn) => conn,
        Err(err) => {
            for Pending { reply, .. } in group {
                let _ = reply.send(Err(AppendError::Storage(same_failure(&err))));
            }
            return false;
        }
    };
    let mut written = false;
    for Pending { prepared, reply } in group {
        let result = append_prepared(&mut conn, prepared).await;
        written |= result.is_ok();
        let _ = reply.send(result);
    }
    written
}

/// The failure `err` again, for each append of a group it failed (`sqlx::Error` is not
/// `Clone`): the pool's own failures keep their kind, others are told by their message.
fn same_failure(err: &sqlx::Error) -> sqlx::Error {
    match err {
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        sqlx::Error::WorkerCrashed => sqlx::Error::WorkerCrashed,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// What the database assigned to a group's events, by stream: `(stream_version,
/// global_position, transaction_id)`. A stream whose guard failed has no entry.
type Assigned = HashMap<Uuid, Vec<(i32, i64, i64)>>;

/// One statement for the whole group, every append with its own guard: the head it was
/// decided on is there, and nothing after it is.
async fn insert_group(pool: &PgPool, group: &[Pending]) -> Result<Assigned, sqlx::Error> {
    let rows: usize = group.iter().map(|p| p.prepared.versions.len()).sum();
    let mut columns = GroupColumns::with_capacity(rows);
    for Pending { prepared, .. } in group {
        columns.push(prepared);
    }
    let sql = "insert into events (stream_id, stream_type, stream_version, event_id, event_type,
                             schema_version, payload, metadata, recorded_at, prev_hash, hash)
         select e.stream_id, e.stream_type, e.version, e.event_id, e.event_type,
                e.schema_version, e.payload, e.metadata, e.recorded_at, e.prev_hash, e.hash
         from unnest($1::uuid[], $2::text[], $3::int[], $4::uuid[], $5::text[],
                     $6::smallint[], $7::jsonb[], $8::jsonb[], $9::timestamptz[],
                     $10::bytea[], $11::bytea[], $12::int[], $13::bytea[])
              as e(stream_id, stream_type, version, event_id, event_type, schema_version,
                   payload, metadata, recorded_at, prev_hash, hash, head_version, head_hash)
         where (e.head_version = 0
                or exists (select 1 from events h
                           where h.stream_id = e.stream_id
                             and h.stream_version = e.head_version
                             and h.hash = e.head_hash))
           and not exists (select 1 from events n
                           where n.stream_id = e.stream_id
                             and n.stream_version = e.head_version + 1)
         order by e.stream_id, e.version
         returning stream_id, stream_version, global_position,
                   transaction_id::text::bigint as transaction_id";
    let GroupColumns {
        stream_ids,
        stream_types,
        versions,
        event_ids,
        event_types,
        schema_versions,
        payloads,
        metadatas,
        recorded_ats,
        prev_hashes,
        hashes,
        head_versions,
        head_hashes,
    } = columns;
    let rows = sqlx::query(sql)
        .bind(stream_ids)
        .bind(stream_types)
        .bind(versions)
        .bind(event_ids)
        .bind(event_types)
        .bind(schema_versions)
        .bind(payloads)
        .bind(metadatas)
        .bind(recorded_ats)
        .bind(prev_hashes)
        .bind(hashes)
        .bind(head_versions)
        .bind(head_hashes)
        .fetch_all(pool)
        .await?;
    let mut assigned = Assigned::new();
    for row in &rows {
        assigned
            .entry(row.try_get("stream_id")?)
            .or_default()
            .push((
                row.try_get("stream_version")?,
                row.try_get("global_position")?,
                row.try_get("transaction_id")?,
            ));
    }
    Ok(assigned)
}

/// A group's rows as the column arrays `insert_group` binds, borrowed from the appends (which
/// keep them to answer with).
#[derive(Default)]
struct GroupColumns<'a> {
    stream_ids: Vec<Uuid>,
    stream_types: Vec<&'a str>,
    versions: Vec<i32>,
    event_ids: Vec<Uuid>,
    event_types: Vec<&'a str>,
    schema_versions: Vec<i16>,
    payloads: Vec<&'a Value>,
    metadatas: Vec<&'a Value>,
    recorded_ats: Vec<DateTime<Utc>>,
    prev_hashes: Vec<Option<&'a [u8]>>,
    hashes: Vec<&'a [u8]>,
    head_versions: Vec<i32>,
    head_hashes: Vec<Option<&'a [u8]>>,
}

impl<'a> GroupColumns<'a> {
    fn with_capacity(rows: usize) -> Self {
        Self {
            stream_ids: Vec::with_capacity(rows),
            stream_types: Vec::with_capacity(rows),
            versions: Vec::with_capacity(rows),
            event_ids: Vec::with_capacity(rows),
            event_types: Vec::with_capacity(rows),
            schema_versions: Vec::with_capacity(rows),
            payloads: Vec::with_capacity(rows),
            metadatas: Vec::with_capacity(rows),
            recorded_ats: Vec::with_capacity(rows),
            prev_hashes: Vec::with_capacity(rows),
            hashes: Vec::with_capacity(rows),
            head_versions: Vec::with_capacity(rows),
            head_hashes: Vec::with_capacity(rows),
        }
    }

    fn push(&mut self, p: &'a Prepared) {
        for i in 0..p.versions.len() {
            self.stream_ids.push(p.stream_id);
            self.stream_types.push(&p.stream_type);
            self.versions.push(p.versions[i]);
            self.event_ids.push(p.event_ids[i]);
            self.event_types.push(&p.event_types[i]);
            self.schema_versions.push(p.schema_versions[i]);
            self.payloads.push(&p.payloads[i]);
            self.metadatas.push(&p.metadatas[i]);
            self.recorded_ats.push(p.recorded_at);
            self.prev_hashes.push(p.prev_hashes[i].as_deref());
            self.hashes.push(&p.hashes[i]);
            self.head_versions.push(p.head.version);
            self.head_hashes.push(p.head.hash.as_deref());
        }
    }
}

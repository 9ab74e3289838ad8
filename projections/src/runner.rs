//! Feeds a [`Projection`] from the Kafka topic, one PostgreSQL transaction per batch of the
//! messages that are waiting (at most [`MAX_BATCH`]).
//!
//! Offsets are stored with Kafka only after the transaction committed, so a crash replays
//! events rather than losing them; the per-stream version check in [`apply_event`] makes the
//! replay change nothing.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::ClientConfig;
use sqlx::{PgConnection, PgPool};
use switchboard_domain::contact::{data_subject, erase_sealed};
use switchboard_domain::envelope::RecordedEvent;
use switchboard_domain::DomainEvent;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use futures::FutureExt;

use crate::{Applied, Change, LogReader, Projection, ProjectionError, CHANGES_CHANNEL};

#[derive(Debug, Clone)]
pub struct RunnerSettings {
    pub brokers: String,
    pub topic: String,
    /// The consumer group; by default `switchboard-projection-<name>`.
    pub group_id: String,
    /// The longest the broker may hold a fetch that finds nothing new (`fetch.wait.max.ms`).
    pub fetch_wait_ms: u32,
}

/// Consumes until `shutdown` is cancelled. Storage failures are retried (the event is not
/// skipped); a message that is not a Switchboard event is logged and skipped.
pub async fn run_projection<P: Projection>(
    pool: PgPool,
    projection: Arc<P>,
    log: Arc<dyn LogReader>,
    settings: RunnerSettings,
    shutdown: CancellationToken,
) -> Result<(), ProjectionError> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .set("group.id", &settings.group_id)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        // An event should reach the projection in milliseconds, not at the end of a fetch
        // that waits for more (librdkafka's default wait is 500 ms; brokers such as Tansu
        // hold a fetch that long even when data arrives). Idle, this is a fetch per wait:
        // shorter waits cost polling (see SWITCHBOARD_KAFKA_FETCH_WAIT_MS).
        .set("fetch.wait.max.ms", settings.fetch_wait_ms.to_string())
        .create()?;
    consumer.subscribe(&[&settings.topic])?;
    tracing::info!(projection = projection.name(), topic = %settings.topic, group = %settings.group_id, "projection is consuming");
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => break,
            message = consumer.recv() => message,
        };
        let message = match message {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(projection = projection.name(), error = %err, "consumer error");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        // Whatever else is already waiting joins the batch, without waiting for more.
        let mut messages = vec![message];
        while messages.len() < MAX_BATCH {
            match consumer.recv().now_or_never() {
                Some(Ok(message)) => messages.push(message),
                _ => break,
            }
        }
        let mut events = Vec::with_capacity(messages.len());
        for message in &messages {
            match message
                .payload()
                .and_then(|bytes| serde_json::from_slice::<RecordedEvent>(bytes).ok())
            {
                Some(event) => events.push(event),
                None => tracing::error!(
                    projection = projection.name(),
                    partition = message.partition(),
                    offset = message.offset(),
                    "skipping a message that is not a Switchboard event"
                ),
            }
        }
        if let Err(err) = apply_batch(&pool, &*projection, &*log, &events).await {
            tracing::debug!(projection = projection.name(), error = %err, "batch failed; applying its events one by one");
            for event in &events {
                if !apply_with_retries(&pool, &*projection, &*log, event, &shutdown).await {
                    return Ok(()); // shut down while retrying
                }
            }
        }
        // After a long outage the group may have moved on without us; the events are then
        // redelivered (and skipped as applied), which is harmless.
        for message in &messages {
            if let Err(err) = consumer.store_offset_from_message(message) {
                tracing::warn!(projection = projection.name(), error = %err, "could not store the offset");
            }
        }
    }
    // Hand the group our final offsets so the next consumer starts where we stopped.
    if let Err(err) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(error = %err, "final offset commit failed; the next start replays a little");
    }
    Ok(())
}

/// How often an event that fails permanently is tried before it is dead-lettered.
const PERMANENT_ATTEMPTS: u32 = 3;

/// The most Kafka messages applied in one transaction.
const MAX_BATCH: usize = 500;

/// Applies one event, retrying storage failures with backoff and dead-lettering one that
/// keeps failing permanently. False if shut down before it was applied.
async fn apply_with_retries<P: Projection + ?Sized>(
    pool: &PgPool,
    projection: &P,
    log: &dyn LogReader,
    event: &RecordedEvent,
    shutdown: &CancellationToken,
) -> bool {
    let mut backoff = Duration::from_millis(100);
    let mut attempts = 0;
    loop {
        attempts += 1;
        match apply_event(pool, projection, log, event).await {
            Ok(()) => return true,
            Err(err) if err.is_permanent() && attempts >= PERMANENT_ATTEMPTS => {
                tracing::error!(projection = projection.name(), event_id = %event.event_id, error = %err, "giving up on an event; see projection_dead_letters");
                if dead_letter(pool, projection.name(), event, &err.to_string())
                    .await
                    .is_ok()
                {
                    return true;
                }
            }
            Err(err) => {
                tracing::warn!(projection = projection.name(), event_id = %event.event_id, error = %err, "applying failed; retrying");
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn insert_dead_letter(
    tx: &mut PgConnection,
    projection: &str,
    event: &RecordedEvent,
    reason: &str,
) -> Result<(), sqlx::Error> {
    // An erased contact's data is not kept here either (GDPR-2); an erasure after this
    // commit erases the letter itself (see `Subjects`).
    let mut event = std::borrow::Cow::Borrowed(event);
    if let Some(subject) = data_subject(&event) {
        if erased_subjects(tx, &[subject]).await?.contains(&subject) {
            erase_sealed(event.to_mut());
        }
    }
    sqlx::query(
        "insert into projection_dead_letters
            (projection, event_id, stream_id, stream_version, event_type, reason, event)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict do nothing",
    )
    .bind(projection)
    .bind(event.event_id)
    .bind(event.stream_id)
    .bind(event.stream_version)
    .bind(&event.event_type)
    .bind(reason)
    .bind(serde_json::to_value(&*event).expect("recorded events serialize"))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Records `event` as not applicable and moves its stream past it, so the partition goes on.
async fn dead_letter(
    pool: &PgPool,
    projection: &str,
    event: &RecordedEvent,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Positions before dead letters, the order every writer (and a rebuild's swap) takes them.
    sqlx::query(
        "insert into projection_stream_positions (projection, stream_id, version)
         values ($1, $2, $3)
         on conflict (projection, stream_id) do update
         set version = greatest(projection_stream_positions.version, excluded.version)",
    )
    .bind(projection)
    .bind(event.stream_id)
    .bind(event.stream_version)
    .execute(&mut *tx)
    .await?;
    insert_dead_letter(&mut tx, projection, event, reason).await?;
    tx.commit().await
}

/// Applies `event` unless it was already applied, first filling any gap in its stream from the
/// log. Rows, progress and the change notification commit together.
pub async fn apply_event<P: Projection + ?Sized>(
    pool: &PgPool,
    projection: &P,
    log: &dyn LogReader,
    event: &RecordedEvent,
) -> Result<(), ProjectionError> {
    apply_batch(pool, projection, log, std::slice::from_ref(event)).await
}

/// Applies `events` in order in one transaction: the events one command recorded (which
/// travel together) become visible together, and a busy partition costs one commit per batch
/// instead of one per event. Each event is applied unless already applied, after any gap in
/// its stream is filled from the log.
pub async fn apply_batch<P: Projection + ?Sized>(
    pool: &PgPool,
    projection: &P,
    log: &dyn LogReader,
    events: &[RecordedEvent],
) -> Result<(), ProjectionError> {
    if events.iter().all(|event| ignores(projection, event))
        && skip_ignored(pool, projection.name(), events).await?
    {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    let changes = apply_all_in(&mut tx, projection, log, events).await?;
    announce_in(&mut tx, &changes).await?;
    tx.commit().await?;
    Ok(())
}

/// Applies `events` in order inside the caller's transaction, each unless already applied,
/// and returns what changed without announcing it: for a rebuild (AUD-5), whose tables nobody
/// reads until they are swapped in (the swap announces what it applied itself).
pub async fn apply_quietly_in<P: Projection + ?Sized>(
    tx: &mut PgConnection,
    projection: &P,
    log: &dyn LogReader,
    events: &[RecordedEvent],
) -> Result<Vec<Change>, ProjectionError> {
    apply_all_in(tx, projection, log, events).await
}

/// Announces `changes` to API nodes when `tx` commits, in order, with one statement.
pub async fn announce_in(tx: &mut PgConnection, changes: &[Change]) -> Result<(), sqlx::Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let payloads: Vec<String> = changes
        .iter()
        .map(|change| serde_json::to_string(change).expect("changes serialize"))
        .collect();
    sqlx::query(
        "select pg_notify($1, c.payload)
         from unnest($2::text[]) with ordinality as c(payload, n)
         order by c.n",
    )
    .bind(CHANGES_CHANNEL)
    .bind(&payloads)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The projection's progress in the streams of one batch, held in memory while the batch is
/// applied: read (and locked) once at the start, written at the end (and before an event
/// whose projection [reads it](Projection::reads_progress)).
struct Progress {
    projection: &'static str,
    /// The version applied in each of the batch's streams.
    applied: HashMap<Uuid, i32>,
    /// The streams whose version moved and is not written yet.
    moved: BTreeSet<Uuid>,
}

impl Progress {
    /// Locks the position rows of `streams` (creating the missing ones at 0) and reads them.
    /// The rows are locked in stream id order, so two transactions that share streams (two
    /// consumers during a rebalance) cannot deadlock over them.
    async fn lock(
        tx: &mut PgConnection,
        projection: &'static str,
        streams: &[Uuid],
    ) -> Result<Self, sqlx::Error> {
        sqlx::query(
            "insert into projection_stream_positions (projection, stream_id, version)
             select $1, stream_id, 0 from unnest($2::uuid[]) as s(stream_id)
             on conflict do nothing",
        )
        .bind(projection)
        .bind(streams)
        .execute(&mut *tx)
        .await?;
        let rows: Vec<(Uuid, i32)> = sqlx::query_as(
            "select stream_id, version from projection_stream_positions
             where projection = $1 and stream_id = any($2)
             order by stream_id
             for update",
        )
        .bind(projection)
        .bind(streams)
        .fetch_all(&mut *tx)
        .await?;
        Ok(Progress {
            projection,
            applied: rows.into_iter().collect(),
            moved: BTreeSet::new(),
        })
    }

    /// The version applied in `stream_id`, one of the batch's streams.
    fn applied(&self, stream_id: Uuid) -> Result<i32, sqlx::Error> {
        // Inserted above if missing; only a rebuild's swap deletes rows, and it waits for
        // this transaction.
        self.applied
            .get(&stream_id)
            .copied()
            .ok_or(sqlx::Error::RowNotFound)
    }

    fn advance(&mut self, stream_id: Uuid, version: i32) {
        self.applied.insert(stream_id, version);
        self.moved.insert(stream_id);
    }

    /// Writes the versions that moved since the last write.
    async fn write(&mut self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.moved.is_empty() {
            return Ok(());
        }
        let (streams, versions): (Vec<Uuid>, Vec<i32>) = self
            .moved
            .iter()
            .map(|stream_id| (*stream_id, self.applied[stream_id]))
            .unzip();
        sqlx::query(
            "update projection_stream_positions p set version = v.version
             from unnest($2::uuid[], $3::int4[]) as v(stream_id, version)
             where p.projection = $1 and p.stream_id = v.stream_id",
        )
        .bind(self.projection)
        .bind(&streams)
        .bind(&versions)
        .execute(&mut *tx)
        .await?;
        self.moved.clear();
        Ok(())
    }
}

/// Applies `events` in order inside `tx`: each once (a stream version at or below the
/// applied one is a redelivery, even within the batch), after filling any gap in its stream
/// from the log. The bookkeeping is three statements per batch, not per event.
async fn apply_all_in<P: Projection + ?Sized>(
    tx: &mut PgConnection,
    projection: &P,
    log: &dyn LogReader,
    events: &[RecordedEvent],
) -> Result<Vec<Change>, ProjectionError> {
    let mut changes = Vec::new();
    if events.is_empty() {
        return Ok(changes);
    }
    let streams: Vec<Uuid> = events
        .iter()
        .map(|e| e.stream_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut progress = Progress::lock(tx, projection.name(), &streams).await?;
    let mut subjects = Subjects::default();
    subjects.look_up(tx, events.iter()).await?;
    let erased = subjects.erased.clone();
    let events: Vec<std::borrow::Cow<'_, RecordedEvent>> = events
        .iter()
        .map(|event| match data_subject(event) {
            Some(subject) if erased.contains(&subject) => {
                let mut event = event.clone();
                erase_sealed(&mut event);
                std::borrow::Cow::Owned(event)
            }
            _ => std::borrow::Cow::Borrowed(event),
        })
        .collect();
    for event in events.iter().map(|e| e.as_ref()) {
        let applied = progress.applied(event.stream_id)?;
        if event.stream_version <= applied {
            continue; // already applied: a redelivery
        }
        let mut pending = Vec::new();
        if event.stream_version > applied + 1 {
            let missing: Vec<RecordedEvent> = log
                .read_stream(event.stream_id, applied)
                .await?
                .into_iter()
                .filter(|e| e.stream_version < event.stream_version)
                .collect();
            if missing.len() as i32 != event.stream_version - applied - 1 {
                return Err(ProjectionError::MissingEvents {
                    stream_id: event.stream_id,
                    from: applied + 1,
                    to: event.stream_version - 1,
                });
            }
            pending.extend(missing);
        }
        subjects.look_up(tx, pending.iter()).await?;
        for e in pending.iter_mut() {
            if data_subject(e).is_some_and(|subject| subjects.erased.contains(&subject)) {
                erase_sealed(e);
            }
        }
        for e in pending.iter().chain(std::iter::once(event)) {
            apply_one(tx, projection, log, &mut progress, e, &mut changes).await?;
        }
        progress.advance(event.stream_id, event.stream_version);
    }
    progress.write(tx).await?;
    Ok(changes)
}

/// The data subjects of a batch's events (GDPR-2), and which were erased. Kafka may carry an
/// event opened before its contact's erasure: its personal data must not reach the tables
/// after the erasure purged them, so it is applied as erased. The batch holds the erasure
/// fence ([`switchboard_domain::contact::ERASURE_FENCE`]) shared until it commits, so an
/// erasure waits for a batch that read a key as live, and its `ContactErased` (recorded after
/// the key is gone) comes after.
#[derive(Default)]
struct Subjects {
    looked_up: HashSet<Uuid>,
    erased: HashSet<Uuid>,
}

impl Subjects {
    async fn look_up(
        &mut self,
        tx: &mut PgConnection,
        events: impl Iterator<Item = &RecordedEvent>,
    ) -> Result<(), sqlx::Error> {
        let new: Vec<Uuid> = events
            .filter_map(data_subject)
            .filter(|s| !self.looked_up.contains(s))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        self.erased.extend(erased_subjects(tx, &new).await?);
        self.looked_up.extend(new);
        Ok(())
    }
}

/// Which of `subjects` were erased; `tx` holds the erasure fence shared until it ends.
async fn erased_subjects(
    tx: &mut PgConnection,
    subjects: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    // Held until the transaction ends; taking it again in the same one does not wait. The read
    // below is a statement of its own, so under READ COMMITTED (the pool's level) it sees
    // every erasure that took the fence before this batch got it.
    sqlx::query("select pg_advisory_xact_lock_shared($1)")
        .bind(switchboard_domain::contact::ERASURE_FENCE)
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(Uuid, bool)> = sqlx::query_as(
        "select contact_id, key is null from contact_keys where contact_id = any($1)",
    )
    .bind(subjects)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, erased)| *erased)
        .map(|(id, _)| id)
        .collect())
}

/// Whether `event` is of a type `projection` ignores, and decodes: it then costs no SQL but
/// its stream's position. One that does not decode still goes to `apply`, which dead-letters
/// it.
fn ignores<P: Projection + ?Sized>(projection: &P, event: &RecordedEvent) -> bool {
    !projection.handles(&event.event_type)
        && DomainEvent::decode(
            &event.event_type,
            event.schema_version,
            event.payload.clone(),
        )
        .is_ok()
}

/// Moves the positions past a batch of events the projection ignores, in one statement
/// instead of a transaction: a projection that ignores most of the traffic (inboxes and
/// operators ignore messages) then costs one round trip per batch. Only a batch whose
/// versions have no gap within each stream goes this way; each stream moves only if the batch
/// continues it (its first event is the stream's first, or comes right after the applied
/// version, or was applied already); true when every stream did. Otherwise the
/// streams that moved stay moved (their events are now redeliveries) and the caller applies
/// the batch the usual way, which fills the gaps from the log.
async fn skip_ignored(
    pool: &PgPool,
    projection: &str,
    events: &[RecordedEvent],
) -> Result<bool, sqlx::Error> {
    let mut versions: HashMap<Uuid, BTreeSet<i32>> = HashMap::new();
    for event in events {
        versions
            .entry(event.stream_id)
            .or_default()
            .insert(event.stream_version);
    }
    let mut streams = Vec::with_capacity(versions.len());
    let (mut firsts, mut lasts) = (Vec::with_capacity(versions.len()), Vec::new());
    for (stream_id, versions) in &versions {
        let (Some(&first), Some(&last)) = (versions.first(), versions.last()) else {
            continue;
        };
        // A gap inside the batch may hold an event the projection handles: the usual way
        // reads it from the log.
        if versions.len() as i32 != last - first + 1 {
            return Ok(false);
        }
        streams.push(*stream_id);
        firsts.push(first);
        lasts.push(last);
    }
    let moved: i64 = sqlx::query_scalar(
        "with batch as (
             select * from unnest($2::uuid[], $3::int4[], $4::int4[])
                 as b(stream_id, first_version, last_version)
         ), moved as (
             insert into projection_stream_positions (projection, stream_id, version)
             select $1, b.stream_id, b.last_version
             from batch b
             left join projection_stream_positions p
               on p.projection = $1 and p.stream_id = b.stream_id
             where b.first_version = 1 or p.version >= b.first_version - 1
             order by b.stream_id
             on conflict (projection, stream_id) do update
             set version = greatest(projection_stream_positions.version, excluded.version)
             returning 1
         )
         select count(*) from moved",
    )
    .bind(projection)
    .bind(&streams)
    .bind(&firsts)
    .bind(&lasts)
    .fetch_one(pool)
    .await?;
    Ok(moved == streams.len() as i64)
}

/// Hands one event to the projection, dead-lettering it if the projection cannot read it.
async fn apply_one<P: Projection + ?Sized>(
    tx: &mut PgConnection,
    projection: &P,
    log: &dyn LogReader,
    progress: &mut Progress,
    event: &RecordedEvent,
    changes: &mut Vec<Change>,
) -> Result<(), ProjectionError> {
    if ignores(projection, event) {
        return Ok(());
    }
    if projection.reads_progress(&event.event_type) {
        progress.write(tx).await?;
    }
    match projection.apply(&mut *tx, log, event).await? {
        Applied::Changed(change) => changes.push(change),
        Applied::Ignored => {}
        Applied::Unreadable(reason) => {
            tracing::error!(projection = projection.name(), event_id = %event.event_id, %reason, "unreadable event; see projection_dead_letters");
            insert_dead_letter(&mut *tx, projection.name(), event, &reason).await?;
        }
    }
    Ok(())
}

//! Rebuilding a projection from the PostgreSQL log (AUD-5) while the service runs.
//!
//! 1. **Shadow tables**: schema `rebuild_<projection>` gets an empty copy of each of the
//!    projection's tables (`create table … (like … including all)`: columns, generated
//!    columns, defaults, constraints, indexes, renamed to the live indexes' names), and of
//!    `projection_stream_positions` and `projection_dead_letters`.
//! 2. **Replay**: every committed event, in commit order, is applied to the shadow tables by
//!    the projection's own code, one transaction per batch, with the shadow schema first on
//!    the transaction's `search_path` (so the projection's unqualified table names resolve to
//!    the shadow). The live projection goes on consuming Kafka into the live tables meanwhile.
//!    The shadow's text-search and tag indexes (GIN, GiST) are left out while it fills and
//!    built once at the end, which is far cheaper than maintaining them row by row; what was
//!    committed while they were built is replayed next, so the swap's catch-up stays short.
//! 3. **Swap**, in one transaction: lock the positions tables against every projection's
//!    writes, and the live tables; apply to the shadow what was committed since the replay
//!    read and whatever the live projection applied beyond it; replace the projection's
//!    positions and dead letters with the shadow's; move the live tables out and the shadow
//!    tables in (`alter table … set schema`, which is instant); announce what the catch-up
//!    applied, as the live projection would have. Every projection's writers, and the readers
//!    of the rebuilt tables, wait for the length of the swap (typically milliseconds), then
//!    carry on against the new tables with the new positions: events the shadow already has
//!    are skipped as redeliveries. The swap waits at most [`LOCK_TIMEOUT`] for its locks (a
//!    long report query holds them off) and tries again, so it never queues the whole API
//!    behind a slow reader for long.
//!
//! Readers never see a half-built table: before the commit they read the old tables, after
//! it the new ones. One rebuild of a projection runs at a time (a session advisory lock).

use std::time::{Duration, Instant};

use sqlx::{PgConnection, PgPool};
use switchboard_commands::tail::{read_committed_after, TailPosition};
use switchboard_domain::envelope::RecordedEvent;
use switchboard_projections::runner::{announce_in, apply_quietly_in};
use switchboard_projections::{LogReader, Projection, ProjectionError};
use thiserror::Error;

/// Events applied per shadow transaction: small, because an open transaction holds back the
/// relay's commit-order tail until it ends.
const BATCH: i64 = 500;

/// How long the swap waits for its locks before it lets go and tries again.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the swap tries.
const SWAP_ATTEMPTS: u32 = 30;

/// The bookkeeping tables every projection shares, rebuilt for its own rows.
const SHARED: [&str; 2] = ["projection_stream_positions", "projection_dead_letters"];

#[derive(Debug, Error)]
pub enum RebuildError {
    #[error("storage failed: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("applying an event failed: {0}")]
    Projection(#[from] ProjectionError),
    #[error("projection and table names must be lower-case identifiers, not {0:?}")]
    BadName(String),
    #[error("the shadow copy of {table} has an index the live table lacks: {definition}")]
    UnmatchedIndex { table: String, definition: String },
    #[error("a rebuild of {0} is already running")]
    AlreadyRunning(String),
}

/// Where a rebuild stands, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Events applied to the shadow tables so far.
    pub applied: u64,
    /// Events in the log when the rebuild started (more may come).
    pub total: u64,
    pub elapsed: Duration,
}

impl Progress {
    pub fn events_per_second(&self) -> f64 {
        self.applied as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What a finished rebuild did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RebuildReport {
    pub events: u64,
    /// Of those, applied inside the swap's transaction.
    pub caught_up_at_swap: u64,
    pub elapsed: Duration,
}

/// Rebuilds `projection` from the log into shadow tables and swaps them in. `progress` is
/// called after every batch.
pub async fn rebuild<P: Projection>(
    pool: &PgPool,
    projection: &P,
    log: &dyn LogReader,
    mut progress: impl FnMut(Progress),
) -> Result<RebuildReport, RebuildError> {
    let name = projection.name();
    identifier(name)?;
    // Held on a connection of its own for the whole rebuild, released however it ends.
    let mut guard = pool.acquire().await?;
    let key = format!("switchboard rebuild {name}");
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_lock(hashtext($1))")
        .bind(&key)
        .fetch_one(&mut *guard)
        .await?;
    if !locked {
        return Err(RebuildError::AlreadyRunning(name.to_owned()));
    }
    let result = rebuild_locked(pool, projection, log, &mut progress).await;
    sqlx::query("select pg_advisory_unlock(hashtext($1))")
        .bind(&key)
        .execute(&mut *guard)
        .await?;
    result
}

async fn rebuild_locked<P: Projection>(
    pool: &PgPool,
    projection: &P,
    log: &dyn LogReader,
    progress: &mut impl FnMut(Progress),
) -> Result<RebuildReport, RebuildError> {
    let started = Instant::now();
    let name = projection.name();
    let shadow = format!("rebuild_{name}");
    let live: String = sqlx::query_scalar("select current_schema()")
        .fetch_one(pool)
        .await?;
    let tables: Vec<&str> = projection.tables().to_vec();
    for table in &tables {
        identifier(table)?;
    }
    create_shadow(pool, &live, &shadow, &tables).await?;
    let deferred = defer_bulk_indexes(pool, &shadow, &tables).await?;

    let total: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(pool)
        .await?;
    let mut replay = Replay {
        pool,
        projection,
        log,
        shadow: &shadow,
        live: &live,
        position: TailPosition::START,
        applied: 0,
        total: total as u64,
        started,
    };
    replay.catch_up(progress).await?;
    for create in &deferred {
        sqlx::query(create).execute(pool).await?;
    }
    // What was committed while the indexes were built, outside the swap's locks: the swap
    // then only applies the last moment's events.
    replay.catch_up(progress).await?;
    let (position, applied) = (replay.position, replay.applied);

    let mut attempt = 1;
    let caught_up = loop {
        match swap(pool, projection, log, &live, &shadow, &tables, position).await {
            Err(RebuildError::Storage(sqlx::Error::Database(db)))
                if attempt < SWAP_ATTEMPTS
                    // lock_not_available (our lock timeout), deadlock_detected
                    && matches!(db.code().as_deref(), Some("55P03" | "40P01")) =>
            {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => break other?,
        }
    };
    for table in &tables {
        sqlx::query(&format!("analyze {live}.{table}"))
            .execute(pool)
            .await?;
    }
    progress(Progress {
        applied: applied + caught_up,
        total: total as u64,
        elapsed: started.elapsed(),
    });
    sqlx::query(&format!("drop schema if exists {shadow}_old cascade"))
        .execute(pool)
        .await?;
    sqlx::query(&format!("drop schema if exists {shadow} cascade"))
        .execute(pool)
        .await?;
    Ok(RebuildReport {
        events: applied + caught_up,
        caught_up_at_swap: caught_up,
        elapsed: started.elapsed(),
    })
}

/// The replay into the shadow tables: where it is in the log and how much it applied.
struct Replay<'a, P> {
    pool: &'a PgPool,
    projection: &'a P,
    log: &'a dyn LogReader,
    shadow: &'a str,
    live: &'a str,
    position: TailPosition,
    applied: u64,
    /// Events in the log when the rebuild started, and when that was: for progress reports.
    total: u64,
    started: Instant,
}

impl<P: Projection> Replay<'_, P> {
    /// Applies every event committed after `position` to the shadow tables, one transaction
    /// per batch, moving `position` on.
    async fn catch_up(&mut self, progress: &mut impl FnMut(Progress)) -> Result<(), RebuildError> {
        loop {
            let batch = read_events(self.pool, &mut self.position).await?;
            if batch.is_empty() {
                return Ok(());
            }
            let mut tx = self.pool.begin().await?;
            shadow_first(&mut tx, self.shadow, self.live).await?;
            // A batch lost in a crash is replayed by the next rebuild, which starts afresh: no
            // need to wait for each commit's WAL flush.
            sqlx::query("set local synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
            // Nothing reads the shadow tables yet: what changed is nobody's news.
            apply_quietly_in(&mut tx, self.projection, self.log, &batch).await?;
            tx.commit().await?;
            self.applied += batch.len() as u64;
            progress(Progress {
                applied: self.applied,
                total: self.total,
                elapsed: self.started.elapsed(),
            });
        }
    }
}

/// The next committed events after `position`, moving it on.
async fn read_events(
    pool: &PgPool,
    position: &mut TailPosition,
) -> Result<Vec<RecordedEvent>, sqlx::Error> {
    let batch = read_committed_after(pool, *position, BATCH).await?;
    if let Some(last) = batch.last() {
        *position = TailPosition::after(last);
    }
    Ok(batch.into_iter().map(|logged| logged.event).collect())
}

/// Identifiers go into SQL text: only lower-case letters, digits and underscores.
fn identifier(name: &str) -> Result<(), RebuildError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(RebuildError::BadName(name.to_owned()))
    }
}

async fn shadow_first(tx: &mut PgConnection, shadow: &str, live: &str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("set local search_path to {shadow}, {live}"))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// A fresh shadow schema with empty copies of `tables` and of the shared bookkeeping tables,
/// their indexes named as the live ones (so the swapped-in tables are what the migrations
/// made).
async fn create_shadow(
    pool: &PgPool,
    live: &str,
    shadow: &str,
    tables: &[&str],
) -> Result<(), RebuildError> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("drop schema if exists {shadow}_old cascade"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("drop schema if exists {shadow} cascade"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("create schema {shadow}"))
        .execute(&mut *tx)
        .await?;
    for table in tables.iter().copied().chain(SHARED) {
        sqlx::query(&format!(
            "create table {shadow}.{table} (like {live}.{table} including all)"
        ))
        .execute(&mut *tx)
        .await?;
        let index_query = "select indexname,
                    (indexdef like 'CREATE UNIQUE%') as unique_index,
                    regexp_replace(indexdef, '^.* USING ', '') as definition
             from pg_indexes where schemaname = $1 and tablename = $2";
        let live_indexes: Vec<(String, bool, String)> = sqlx::query_as(index_query)
            .bind(live)
            .bind(table)
            .fetch_all(&mut *tx)
            .await?;
        let shadow_indexes: Vec<(String, bool, String)> = sqlx::query_as(index_query)
            .bind(shadow)
            .bind(table)
            .fetch_all(&mut *tx)
            .await?;
        for (name, unique, definition) in shadow_indexes {
            let original = live_indexes
                .iter()
                .find(|(_, u, d)| *u == unique && *d == definition)
                .map(|(n, _, _)| n)
                .ok_or_else(|| RebuildError::UnmatchedIndex {
                    table: table.to_string(),
                    definition: definition.clone(),
                })?;
            if *original != name {
                sqlx::query(&format!(
                    "alter index {shadow}.\"{name}\" rename to \"{original}\""
                ))
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Drops the shadow tables' search indexes (GIN and GiST: text search, tags) and returns the
/// statements that build them again. Maintaining such an index row by row costs far more than
/// building it once over the finished table, and a projection never reads through them while
/// it applies events (its lookups go by key). B-tree indexes stay: those lookups use them.
async fn defer_bulk_indexes(
    pool: &PgPool,
    shadow: &str,
    tables: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "select tablename, indexname, regexp_replace(indexdef, '^.* USING ', '')
         from pg_indexes
         where schemaname = $1 and tablename = any($2)
           and indexdef not like 'CREATE UNIQUE%'
           and (indexdef like '% USING gin %' or indexdef like '% USING gist %')
         order by tablename, indexname",
    )
    .bind(shadow)
    .bind(tables)
    .fetch_all(pool)
    .await?;
    let mut creates = Vec::with_capacity(indexes.len());
    for (table, index, definition) in indexes {
        sqlx::query(&format!("drop index {shadow}.\"{index}\""))
            .execute(pool)
            .await?;
        creates.push(format!(
            "create index \"{index}\" on {shadow}.{table} using {definition}"
        ));
    }
    Ok(creates)
}

/// Catches the shadow up under lock and swaps it in. Returns the events applied meanwhile.
async fn swap<P: Projection>(
    pool: &PgPool,
    projection: &P,
    log: &dyn LogReader,
    live: &str,
    shadow: &str,
    tables: &[&str],
    mut position: TailPosition,
) -> Result<u64, RebuildError> {
    let name = projection.name();
    let mut tx = pool.begin().await?;
    sqlx::query(&format!(
        "set local lock_timeout = {}",
        LOCK_TIMEOUT.as_millis()
    ))
    .execute(&mut *tx)
    .await?;
    // Positions first: a live projection takes its position row before it touches its
    // tables or its dead letters, so this order cannot deadlock with one.
    sqlx::query(&format!(
        "lock table {live}.projection_stream_positions, {live}.projection_dead_letters
         in exclusive mode"
    ))
    .execute(&mut *tx)
    .await?;
    let live_tables: Vec<String> = tables.iter().map(|t| format!("{live}.{t}")).collect();
    sqlx::query(&format!(
        "lock table {} in access exclusive mode",
        live_tables.join(", ")
    ))
    .execute(&mut *tx)
    .await?;
    shadow_first(&mut tx, shadow, live).await?;

    // What was committed since the replay read it.
    let mut caught_up = 0u64;
    let mut changes = Vec::new();
    loop {
        let batch = read_events(pool, &mut position).await?;
        if batch.is_empty() {
            break;
        }
        caught_up += batch.len() as u64;
        changes.extend(apply_quietly_in(&mut tx, projection, log, &batch).await?);
    }
    // What the live projection applied beyond that (an event committed behind a long
    // transaction reaches Kafka before the commit-order read sees it): the shadow must not
    // be behind the live tables in any stream.
    let ahead: Vec<(uuid::Uuid, i32, i32)> = sqlx::query_as(&format!(
        "select l.stream_id, coalesce(s.version, 0), l.version
         from {live}.projection_stream_positions l
         left join {shadow}.projection_stream_positions s
           on s.projection = l.projection and s.stream_id = l.stream_id
         where l.projection = $1 and l.version > coalesce(s.version, 0)"
    ))
    .bind(name)
    .fetch_all(&mut *tx)
    .await?;
    for (stream_id, shadow_version, live_version) in ahead {
        let missing: Vec<RecordedEvent> = log
            .read_stream(stream_id, shadow_version)
            .await?
            .into_iter()
            .filter(|e| e.stream_version <= live_version)
            .collect();
        caught_up += missing.len() as u64;
        changes.extend(apply_quietly_in(&mut tx, projection, log, &missing).await?);
    }
    // The live projection will skip these events as already applied: tell the API nodes now
    // (delivered when the swap commits).
    announce_in(&mut tx, &changes).await?;

    for table in SHARED {
        sqlx::query(&format!("delete from {live}.{table} where projection = $1"))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "insert into {live}.{table} select * from {shadow}.{table} where projection = $1"
        ))
        .bind(name)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(&format!("create schema {shadow}_old"))
        .execute(&mut *tx)
        .await?;
    for table in tables {
        sqlx::query(&format!(
            "alter table {live}.{table} set schema {shadow}_old"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!("alter table {shadow}.{table} set schema {live}"))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(caught_up)
}

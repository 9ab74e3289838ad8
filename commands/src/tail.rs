//! Reading the whole log in commit-safe order.
//!
//! `global_position` comes from an identity sequence, taken before commit: a transaction that
//! took position 10 may commit after the one that took 11. A reader that followed positions
//! would read 11, move on, and never see 10. So we read only rows whose transaction is older
//! than every transaction still running (`transaction_id < pg_snapshot_xmin(...)`: those have
//! all committed or aborted), ordered by `(transaction_id, global_position)`, and resume after
//! the last pair seen. Within a stream this is version order, because an append does no write
//! before its insert (see the crate docs).
//!
//! The cost: a transaction left open anywhere in the cluster holds the horizon back, so reads
//! stall until it ends. Append transactions are one statement; the service sets
//! `idle_in_transaction_session_timeout` on its connections.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;

use crate::log::{decode_row, LoggedEvent, EVENTS_CHANNEL, EVENT_COLUMNS};

/// A place in commit order: after the event `(transaction_id, global_position)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct TailPosition {
    pub transaction_id: i64,
    pub global_position: i64,
}

impl TailPosition {
    /// Before the first event.
    pub const START: TailPosition = TailPosition {
        transaction_id: 0,
        global_position: 0,
    };

    pub fn after(event: &LoggedEvent) -> Self {
        Self {
            transaction_id: event.transaction_id,
            global_position: event.event.global_position,
        }
    }
}

/// Up to `limit` committed events after `after`, in commit order. Returns fewer (or none)
/// when later events are still behind an open transaction.
///
/// The order names the table's columns: the select list's `transaction_id` is the `bigint`
/// cast, and ordering by that would sort every later event instead of reading the first
/// `limit` of them from `events_commit_order_idx`.
pub async fn read_committed_after(
    pool: &PgPool,
    after: TailPosition,
    limit: i64,
) -> Result<Vec<LoggedEvent>, sqlx::Error> {
    sqlx::query(&committed_after_sql())
        .bind(after.transaction_id)
        .bind(after.global_position)
        .bind(limit)
        .fetch_all(pool)
        .await?
        .iter()
        .map(decode_row)
        .collect()
}

/// The statement [`read_committed_after`] runs: `$1`, `$2` the position, `$3` the limit.
/// Public so a test can check its plan.
pub fn committed_after_sql() -> String {
    format!(
        "select {EVENT_COLUMNS} from events
         where (transaction_id, global_position) > ($1::bigint::text::xid8, $2)
           and transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         order by events.transaction_id, events.global_position
         limit $3"
    )
}

/// Settings for a [`LogTail`].
#[derive(Debug, Clone)]
pub struct TailConfig {
    /// The most events one [`LogTail::next_batch`] returns.
    pub batch_size: i64,
    /// How long to wait for a notification before reading anyway. Notifications are only a
    /// wake-up: an aborted transaction or one in another database can move the horizon
    /// without notifying us.
    pub poll_interval: Duration,
}

impl Default for TailConfig {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// A follower of the log: yields every committed event once, in commit order, waiting for
/// new ones as they commit.
pub struct LogTail {
    pool: PgPool,
    listener: PgListener,
    position: TailPosition,
    config: TailConfig,
}

impl LogTail {
    /// Starts listening before the first read, so no commit between the two is missed.
    pub async fn start(
        pool: PgPool,
        position: TailPosition,
        config: TailConfig,
    ) -> Result<Self, sqlx::Error> {
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(EVENTS_CHANNEL).await?;
        Ok(Self {
            pool,
            listener,
            position,
            config,
        })
    }

    /// The position after the last event returned.
    pub fn position(&self) -> TailPosition {
        self.position
    }

    /// Moves the tail back (or forward) to `position`, e.g. to the last checkpoint after a
    /// failed publish.
    pub fn rewind(&mut self, position: TailPosition) {
        self.position = position;
    }

    /// The next non-empty batch of committed events; waits until there is one.
    pub async fn next_batch(&mut self) -> Result<Vec<LoggedEvent>, sqlx::Error> {
        loop {
            let batch =
                read_committed_after(&self.pool, self.position, self.config.batch_size).await?;
            if let Some(last) = batch.last() {
                self.position = TailPosition::after(last);
                return Ok(batch);
            }
            self.wait().await?;
        }
    }

    /// Waits for a notification or the poll interval, then drains any further notifications
    /// so one read answers them all.
    async fn wait(&mut self) -> Result<(), sqlx::Error> {
        match tokio::time::timeout(self.config.poll_interval, self.listener.try_recv()).await {
            Err(_elapsed) => return Ok(()),
            // `None`: the connection was lost; the next call reconnects. Reading covers the gap.
            Ok(result) => {
                result?;
            }
        }
        while self.listener.next_buffered().is_some() {}
        Ok(())
    }
}

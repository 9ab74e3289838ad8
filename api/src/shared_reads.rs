//! One read for many subscribers: when a change wakes every subscription of a conversation,
//! the first to ask reads the new messages and the rest share that result (single flight).
//!
//! A shared result is only handed to subscribers woken by the same change: the key holds the
//! version the change announced, and the read starts after the change's notification, which
//! PostgreSQL delivers after the commit. So a shared result always holds the message that woke
//! its readers; a later message brings its own notification and its own read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt, Shared};
use sqlx::PgPool;
use switchboard_projections::conversations::read::{self, Audience, MessageRow};
use uuid::Uuid;

/// Which read: the conversation, who reads it, after which version, how many, and the
/// version of the change that woke the readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    conversation_id: Uuid,
    /// Operators (true) or the contact: `Audience` itself is not hashable.
    operators: bool,
    after_version: i32,
    limit: i64,
    woken_by: i32,
}

type Rows = Result<Arc<Vec<MessageRow>>, Arc<sqlx::Error>>;

/// A read under way or just finished, with when it started.
type Read = (Instant, Shared<BoxFuture<'static, Rows>>);

/// How long a finished read stays shareable: the subscribers one change wakes ask within
/// milliseconds of each other, even a thousand of them on two cores.
const KEEP: Duration = Duration::from_secs(2);

#[derive(Clone, Default)]
pub struct MessageReads {
    reads: Arc<Mutex<HashMap<Key, Read>>>,
}

impl MessageReads {
    /// Up to `limit` messages after `after_version`, read once for every subscriber that a
    /// change to version `woken_by` woke at this position.
    pub async fn messages(
        &self,
        pool: &PgPool,
        conversation_id: Uuid,
        audience: Audience,
        after_version: i32,
        limit: i64,
        woken_by: i32,
    ) -> Rows {
        let key = Key {
            conversation_id,
            operators: audience == Audience::Operators,
            after_version,
            limit,
            woken_by,
        };
        let read = {
            let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            reads.retain(|_, (started, _)| now.duration_since(*started) < KEEP);
            reads
                .entry(key)
                .or_insert_with(|| {
                    let pool = pool.clone();
                    let read = async move {
                        read::messages(&pool, conversation_id, audience, after_version, limit)
                            .await
                            .map(Arc::new)
                            .map_err(Arc::new)
                    };
                    (now, read.boxed().shared())
                })
                .1
                .clone()
        };
        read.await
    }
}

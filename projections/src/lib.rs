//! Switchboard's read side: projections that turn events into the tables the API reads.
//!
//! # Architecture invariant
//! A projection writes its rows and its progress (`projection_stream_positions`) in one
//! transaction, and applies an event only if its stream version is the next one it expects:
//! a redelivered event changes nothing, a missing one is fetched from the log (through
//! [`LogReader`]) before the event that revealed the gap. After commit, a [`Change`] goes out on
//! PostgreSQL channel [`CHANGES_CHANNEL`] for API nodes to push to subscribers.
//!
//! # API boundary
//! - [`runner`]: the Kafka consumer loop that feeds a projection.
//! - [`conversations`]: the inbox list and conversation threads, with the queries that read them.
//! - [`inboxes`]: inboxes (INBOX-1) and the widget-token lookup.
//! - [`sla`]: response and resolution times against each inbox's SLA policy (PROJ-3).
//! - [`webhooks`]: which events become webhook deliveries (PROJ-4), and the ordering rule.
//! - [`notifications`]: which events are told to whom over Telegram and e-mail (TG-2, TG-4,
//!   CALL-2).
//! - [`Projection`], [`LogReader`], [`Change`]: what a projection implements, what it needs,
//!   what it announces.
//! - [`Catalogue`]: the one list of every projection, which the process wiring, `/metrics`
//!   and rebuilds read.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use switchboard_domain::envelope::RecordedEvent;
use thiserror::Error;
use uuid::Uuid;

pub mod conversations;
pub mod inboxes;
pub mod notifications;
pub mod operators;
pub mod runner;
pub mod sla;
pub mod webhooks;

/// Declares [`Catalogue`], its list [`Catalogue::ALL`] and [`Catalogue::name`] from one list,
/// so a projection cannot be in one and missing from another.
macro_rules! catalogue {
    ($($variant:ident => $name:literal,)+) => {
        /// Every projection, the one list of them: what the process runs, what `/metrics`
        /// reports the lag of, and what a rebuild may name. A new projection gets a line in
        /// this list, and the compiler then points at every `match` that must run or rebuild
        /// it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Catalogue {
            $($variant,)+
        }

        impl Catalogue {
            /// Every projection, in the order they are started.
            pub const ALL: &'static [Catalogue] = &[$(Catalogue::$variant,)+];

            /// The name the projection's progress, consumer group and metrics are kept under
            /// (its [`Projection::name`]).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Catalogue::$variant => $name,)+
                }
            }
        }
    };
}

catalogue! {
    Conversations => "conversations",
    Inboxes => "inboxes",
    Operators => "operators",
    Sla => "sla",
    Webhooks => "webhooks",
    Notifications => "notifications",
}

impl Catalogue {
    /// The projection called `name`.
    pub fn named(name: &str) -> Option<Catalogue> {
        Catalogue::ALL.iter().copied().find(|p| p.name() == name)
    }

    /// Whether a rebuild (AUD-5) may replay it. The webhooks and notifications projections are
    /// outboxes: replaying them would insert deliveries and notifications for events already
    /// acted on, so they are never rebuilt.
    pub const fn rebuildable(self) -> bool {
        !matches!(self, Catalogue::Webhooks | Catalogue::Notifications)
    }

    /// The names of every projection.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Catalogue::ALL.iter().map(|p| p.name())
    }

    /// The names of the projections a rebuild may name.
    pub fn rebuildable_names() -> impl Iterator<Item = &'static str> {
        Catalogue::ALL
            .iter()
            .filter(|p| p.rebuildable())
            .map(|p| p.name())
    }
}

/// The PostgreSQL channel on which projections announce committed changes.
pub const CHANGES_CHANNEL: &str = "switchboard_changes";

/// What changed in a read model, announced after commit. Small by design (NOTIFY payloads are
/// limited to 8000 bytes): listeners read the rows themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    ConversationStarted {
        conversation_id: Uuid,
    },
    /// A message or, with `internal`, an operator's note joined the thread.
    MessagePosted {
        conversation_id: Uuid,
        message_id: Uuid,
        stream_version: i32,
        internal: bool,
    },
    /// Status, priority or tags changed.
    ConversationUpdated {
        conversation_id: Uuid,
    },
    /// An inbox was created or changed.
    InboxUpdated {
        inbox_id: Uuid,
    },
    OperatorUpdated {
        operator_id: Uuid,
    },
}

impl Change {
    /// The conversation that changed, if a conversation did.
    pub fn conversation_id(&self) -> Option<Uuid> {
        match self {
            Change::ConversationStarted { conversation_id }
            | Change::ConversationUpdated { conversation_id }
            | Change::MessagePosted {
                conversation_id, ..
            } => Some(*conversation_id),
            Change::InboxUpdated { .. } | Change::OperatorUpdated { .. } => None,
        }
    }
}

#[derive(Debug, Error)]
pub enum ProjectionError {
    #[error("projection storage failed: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("the log has no events {from}..{to} of stream {stream_id}")]
    MissingEvents { stream_id: Uuid, from: i32, to: i32 },
    #[error("consuming from Kafka failed: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

impl ProjectionError {
    /// Will trying the same event again fail the same way? Data and constraint errors
    /// (SQLSTATE classes 22 and 23) and a log without the missing events will; a lost
    /// connection or a full pool will not.
    pub fn is_permanent(&self) -> bool {
        match self {
            ProjectionError::Storage(sqlx::Error::Database(db)) => db
                .code()
                .is_some_and(|code| code.starts_with("22") || code.starts_with("23")),
            ProjectionError::MissingEvents { .. } => true,
            _ => false,
        }
    }
}

/// What applying one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The read model changed; listeners are told after commit.
    Changed(Change),
    /// The event does not concern this projection.
    Ignored,
    /// The projection cannot read the event (unknown type or version, malformed payload). It
    /// goes to `projection_dead_letters` with this reason, and the stream moves on.
    Unreadable(String),
}

/// A read model built from events.
pub trait Projection: Send + Sync + 'static {
    /// Names the projection's progress rows and its consumer group.
    fn name(&self) -> &'static str;

    /// The tables the projection owns: it alone writes them, and a rebuild (AUD-5) replaces
    /// them whole. Its rows in `projection_stream_positions` and `projection_dead_letters`
    /// go with them.
    fn tables(&self) -> &'static [&'static str];

    /// Whether [`Projection::apply`] does anything with events of `event_type`. False
    /// promises that `apply` returns [`Applied::Ignored`], without touching the database, for
    /// every event of that type that decodes: the runner then only moves the stream's
    /// position past it (an event that does not decode, of an unknown type for one, still
    /// goes to `apply`, to be dead-lettered). By default, every type.
    fn handles(&self, _event_type: &str) -> bool {
        true
    }

    /// Whether applying an event of `event_type` reads this projection's progress
    /// (`projection_stream_positions`). The runner writes a batch's progress once, at its
    /// end; before such an event it writes what the batch applied so far, so the read sees
    /// every earlier event as applied. By default, no type.
    fn reads_progress(&self, _event_type: &str) -> bool {
        false
    }

    /// Applies one event inside the caller's transaction. Events of the types it
    /// [handles](Projection::handles) arrive once each, in stream order. A projection that
    /// must read events of the log itself reads them through `log`.
    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        log: &'a dyn LogReader,
        event: &'a RecordedEvent,
    ) -> impl Future<Output = Result<Applied, ProjectionError>> + Send + 'a;
}

/// How many events of the log each projection of the [`Catalogue`] has yet to apply (its
/// lag), by name.
/// Counts per stream, against the log's heads: exact, and a full pass over the log's
/// stream index, so meant for a metrics scrape, not a hot path.
pub async fn lag(pool: &sqlx::PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let projections: Vec<&str> = Catalogue::names().collect();
    sqlx::query_as(
        "with heads as (select stream_id, max(stream_version) as version
                        from events group by stream_id)
         select p.name, coalesce(sum(h.version - coalesce(s.version, 0)), 0)::int8
         from unnest($1::text[]) as p(name)
         left join heads h on true
         left join projection_stream_positions s
           on s.projection = p.name and s.stream_id = h.stream_id
         group by p.name
         order by p.name",
    )
    .bind(&projections)
    .fetch_all(pool)
    .await
}

/// Reads a stream from the event log, to fill a gap Kafka left (after a broker lost its
/// data, or when a projection starts after the topic's retention).
pub trait LogReader: Send + Sync + 'static {
    fn read_stream(
        &self,
        stream_id: Uuid,
        after_version: i32,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<RecordedEvent>, sqlx::Error>> + Send + '_>>;

    /// The events of `streams` (each up to the version it names) recorded after
    /// `after_position`, and those of `or_types` whatever their position, in stream and version
    /// order, with personal data opened (or erased, GDPR-2). Read on `conn`, the caller's
    /// transaction, so the versions it names are exactly those it sees applied.
    fn read_streams_on<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        streams: &'a [(Uuid, i32)],
        after_position: i64,
        or_types: &'a [&'a str],
    ) -> Pin<Box<dyn Future<Output = Result<Vec<RecordedEvent>, sqlx::Error>> + Send + 'a>>;
}

#[cfg(test)]
mod tests {
    use switchboard_domain::DomainEvent;

    #[test]
    fn the_catalogue_names_each_projection_as_it_names_itself() {
        use crate::{Catalogue, Projection};
        let named = |p: Catalogue| match p {
            Catalogue::Conversations => crate::conversations::ConversationsProjection.name(),
            Catalogue::Inboxes => crate::inboxes::InboxesProjection.name(),
            Catalogue::Operators => crate::operators::OperatorsProjection.name(),
            Catalogue::Sla => crate::sla::SlaProjection.name(),
            Catalogue::Webhooks => crate::webhooks::WebhooksProjection.name(),
            Catalogue::Notifications => crate::notifications::NotificationsProjection.name(),
        };
        for &projection in Catalogue::ALL {
            assert_eq!(projection.name(), named(projection));
            assert_eq!(Catalogue::named(projection.name()), Some(projection));
        }
        assert_eq!(
            Catalogue::rebuildable_names().collect::<Vec<_>>(),
            ["conversations", "inboxes", "operators", "sla"]
        );
    }

    #[test]
    fn the_listed_event_types_exist() {
        // A misspelt name in a projection's list would leave the events of its type unapplied.
        let lists = [
            crate::conversations::IGNORED,
            crate::inboxes::HANDLED,
            crate::notifications::HANDLED,
            crate::operators::HANDLED,
            crate::sla::HANDLED,
            crate::webhooks::HANDLED,
            crate::webhooks::SNAPSHOT_EVENTS,
        ];
        for event_type in lists.into_iter().flatten() {
            assert!(DomainEvent::TYPES.contains(event_type), "{event_type}");
        }
    }
}

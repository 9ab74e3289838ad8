//! AUD-3: the events of a conversation, of a contact or of a time range, as JSON Lines.
//!
//! One line per event, in global position order, each the event exactly as Kafka carries it
//! ([`RecordedEvent`]'s JSON: payload, metadata, position, stream, version, time). Personal
//! data is shown as it reads today: in the clear, or `"[erased]"` once its contact was erased
//! (GDPR-2). The hashes are not in the lines: `replay verify` checks them where they live.

use std::io::Write;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use switchboard_commands::log::{
    conversations_of_contact, read_filtered, EventFilter, LoggedEvent,
};
use switchboard_domain::envelope::RecordedEvent;
use thiserror::Error;
use uuid::Uuid;

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportScope {
    /// One conversation's stream.
    Conversation(Uuid),
    /// Every conversation the contact started, and the contact's own stream (its erasure).
    Contact(Uuid),
    /// Every event recorded in `[from, to)`.
    Range {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

#[derive(Debug, Error)]
pub enum ExportError {
    #[error("reading the log failed: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("writing the export failed: {0}")]
    Write(#[from] std::io::Error),
    #[error("the range is empty: `to` must be after `from`")]
    EmptyRange,
}

/// Events read per round trip.
const PAGE: i64 = 1_000;

/// The filter that selects `scope`'s events.
pub async fn filter_for(pool: &PgPool, scope: &ExportScope) -> Result<EventFilter, ExportError> {
    Ok(match scope {
        ExportScope::Conversation(id) => EventFilter {
            streams: Some(vec![*id]),
            ..EventFilter::default()
        },
        ExportScope::Contact(id) => {
            let mut streams = conversations_of_contact(pool, *id).await?;
            streams.push(*id);
            EventFilter {
                streams: Some(streams),
                ..EventFilter::default()
            }
        }
        ExportScope::Range { from, to } => {
            if to <= from {
                return Err(ExportError::EmptyRange);
            }
            EventFilter {
                recorded_from: Some(*from),
                recorded_before: Some(*to),
                ..EventFilter::default()
            }
        }
    })
}

/// Writes `scope`'s events to `out`, one JSON object a line; returns how many.
pub async fn export(
    pool: &PgPool,
    scope: &ExportScope,
    out: &mut impl Write,
) -> Result<u64, ExportError> {
    let filter = filter_for(pool, scope).await?;
    let mut written = 0;
    for_each_event(pool, &filter, |logged| {
        write_line(out, &logged.event)?;
        written += 1;
        Ok::<_, ExportError>(())
    })
    .await?;
    out.flush()?;
    Ok(written)
}

/// Calls `each` with every event `filter` selects, in global position order, reading a page
/// at a time.
pub(crate) async fn for_each_event<E: From<sqlx::Error>>(
    pool: &PgPool,
    filter: &EventFilter,
    mut each: impl FnMut(LoggedEvent) -> Result<(), E>,
) -> Result<(), E> {
    let mut after = 0;
    loop {
        let page = read_filtered(pool, filter, after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.event.global_position;
        for logged in page {
            each(logged)?;
        }
    }
}

fn write_line(out: &mut impl Write, event: &RecordedEvent) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, event)?;
    out.write_all(b"\n")
}

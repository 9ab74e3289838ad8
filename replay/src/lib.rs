//! Tools for auditors and operators that read the log as history.
//!
//! - [`verify_chains`] (AUD-2) recomputes every event's hash from its content and its
//!   predecessor's hash and names the first event where a chain breaks.
//! - [`export::export`] (AUD-3) writes the events of a conversation, a contact or a time
//!   range as JSON Lines.
//! - [`state::conversation_at`] (AUD-4) folds a conversation from the log up to an instant.
//! - [`gdpr::contact_data`] (GDPR-1) gathers everything the log holds about a contact.
//! - [`rebuild::rebuild`] (AUD-5) rebuilds a projection from the log into shadow tables and
//!   swaps them in while the service runs.
//!
//! # Architecture invariant
//! Read-only on the log: nothing here writes to it. A rebuild writes only the rebuilt
//! projection's tables.

pub mod export;
pub mod gdpr;
pub mod rebuild;
pub mod state;

use sqlx::PgPool;
use switchboard_commands::hash::{event_hash, HashedFields};
use switchboard_commands::log::LoggedEvent;
use switchboard_commands::tail::{read_committed_after, TailPosition};
use thiserror::Error;
use uuid::Uuid;

/// The first place a stream's chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub stream_id: Uuid,
    pub stream_version: i32,
    pub global_position: i64,
    pub reason: &'static str,
}

/// What a full verification saw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    pub events: u64,
    pub streams: u64,
    /// The first break of each broken stream, in the order they were met.
    pub broken: Vec<BrokenLink>,
}

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("reading the log failed: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Recomputes every hash chain in the log (all committed events at the time of reading).
pub async fn verify_chains(pool: &PgPool) -> Result<VerifyReport, VerifyError> {
    use std::collections::HashMap;
    // stream -> (last version, last hash), or None once broken (report the first break only).
    let mut heads: HashMap<Uuid, Option<(i32, Vec<u8>)>> = HashMap::new();
    let mut report = VerifyReport::default();
    let mut position = TailPosition::START;
    loop {
        let batch = read_committed_after(pool, position, 5_000).await?;
        let Some(last) = batch.last() else { break };
        position = TailPosition::after(last);
        for logged in &batch {
            report.events += 1;
            let entry = heads.entry(logged.event.stream_id).or_insert_with(|| {
                report.streams += 1;
                Some((0, Vec::new()))
            });
            let Some((version, hash)) = entry else {
                continue;
            };
            let expected_prev = (*version > 0).then_some(hash.as_slice());
            if let Some(reason) = check_link(logged, *version, expected_prev) {
                report.broken.push(BrokenLink {
                    stream_id: logged.event.stream_id,
                    stream_version: logged.event.stream_version,
                    global_position: logged.event.global_position,
                    reason,
                });
                *entry = None;
            } else {
                *entry = Some((logged.event.stream_version, logged.hash.clone()));
            }
        }
    }
    Ok(report)
}

fn check_link(
    logged: &LoggedEvent,
    prev_version: i32,
    prev_hash: Option<&[u8]>,
) -> Option<&'static str> {
    let e = &logged.event;
    if e.stream_version != prev_version + 1 {
        return Some("stream version does not follow its predecessor");
    }
    if logged.prev_hash.as_deref() != prev_hash {
        return Some("prev_hash is not the predecessor's hash");
    }
    let recomputed = event_hash(
        prev_hash,
        &HashedFields {
            stream_id: e.stream_id,
            stream_type: &e.stream_type,
            stream_version: e.stream_version,
            event_id: e.event_id,
            event_type: &e.event_type,
            schema_version: e.schema_version,
            payload: logged.stored_payload(),
            metadata: logged.stored_metadata(),
            recorded_at: e.recorded_at,
        },
    );
    (recomputed.as_slice() != logged.hash.as_slice())
        .then_some("hash does not match the event's content")
}

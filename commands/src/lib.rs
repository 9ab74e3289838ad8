//! Switchboard's write side: the append-only event log, the command handlers that guard the
//! conversation invariants, and the relay that publishes the log to Kafka.
//!
//! # Architecture invariant
//! The only way anything is written to `events` is [`log::EventLog::append`] (or
//! [`log::append_on`]): one `INSERT` statement per append or per group of appends of distinct
//! streams, with no write before it in its transaction: that is what keeps the commit-order
//! tail ([`tail`]) in per-stream order. All SQL that touches `events` lives in
//! [`log`] and [`tail`].
//!
//! # API boundary
//! - [`log`]: append with an expected version, read a stream, the hash chain (AUD-2).
//! - [`tail`]: read the whole log in commit-safe order, woken by LISTEN/NOTIFY.
//! - [`handler`]: load → decide → append, retried on version conflicts, idempotent by command id.
//! - [`seal`]: contacts' personal data sealed with their key on append, opened on read
//!   (GDPR-2).
//! - [`relay`]: log → Kafka, checkpointed after the broker's acknowledgement.
//! - [`MIGRATOR`]: the schema of every Switchboard table, applied by `switchboard migrate`.

pub mod handler;
pub mod hash;
pub mod kafka;
pub mod log;
pub mod relay;
pub mod seal;
pub mod tail;

/// The SQL migrations in `migrations/`, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

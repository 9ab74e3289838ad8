//! Switchboard's domain: what happened (events), what may happen (deciders), and the value
//! objects both speak in.
//!
//! # Architecture invariant
//! This crate does no IO and nothing async. Time and ids come in from the caller, so every
//! decision is a pure function of its inputs and is tested as given events / when command /
//! then events or error.
//!
//! Files import one another in one direction only, never around a circle. The values events
//! carry live in leaf files of their aggregate (`conversation/status.rs`,
//! `inbox/settings.rs`, `operator/role.rs`, `operator/profile.rs`, `webhook/types.rs`) that
//! import no events and no decider; [`event`], [`envelope`] and [`error`] import those files
//! by their own paths, and the deciders import [`event`]. A parent `mod.rs` declares and
//! re-exports its children; they do not import it (tests aside).
//!
//! # API boundary
//! - [`event`]: the event catalogue ([`event::DomainEvent`]) and its JSON contract: the names
//!   and schema versions integrators see on Kafka and in webhooks.
//! - [`envelope`]: what the log stores around an event (stream, version, metadata).
//! - [`decider`]: the shape of every aggregate (`initial_state`, `decide`, `evolve`).
//! - [`error`]: [`DomainError`], why any decider refused a command.
//! - [`conversation`]: the conversation aggregate (CONV, OPS-1..5, INBOX-5).
//! - [`inbox`]: the inbox aggregate and its settings: routing, capacity, escalation,
//!   messages (INBOX-1..5).
//! - [`operator`]: the operator aggregate, roles and the conversations each may work
//!   (OPS-1, OPS-2).
//! - [`contact`]: contacts' personal data in events, and erasure (GDPR-1, GDPR-2).
//! - [`assignment`]: who gets a queued conversation or an escalation (OPS-2, OPS-3).
//! - [`attachment`]: attachment types (told from the bytes) and per-inbox limits (CONV-7).
//! - [`hours`]: working hours per weekday in a time zone, with holidays (INBOX-3). chrono-tz
//!   supplies the IANA time-zone database: hand-kept offsets would be wrong at the next
//!   daylight-saving change.
//! - [`webhook`]: webhook endpoints (PROJ-4): the endpoint aggregate, the webhook event
//!   types, how events map to them and the body integrators receive.
//! - [`values`]: validated value objects ([`values::MessageBody`], …): a value of these types
//!   has already passed its checks.

#[macro_use]
mod text_enum;

pub mod assignment;
pub mod attachment;
pub mod contact;
pub mod conversation;
pub mod decider;
pub mod envelope;
pub mod error;
pub mod event;
pub mod hours;
pub mod inbox;
pub mod operator;
pub mod values;
pub mod webhook;

pub use conversation::{Conversation, ConversationCommand};
pub use envelope::{Actor, ActorKind, EventMetadata};
pub use error::DomainError;
pub use event::{DomainEvent, EventDecodeError};

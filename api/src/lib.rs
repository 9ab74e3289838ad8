//! Switchboard's front door and its process: the GraphQL API (queries, mutations,
//! subscriptions over graphql-transport-ws), authentication, health endpoints, and the wiring
//! that runs the API, the relay and the projections in one process or apart.
//!
//! # Architecture invariant
//! Resolvers are thin: they authenticate through [`auth`] (never on their own), turn input into
//! domain commands, and hand them to `switchboard_commands`; reads go to the projections' query
//! functions. The status machine and every other invariant stay in `switchboard_domain`.
//!
//! # API boundary
//! - [`config::Settings`]: every setting, from flags or `SWITCHBOARD_*` variables.
//! - [`runtime::start`]: starts the chosen [`runtime::Component`]s and returns a handle.
//! - [`graphql::build_schema`]: the schema, split by the user it serves (widget, operator).
//! - [`auth`]: operator and widget-session tokens.
//! - [`scheduler`]: deadlines (inactivity, retention, waits, auto-replies) turned into system
//!   commands; [`dispatcher`]: auto-assignment and escalation.
//! - [`attachments`]: the attachment store and the upload and download endpoints.
//! - [`webhooks`]: the webhook delivery worker (signing, retries, dead letters, disabling)
//!   and the webhook secrets (PROJ-4).
//! - [`privacy`]: contacts' data exported (GDPR-1) and erased (GDPR-2).
//! - [`telegram`]: the Telegram bot, its webhook and link tokens (TG-1..5);
//!   [`notifier`]: Telegram and e-mail notifications sent, retried and recorded (TG-2,
//!   CALL-2, INT-3); [`outbox`]: the wake-ups both outbox workers share.
//! - [`limits`]: rate limits per IP and per widget token (SEC-2); [`metrics`]: what
//!   `/metrics` reports (OPS-M1). Who may call what is `ACCESS.md` at the workspace root.

pub mod attachments;
pub mod auth;
pub mod changes;
pub mod config;
pub mod dispatcher;
pub mod error;
pub mod geoip;
pub mod graphql;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod notifier;
pub mod outbox;
pub mod privacy;
pub mod runtime;
pub mod scheduler;
pub mod shared_reads;
pub mod telegram;
pub mod webhooks;

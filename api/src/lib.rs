//! Switchboard's request surface: everything that answers a request, and nothing that runs on
//! its own. The GraphQL API (queries, mutations, subscriptions over graphql-transport-ws and the
//! change feed that feeds them), the HTTP routes around it (health, readiness, `/metrics`,
//! attachments, the Telegram webhook), authentication and the abuse limits. The background
//! workers are `switchboard-workers`; the process that runs both is `switchboard-server`.
//!
//! # Architecture invariant
//! Resolvers are thin: they authenticate through [`auth`] (never on their own), turn input into
//! domain commands, and hand them to `switchboard_commands`; reads go to the projections' query
//! functions. The status machine and every other invariant stay in `switchboard_domain`.
//!
//! # What it may import
//! `switchboard-domain`, `switchboard-commands` (the handlers and the log), `switchboard-projections`
//! (the read queries), `switchboard-replay` (GDPR export) and, from `switchboard-workers`, only
//! the Bot API client (the bot answers in the chat) and the webhook secrets and deliveries store.
//! Never the composition root (`switchboard-server`), which depends on this crate.
//!
//! # API boundary
//! - [`http::router`]: the routes; [`state::HttpState`]: what they share; [`request`]: what
//!   is known of the request being served.
//! - [`graphql::build_schema`]: the schema, split by the user it serves (visitor, operator,
//!   admin, analyst, auditor); [`changes`] fans the projections' notifications out to it.
//! - [`auth`]: operator and widget-session tokens; [`sign_in`]: operators' passwords, console
//!   sessions and one-time links; [`error`]: every failure as a stable code.
//! - [`attachments`]: the attachment store and the upload and download endpoints.
//! - [`privacy`]: contacts' data exported (GDPR-1) and erased (GDPR-2).
//! - [`telegram`]: the Telegram bot, its webhook and link tokens (TG-1..5).
//! - [`web`]: what browsers load: the console at `/`, `/widget.js` (the chat widget), the
//!   `/demo` host page and the `/chat/resume` page, all embedded in the binary.
//! - [`limits`]: rate limits per IP and per widget token (SEC-2); [`metrics`]: what
//!   `/metrics` reports (OPS-M1). Who may call what is `ACCESS.md` at the workspace root.

pub mod attachments;
pub mod auth;
pub mod changes;
pub mod error;
pub mod geoip;
pub mod graphql;
pub mod http;
pub mod identity;
pub mod limits;
pub mod metrics;
pub mod privacy;
pub mod request;
pub mod shared_reads;
pub mod sign_in;
pub mod state;
pub mod telegram;
pub mod web;

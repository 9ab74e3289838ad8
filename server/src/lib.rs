//! The composition root: the one place where Switchboard's parts are put together into a
//! process. It owns the `switchboard` binary (`main.rs`: `serve`, `migrate`, `token`, `replay`,
//! `contact`, `telegram`), every setting ([`config`]: flags mirrored by `SWITCHBOARD_*`
//! variables) and [`runtime`], which starts the chosen components (the API, the relay, the
//! projections, the scheduler, the notifier) against one pool and stops them.
//!
//! # Architecture invariant
//! Nothing depends on this crate except the end-to-end tests and the bench, which start the
//! service the way the binary does. It decides *what runs where* and hands each part its
//! settings; it holds no business rule, no SQL beyond opening the pool, no request handling.
//! Adapters between the parts' ports live here too: [`runtime::EventLogReader`] gives the
//! projections (which never depend on the write side) the log of `switchboard_commands`.
//!
//! # What it may import
//! Every crate of the workspace: `switchboard-api`, `switchboard-workers`,
//! `switchboard-commands` (the log, the relay), `switchboard-projections`,
//! `switchboard-replay` and `switchboard-domain`.

pub mod config;
pub mod runtime;

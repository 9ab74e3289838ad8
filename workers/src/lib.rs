//! Switchboard's background workers: what runs on its own, not in answer to a request.
//!
//! - Process managers, which read the projections and issue system commands:
//!   [`scheduler`] (the timer: idle and long-resolved conversations closed, long waits raised,
//!   auto-replies, SLA breaches; TIME-1, TIME-2) and [`dispatcher`] (auto-assignment and
//!   escalation, OPS-2, OPS-3), which share [`deadlines`].
//! - Outbox workers, which act on the world: [`webhooks`] (the webhook sender, PROJ-4) and
//!   [`notifier`] (Telegram and e-mail notifications, TG-2, TG-4, CALL-2), which share
//!   [`outbox`]'s wait; and the clients they send through: [`telegram`] (the Bot API) and the
//!   SMTP mailer in [`notifier`].
//!
//! # Architecture invariant
//! Every effect on the world is claimed, performed and recorded: a worker claims an outbox row
//! (`for update skip locked` and a lease), sends outside any transaction, and records the
//! outcome while its claim still holds, so any number of workers share a queue and a crash
//! costs at most one repeat of the attempt in flight. Every command a worker issues has an id
//! derived from what it acts on (a deadline, a queue entry, a delivery), so a retry, a second
//! node or a stale read never records it twice. Where only one may act (the dispatcher), it
//! holds a PostgreSQL advisory lock.
//!
//! # What it may import
//! `switchboard-domain`, `switchboard-commands` (the command handlers: the only way a worker
//! changes anything in the log) and `switchboard-projections` (the read queries and the outbox
//! tables' channels). Never `switchboard-api` nor the `switchboard` binary's crate: the
//! composition root (`server/`) wires the workers and hands them their settings. The API uses
//! two things from here: the Bot API client (the bot answers in the chat) and the webhook
//! secrets and deliveries store (registration, the deliveries' log, redelivery).

pub mod deadlines;
pub mod dispatcher;
pub mod notifier;
pub mod outbox;
pub mod scheduler;
pub mod telegram;
pub mod webhooks;

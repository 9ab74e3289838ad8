//! The scheduler (TIME-1, TIME-2, TIME-3 with CONV-9 and OPS-3): finds conversations whose
//! deadline passed, from the conversations projection, and issues the due commands as the
//! system: close the idle (by default only those waiting on the contact: a visitor waiting
//! for an answer or a call-back is the team's backlog, not idle), close the long resolved,
//! raise the priority of long waits, record SLA breaches as they happen (PROJ-3, from the SLA
//! projection), send the inbox's auto-reply (INBOX-5). Each pass also runs the
//! [`Dispatcher`] (auto-assignment and escalation, OPS-2/3), which acts only in the one
//! scheduler holding its lock.
//!
//! Safe to run more than once, and to crash at any point: a command's id is derived from the
//! deadline it acts on (the conversation, the kind, and the last message position or the
//! resolve time), so the same deadline acted on twice is recorded once; and the decider
//! re-checks against the log (a message that came after the read makes the command a no-op).
//! Deadlines are read from the projection, so they lag it by the projection's delay: a
//! conversation closes a moment late, never early.

use std::time::Duration;

use chrono::TimeDelta;
use sqlx::PgPool;
use switchboard_commands::handler::{Clock, ConversationHandler};
use switchboard_domain::conversation::{
    CloseForInactivity, CloseForRetention, ConversationCommand, RaisePriorityForWait,
    RecordSlaBreach, SendAutoReply,
};
use switchboard_domain::event::SlaMetric;
use switchboard_domain::inbox::InboxSettings;
use switchboard_projections::conversations::read;
use switchboard_projections::inboxes::read as inboxes;
use switchboard_projections::sla::read as sla;

use crate::deadlines::issue_for_deadline;
use crate::dispatcher::Dispatcher;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// How often to look for due deadlines.
    pub tick: Duration,
    /// No message for this long closes a conversation waiting on the contact (TIME-1; which
    /// ones, and how long, as its inbox says).
    pub inactivity: Duration,
    /// Resolved for this long closes a conversation (TIME-2), unless its inbox says.
    pub retention: Duration,
    /// Each time a contact's wait for an answer grows by this much, the priority goes up a
    /// step (CONV-9, TIME-3).
    pub priority_raise: Duration,
}

/// The most commands one tick issues per kind; the rest wait for the next tick.
const PER_TICK: i64 = 200;

/// Runs until `shutdown`. Errors are logged and the next tick tries again.
pub async fn run_scheduler(
    pool: PgPool,
    handler: ConversationHandler,
    clock: Clock,
    settings: SchedulerSettings,
    shutdown: CancellationToken,
) {
    tracing::info!(?settings, "scheduler is running");
    let mut dispatcher = Dispatcher::new();
    loop {
        if let Err(err) = tick(&pool, &handler, &clock, &settings).await {
            tracing::warn!(error = %err, "scheduler tick failed");
        }
        if let Err(err) = dispatcher.pass(&pool, &handler, clock()).await {
            tracing::warn!(error = %err, "dispatcher pass failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(settings.tick) => {}
        }
    }
}

/// One pass: issues every due command. Returns how many commands recorded something.
pub async fn tick(
    pool: &PgPool,
    handler: &ConversationHandler,
    clock: &Clock,
    settings: &SchedulerSettings,
) -> Result<usize, sqlx::Error> {
    let now = clock();
    let mut acted = 0;
    let inboxes = inboxes::all_settings(pool).await?;
    let timeout = |default: Duration, own: fn(&InboxSettings) -> Option<u32>| {
        let default_secs = default.as_secs_f64();
        let shortest_secs = inboxes
            .values()
            .filter_map(|(_, settings)| own(settings))
            .map(f64::from)
            .fold(default_secs, f64::min);
        read::Timeout {
            default_secs,
            shortest_secs,
        }
    };
    let inactivity = timeout(settings.inactivity, |s| s.inactivity_timeout_secs);
    for (conversation_id, last_message_position, rule) in
        read::due_for_inactivity(pool, now, inactivity, PER_TICK).await?
    {
        // The decider checks the rule again against the log: a call-back requested since the
        // read spares the conversation.
        let command = ConversationCommand::CloseForInactivity(CloseForInactivity {
            conversation_id,
            last_message_position,
            rule,
            at: now,
        });
        let deadline = format!("inactivity:{last_message_position}");
        acted += issue(handler, conversation_id, &deadline, &command).await;
    }
    let retention = timeout(settings.retention, |s| s.retention_secs);
    for (conversation_id, resolved_at) in
        read::due_for_retention(pool, now, retention, PER_TICK).await?
    {
        let command = ConversationCommand::CloseForRetention(CloseForRetention {
            conversation_id,
            at: now,
        });
        let deadline = format!("retention:{}", resolved_at.timestamp_micros());
        acted += issue(handler, conversation_id, &deadline, &command).await;
    }
    let interval = TimeDelta::from_std(settings.priority_raise).unwrap_or(TimeDelta::MAX);
    for (conversation_id, waiting_since_position, step) in
        read::due_for_priority_raise(pool, now, interval, PER_TICK).await?
    {
        let step = u8::try_from(step).unwrap_or(u8::MAX);
        let command = ConversationCommand::RaisePriorityForWait(RaisePriorityForWait {
            conversation_id,
            waiting_since_position,
            step,
            at: now,
        });
        let deadline = format!("raise:{waiting_since_position}:{step}");
        acted += issue(handler, conversation_id, &deadline, &command).await;
    }
    for (conversation_id, metric, deadline) in sla::due_breaches(pool, now, PER_TICK).await? {
        let metric = match metric {
            sla::Metric::FirstResponse => SlaMetric::FirstResponse,
            sla::Metric::NextResponse => SlaMetric::NextResponse,
            sla::Metric::Resolution => SlaMetric::Resolution,
        };
        let command = ConversationCommand::RecordSlaBreach(RecordSlaBreach {
            conversation_id,
            metric,
            deadline,
            at: now,
        });
        let deadline = format!("sla:{}:{}", metric.as_str(), deadline.timestamp_micros());
        acted += issue(handler, conversation_id, &deadline, &command).await;
    }
    for (conversation_id, inbox_id) in read::due_for_auto_reply(pool, PER_TICK).await? {
        let Some(body) = inboxes::settings(pool, inbox_id)
            .await?
            .and_then(|settings| settings.auto_reply)
        else {
            continue;
        };
        // Once per conversation: the decider allows one, and the id makes a repeat a no-op.
        let command = ConversationCommand::SendAutoReply(SendAutoReply {
            conversation_id,
            message_id: Uuid::new_v5(&conversation_id, b"auto-reply-message"),
            body,
            at: now,
        });
        acted += issue(handler, conversation_id, "auto-reply", &command).await;
    }
    Ok(acted)
}

/// Issues one command with an id derived from its deadline; 1 if it recorded something.
async fn issue(
    handler: &ConversationHandler,
    conversation_id: Uuid,
    deadline: &str,
    command: &ConversationCommand,
) -> usize {
    usize::from(
        issue_for_deadline(handler, conversation_id, deadline, command)
            .await
            .is_some(),
    )
}

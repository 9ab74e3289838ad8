//! Auto-assignment (OPS-2) and escalation (OPS-3): who gets a queued conversation, and who
//! gets an assignment its assignee did not open in time.
//!
//! # Rules
//! The rule itself is the domain's (`switchboard_domain::assignment`); this module gathers its
//! inputs and issues its decisions. Candidates are the online operators of the conversation's own branch (head office's for a
//! conversation without one) who may work conversations, below their capacity (their
//! profile's, or the inbox's default). The least loaded wins; among equals, the one assigned
//! longest ago (round-robin); then the lowest id, so the choice is deterministic. The queue is
//! served oldest entry first. Outside the inbox's working hours nothing is assigned or
//! escalated (INBOX-3). A conversation nobody can take stays queued and is picked up on the
//! first pass after an operator comes online or frees capacity.
//!
//! # Consistency
//! Loads are counted from the conversations projection, which lags the log. Two things keep
//! that lag from over-filling an operator:
//! - One dispatcher at a time: the pass runs only while holding a PostgreSQL advisory lock
//!   (other schedulers stand by), so no two dispatchers decide from the same stale view.
//! - The dispatcher remembers every assignment it recorded until the projection shows it
//!   (the conversation's assignment position in the projection reaches the recorded
//!   version), and counts those on top of the projection's loads. A dispatcher that takes the
//!   lock over first loads the assignments recorded in the last [`TAKEOVER_WINDOW`] events of
//!   the log the same way, which covers its predecessor's unprojected ones unless the
//!   projection is further behind than that.
//!
//! Capacity bounds auto-assignment only: an admin may still assign by hand above it. Each
//! command is also checked by the conversation's decider against the log: a queue entry or an
//! assignment that changed since the projection saw it makes the command a no-op, and its
//! id (derived from the queue entry or the assignment) makes a repeat harmless.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{PgConnection, PgPool};
use switchboard_commands::handler::ConversationHandler;
use switchboard_domain::assignment::{choose, served_branches, Candidate};
use switchboard_domain::conversation::{AutoAssign, ConversationCommand, Escalate};
use switchboard_domain::inbox::InboxSettings;
use switchboard_projections::conversations::read as conversations;
use switchboard_projections::inboxes::read as inboxes;
use switchboard_projections::operators::read as operators;
use uuid::Uuid;

use crate::deadlines::issue_for_deadline;

/// How far back a new leader looks in the log for assignments the projection may not show.
pub const TAKEOVER_WINDOW: i64 = 10_000;

/// The most queued conversations (and unopened assignments) one pass considers.
const PER_PASS: i64 = 500;

/// The advisory lock's name.
const LOCK: &str = "switchboard.dispatcher";

/// An assignment this dispatcher recorded that the projection may not show yet.
#[derive(Debug, Clone, Copy)]
struct Recent {
    operator_id: Uuid,
    /// The stream version of its `ConversationAssigned`.
    version: i32,
    /// The assignee it replaced, whose projected load still counts it.
    previous: Option<Uuid>,
}

#[derive(Default)]
pub struct Dispatcher {
    /// The session holding the advisory lock, while this dispatcher leads.
    lock: Option<PgConnection>,
    recent: HashMap<Uuid, Recent>,
}

impl Dispatcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// One pass, if this dispatcher leads (or can take the lead now). Returns how many
    /// conversations it assigned or escalated.
    pub async fn pass(
        &mut self,
        pool: &PgPool,
        handler: &ConversationHandler,
        now: DateTime<Utc>,
    ) -> Result<usize, sqlx::Error> {
        if !self.lead(pool).await? {
            return Ok(0);
        }
        let result = self.dispatch(pool, handler, now).await;
        if result.is_err() {
            // The lock's session may be gone with the error; make sure before the next pass.
            if let Some(lock) = self.lock.as_mut() {
                if sqlx::query("select 1").execute(lock).await.is_err() {
                    self.resign();
                }
            }
        }
        result
    }

    /// Holds (or takes) the advisory lock. On taking it, loads recent assignments from the
    /// log, since the previous leader's memory of them is gone.
    async fn lead(&mut self, pool: &PgPool) -> Result<bool, sqlx::Error> {
        if let Some(lock) = self.lock.as_mut() {
            if sqlx::query("select 1").execute(lock).await.is_ok() {
                return Ok(true);
            }
            self.resign();
        }
        // A pooled connection for the try; it leaves the pool only with the lock, so a
        // standby does not open a new session every pass.
        let mut conn = pool.acquire().await?;
        let locked: bool =
            sqlx::query_scalar("select pg_try_advisory_lock(hashtextextended($1, 0))")
                .bind(LOCK)
                .fetch_one(&mut *conn)
                .await?;
        if !locked {
            return Ok(false);
        }
        let mut conn = conn.detach();
        self.recent = recent_assignments(&mut conn).await?;
        tracing::info!(
            recent = self.recent.len(),
            "this scheduler now dispatches conversations"
        );
        self.lock = Some(conn);
        Ok(true)
    }

    fn resign(&mut self) {
        tracing::warn!("lost the dispatcher lock; standing by");
        self.lock = None;
        self.recent.clear();
    }

    async fn dispatch(
        &mut self,
        pool: &PgPool,
        handler: &ConversationHandler,
        now: DateTime<Utc>,
    ) -> Result<usize, sqlx::Error> {
        self.forget_projected(pool).await?;
        let inbox_settings = inboxes::all_settings(pool).await?;
        let mut candidates: Vec<Candidate> = operators::online(pool)
            .await?
            .into_iter()
            .map(|row| Candidate {
                id: row.operator_id,
                branch_id: row.branch_id,
                capacity: row.capacity.and_then(|c| u16::try_from(c).ok()),
                load: row.load,
                last_assigned_at: row.last_assigned_at,
            })
            .collect();
        // What the projection does not show yet: our own assignments.
        for recent in self.recent.values() {
            if let Some(c) = candidates.iter_mut().find(|c| c.id == recent.operator_id) {
                c.load += 1;
                c.last_assigned_at = Some(now);
            }
            if let Some(c) = candidates
                .iter_mut()
                .find(|c| Some(c.id) == recent.previous)
            {
                c.load -= 1;
            }
        }
        let open_now = |inbox_id: Uuid| -> Option<&InboxSettings> {
            inbox_settings
                .get(&inbox_id)
                .map(|(_, settings)| settings)
                .filter(|settings| settings.working_hours.is_open(now))
        };
        let mut acted = 0;

        // Only branches someone could take a conversation of: a branch nobody serves must not
        // fill the page and starve the others.
        let served = served_branches(
            &candidates,
            inbox_settings.values().map(|(_, s)| s.default_capacity),
        );
        for queued in conversations::queue(pool, &served, PER_PASS).await? {
            if self.recent.contains_key(&queued.conversation_id) {
                continue;
            }
            let Some(settings) = open_now(queued.inbox_id) else {
                continue;
            };
            let Some(chosen) = choose(
                &candidates,
                queued.branch_id,
                settings.default_capacity,
                None,
            ) else {
                continue;
            };
            let command = ConversationCommand::AutoAssign(AutoAssign {
                conversation_id: queued.conversation_id,
                queued_since_position: queued.queued_since_position,
                operator_id: candidates[chosen].id,
                operator_branch_id: candidates[chosen].branch_id,
                at: now,
            });
            let deadline = format!("auto-assign:{}", queued.queued_since_position);
            if let Some(version) = issue(handler, queued.conversation_id, &deadline, &command).await
            {
                self.assigned(
                    &mut candidates,
                    chosen,
                    queued.conversation_id,
                    version,
                    None,
                    now,
                );
                acted += 1;
            }
        }

        // Escalation: the shortest timeout bounds the query; each inbox's own is checked here.
        let shortest = inbox_settings
            .values()
            .map(|(_, s)| s.escalation_timeout_secs)
            .min()
            .unwrap_or(switchboard_domain::inbox::DEFAULT_ESCALATION_SECS);
        let before = now - TimeDelta::seconds(i64::from(shortest));
        for unopened in conversations::unopened_assignments(pool, before, &served, PER_PASS).await?
        {
            if self.recent.contains_key(&unopened.conversation_id) {
                continue;
            }
            let Some(settings) = open_now(unopened.inbox_id) else {
                continue;
            };
            let due = unopened.assigned_at
                + TimeDelta::seconds(i64::from(settings.escalation_timeout_secs));
            if due > now {
                continue;
            }
            let Some(chosen) = choose(
                &candidates,
                unopened.branch_id,
                settings.default_capacity,
                Some(unopened.assignee_id),
            ) else {
                continue;
            };
            let command = ConversationCommand::Escalate(Escalate {
                conversation_id: unopened.conversation_id,
                assignment_position: unopened.assignment_position,
                operator_id: candidates[chosen].id,
                operator_branch_id: candidates[chosen].branch_id,
                at: now,
            });
            let deadline = format!("escalate:{}", unopened.assignment_position);
            if let Some(version) =
                issue(handler, unopened.conversation_id, &deadline, &command).await
            {
                self.assigned(
                    &mut candidates,
                    chosen,
                    unopened.conversation_id,
                    version,
                    Some(unopened.assignee_id),
                    now,
                );
                acted += 1;
            }
        }
        Ok(acted)
    }

    fn assigned(
        &mut self,
        candidates: &mut [Candidate],
        chosen: usize,
        conversation_id: Uuid,
        version: i32,
        previous: Option<Uuid>,
        now: DateTime<Utc>,
    ) {
        let candidate = &mut candidates[chosen];
        candidate.load += 1;
        candidate.last_assigned_at = Some(now);
        self.recent.insert(
            conversation_id,
            Recent {
                operator_id: candidate.id,
                version,
                previous,
            },
        );
    }

    /// Drops the remembered assignments the projection has caught up with.
    async fn forget_projected(&mut self, pool: &PgPool) -> Result<(), sqlx::Error> {
        if self.recent.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = self.recent.keys().copied().collect();
        for (conversation_id, position) in conversations::projected_versions(pool, &ids).await? {
            if self
                .recent
                .get(&conversation_id)
                .is_some_and(|recent| position >= recent.version)
            {
                self.recent.remove(&conversation_id);
            }
        }
        Ok(())
    }
}

/// Issues a dispatcher command (the scheduler's deadline-derived ids); the stream version of
/// the assignment it recorded, if it recorded one.
async fn issue(
    handler: &ConversationHandler,
    conversation_id: Uuid,
    deadline: &str,
    command: &ConversationCommand,
) -> Option<i32> {
    issue_for_deadline(handler, conversation_id, deadline, command)
        .await?
        .iter()
        .find(|e| e.event_type == "ConversationAssigned")
        .map(|e| e.stream_version)
}

/// Assignments among the log's last [`TAKEOVER_WINDOW`] events, the latest per conversation.
async fn recent_assignments(conn: &mut PgConnection) -> Result<HashMap<Uuid, Recent>, sqlx::Error> {
    let rows: Vec<(Uuid, i32, Option<String>, Option<String>)> = sqlx::query_as(
        "select stream_id, stream_version, payload ->> 'operator_id',
                payload ->> 'previous_operator_id'
         from events
         where global_position > (select coalesce(max(global_position), 0) from events) - $1
           and event_type = 'ConversationAssigned'
         order by global_position",
    )
    .bind(TAKEOVER_WINDOW)
    .fetch_all(conn)
    .await?;
    let mut recent = HashMap::new();
    for (conversation_id, version, operator, previous) in rows {
        let Some(operator_id) = operator.and_then(|o| o.parse().ok()) else {
            continue;
        };
        recent.insert(
            conversation_id,
            Recent {
                operator_id,
                version,
                previous: previous.and_then(|p| p.parse().ok()),
            },
        );
    }
    Ok(recent)
}

//! The SLA projection (PROJ-3): response and resolution times of every conversation, measured
//! against its inbox's SLA policy, in tables `sla_inboxes`, `sla_conversations`,
//! `sla_responses` and `sla_resolutions`. [`read`] has the per-conversation figures and the
//! analysts' report (aggregates by inbox, branch, operator and day).
//!
//! # Definitions
//! Every time is in whole seconds on the conversation's **SLA clock**: wall-clock time, or,
//! when the inbox's policy says `business_hours_only`, only the time its working hours are
//! open (INBOX-3). The policy and working hours are those the inbox had when the conversation
//! started.
//! - **Response**: a message posted by an operator. The inbox's auto-reply, bot and system
//!   messages and internal notes are not responses.
//! - **First response time (FRT)**: first response − the conversation's start. Once per
//!   conversation.
//! - **Next response time (NRT)**: after the first response, a contact message starts a wait
//!   (if none is running: the oldest unanswered message counts); the next response ends it,
//!   and NRT = response − start of the wait. A resolve or close ends the wait without a
//!   response and without a figure.
//! - **Resolution time (RT)**: resolved − the conversation's start, for every time it is
//!   resolved (a reopened conversation counts again).
//! - **Reopen**: back to open from resolved or closed.
//! - **Breach**: a figure above the policy's target for it; the deadline it missed (start +
//!   target on the SLA clock) is kept with it. Waits still running past their deadline are
//!   breaches too ([`read::ConversationSla::breaches`]) until they end; the scheduler reads
//!   them ([`read::due_breaches`]) and records each as an `SlaBreached` event, kept here in
//!   `sla_breaches`.
//!
//! # Which policy
//! A conversation runs under the SLA terms (policy and working hours) recorded in its
//! `ConversationStarted`: the inbox's when it started, so a rebuild measures it exactly as the
//! live projection did. Starts recorded before the terms were carried fall back to the
//! inbox's policy as this projection knows it (`sla_inboxes`) when the start is applied.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};
use switchboard_domain::conversation::ConversationStatus;
use switchboard_domain::envelope::RecordedEvent;
use switchboard_domain::event::{ConversationStatusChanged, MessagePosted, SenderKind};
use switchboard_domain::hours::WorkingHours;
use switchboard_domain::inbox::{InboxSettings, SlaPolicy};
use switchboard_domain::DomainEvent;
use uuid::Uuid;

use crate::{Applied, LogReader, Projection, ProjectionError};

pub struct SlaProjection;

/// The event types [`SlaProjection`] applies; `apply` ignores the others.
pub(crate) const HANDLED: &[&str] = &[
    "InboxCreated",
    "InboxSettingsChanged",
    "ConversationStarted",
    "MessagePosted",
    "ConversationStatusChanged",
    "SlaBreached",
    "ConversationAssigned",
    "ConversationUnassigned",
    "ConversationTransferred",
    "ConversationRated",
];

impl Projection for SlaProjection {
    fn name(&self) -> &'static str {
        "sla"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "sla_inboxes",
            "sla_conversations",
            "sla_responses",
            "sla_resolutions",
            "sla_breaches",
        ]
    }

    fn handles(&self, event_type: &str) -> bool {
        HANDLED.contains(&event_type)
    }

    async fn apply(
        &self,
        tx: &mut PgConnection,
        _log: &dyn LogReader,
        event: &RecordedEvent,
    ) -> Result<Applied, ProjectionError> {
        let decoded = DomainEvent::decode(
            &event.event_type,
            event.schema_version,
            event.payload.clone(),
        );
        match decoded {
            Ok(DomainEvent::InboxCreated(e)) => inbox_settings(tx, e.inbox_id, &e.settings).await?,
            Ok(DomainEvent::InboxSettingsChanged(e)) => {
                inbox_settings(tx, e.inbox_id, &e.settings).await?
            }
            Ok(DomainEvent::ConversationStarted(e)) => {
                let clock = match e.sla {
                    Some(terms) => Clock {
                        policy: terms.policy,
                        hours: terms.working_hours,
                    },
                    // Recorded before starts carried their terms: the inbox's, as this
                    // projection knows it.
                    None => {
                        let (policy, hours): (Json<SlaPolicy>, Json<WorkingHours>) =
                            sqlx::query_as(
                                "select policy, working_hours from sla_inboxes
                                 where inbox_id = $1",
                            )
                            .bind(e.inbox_id)
                            .fetch_optional(&mut *tx)
                            .await?
                            .unwrap_or_default();
                        Clock {
                            policy: policy.0,
                            hours: hours.0,
                        }
                    }
                };
                sqlx::query(
                    "insert into sla_conversations
                        (conversation_id, inbox_id, branch_id, status, started_at, policy,
                         working_hours, first_response_due, resolution_due)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     on conflict (conversation_id) do nothing",
                )
                .bind(e.conversation_id)
                .bind(e.inbox_id)
                .bind(e.branch_id)
                .bind(ConversationStatus::Open.as_str())
                .bind(e.started_at)
                .bind(Json(clock.policy))
                .bind(Json(&clock.hours))
                .bind(clock.due(e.started_at, clock.policy.first_response_secs))
                .bind(clock.due(e.started_at, clock.policy.resolution_secs))
                .execute(&mut *tx)
                .await?;
            }
            Ok(DomainEvent::MessagePosted(e)) => posted(tx, &e, event.stream_version).await?,
            Ok(DomainEvent::ConversationStatusChanged(e)) => {
                status_changed(tx, &e, event.stream_version).await?
            }
            Ok(DomainEvent::SlaBreached(e)) => {
                sqlx::query(
                    "insert into sla_breaches
                        (conversation_id, metric, deadline, detected_at, position)
                     values ($1, $2, $3, $4, $5)
                     on conflict do nothing",
                )
                .bind(e.conversation_id)
                .bind(e.metric.as_str())
                .bind(e.deadline)
                .bind(e.detected_at)
                .bind(event.stream_version)
                .execute(&mut *tx)
                .await?;
            }
            Ok(DomainEvent::ConversationAssigned(e)) => {
                sqlx::query(
                    "update sla_conversations set assignee_id = $2 where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.operator_id)
                .execute(&mut *tx)
                .await?;
            }
            Ok(DomainEvent::ConversationUnassigned(e)) => {
                sqlx::query(
                    "update sla_conversations set assignee_id = null where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .execute(&mut *tx)
                .await?;
            }
            Ok(DomainEvent::ConversationTransferred(e)) => {
                sqlx::query(
                    "update sla_conversations set branch_id = $2 where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.to_branch_id)
                .execute(&mut *tx)
                .await?;
            }
            Ok(DomainEvent::ConversationRated(e)) => {
                sqlx::query(
                    "update sla_conversations
                     set rating_scale = $2, rating_score = $3, rated_at = $4,
                         rated_by_assignee = assignee_id
                     where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.scale.as_str())
                .bind(i16::from(e.score))
                .bind(e.rated_at)
                .execute(&mut *tx)
                .await?;
            }
            Ok(_) => {}
            Err(err) => return Ok(Applied::Unreadable(err.to_string())),
        }
        // The conversations projection announces conversation changes; nothing listens for
        // these tables live.
        Ok(Applied::Ignored)
    }
}

async fn inbox_settings(
    tx: &mut PgConnection,
    inbox_id: Uuid,
    settings: &InboxSettings,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "insert into sla_inboxes (inbox_id, policy, working_hours) values ($1, $2, $3)
         on conflict (inbox_id) do update
         set policy = excluded.policy, working_hours = excluded.working_hours",
    )
    .bind(inbox_id)
    .bind(Json(settings.sla))
    .bind(Json(&settings.working_hours))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The status moves on; a resolve or close ends the wait running, and a resolve is measured.
async fn status_changed(
    tx: &mut PgConnection,
    e: &ConversationStatusChanged,
    stream_version: i32,
) -> Result<(), ProjectionError> {
    use ConversationStatus::{Closed, Open, Resolved};
    let status = "update sla_conversations
                  set status = $2,
                      waiting_since = case when $3 then null else waiting_since end,
                      next_response_due = case when $3 then null else next_response_due end,
                      reopen_count = reopen_count + case when $4 then 1 else 0 end
                  where conversation_id = $1";
    let ends_wait = matches!(e.to, Resolved | Closed);
    let reopened = e.to == Open && matches!(e.from, Resolved | Closed);
    if e.to != Resolved {
        // Without the conversation's row (its start was never applied) this changes nothing.
        sqlx::query(status)
            .bind(e.conversation_id)
            .bind(e.to.as_str())
            .bind(ends_wait)
            .bind(reopened)
            .execute(&mut *tx)
            .await?;
        return Ok(());
    }
    let Some(state) = State::load(tx, e.conversation_id).await? else {
        return Ok(());
    };
    let seconds = state.clock.seconds(state.started_at, e.changed_at);
    // The resolution and the status in one statement (they touch different tables).
    sqlx::query(&format!(
        "with resolution as (
             insert into sla_resolutions
                (conversation_id, position, inbox_id, branch_id, operator_id, resolved_at,
                 seconds, deadline, breached)
             values ($1, $5, $6, $7, $8, $9, $10, $11, $12)
             on conflict do nothing
         )
         {status}"
    ))
    .bind(e.conversation_id)
    .bind(e.to.as_str())
    .bind(ends_wait)
    .bind(reopened)
    .bind(stream_version)
    .bind(state.inbox_id)
    .bind(state.branch_id)
    .bind(state.assignee_id)
    .bind(e.changed_at)
    .bind(seconds)
    .bind(state.resolution_due)
    .bind(breached(seconds, state.clock.policy.resolution_secs))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A contact's message may start a wait; an operator's ends the one running.
async fn posted(
    tx: &mut PgConnection,
    e: &MessagePosted,
    stream_version: i32,
) -> Result<(), ProjectionError> {
    if matches!(e.sender.kind, SenderKind::System | SenderKind::Bot) {
        return Ok(()); // neither waits nor answers
    }
    let Some(state) = State::load(tx, e.conversation_id).await? else {
        return Ok(());
    };
    match e.sender.kind {
        SenderKind::Contact => {
            if state.first_response_at.is_some() && state.waiting_since.is_none() {
                sqlx::query(
                    "update sla_conversations set waiting_since = $2, next_response_due = $3
                     where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.posted_at)
                .bind(
                    state
                        .clock
                        .due(e.posted_at, state.clock.policy.next_response_secs),
                )
                .execute(&mut *tx)
                .await?;
            }
        }
        SenderKind::Operator => {
            let (kind, waited_from, deadline, target) = match state.first_response_at {
                None => (
                    "first",
                    state.started_at,
                    state.first_response_due,
                    state.clock.policy.first_response_secs,
                ),
                Some(_) => match state.waiting_since {
                    Some(since) => (
                        "next",
                        since,
                        state.next_response_due,
                        state.clock.policy.next_response_secs,
                    ),
                    None => return Ok(()), // nobody was waiting: not a response to anything
                },
            };
            let seconds = state.clock.seconds(waited_from, e.posted_at);
            // The response and the end of the wait in one statement (different tables).
            sqlx::query(
                "with response as (
                     insert into sla_responses
                        (conversation_id, position, kind, inbox_id, branch_id, operator_id,
                         waited_from, responded_at, seconds, deadline, breached)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     on conflict do nothing
                 )
                 update sla_conversations
                 set first_response_at = coalesce(first_response_at, $8),
                     waiting_since = null, next_response_due = null
                 where conversation_id = $1",
            )
            .bind(e.conversation_id)
            .bind(stream_version)
            .bind(kind)
            .bind(state.inbox_id)
            .bind(state.branch_id)
            .bind(e.sender.id)
            .bind(waited_from)
            .bind(e.posted_at)
            .bind(seconds)
            .bind(deadline)
            .bind(breached(seconds, target))
            .execute(&mut *tx)
            .await?;
        }
        SenderKind::System | SenderKind::Bot => {}
    }
    Ok(())
}

fn breached(seconds: i64, target: Option<u32>) -> bool {
    target.is_some_and(|target| seconds > i64::from(target))
}

/// How a conversation's SLA clock runs.
#[derive(Debug, Clone, Default)]
struct Clock {
    policy: SlaPolicy,
    hours: WorkingHours,
}

impl Clock {
    /// Seconds from `from` to `to` on this clock.
    fn seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if self.policy.business_hours_only {
            self.hours.open_seconds_between(from, to)
        } else {
            (to - from).num_seconds().max(0)
        }
    }

    /// When `target` seconds on this clock have run from `from`; `None` without a target (or
    /// when working hours never open again).
    fn due(&self, from: DateTime<Utc>, target: Option<u32>) -> Option<DateTime<Utc>> {
        let target = i64::from(target?);
        if self.policy.business_hours_only {
            self.hours.deadline_after(from, target)
        } else {
            Some(from + chrono::Duration::seconds(target))
        }
    }
}

/// What applying a conversation event needs from its row.
struct State {
    inbox_id: Uuid,
    branch_id: Option<Uuid>,
    assignee_id: Option<Uuid>,
    started_at: DateTime<Utc>,
    clock: Clock,
    first_response_at: Option<DateTime<Utc>>,
    first_response_due: Option<DateTime<Utc>>,
    waiting_since: Option<DateTime<Utc>>,
    next_response_due: Option<DateTime<Utc>>,
    resolution_due: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct StateRow {
    inbox_id: Uuid,
    branch_id: Option<Uuid>,
    assignee_id: Option<Uuid>,
    started_at: DateTime<Utc>,
    policy: Json<SlaPolicy>,
    working_hours: Json<WorkingHours>,
    first_response_at: Option<DateTime<Utc>>,
    first_response_due: Option<DateTime<Utc>>,
    waiting_since: Option<DateTime<Utc>>,
    next_response_due: Option<DateTime<Utc>>,
    resolution_due: Option<DateTime<Utc>>,
}

impl State {
    /// `None` for a conversation this projection never saw start (which the runner's gap
    /// filling makes impossible short of a dead-lettered start).
    async fn load(
        tx: &mut PgConnection,
        conversation_id: Uuid,
    ) -> Result<Option<Self>, sqlx::Error> {
        let row: Option<StateRow> = sqlx::query_as(
            "select inbox_id, branch_id, assignee_id, started_at, policy, working_hours,
                    first_response_at, first_response_due, waiting_since, next_response_due,
                    resolution_due
             from sla_conversations where conversation_id = $1",
        )
        .bind(conversation_id)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(row.map(|row| State {
            inbox_id: row.inbox_id,
            branch_id: row.branch_id,
            assignee_id: row.assignee_id,
            started_at: row.started_at,
            clock: Clock {
                policy: row.policy.0,
                hours: row.working_hours.0,
            },
            first_response_at: row.first_response_at,
            first_response_due: row.first_response_due,
            waiting_since: row.waiting_since,
            next_response_due: row.next_response_due,
            resolution_due: row.resolution_due,
        }))
    }
}

/// Queries over the SLA projection.
pub mod read {
    use std::collections::BTreeMap;

    use chrono::{DateTime, NaiveDate, Utc};
    use sqlx::{FromRow, PgPool};
    use uuid::Uuid;

    /// Where a conversation's clocks stand.
    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct ConversationRow {
        pub conversation_id: Uuid,
        pub status: String,
        pub started_at: DateTime<Utc>,
        pub first_response_at: Option<DateTime<Utc>>,
        pub first_response_due: Option<DateTime<Utc>>,
        pub waiting_since: Option<DateTime<Utc>>,
        pub next_response_due: Option<DateTime<Utc>>,
        pub resolution_due: Option<DateTime<Utc>>,
        pub reopen_count: i32,
        pub business_hours_only: bool,
    }

    /// A response that ended a wait.
    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct ResponseRow {
        pub position: i32,
        /// `first` or `next`.
        pub kind: String,
        pub operator_id: Option<Uuid>,
        pub waited_from: DateTime<Utc>,
        pub responded_at: DateTime<Utc>,
        pub seconds: i64,
        pub deadline: Option<DateTime<Utc>>,
        pub breached: bool,
    }

    /// One resolution.
    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct ResolutionRow {
        pub position: i32,
        pub operator_id: Option<Uuid>,
        pub resolved_at: DateTime<Utc>,
        pub seconds: i64,
        pub deadline: Option<DateTime<Utc>>,
        pub breached: bool,
    }

    /// The SLA figures of one conversation.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ConversationSla {
        pub conversation: ConversationRow,
        pub responses: Vec<ResponseRow>,
        pub resolutions: Vec<ResolutionRow>,
    }

    /// Which target a breach missed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Metric {
        FirstResponse,
        NextResponse,
        Resolution,
    }

    /// A missed deadline: met late (`met_at`), or not met yet (`None`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Breach {
        pub metric: Metric,
        pub deadline: DateTime<Utc>,
        pub met_at: Option<DateTime<Utc>>,
    }

    impl ConversationSla {
        /// Every deadline missed, in deadline order: those met late, and those still running
        /// past their deadline at `now`.
        pub fn breaches(&self, now: DateTime<Utc>) -> Vec<Breach> {
            let mut breaches: Vec<Breach> = self
                .responses
                .iter()
                .filter(|r| r.breached)
                .filter_map(|r| {
                    Some(Breach {
                        metric: if r.kind == "first" {
                            Metric::FirstResponse
                        } else {
                            Metric::NextResponse
                        },
                        deadline: r.deadline?,
                        met_at: Some(r.responded_at),
                    })
                })
                .chain(
                    self.resolutions
                        .iter()
                        .filter(|r| r.breached)
                        .filter_map(|r| {
                            Some(Breach {
                                metric: Metric::Resolution,
                                deadline: r.deadline?,
                                met_at: Some(r.resolved_at),
                            })
                        }),
                )
                .collect();
            let c = &self.conversation;
            let overdue = |due: Option<DateTime<Utc>>| due.filter(|due| *due < now);
            if c.first_response_at.is_none() {
                if let Some(deadline) = overdue(c.first_response_due) {
                    breaches.push(Breach {
                        metric: Metric::FirstResponse,
                        deadline,
                        met_at: None,
                    });
                }
            }
            if let Some(deadline) = overdue(c.next_response_due) {
                breaches.push(Breach {
                    metric: Metric::NextResponse,
                    deadline,
                    met_at: None,
                });
            }
            let settled = c.status == "resolved" || c.status == "closed";
            if !settled && self.resolutions.is_empty() {
                if let Some(deadline) = overdue(c.resolution_due) {
                    breaches.push(Breach {
                        metric: Metric::Resolution,
                        deadline,
                        met_at: None,
                    });
                }
            }
            breaches.sort_by_key(|b| (b.deadline, b.metric));
            breaches
        }
    }

    /// Waits past their deadline at `now` whose breach is not recorded yet (PROJ-3), oldest
    /// deadline first: a first response not given, a next response not given while the
    /// contact waits, a resolution not reached while neither resolved nor closed (and never
    /// resolved before). What the scheduler records as `SlaBreached`.
    pub async fn due_breaches(
        pool: &PgPool,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Uuid, Metric, DateTime<Utc>)>, sqlx::Error> {
        let rows: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
            "select * from (
                select conversation_id, 'first_response' as metric, first_response_due as due
                from sla_conversations
                where first_response_at is null and first_response_due < $1
                  and status not in ('resolved', 'closed')
                union all
                select conversation_id, 'next_response', next_response_due
                from sla_conversations where next_response_due < $1
                union all
                select c.conversation_id, 'resolution', c.resolution_due
                from sla_conversations c
                where c.resolution_due < $1 and c.status not in ('resolved', 'closed')
                  and not exists (select 1 from sla_resolutions r
                                  where r.conversation_id = c.conversation_id)
             ) due
             where not exists (select 1 from sla_breaches b
                               where b.conversation_id = due.conversation_id
                                 and b.metric = due.metric and b.deadline = due.due)
             order by due
             limit $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, metric, due)| {
                let metric = match metric.as_str() {
                    "first_response" => Metric::FirstResponse,
                    "next_response" => Metric::NextResponse,
                    _ => Metric::Resolution,
                };
                (id, metric, due)
            })
            .collect())
    }

    /// The SLA figures of a conversation, if the projection has it.
    pub async fn conversation(
        pool: &PgPool,
        conversation_id: Uuid,
    ) -> Result<Option<ConversationSla>, sqlx::Error> {
        let conversation: Option<ConversationRow> = sqlx::query_as(
            "select conversation_id, status, started_at, first_response_at, first_response_due,
                    waiting_since, next_response_due, resolution_due, reopen_count,
                    coalesce((policy ->> 'business_hours_only')::boolean, false)
                        as business_hours_only
             from sla_conversations where conversation_id = $1",
        )
        .bind(conversation_id)
        .fetch_optional(pool)
        .await?;
        let Some(conversation) = conversation else {
            return Ok(None);
        };
        let responses = sqlx::query_as(
            "select position, kind, operator_id, waited_from, responded_at, seconds, deadline,
                    breached
             from sla_responses where conversation_id = $1 order by position",
        )
        .bind(conversation_id)
        .fetch_all(pool)
        .await?;
        let resolutions = sqlx::query_as(
            "select position, operator_id, resolved_at, seconds, deadline, breached
             from sla_resolutions where conversation_id = $1 order by position",
        )
        .bind(conversation_id)
        .fetch_all(pool)
        .await?;
        Ok(Some(ConversationSla {
            conversation,
            responses,
            resolutions,
        }))
    }

    /// What a report groups by.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Dimension {
        Inbox,
        Branch,
        Operator,
        Day,
    }

    /// An analyst's question: figures of `[from, to)`, grouped by `group_by` (none: one total),
    /// days counted in `time_zone` (an IANA name, checked by the caller).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ReportQuery {
        pub from: DateTime<Utc>,
        pub to: DateTime<Utc>,
        pub group_by: Vec<Dimension>,
        pub time_zone: String,
        /// Only these inboxes; empty: all.
        pub inbox_ids: Vec<Uuid>,
    }

    /// The group a report row describes; a dimension not grouped by is `None`. Head office
    /// is `branch_id: None` too when grouping by branch.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, FromRow)]
    pub struct GroupKey {
        pub inbox_id: Option<Uuid>,
        pub branch_id: Option<Uuid>,
        pub operator_id: Option<Uuid>,
        pub day: Option<NaiveDate>,
    }

    /// Count, average, median and 90th percentile of one kind of time, and its breaches.
    #[derive(Debug, Clone, Copy, Default, PartialEq)]
    pub struct TimeFigures {
        pub count: i64,
        pub average_secs: Option<f64>,
        pub p50_secs: Option<f64>,
        pub p90_secs: Option<f64>,
        pub breaches: i64,
    }

    /// One group's figures.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct ReportRow {
        pub key: GroupKey,
        /// Conversations started in the range, by their status now.
        pub started_by_status: BTreeMap<String, i64>,
        /// Of those, how many are neither resolved nor closed now.
        pub open_backlog: i64,
        /// Reopens of the conversations started in the range.
        pub reopens: i64,
        /// Responses and resolutions made in the range.
        pub first_response: TimeFigures,
        pub next_response: TimeFigures,
        pub resolution: TimeFigures,
        /// Ratings given in the range: CSAT (1–5) and NPS (0–10).
        pub csat_count: i64,
        pub csat_average: Option<f64>,
        pub nps_count: i64,
        /// % promoters (9–10) − % detractors (0–6).
        pub nps: Option<f64>,
    }

    /// The `select` list that makes a [`GroupKey`] from a table's columns.
    fn key_columns(
        query: &ReportQuery,
        operator_column: &str,
        time_column: &str,
        tz_param: &str,
    ) -> String {
        let has = |d| query.group_by.contains(&d);
        format!(
            "{} as inbox_id, {} as branch_id, {} as operator_id, {} as day",
            if has(Dimension::Inbox) {
                "inbox_id"
            } else {
                "null::uuid"
            },
            if has(Dimension::Branch) {
                "branch_id"
            } else {
                "null::uuid"
            },
            if has(Dimension::Operator) {
                operator_column.to_owned()
            } else {
                "null::uuid".to_owned()
            },
            if has(Dimension::Day) {
                format!("({time_column} at time zone {tz_param})::date")
            } else {
                "null::date".to_owned()
            },
        )
    }

    #[derive(FromRow)]
    struct TimeRow {
        #[sqlx(flatten)]
        key: GroupKey,
        count: i64,
        average_secs: Option<f64>,
        p50_secs: Option<f64>,
        p90_secs: Option<f64>,
        breaches: i64,
    }

    #[derive(FromRow)]
    struct StartedRow {
        #[sqlx(flatten)]
        key: GroupKey,
        status: String,
        count: i64,
        reopens: i64,
    }

    #[derive(FromRow)]
    struct RatingRow {
        #[sqlx(flatten)]
        key: GroupKey,
        csat_count: i64,
        csat_average: Option<f64>,
        nps_count: i64,
        promoters: i64,
        detractors: i64,
    }

    const TIME_FIGURES: &str = "count(*) as count, avg(seconds)::float8 as average_secs,
        percentile_cont(0.5) within group (order by seconds) as p50_secs,
        percentile_cont(0.9) within group (order by seconds) as p90_secs,
        count(*) filter (where breached) as breaches";

    /// The analysts' report (PROJ-3), one row per group that had anything in the range,
    /// in key order.
    pub async fn report(pool: &PgPool, query: &ReportQuery) -> Result<Vec<ReportRow>, sqlx::Error> {
        let mut rows: BTreeMap<GroupKey, ReportRow> = BTreeMap::new();
        let inbox_filter = "(cardinality($4::uuid[]) = 0 or inbox_id = any($4))";

        let started: Vec<StartedRow> = sqlx::query_as(&format!(
            "select {}, status, count(*) as count, sum(reopen_count)::int8 as reopens
             from sla_conversations
             where started_at >= $1 and started_at < $2 and {inbox_filter}
             group by 1, 2, 3, 4, status",
            key_columns(query, "assignee_id", "started_at", "$3")
        ))
        .bind(query.from)
        .bind(query.to)
        .bind(&query.time_zone)
        .bind(&query.inbox_ids)
        .fetch_all(pool)
        .await?;
        for r in started {
            let row = rows.entry(r.key).or_default();
            if r.status != "resolved" && r.status != "closed" {
                row.open_backlog += r.count;
            }
            row.reopens += r.reopens;
            row.started_by_status.insert(r.status, r.count);
        }

        for kind in ["first", "next"] {
            let times: Vec<TimeRow> = sqlx::query_as(&format!(
                "select {}, {TIME_FIGURES} from sla_responses
                 where responded_at >= $1 and responded_at < $2 and {inbox_filter} and kind = $5
                 group by 1, 2, 3, 4",
                key_columns(query, "operator_id", "responded_at", "$3")
            ))
            .bind(query.from)
            .bind(query.to)
            .bind(&query.time_zone)
            .bind(&query.inbox_ids)
            .bind(kind)
            .fetch_all(pool)
            .await?;
            for t in times {
                let row = rows.entry(t.key).or_default();
                let figures = if kind == "first" {
                    &mut row.first_response
                } else {
                    &mut row.next_response
                };
                *figures = t.figures();
            }
        }

        let times: Vec<TimeRow> = sqlx::query_as(&format!(
            "select {}, {TIME_FIGURES} from sla_resolutions
             where resolved_at >= $1 and resolved_at < $2 and {inbox_filter}
             group by 1, 2, 3, 4",
            key_columns(query, "operator_id", "resolved_at", "$3")
        ))
        .bind(query.from)
        .bind(query.to)
        .bind(&query.time_zone)
        .bind(&query.inbox_ids)
        .fetch_all(pool)
        .await?;
        for t in times {
            rows.entry(t.key).or_default().resolution = t.figures();
        }

        let ratings: Vec<RatingRow> = sqlx::query_as(&format!(
            "select {},
                    count(*) filter (where rating_scale = 'csat') as csat_count,
                    (avg(rating_score) filter (where rating_scale = 'csat'))::float8
                        as csat_average,
                    count(*) filter (where rating_scale = 'nps') as nps_count,
                    count(*) filter (where rating_scale = 'nps' and rating_score >= 9)
                        as promoters,
                    count(*) filter (where rating_scale = 'nps' and rating_score <= 6)
                        as detractors
             from sla_conversations
             where rated_at >= $1 and rated_at < $2 and {inbox_filter}
             group by 1, 2, 3, 4",
            key_columns(query, "rated_by_assignee", "rated_at", "$3")
        ))
        .bind(query.from)
        .bind(query.to)
        .bind(&query.time_zone)
        .bind(&query.inbox_ids)
        .fetch_all(pool)
        .await?;
        for r in ratings {
            let row = rows.entry(r.key).or_default();
            row.csat_count = r.csat_count;
            row.csat_average = r.csat_average;
            row.nps_count = r.nps_count;
            row.nps = (r.nps_count > 0)
                .then(|| (r.promoters - r.detractors) as f64 * 100.0 / r.nps_count as f64);
        }

        Ok(rows
            .into_iter()
            .map(|(key, row)| ReportRow { key, ..row })
            .collect())
    }

    impl TimeRow {
        fn figures(&self) -> TimeFigures {
            TimeFigures {
                count: self.count,
                average_secs: self.average_secs,
                p50_secs: self.p50_secs,
                p90_secs: self.p90_secs,
                breaches: self.breaches,
            }
        }
    }
}

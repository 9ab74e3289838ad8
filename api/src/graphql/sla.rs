//! The analysts' part of the schema (PROJ-3): SLA figures per conversation and the report of
//! aggregates by inbox, branch, operator and day. The metrics' definitions are in
//! `switchboard_projections::sla` and the README.

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use switchboard_projections::sla::read::{self, Dimension, Metric};
use uuid::Uuid;

use crate::auth::{Authentication, CONVERSATION_ROLES, REPORT_ROLES};
use crate::error::{ApiError, ResultExt};
use crate::graphql::types::ConversationStatus;
use crate::graphql::AppContext;

/// The longest range one report covers.
const MAX_REPORT_DAYS: i64 = 366;

#[derive(Default)]
pub struct SlaQuery;

#[Object]
impl SlaQuery {
    /// SLA aggregates of `[from, to)` (PROJ-3), one row per group that had anything in the
    /// range; with no `groupBy`, one row for everything. Conversations and their statuses,
    /// backlog and reopens count the conversations started in the range; response and
    /// resolution times count the responses and resolutions made in it; CSAT and NPS the
    /// ratings given in it. Days are counted in `timeZone` (IANA). Admins, managers and
    /// analysts.
    async fn sla_report(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[graphql(default)] group_by: Vec<SlaDimension>,
        #[graphql(default)] inbox_ids: Vec<Uuid>,
        #[graphql(default = "UTC")] time_zone: String,
    ) -> async_graphql::Result<Vec<SlaReportRow>> {
        ctx.data::<Authentication>()?
            .require_operator(REPORT_ROLES)
            .gql()?;
        if to <= from || (to - from).num_days() > MAX_REPORT_DAYS {
            return Err(ApiError::InvalidArgument {
                argument: "to",
                reason: format!("must be after `from`, at most {MAX_REPORT_DAYS} days later"),
            })
            .gql();
        }
        if time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ApiError::InvalidArgument {
                argument: "timeZone",
                reason: "not an IANA time zone name".into(),
            })
            .gql();
        }
        let mut dimensions: Vec<Dimension> = group_by.into_iter().map(Into::into).collect();
        dimensions.dedup();
        let query = read::ReportQuery {
            from,
            to,
            group_by: dimensions,
            time_zone,
            inbox_ids,
        };
        let app = ctx.data::<AppContext>()?;
        let rows = read::report(&app.pool, &query).await.gql()?;
        Ok(rows.into_iter().map(SlaReportRow::from).collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "Dimension")]
pub enum SlaDimension {
    Inbox,
    Branch,
    /// The responder for response times; the assignee for resolutions, the conversations
    /// started (as of now) and ratings (when rated).
    Operator,
    Day,
}

/// One group of an SLA report. A field of a dimension not grouped by is null; grouped by
/// branch, a null `branchId` is the head office.
#[derive(Debug, Clone, SimpleObject)]
pub struct SlaReportRow {
    pub inbox_id: Option<Uuid>,
    pub branch_id: Option<Uuid>,
    pub operator_id: Option<Uuid>,
    pub day: Option<NaiveDate>,
    /// Conversations started in the range.
    pub conversations: i64,
    /// Those conversations by their status now.
    pub by_status: Vec<StatusCount>,
    /// Those of them neither resolved nor closed now.
    pub open_backlog: i64,
    /// How often those conversations were reopened.
    pub reopens: i64,
    pub first_response: TimeFigures,
    pub next_response: TimeFigures,
    pub resolution: TimeFigures,
    /// CSAT ratings (1–5) given in the range.
    pub csat_count: i64,
    pub csat_average: Option<f64>,
    /// NPS ratings (0–10) given in the range.
    pub nps_count: i64,
    /// % promoters (9–10) − % detractors (0–6), from −100 to 100.
    pub nps: Option<f64>,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct StatusCount {
    pub status: ConversationStatus,
    pub count: i64,
}

/// One kind of time on the SLA clock, in seconds.
#[derive(Debug, Clone, Copy, SimpleObject)]
pub struct TimeFigures {
    pub count: i64,
    pub average_seconds: Option<f64>,
    /// The median (continuous percentile).
    pub p50_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
    /// How many were above the target.
    pub breaches: i64,
}

impl From<read::TimeFigures> for TimeFigures {
    fn from(t: read::TimeFigures) -> Self {
        Self {
            count: t.count,
            average_seconds: t.average_secs,
            p50_seconds: t.p50_secs,
            p90_seconds: t.p90_secs,
            breaches: t.breaches,
        }
    }
}

impl From<read::ReportRow> for SlaReportRow {
    fn from(row: read::ReportRow) -> Self {
        let by_status: Vec<StatusCount> = row
            .started_by_status
            .iter()
            .filter_map(|(status, &count)| {
                let status = switchboard_domain::conversation::ConversationStatus::parse(status)?;
                Some(StatusCount {
                    status: status.into(),
                    count,
                })
            })
            .collect();
        Self {
            inbox_id: row.key.inbox_id,
            branch_id: row.key.branch_id,
            operator_id: row.key.operator_id,
            day: row.key.day,
            conversations: row.started_by_status.values().sum(),
            by_status,
            open_backlog: row.open_backlog,
            reopens: row.reopens,
            first_response: row.first_response.into(),
            next_response: row.next_response.into(),
            resolution: row.resolution.into(),
            csat_count: row.csat_count,
            csat_average: row.csat_average,
            nps_count: row.nps_count,
            nps: row.nps,
        }
    }
}

/// A conversation's SLA figures (PROJ-3), on its SLA clock.
#[derive(Debug, Clone, SimpleObject)]
pub struct ConversationSla {
    /// Times count only the inbox's working hours.
    pub business_hours_only: bool,
    pub first_response_due: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    /// Since when the contact waits for the next response, if they do.
    pub waiting_since: Option<DateTime<Utc>>,
    pub next_response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    pub reopen_count: i32,
    /// The first response and every next one, in order.
    pub responses: Vec<SlaResponse>,
    pub resolutions: Vec<SlaResolution>,
    /// Every deadline missed: met late, or still running past it now.
    pub breaches: Vec<SlaBreach>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ResponseKind {
    First,
    Next,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct SlaResponse {
    pub kind: ResponseKind,
    /// The reply's position in the conversation.
    pub position: i32,
    pub operator_id: Option<Uuid>,
    pub waited_from: DateTime<Utc>,
    pub responded_at: DateTime<Utc>,
    pub seconds: i64,
    pub deadline: Option<DateTime<Utc>>,
    pub breached: bool,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct SlaResolution {
    pub position: i32,
    /// The assignee when it was resolved.
    pub operator_id: Option<Uuid>,
    pub resolved_at: DateTime<Utc>,
    pub seconds: i64,
    pub deadline: Option<DateTime<Utc>>,
    pub breached: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "Metric")]
pub enum SlaMetric {
    FirstResponse,
    NextResponse,
    Resolution,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct SlaBreach {
    pub metric: SlaMetric,
    /// The deadline it missed.
    pub deadline: DateTime<Utc>,
    /// When it was met after all; null while still running.
    pub met_at: Option<DateTime<Utc>>,
}

/// The SLA figures of a conversation for an operator; `None` until the projection has it.
pub async fn conversation_sla(
    ctx: &Context<'_>,
    conversation_id: Uuid,
) -> Result<Option<ConversationSla>, ApiError> {
    let auth = ctx
        .data::<Authentication>()
        .map_err(|_| ApiError::Unauthenticated("no credentials".into()))?;
    auth.require_operator(CONVERSATION_ROLES)?;
    let app = ctx
        .data::<AppContext>()
        .map_err(|_| ApiError::Unauthenticated("no application context".into()))?;
    let Some(sla) = read::conversation(&app.pool, conversation_id).await? else {
        return Ok(None);
    };
    let breaches = sla
        .breaches(Utc::now())
        .into_iter()
        .map(|b| SlaBreach {
            metric: b.metric.into(),
            deadline: b.deadline,
            met_at: b.met_at,
        })
        .collect();
    let c = sla.conversation;
    Ok(Some(ConversationSla {
        business_hours_only: c.business_hours_only,
        first_response_due: c.first_response_due,
        first_response_at: c.first_response_at,
        waiting_since: c.waiting_since,
        next_response_due: c.next_response_due,
        resolution_due: c.resolution_due,
        reopen_count: c.reopen_count,
        responses: sla
            .responses
            .into_iter()
            .map(|r| SlaResponse {
                kind: if r.kind == "first" {
                    ResponseKind::First
                } else {
                    ResponseKind::Next
                },
                position: r.position,
                operator_id: r.operator_id,
                waited_from: r.waited_from,
                responded_at: r.responded_at,
                seconds: r.seconds,
                deadline: r.deadline,
                breached: r.breached,
            })
            .collect(),
        resolutions: sla
            .resolutions
            .into_iter()
            .map(|r| SlaResolution {
                position: r.position,
                operator_id: r.operator_id,
                resolved_at: r.resolved_at,
                seconds: r.seconds,
                deadline: r.deadline,
                breached: r.breached,
            })
            .collect(),
        breaches,
    }))
}

//! The analysts' part of the schema (PROJ-3): the SLA report of aggregates by inbox, branch,
//! operator and day. A conversation's own figures are [`super::types::sla`]. The metrics'
//! definitions are in `switchboard_projections::sla` and the README.

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use switchboard_projections::sla::read::{self, Dimension};
use uuid::Uuid;

use crate::auth::{Authentication, REPORT_ROLES};
use crate::error::{ApiError, ResultExt};
use crate::graphql::types::ConversationStatus;
use crate::graphql::AppContext;

/// The longest range one report covers.
const MAX_REPORT_DAYS: i64 = 366;

#[derive(Default)]
pub struct AnalystQuery;

#[Object]
impl AnalystQuery {
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

//! A conversation's SLA figures (PROJ-3), the `Conversation.sla` field operators read: due
//! times, responses, resolutions and breaches, on the conversation's SLA clock. The report of
//! aggregates, for analysts, is [`crate::graphql::analyst`].

use async_graphql::{Context, Enum, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_projections::sla::read::{self, Metric};
use uuid::Uuid;

use crate::auth::{Authentication, CONVERSATION_ROLES};
use crate::error::ApiError;
use crate::graphql::AppContext;

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

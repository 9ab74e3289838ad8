//! Call-backs as operators work them (CALL-2): the list of requests, and their scheduling and
//! outcome. Visitors ask for a call-back in [`crate::graphql::visitor`].

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_domain::conversation::{ConversationCommand, ScheduleCallback, SettleCallback};
use switchboard_domain::values::MessageBody;
use switchboard_projections::conversations::read;
use uuid::Uuid;

use super::command::operator_change;
use crate::auth::{Authentication, Role};
use crate::error::{ApiError, ResultExt};
use crate::graphql::types::{page_size, ConversationChange};
use crate::graphql::AppContext;

/// A call-back page's cursor: when the last one was requested, and its id.
fn decode_callback_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let invalid = || ApiError::InvalidArgument {
        argument: "after",
        reason: "not a call-back cursor".into(),
    };
    let (micros, id) = cursor.split_once('.').ok_or_else(invalid)?;
    Ok((
        micros
            .parse::<i64>()
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_micros)
            .ok_or_else(invalid)?,
        id.parse().map_err(|_| invalid())?,
    ))
}

#[derive(Default)]
pub struct CallbackQuery;

#[Object]
impl CallbackQuery {
    /// Call-back requests, oldest first (CALL-2); admins and managers. `status` narrows to
    /// one status; `after` is the `endCursor` of the previous page.
    async fn callbacks(
        &self,
        ctx: &Context<'_>,
        status: Option<CallbackStatus>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Callback>> {
        ctx.data::<Authentication>()?
            .require_operator(&[Role::Admin, Role::Manager])
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        let limit = page_size(first, 50).gql()?;
        let cursor = after
            .as_deref()
            .map(decode_callback_cursor)
            .transpose()
            .gql()?;
        let mut rows = read::callbacks(
            &app.pool,
            status.map(CallbackStatus::as_str),
            cursor,
            limit + 1,
        )
        .await
        .gql()?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::new(cursor.is_some(), has_next);
        connection.edges.extend(rows.into_iter().map(|row| {
            let cursor = format!(
                "{}.{}",
                row.requested_at.timestamp_micros(),
                row.callback_id
            );
            Edge::new(cursor, Callback::from(row))
        }));
        Ok(connection)
    }
}

#[derive(Default)]
pub struct CallbackMutation;

#[Object]
impl CallbackMutation {
    /// Sets (or moves) the time of an awaited call-back (CALL-2).
    async fn schedule_callback(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
        callback_id: Uuid,
        scheduled_for: DateTime<Utc>,
    ) -> async_graphql::Result<ConversationChange> {
        operator_change(ctx, conversation_id, |_| {
            ConversationCommand::ScheduleCallback(ScheduleCallback {
                conversation_id,
                callback_id,
                scheduled_for,
                at: Utc::now(),
            })
        })
        .await
    }

    /// Records how a call-back ended, with the outcome note (CALL-2). If the conversation
    /// was still waiting on it, COMPLETED resolves it; NO_ANSWER and CANCELLED put it back
    /// to OPEN.
    async fn settle_callback(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
        callback_id: Uuid,
        outcome: CallbackOutcome,
        note: Option<String>,
    ) -> async_graphql::Result<ConversationChange> {
        let note = match note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            None => None,
            Some(text) => Some(MessageBody::parse(text, 2000).gql()?.as_str().to_owned()),
        };
        operator_change(ctx, conversation_id, |_| {
            ConversationCommand::SettleCallback(SettleCallback {
                conversation_id,
                callback_id,
                outcome: outcome.into(),
                note,
                at: Utc::now(),
            })
        })
        .await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "switchboard_domain::event::CallbackOutcome")]
pub enum CallbackOutcome {
    Completed,
    NoAnswer,
    Cancelled,
}

/// Where a call-back stands (CALL-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CallbackStatus {
    Requested,
    Scheduled,
    Completed,
    NoAnswer,
    Cancelled,
}

impl CallbackStatus {
    fn as_str(self) -> &'static str {
        match self {
            CallbackStatus::Requested => "requested",
            CallbackStatus::Scheduled => "scheduled",
            CallbackStatus::Completed => "completed",
            CallbackStatus::NoAnswer => "no_answer",
            CallbackStatus::Cancelled => "cancelled",
        }
    }

    fn from_stored(text: &str) -> Self {
        [
            CallbackStatus::Requested,
            CallbackStatus::Scheduled,
            CallbackStatus::Completed,
            CallbackStatus::NoAnswer,
            CallbackStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .unwrap_or(CallbackStatus::Requested)
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Callback {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// E.164.
    pub phone: String,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    pub consent_text_version: String,
    pub consent_given_at: DateTime<Utc>,
    pub consent_ip: Option<String>,
    pub status: CallbackStatus,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub outcome_note: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

impl From<read::CallbackRow> for Callback {
    fn from(row: read::CallbackRow) -> Self {
        Self {
            id: row.callback_id,
            conversation_id: row.conversation_id,
            phone: row.phone,
            window_from: row.window_from,
            window_to: row.window_to,
            consent_text_version: row.consent_text_version,
            consent_given_at: row.consent_given_at,
            consent_ip: row.consent_ip,
            status: CallbackStatus::from_stored(&row.status),
            scheduled_for: row.scheduled_for,
            outcome_note: row.outcome_note,
            requested_at: row.requested_at,
            settled_at: row.settled_at,
        }
    }
}

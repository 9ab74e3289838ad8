//! The auditors' part of the schema (AUD-3): the log itself, by stream and by position range.
//!
//! Events are shown as Kafka carries them, and as stored (contacts' personal data sealed, see
//! `switchboard_commands::seal`), with their hash and their predecessor's, so an auditor can
//! check a chain outside Switchboard from the stored form (the recipe is in
//! `switchboard_commands::hash`). Only auditors: the log holds every inbox's history.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_commands::log::{read_filtered, EventFilter, LoggedEvent};
use uuid::Uuid;

use crate::auth::{Authentication, AUDIT_ROLES};
use crate::error::{ApiError, ResultExt};
use crate::graphql::types::page_size;
use crate::graphql::AppContext;

#[derive(Default)]
pub struct AuditorQuery;

#[Object]
impl AuditorQuery {
    /// The events of one stream (a conversation, an inbox, an operator, a webhook endpoint or
    /// a contact), in order (auditors). `after` is the `endCursor` of the previous page.
    async fn stream_events(
        &self,
        ctx: &Context<'_>,
        stream_id: Uuid,
        #[graphql(default = 100)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, LogEvent>> {
        let filter = EventFilter {
            streams: Some(vec![stream_id]),
            ..EventFilter::default()
        };
        events(ctx, filter, first, after).await
    }

    /// The events whose global position is in `[from, to]`, in position order (auditors).
    /// Positions are unique and increase in insertion order; a range read while appends are
    /// in flight can miss, at its very end, an event that commits later with a lower position.
    async fn events_by_position(
        &self,
        ctx: &Context<'_>,
        from: i64,
        to: i64,
        #[graphql(default = 100)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, LogEvent>> {
        if from < 1 || to < from {
            return Err(ApiError::InvalidArgument {
                argument: "to",
                reason: "`from` must be at least 1 and `to` at least `from`".into(),
            })
            .gql();
        }
        let filter = EventFilter {
            positions: Some((from, to)),
            ..EventFilter::default()
        };
        events(ctx, filter, first, after).await
    }
}

async fn events(
    ctx: &Context<'_>,
    filter: EventFilter,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Connection<String, LogEvent>> {
    ctx.data::<Authentication>()?
        .require_operator(AUDIT_ROLES)
        .gql()?;
    let limit = page_size(first, 100).gql()?;
    let cursor = after.as_deref().map(decode_cursor).transpose().gql()?;
    let app = ctx.data::<AppContext>()?;
    let mut rows = read_filtered(&app.pool, &filter, cursor.unwrap_or(0), limit + 1)
        .await
        .gql()?;
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let mut connection = Connection::new(cursor.is_some(), has_next);
    connection.edges.extend(
        rows.into_iter()
            .map(|row| Edge::new(row.event.global_position.to_string(), LogEvent::from(row))),
    );
    Ok(connection)
}

/// Event cursors are the event's global position.
fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    cursor
        .parse()
        .ok()
        .filter(|p: &i64| *p >= 0)
        .ok_or_else(|| ApiError::InvalidArgument {
            argument: "after",
            reason: "not an event cursor".into(),
        })
}

/// One event of the log, as recorded.
#[derive(SimpleObject)]
pub struct LogEvent {
    pub global_position: i64,
    pub stream_id: Uuid,
    pub stream_type: String,
    pub stream_version: i32,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    /// As readers see it: contacts' personal data opened, or `"[erased]"` (GDPR-2).
    pub payload: Json<serde_json::Value>,
    pub metadata: Json<serde_json::Value>,
    /// Exactly as stored, sealed values sealed: what `hash` covers.
    pub stored_payload: Json<serde_json::Value>,
    pub stored_metadata: Json<serde_json::Value>,
    pub recorded_at: DateTime<Utc>,
    /// SHA-256 of the event's content and its predecessor's hash, hex.
    pub hash: String,
    /// The predecessor's hash, hex; null for a stream's first event.
    pub prev_hash: Option<String>,
}

impl From<LoggedEvent> for LogEvent {
    fn from(logged: LoggedEvent) -> Self {
        let stored_payload = Json(logged.stored_payload().clone());
        let stored_metadata = Json(logged.stored_metadata().clone());
        let e = logged.event;
        LogEvent {
            global_position: e.global_position,
            stream_id: e.stream_id,
            stream_type: e.stream_type,
            stream_version: e.stream_version,
            event_id: e.event_id,
            event_type: e.event_type,
            schema_version: e.schema_version.into(),
            payload: Json(e.payload),
            metadata: Json(e.metadata),
            stored_payload,
            stored_metadata,
            recorded_at: e.recorded_at,
            hash: hex::encode(&logged.hash),
            prev_hash: logged.prev_hash.map(hex::encode),
        }
    }
}

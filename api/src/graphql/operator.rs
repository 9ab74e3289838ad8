//! The operator UI's part of the schema: the inbox list, a conversation with its thread, and
//! live updates of both.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use switchboard_projections::conversations::read::{self, InboxCursor};
use switchboard_projections::Change;
use uuid::Uuid;

use crate::auth::Authentication;
use crate::changes::{next_event, FeedEvent};
use crate::error::{ApiError, ResultExt};
use crate::graphql::types::{page_size, Conversation, Message};
use crate::graphql::AppContext;

/// Inbox cursors are `<last activity in µs since the epoch>.<conversation id>`.
fn encode_cursor(c: &Conversation) -> String {
    format!("{}.{}", c.last_activity_at.timestamp_micros(), c.id)
}

fn decode_cursor(cursor: &str) -> Result<InboxCursor, ApiError> {
    let invalid = || ApiError::InvalidArgument {
        argument: "after",
        reason: "not an inbox cursor".into(),
    };
    let (micros, id) = cursor.split_once('.').ok_or_else(invalid)?;
    Ok(InboxCursor {
        last_activity_at: micros
            .parse::<i64>()
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_micros)
            .ok_or_else(invalid)?,
        conversation_id: id.parse().map_err(|_| invalid())?,
    })
}

#[derive(Default)]
pub struct OperatorQuery;

#[Object]
impl OperatorQuery {
    /// Conversations, most recently active first.
    async fn inbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Conversation>> {
        ctx.data::<Authentication>()?.require_operator(&[]).gql()?;
        let app = ctx.data::<AppContext>()?;
        let limit = page_size(first, 20).gql()?;
        let cursor = after.as_deref().map(decode_cursor).transpose().gql()?;
        let mut rows = read::inbox_page(&app.pool, cursor, limit + 1).await.gql()?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::new(cursor.is_some(), has_next);
        connection.edges.extend(rows.into_iter().map(|row| {
            let node = Conversation::from(row);
            Edge::new(encode_cursor(&node), node)
        }));
        Ok(connection)
    }

    /// One conversation, for an operator or the conversation's own widget session.
    async fn conversation(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<Conversation>> {
        ctx.data::<Authentication>()?
            .require_conversation_reader(id)
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        Ok(read::conversation(&app.pool, id)
            .await
            .gql()?
            .map(Conversation::from))
    }
}

#[derive(Default)]
pub struct OperatorSubscription;

#[Subscription]
impl OperatorSubscription {
    /// A conversation, each time it starts or changes (new message, …). Operators only.
    async fn inbox_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Conversation>> {
        ctx.data::<Authentication>()?.require_operator(&[]).gql()?;
        let app = ctx.data::<AppContext>()?.clone();
        let mut events = app.feed.subscribe();
        Ok(async_stream::stream! {
            while let Some(event) = next_event(&mut events).await {
                // A resync has nothing specific to re-send here: the next change brings the
                // row up to date, and clients refetch the list on reconnect.
                let FeedEvent::Changed(change) = event else { continue };
                match read::conversation(&app.pool, change.conversation_id()).await {
                    Ok(Some(row)) => yield Conversation::from(row),
                    Ok(None) => {}
                    Err(err) => tracing::warn!(error = %err, "inbox subscription read failed"),
                }
            }
        })
    }
}

/// The messages of `conversation_id` as they reach the thread, each once, in order: after
/// every wake-up it reads what came after the last position it sent.
pub async fn message_stream(
    app: AppContext,
    conversation_id: Uuid,
    after_position: Option<i32>,
) -> Result<impl Stream<Item = Message>, ApiError> {
    // Subscribe first, then read where we stand: nothing committed in between is missed.
    let mut events = app.feed.subscribe();
    let mut position = match after_position {
        Some(position) => position,
        None => read::latest_message_position(&app.pool, conversation_id).await?,
    };
    let pool = app.pool.clone();
    Ok(async_stream::stream! {
        let mut pending = after_position.is_some();
        loop {
            if pending {
                match read::messages(&pool, conversation_id, position, 200).await {
                    Ok(rows) => {
                        let more = rows.len() == 200;
                        for row in rows {
                            position = row.stream_version;
                            yield Message::from(row);
                        }
                        pending = more;
                        if more { continue; }
                    }
                    Err(err) => tracing::warn!(error = %err, "message subscription read failed"),
                }
            }
            match next_event(&mut events).await {
                None => break,
                Some(FeedEvent::Resync) => pending = true,
                Some(FeedEvent::Changed(Change::MessagePosted { conversation_id: id, stream_version, .. }))
                    if id == conversation_id && stream_version > position => pending = true,
                Some(FeedEvent::Changed(_)) => {}
            }
        }
    })
}

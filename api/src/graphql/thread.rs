//! A conversation's thread as both its sides reach it, operators and the visitor: who may see a conversation, and the `messagePosted` subscription with the
//! stream of messages behind it. Shared by [`super::operator`], [`super::visitor`] and
//! [`super::typing`], so that none of them imports another.

use async_graphql::{Context, Subscription};
use futures::Stream;
use switchboard_projections::conversations::read::{self, Audience};
use switchboard_projections::Change;
use uuid::Uuid;

use crate::auth::Authentication;
use crate::changes::{next_event, FeedEvent};
use crate::error::{ApiError, ResultExt};
use crate::graphql::types::Message;
use crate::graphql::AppContext;

/// Moderators see only conversations assigned to them (OPS-1); everyone else passes.
pub fn check_moderator_sees(auth: &Authentication, row: &read::InboxRow) -> Result<(), ApiError> {
    auth.require_assigned_if_moderator(row.conversation_id, row.assignee_id)
}

#[derive(Default)]
pub struct ThreadSubscription;

#[Subscription]
impl ThreadSubscription {
    /// New messages of a conversation, as they are committed to the thread. Open to operators
    /// and to the conversation's own widget session. With `afterPosition`, first replays the
    /// messages after that position (to catch up after a reconnect).
    async fn message_posted(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
        after_position: Option<i32>,
    ) -> async_graphql::Result<impl Stream<Item = Message>> {
        let auth = ctx.data::<Authentication>()?;
        let audience = auth.require_conversation_reader(conversation_id).gql()?;
        let app = ctx.data::<AppContext>()?.clone();
        if let Some(row) = read::conversation(&app.pool, conversation_id).await.gql()? {
            check_moderator_sees(auth, &row).gql()?;
        }
        message_stream(app, conversation_id, audience, after_position)
            .await
            .gql()
    }
}

/// The messages of `conversation_id` as they reach the thread, each once, in order: after
/// every wake-up it reads what came after the last position it sent.
async fn message_stream(
    app: AppContext,
    conversation_id: Uuid,
    audience: Audience,
    after_position: Option<i32>,
) -> Result<impl Stream<Item = Message>, ApiError> {
    // Subscribe first, then read where we stand: nothing committed in between is missed.
    let mut events = app.feed.subscribe();
    let mut position = match after_position {
        Some(position) => position,
        None => read::latest_message_position(&app.pool, conversation_id).await?,
    };
    let (pool, reads) = (app.pool.clone(), app.message_reads.clone());
    Ok(async_stream::stream! {
        let mut pending = after_position.is_some();
        // The version of the change that woke us, when one did: subscribers woken by the
        // same change share one read (see `crate::shared_reads`).
        let mut woken_by: Option<i32> = None;
        loop {
            if pending {
                let rows = match woken_by.take() {
                    Some(version) => reads
                        .messages(&pool, conversation_id, audience, position, 200, version)
                        .await
                        .map(|rows| rows.to_vec())
                        .map_err(|err| err.to_string()),
                    None => read::messages(&pool, conversation_id, audience, position, 200)
                        .await
                        .map_err(|err| err.to_string()),
                };
                match rows {
                    Ok(rows) => {
                        let more = rows.len() == 200;
                        for row in rows {
                            position = row.stream_version;
                            yield Message::from(row).for_audience(audience);
                        }
                        pending = more;
                        if more { continue; }
                    }
                    Err(err) => tracing::warn!(error = %err, "message subscription read failed"),
                }
            }
            match next_event(&mut events).await {
                None => break,
                Some(FeedEvent::Resync) => {
                    pending = true;
                    woken_by = None;
                }
                Some(FeedEvent::Changed(Change::MessagePosted { conversation_id: id, stream_version, internal, .. }))
                    if id == conversation_id
                        && stream_version > position
                        && (audience == Audience::Operators || !internal) => {
                    // Two wake-ups before a read: a fresh read, to be sure of both.
                    woken_by = if pending { None } else { Some(stream_version) };
                    pending = true;
                }
                Some(FeedEvent::Changed(_) | FeedEvent::Typing(_)) => {}
            }
        }
    })
}

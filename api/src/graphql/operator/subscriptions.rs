//! The operator UI's live updates: the inbox list as rows come and go, with every tab's count
//! (PROJ-1, worked out in [`super::live_list`]), and unread counters (PROJ-2, which a widget
//! session follows too). A thread's new messages are [`crate::graphql::thread`]'s
//! `messagePosted`; typing is [`crate::graphql::typing`].

use async_graphql::{Context, SimpleObject, Subscription};
use futures::Stream;
use switchboard_projections::conversations::read;
use uuid::Uuid;

use super::inbox::{inbox_query, InboxFilter, InboxTab};
use super::live_list::{inbox_list_changes, InboxListChange};
use crate::auth::{Authentication, Viewer, CONVERSATION_ROLES};
use crate::changes::{next_event, FeedEvent};
use crate::error::{ApiError, ResultExt};
use crate::graphql::types::Conversation;
use crate::graphql::AppContext;

/// A change of an unread counter (PROJ-2).
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct UnreadChange {
    /// The conversation whose count changed; null on the first message of a subscription,
    /// which gives the total as it stands.
    pub conversation_id: Option<Uuid>,
    /// Its unread count now (0 once read, or once it is no longer the viewer's).
    pub unread: i32,
    /// The viewer's badge total now: for an operator, over the conversations assigned to them
    /// that are not closed; for a widget session, its conversation's.
    pub total: i32,
}

#[derive(Default)]
pub struct OperatorSubscription;

#[Subscription]
impl OperatorSubscription {
    /// An inbox list as it changes (PROJ-1): the list of `tab` and `filter`, as the `inbox`
    /// query pages it. The first message gives the counts as they stand (`COUNTS`); then each
    /// row that comes into the list or changes in it is `UPSERTED` (with its cursor), each row
    /// that leaves it is `REMOVED`, and every message carries every tab's counts after it.
    /// `RESYNC` means changes may have been missed: refetch the list.
    ///
    /// Subscribe first, then load the list: a row that changes in between is sent again. A
    /// row that leaves is announced once (until it comes back), even if the client never
    /// loaded it: admins and managers hear of every conversation that changed and is not in
    /// the list, moderators only of their own (assigned to them now, or when the subscription
    /// started or saw them), never of anyone else's. Each burst of changes costs two reads
    /// per subscriber (the changed rows, then the counts).
    async fn inbox_list_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "InboxTab::All")] tab: InboxTab,
        filter: Option<InboxFilter>,
    ) -> async_graphql::Result<impl Stream<Item = InboxListChange>> {
        inbox_list_changes(ctx, tab, filter.unwrap_or_default()).await
    }

    /// A conversation, each time it starts or changes (new message, …), if the inbox list
    /// of `tab` and `filter` shows it (PROJ-1). Operators only; moderators get their own.
    /// Never says that a row left the list: use `inboxListChanged`.
    #[graphql(
        deprecation = "Never says that a row left the list; use inboxListChanged, which does, with the tabs' counts."
    )]
    async fn inbox_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "InboxTab::All")] tab: InboxTab,
        filter: Option<InboxFilter>,
    ) -> async_graphql::Result<impl Stream<Item = Conversation>> {
        let query = inbox_query(ctx, tab, filter.unwrap_or_default()).gql()?;
        let app = ctx.data::<AppContext>()?.clone();
        let mut events = app.feed.subscribe();
        Ok(async_stream::stream! {
            while let Some(event) = next_event(&mut events).await {
                // A resync has nothing specific to re-send here: the next change brings the
                // row up to date, and clients refetch the list on reconnect.
                let FeedEvent::Changed(change) = event else { continue };
                let Some(conversation_id) = change.conversation_id() else { continue };
                match read::inbox_entry(&app.pool, &query, conversation_id).await {
                    Ok(Some(entry)) => yield Conversation::from(entry),
                    Ok(None) => {}
                    Err(err) => tracing::warn!(error = %err, "inbox subscription read failed"),
                }
            }
        })
    }

    /// Unread counters as they change (PROJ-2): first the total as it stands, then one
    /// message per conversation whose count changed. For an operator, the conversations
    /// assigned to them; for a widget session, its own conversation's messages not yet read
    /// by the contact.
    async fn unread_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = UnreadChange>> {
        let auth = ctx.data::<Authentication>()?;
        let viewer = match &auth.0 {
            Ok(Viewer::Operator { .. }) => {
                UnreadViewer::Operator(auth.require_operator(CONVERSATION_ROLES).gql()?.0)
            }
            _ => UnreadViewer::Contact(auth.require_any_widget_session().gql()?),
        };
        let app = ctx.data::<AppContext>()?.clone();
        // Subscribe first, then read where we stand: nothing committed in between is missed.
        let mut events = app.feed.subscribe();
        let mut shown = viewer.counts(&app).await.gql()?;
        Ok(async_stream::stream! {
            yield UnreadChange {
                conversation_id: None,
                unread: 0,
                total: shown.values().sum(),
            };
            while let Some(event) = next_event(&mut events).await {
                // One conversation changed: re-read its count alone (a widget session only
                // cares about its own). Changes may have been missed: re-read them all.
                let now = match &event {
                    FeedEvent::Resync => viewer.counts(&app).await,
                    FeedEvent::Changed(change) => match change.conversation_id() {
                        Some(id) if viewer.follows(id) => {
                            viewer.count_in(&app, id).await.map(|unread| {
                                let mut now = shown.clone();
                                if unread > 0 {
                                    now.insert(id, unread);
                                } else {
                                    now.remove(&id);
                                }
                                now
                            })
                        }
                        _ => continue,
                    },
                    FeedEvent::Typing(_) => continue,
                };
                let now = match now {
                    Ok(now) => now,
                    Err(err) => {
                        tracing::warn!(error = %err, "unread subscription read failed");
                        continue;
                    }
                };
                let total = now.values().sum();
                let changed: Vec<(Uuid, i32)> = shown
                    .keys()
                    .chain(now.keys())
                    .copied()
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .map(|id| (id, now.get(&id).copied().unwrap_or(0)))
                    .filter(|(id, unread)| shown.get(id).copied().unwrap_or(0) != *unread)
                    .collect();
                shown = now;
                for (conversation_id, unread) in changed {
                    yield UnreadChange { conversation_id: Some(conversation_id), unread, total };
                }
            }
        })
    }
}

/// Whose unread counters a subscription follows.
#[derive(Debug, Clone, Copy)]
enum UnreadViewer {
    Operator(Uuid),
    /// A widget session, by its conversation.
    Contact(Uuid),
}

impl UnreadViewer {
    /// Can a change of `conversation_id` move this viewer's counts?
    fn follows(self, conversation_id: Uuid) -> bool {
        match self {
            UnreadViewer::Operator(_) => true,
            UnreadViewer::Contact(own) => own == conversation_id,
        }
    }

    /// The count of one conversation as it stands (0: nothing unread, or not the viewer's).
    async fn count_in(self, app: &AppContext, conversation_id: Uuid) -> Result<i32, ApiError> {
        Ok(match self {
            UnreadViewer::Operator(operator) => {
                read::unread_for_operator(
                    &app.pool,
                    operator,
                    conversation_id,
                    read::UnreadScope::Badge,
                )
                .await?
            }
            UnreadViewer::Contact(_) => read::conversation(&app.pool, conversation_id)
                .await?
                .map_or(0, |row| row.contact_unread),
        })
    }

    /// The non-zero counts as they stand, by conversation.
    async fn counts(
        self,
        app: &AppContext,
    ) -> Result<std::collections::HashMap<Uuid, i32>, ApiError> {
        Ok(match self {
            UnreadViewer::Operator(operator) => read::unread_of_assignee(&app.pool, operator)
                .await?
                .into_iter()
                .collect(),
            UnreadViewer::Contact(conversation_id) => {
                read::conversation(&app.pool, conversation_id)
                    .await?
                    .filter(|row| row.contact_unread > 0)
                    .map(|row| (conversation_id, row.contact_unread))
                    .into_iter()
                    .collect()
            }
        })
    }
}

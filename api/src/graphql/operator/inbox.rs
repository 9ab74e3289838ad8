//! The operator's inbox list (PROJ-1): its tabs, its filters and search, and what the viewer
//! has not read (PROJ-2). [`super::subscriptions`] follows the same list live.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_domain::operator::{conversation_scope, ConversationScope};
use switchboard_domain::values::Tag;
use switchboard_projections::conversations::read::{self, InboxCursor};
use uuid::Uuid;

use crate::auth::{Authentication, CONVERSATION_ROLES};
use crate::error::{ApiError, ResultExt};
use crate::graphql::types::{page_size, Conversation, ConversationStatus, Priority, Source};
use crate::graphql::AppContext;

/// Inbox cursors are `<last activity in µs since the epoch>.<conversation id>`.
pub(super) fn encode_cursor(c: &Conversation) -> String {
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
pub struct InboxListQuery;

#[Object]
impl InboxListQuery {
    /// Conversations, most recently active first (PROJ-1): all the viewer may see, or one tab
    /// (Mine, the unassigned Open queue, Closed), narrowed by `filter`. Moderators see only
    /// their own.
    async fn inbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        #[graphql(default_with = "InboxTab::All")] tab: InboxTab,
        filter: Option<InboxFilter>,
    ) -> async_graphql::Result<Connection<String, Conversation>> {
        let query = inbox_query(ctx, tab, filter.unwrap_or_default()).gql()?;
        let app = ctx.data::<AppContext>()?;
        let limit = page_size(first, 20).gql()?;
        let cursor = after.as_deref().map(decode_cursor).transpose().gql()?;
        let mut rows = read::inbox_page(&app.pool, &query, cursor, limit + 1)
            .await
            .gql()?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::new(cursor.is_some(), has_next);
        connection.edges.extend(rows.into_iter().map(|row| {
            let node = Conversation::from(row);
            Edge::new(encode_cursor(&node), node)
        }));
        Ok(connection)
    }

    /// How many conversations each tab lists for the viewer (PROJ-1), narrowed by `filter` as
    /// `inbox` narrows its lists. Moderators count only their own. `inboxListChanged` keeps
    /// these counts live.
    async fn inbox_counts(
        &self,
        ctx: &Context<'_>,
        filter: Option<InboxFilter>,
    ) -> async_graphql::Result<InboxCounts> {
        let query = inbox_query(ctx, InboxTab::All, filter.unwrap_or_default()).gql()?;
        let app = ctx.data::<AppContext>()?;
        Ok(read::inbox_counts(&app.pool, &query).await.gql()?.into())
    }

    /// What the viewer has not read in the conversations assigned to them (PROJ-2): the badge
    /// total, and each conversation with something unread, most recently active first.
    async fn unread_counts(&self, ctx: &Context<'_>) -> async_graphql::Result<UnreadCounts> {
        let (viewer, _) = ctx
            .data::<Authentication>()?
            .require_operator(CONVERSATION_ROLES)
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        let rows = read::unread_of_assignee(&app.pool, viewer).await.gql()?;
        Ok(UnreadCounts::from_rows(rows))
    }
}

/// Narrows an inbox list (PROJ-1). Every field given must hold; within a list any value will
/// do, except `tags`, which must all be on the conversation.
#[derive(Debug, Default, InputObject)]
pub struct InboxFilter {
    #[graphql(default)]
    pub statuses: Vec<ConversationStatus>,
    #[graphql(default)]
    pub priorities: Vec<Priority>,
    #[graphql(default)]
    pub inbox_ids: Vec<Uuid>,
    /// Conversations of these branches.
    #[graphql(default)]
    pub branch_ids: Vec<Uuid>,
    /// Also (or, without `branchIds`, only) the head office's conversations.
    #[graphql(default)]
    pub head_office: bool,
    #[graphql(default)]
    pub assignee_ids: Vec<Uuid>,
    #[graphql(default)]
    pub sources: Vec<Source>,
    #[graphql(default)]
    pub tags: Vec<String>,
    /// Words to find in the contact's name, e-mail or phone, or in any message: each word
    /// matches word beginnings, in Russian and English word forms too; all words must match.
    /// Digits also match anywhere in the phone number. At most 200 characters.
    pub search: Option<String>,
}

impl InboxFilter {
    fn into_read(self) -> Result<read::InboxFilter, ApiError> {
        let mut branches: Vec<Option<Uuid>> = self.branch_ids.into_iter().map(Some).collect();
        if self.head_office {
            branches.push(None);
        }
        let search =
            match self.search {
                None => None,
                Some(text) if text.chars().count() > read::SearchText::MAX_CHARS => {
                    return Err(ApiError::InvalidArgument {
                        argument: "search",
                        reason: format!(
                            "at most {} characters are searched",
                            read::SearchText::MAX_CHARS
                        ),
                    })
                }
                Some(text) => Some(read::SearchText::parse(&text).ok_or_else(|| {
                    ApiError::InvalidArgument {
                        argument: "search",
                        reason: "has no letters or digits to search for".into(),
                    }
                })?),
            };
        Ok(read::InboxFilter {
            statuses: self.statuses.into_iter().map(Into::into).collect(),
            priorities: self.priorities.into_iter().map(Into::into).collect(),
            inbox_ids: self.inbox_ids,
            branches,
            assignee_ids: self.assignee_ids,
            sources: self.sources.into_iter().map(Into::into).collect(),
            tags: self
                .tags
                .iter()
                .map(|tag| Tag::parse(tag).map(|tag| tag.as_str().to_owned()))
                .collect::<Result<_, _>>()?,
            search,
        })
    }
}

/// The inbox list the viewing operator asked for.
pub(super) fn inbox_query(
    ctx: &Context<'_>,
    tab: InboxTab,
    filter: InboxFilter,
) -> Result<read::InboxQuery, ApiError> {
    let (viewer, roles) = ctx
        .data::<Authentication>()
        .map_err(|_| ApiError::Unauthenticated("no credentials".into()))?
        .require_operator(CONVERSATION_ROLES)?;
    Ok(read::InboxQuery {
        tab: tab.into(),
        viewer,
        assigned_only: conversation_scope(roles) == ConversationScope::AssignedOnly,
        filter: filter.into_read()?,
    })
}

/// How many conversations each inbox tab lists for the viewer and a filter (PROJ-1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, SimpleObject)]
pub struct InboxCounts {
    /// Assigned to the viewer.
    pub mine: i32,
    /// The unassigned queue: nobody's, not closed (0 for a moderator, who sees only their own).
    pub open: i32,
    pub closed: i32,
    /// Everything the viewer may see.
    pub all: i32,
}

impl From<read::InboxCounts> for InboxCounts {
    fn from(counts: read::InboxCounts) -> Self {
        let int = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            mine: int(counts.mine),
            open: int(counts.open),
            closed: int(counts.closed),
            all: int(counts.all),
        }
    }
}

/// What an operator has not read (PROJ-2).
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct UnreadCounts {
    /// The badge: all unread messages in the conversations assigned to the viewer that are
    /// not closed.
    pub total: i32,
    pub conversations: Vec<ConversationUnread>,
}

impl UnreadCounts {
    fn from_rows(rows: Vec<(Uuid, i32)>) -> Self {
        Self {
            total: rows.iter().map(|(_, unread)| unread).sum(),
            conversations: rows
                .into_iter()
                .map(|(conversation_id, unread)| ConversationUnread {
                    conversation_id,
                    unread,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct ConversationUnread {
    pub conversation_id: Uuid,
    pub unread: i32,
}

/// The inbox's tabs (PROJ-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "read::InboxTab")]
pub enum InboxTab {
    All,
    Mine,
    Open,
    Closed,
}

//! The operator UI's part of the schema: the inbox list, a conversation with its thread, and
//! live updates of both.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use switchboard_commands::handler::Handled;
use switchboard_domain::conversation::{
    AddInternalNote, AssignConversation, ChangeStatus, ConversationCommand, MarkRead,
    OpenConversation, PostMessage, ScheduleCallback, SetPriority, SettleCallback, TagConversation,
    Transfer, TransferTarget, UnassignConversation, UntagConversation,
};
use switchboard_domain::event::{Channel, Sender, SenderKind};
use switchboard_domain::operator::{conversation_scope, ConversationScope};
use switchboard_domain::values::{MessageBody, Tag};
use switchboard_domain::Actor;
use switchboard_projections::conversations::read::{self, InboxCursor};
use uuid::Uuid;

use crate::auth::{Authentication, Role, Viewer, CONVERSATION_ROLES};
use crate::changes::{next_event, FeedEvent};
use crate::error::{ApiError, ResultExt};
use crate::graphql::command_meta;
use crate::graphql::thread::{check_moderator_sees, message_body};
use crate::graphql::types::{
    page_size, Conversation, ConversationChange, ConversationStatus, Message, Priority, Source,
};
use crate::graphql::AppContext;

/// Inbox cursors are `<last activity in µs since the epoch>.<conversation id>`.
fn encode_cursor(c: &Conversation) -> String {
    format!("{}.{}", c.last_activity_at.timestamp_micros(), c.id)
}

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

    /// One conversation, for an operator or the conversation's own widget session.
    /// Moderators get NOT_ASSIGNEE for conversations that are not theirs.
    async fn conversation(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<Conversation>> {
        let auth = ctx.data::<Authentication>()?;
        auth.require_conversation_reader(id).gql()?;
        let app = ctx.data::<AppContext>()?;
        let row = read::conversation(&app.pool, id).await.gql()?;
        if let Some(row) = &row {
            check_moderator_sees(auth, row).gql()?;
        }
        Ok(row.map(Conversation::from))
    }
}

#[derive(Debug, InputObject)]
pub struct ReplyInput {
    pub conversation_id: Uuid,
    pub body: String,
    /// Optional id chosen by the client: the same id twice records one reply.
    pub client_message_id: Option<Uuid>,
    /// Files uploaded to this conversation with `POST /attachments` (CONV-7). With at least
    /// one, the body may be empty.
    #[graphql(default)]
    pub attachment_ids: Vec<Uuid>,
}

#[derive(Debug, InputObject)]
pub struct InternalNoteInput {
    pub conversation_id: Uuid,
    pub body: String,
    /// Optional id chosen by the client: the same id twice records one note.
    pub client_note_id: Option<Uuid>,
}

/// Runs a conversation command as the operator of this request, if their roles allow.
/// `command` gets the operator's id and the command id, which is derived from `client_id`
/// (per conversation and operator, so nobody else's id can collide) or fresh.
async fn as_operator(
    ctx: &Context<'_>,
    conversation_id: Uuid,
    client_id: Option<Uuid>,
    command: impl FnOnce(Uuid, Uuid) -> ConversationCommand,
) -> async_graphql::Result<(Uuid, Handled)> {
    let (operator_id, roles) = ctx
        .data::<Authentication>()?
        .require_operator(CONVERSATION_ROLES)
        .gql()?;
    let command_id = match client_id {
        Some(client_id) => {
            let mut name = operator_id.as_bytes().to_vec();
            name.extend_from_slice(client_id.as_bytes());
            Uuid::new_v5(&conversation_id, &name)
        }
        None => Uuid::now_v7(),
    };
    let app = ctx.data::<AppContext>()?;
    let meta = command_meta(
        ctx,
        command_id,
        Actor::operator(operator_id, roles.to_vec()),
    );
    let handled = app
        .handler
        .handle(&meta, &command(operator_id, command_id))
        .await
        .gql()?;
    Ok((command_id, handled))
}

/// The branch of a registered operator, from their stream in the log (not a projection, so
/// an operator moved a moment ago is seen where they are now).
async fn operator_branch(
    ctx: &Context<'_>,
    operator_id: Uuid,
) -> async_graphql::Result<Option<Uuid>> {
    let app = ctx.data::<AppContext>()?;
    match app.operator_handler.state(operator_id).await.gql()? {
        switchboard_domain::operator::Operator::Registered(operator) => {
            Ok(operator.profile.branch_id)
        }
        switchboard_domain::operator::Operator::NotRegistered => {
            Err(ApiError::OperatorNotFound(operator_id)).gql()
        }
    }
}

/// Runs an operator's command that answers with whether it changed anything.
async fn operator_change(
    ctx: &Context<'_>,
    conversation_id: Uuid,
    command: impl FnOnce(Uuid) -> ConversationCommand,
) -> async_graphql::Result<ConversationChange> {
    let (_, handled) = as_operator(ctx, conversation_id, None, |operator_id, _| {
        command(operator_id)
    })
    .await?;
    Ok(ConversationChange {
        conversation_id,
        changed: !handled.events.is_empty(),
    })
}

#[derive(Default)]
pub struct OperatorMutation;

#[Object]
impl OperatorMutation {
    /// Replies to the contact (CONV-3). The first reply takes an open conversation into
    /// progress; a closed conversation must be reopened first (CONVERSATION_CLOSED).
    async fn reply_to_conversation(
        &self,
        ctx: &Context<'_>,
        input: ReplyInput,
    ) -> async_graphql::Result<Message> {
        let app = ctx.data::<AppContext>()?;
        ctx.data::<Authentication>()?
            .require_operator(CONVERSATION_ROLES)
            .gql()?;
        let conversation_id = input.conversation_id;
        let attachments = crate::attachments::store::for_message(
            &app.pool,
            conversation_id,
            &input.attachment_ids,
        )
        .await
        .gql()?;
        let body = message_body(&input.body, !attachments.is_empty(), app.max_body_chars).gql()?;
        let (id, handled) = as_operator(
            ctx,
            conversation_id,
            input.client_message_id,
            |operator_id, id| {
                ConversationCommand::PostMessage(PostMessage {
                    conversation_id,
                    message_id: id,
                    sender: Sender {
                        kind: SenderKind::Operator,
                        id: Some(operator_id),
                    },
                    channel: Channel::Api,
                    body,
                    attachments,
                    at: Utc::now(),
                })
            },
        )
        .await?;
        Message::recorded_in(&handled)
            .ok_or(ApiError::IdempotencyKeyReused(id))
            .gql()
    }

    /// Adds a note only operators see (CONV-4); allowed in any status.
    async fn add_internal_note(
        &self,
        ctx: &Context<'_>,
        input: InternalNoteInput,
    ) -> async_graphql::Result<Message> {
        let app = ctx.data::<AppContext>()?;
        let body = MessageBody::parse(&input.body, app.max_body_chars).gql()?;
        let conversation_id = input.conversation_id;
        let (id, handled) = as_operator(
            ctx,
            conversation_id,
            input.client_note_id,
            |operator_id, id| {
                ConversationCommand::AddInternalNote(AddInternalNote {
                    conversation_id,
                    note_id: id,
                    author_id: operator_id,
                    body,
                    at: Utc::now(),
                })
            },
        )
        .await?;
        Message::recorded_in(&handled)
            .ok_or(ApiError::IdempotencyKeyReused(id))
            .gql()
    }

    /// Moves the conversation to another status along CONV-2's machine (ILLEGAL_TRANSITION
    /// otherwise). Resolving sets `resolvedAt`, closing `closedAt`.
    async fn change_conversation_status(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
        status: ConversationStatus,
    ) -> async_graphql::Result<ConversationChange> {
        operator_change(ctx, conversation_id, |_| {
            ConversationCommand::ChangeStatus(ChangeStatus {
                conversation_id,
                to: status.into(),
                at: Utc::now(),
            })
        })
        .await
    }

    /// Sets the priority (CONV-1).
    async fn set_conversation_priority(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
        priority: Priority,
    ) -> async_graphql::Result<ConversationChange> {
        operator_change(ctx, conversation_id, |_| {
            ConversationCommand::SetPriority(SetPriority {
                conversation_id,
                priority: priority.into(),
                at: Utc::now(),
            })
        })
        .await
    }

    /// Gives the conversation to an operator (OPS-5). Admins and managers assign anyone's;
    /// a moderator may hand over only a conversation assigned to them.
    async fn assign_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
        operator_id: Uuid,
    ) -> async_graphql::Result<ConversationChange> {
        ctx.data::<Authentication>()?
            .require_operator(CONVERSATION_ROLES)
            .gql()?;
        let operator_branch_id = operator_branch(ctx, operator_id).await?;
        operator_change(ctx, conversation_id, |_| {
            ConversationCommand::Assign(AssignConversation {
                conversation_id,
                operator_id,
                operator_branch_id,
                at: Utc::now(),
            })
        })
        .await
    }

    /// Assigns the conversation to the caller ("assign to me", OPS-5).
    async fn take_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
    ) -> async_graphql::Result<ConversationChange> {
        let (caller, _) = ctx
            .data::<Authentication>()?
            .require_operator(CONVERSATION_ROLES)
            .gql()?;
        let operator_branch_id = operator_branch(ctx, caller).await?;
        operator_change(ctx, conversation_id, |operator_id| {
            ConversationCommand::Assign(AssignConversation {
                conversation_id,
                operator_id,
                operator_branch_id,
                at: Utc::now(),
            })
        })
        .await
    }

    /// The caller opened (viewed) the conversation (OPS-3). The operator UI sends this when it
    /// shows a conversation; the assignee's first one stops the escalation timer (reading
    /// with `markConversationRead` counts too). Anyone else's changes nothing.
    async fn open_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
    ) -> async_graphql::Result<ConversationChange> {
        operator_change(ctx, conversation_id, |_| {
            ConversationCommand::Open(OpenConversation {
                conversation_id,
                at: Utc::now(),
            })
        })
        .await
    }

    /// Moves a global inbox's conversation to another branch (OPS-4): give `operatorId` to
    /// hand it to that operator (the branch follows them), or `branchId` to put it in that
    /// branch's queue for its first free operator (`headOffice: true` for head office's).
    /// A branch inbox's conversation cannot move (NOT_TRANSFERABLE).
    async fn transfer_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
        operator_id: Option<Uuid>,
        branch_id: Option<Uuid>,
        #[graphql(default = false)] head_office: bool,
    ) -> async_graphql::Result<ConversationChange> {
        ctx.data::<Authentication>()?
            .require_operator(CONVERSATION_ROLES)
            .gql()?;
        let to = match (operator_id, branch_id, head_office) {
            (Some(operator_id), None, false) => TransferTarget::Operator {
                operator_id,
                branch_id: operator_branch(ctx, operator_id).await?,
            },
            (None, Some(branch), false) => TransferTarget::Branch(Some(branch)),
            (None, None, true) => TransferTarget::Branch(None),
            _ => {
                return Err(ApiError::InvalidArgument {
                    argument: "operatorId",
                    reason: "give exactly one of operatorId, branchId or headOffice: true".into(),
                })
                .gql()
            }
        };
        operator_change(ctx, conversation_id, |_| {
            ConversationCommand::Transfer(Transfer {
                conversation_id,
                to,
                at: Utc::now(),
            })
        })
        .await
    }

    /// Puts the conversation back into the Open queue (OPS-5).
    async fn unassign_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
    ) -> async_graphql::Result<ConversationChange> {
        operator_change(ctx, conversation_id, |_| {
            ConversationCommand::Unassign(UnassignConversation {
                conversation_id,
                at: Utc::now(),
            })
        })
        .await
    }

    /// The caller has read the conversation up to a message, or all of it (CONV-5): their
    /// last-read marker moves forward, and the contact's messages up to there get `readAt`.
    async fn mark_conversation_read(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
        up_to_message_id: Option<Uuid>,
    ) -> async_graphql::Result<ConversationChange> {
        operator_change(ctx, conversation_id, |_| {
            ConversationCommand::MarkRead(MarkRead {
                conversation_id,
                up_to_message_id,
                at: Utc::now(),
            })
        })
        .await
    }

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

    /// Puts a tag on the conversation (trimmed, lower-case; CONV-9).
    async fn tag_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
        tag: String,
    ) -> async_graphql::Result<ConversationChange> {
        let tag = Tag::parse(&tag).gql()?;
        operator_change(ctx, conversation_id, |_| {
            ConversationCommand::Tag(TagConversation {
                conversation_id,
                tag,
                at: Utc::now(),
            })
        })
        .await
    }

    /// Takes a tag off the conversation.
    async fn untag_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
        tag: String,
    ) -> async_graphql::Result<ConversationChange> {
        let tag = Tag::parse(&tag).gql()?;
        operator_change(ctx, conversation_id, |_| {
            ConversationCommand::Untag(UntagConversation {
                conversation_id,
                tag,
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
fn inbox_query(
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

/// The inbox's tabs (PROJ-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "read::InboxTab")]
pub enum InboxTab {
    All,
    Mine,
    Open,
    Closed,
}

#[derive(Default)]
pub struct OperatorSubscription;

#[Subscription]
impl OperatorSubscription {
    /// A conversation, each time it starts or changes (new message, …), if the inbox list
    /// of `tab` and `filter` shows it (PROJ-1). Operators only; moderators get their own.
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

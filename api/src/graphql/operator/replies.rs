//! One conversation's thread as the operator works it: the conversation itself, replies to the
//! contact (CONV-3) and internal notes (CONV-4). The thread's messages as they arrive are
//! [`crate::graphql::thread`]'s `messagePosted`.

use async_graphql::{Context, InputObject, Object};
use chrono::Utc;
use switchboard_domain::conversation::{AddInternalNote, ConversationCommand, PostMessage};
use switchboard_domain::event::{Channel, Sender, SenderKind};
use switchboard_domain::values::MessageBody;
use switchboard_projections::conversations::read;
use uuid::Uuid;

use super::command::as_operator;
use crate::auth::{Authentication, CONVERSATION_ROLES};
use crate::error::{ApiError, ResultExt};
use crate::graphql::thread::check_moderator_sees;
use crate::graphql::types::{Conversation, Message};
use crate::graphql::AppContext;

#[derive(Default)]
pub struct ConversationQuery;

#[Object]
impl ConversationQuery {
    /// One conversation, for an operator or the conversation's own widget session.
    /// Moderators get NOT_ASSIGNEE for conversations that are not theirs.
    async fn conversation(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<Conversation>> {
        let auth = ctx.data::<Authentication>()?;
        let audience = auth.require_conversation_reader(id).gql()?;
        let app = ctx.data::<AppContext>()?;
        let row = read::conversation(&app.pool, id).await.gql()?;
        if let Some(row) = &row {
            check_moderator_sees(auth, row).gql()?;
        }
        // The conversation's own widget session sees it as its contact may.
        Ok(row.map(|row| match audience {
            read::Audience::Contact => Conversation::from(row).for_contact(),
            read::Audience::Operators => Conversation::from(row),
        }))
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

#[derive(Default)]
pub struct ReplyMutation;

#[Object]
impl ReplyMutation {
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
        let body =
            MessageBody::for_message(&input.body, attachments.len(), app.max_body_chars).gql()?;
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
}

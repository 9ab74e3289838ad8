//! What a widget session does in its own conversation: write (CONV-3), mark replies read
//! (CONV-5), rate it (CONV-8) and end it.

use async_graphql::{Context, InputObject, Object};
use chrono::Utc;
use switchboard_domain::conversation::{
    ConversationCommand, EndConversation, MarkRead, PostMessage, RateConversation,
};
use switchboard_domain::event::{self, DomainEvent, Sender};
use switchboard_domain::inbox::RatingScale;
use switchboard_domain::values::MessageBody;
use switchboard_domain::Actor;
use switchboard_domain::DomainError;
use uuid::Uuid;

use crate::auth::Authentication;
use crate::error::{ApiError, ResultExt};
use crate::graphql::command_meta;
use crate::graphql::types::{ConversationChange, Message, Rating};
use crate::graphql::AppContext;
use switchboard_projections::inboxes::read as inboxes;

#[derive(Default)]
pub struct VisitorMessageMutation;

#[derive(Default)]
pub struct VisitorRatingMutation;

#[derive(Debug, InputObject)]
pub struct SendMessageInput {
    pub conversation_id: Uuid,
    pub body: String,
    /// Optional id chosen by the client: sending the same id twice (to the same conversation)
    /// records one message. The message's own id is derived from it.
    pub client_message_id: Option<Uuid>,
    /// Files uploaded to this conversation with `POST /attachments` (CONV-7). With at least
    /// one, the body may be empty.
    #[graphql(default)]
    pub attachment_ids: Vec<Uuid>,
}

#[Object]
impl VisitorMessageMutation {
    /// Sends a message as the visitor of the widget session.
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        input: SendMessageInput,
    ) -> async_graphql::Result<Message> {
        let app = ctx.data::<AppContext>()?;
        let auth = ctx.data::<Authentication>()?;
        let (contact_id, _inbox_id) = auth.require_widget_session(input.conversation_id).gql()?;
        let attachments = crate::attachments::store::for_message(
            &app.pool,
            input.conversation_id,
            &input.attachment_ids,
        )
        .await
        .gql()?;
        let body =
            MessageBody::for_message(&input.body, attachments.len(), app.max_body_chars).gql()?;
        // Derived per conversation, so a client cannot pick an id that exists elsewhere.
        let message_id = match input.client_message_id {
            Some(client_id) => Uuid::new_v5(&input.conversation_id, client_id.as_bytes()),
            None => Uuid::now_v7(),
        };
        let command = ConversationCommand::PostMessage(PostMessage {
            conversation_id: input.conversation_id,
            message_id,
            sender: Sender {
                kind: event::SenderKind::Contact,
                id: Some(contact_id),
            },
            channel: event::Channel::Web,
            body,
            attachments,
            at: Utc::now(),
        });
        let meta = command_meta(ctx, message_id, Actor::contact(contact_id));
        let handled = app.handler.handle(&meta, &command).await.gql()?;
        Message::recorded_in(&handled)
            .ok_or(ApiError::IdempotencyKeyReused(message_id))
            .gql()
    }

    /// Ends the chat (the widget's "end chat"): the conversation is resolved, and the rating
    /// is asked for next where the inbox rates (CONV-8). `changed` is false when it was
    /// resolved or closed already. Writing again reopens it (CONV-2).
    async fn end_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
    ) -> async_graphql::Result<ConversationChange> {
        let app = ctx.data::<AppContext>()?;
        let (contact_id, _) = ctx
            .data::<Authentication>()?
            .require_widget_session(conversation_id)
            .gql()?;
        let command = ConversationCommand::End(EndConversation {
            conversation_id,
            at: Utc::now(),
        });
        let meta = command_meta(ctx, Uuid::now_v7(), Actor::contact(contact_id));
        let handled = app.handler.handle(&meta, &command).await.gql()?;
        Ok(ConversationChange {
            conversation_id,
            changed: !handled.events.is_empty(),
        })
    }
}

#[derive(Debug, InputObject)]
pub struct RateConversationInput {
    pub conversation_id: Uuid,
    /// CSAT 1–5 or NPS 0–10, as the inbox asks.
    pub score: i32,
    pub comment: Option<String>,
}

/// The longest rating comment, in characters.
const MAX_COMMENT_CHARS: usize = 1000;

#[Object]
impl VisitorRatingMutation {
    /// Rates the conversation once it is resolved or closed, on the inbox's scale (CONV-8).
    async fn rate_conversation(
        &self,
        ctx: &Context<'_>,
        input: RateConversationInput,
    ) -> async_graphql::Result<Rating> {
        let app = ctx.data::<AppContext>()?;
        let auth = ctx.data::<Authentication>()?;
        let (contact_id, inbox_id) = auth.require_widget_session(input.conversation_id).gql()?;
        let scale = inboxes::inbox(&app.pool, inbox_id)
            .await
            .gql()?
            .and_then(|inbox| RatingScale::parse(&inbox.rating))
            .unwrap_or_default();
        // A score no scale has (it does not fit the command's byte) is refused here, with the
        // inbox's bounds, before the decider's other checks (a rating too early, say).
        let score = u8::try_from(input.score)
            .map_err(|_| match scale.bounds() {
                None => ApiError::from(DomainError::RatingDisabled),
                Some((min, max)) => ApiError::from(DomainError::ScoreOutOfRange {
                    scale,
                    score: i64::from(input.score),
                    min,
                    max,
                }),
            })
            .gql()?;
        let comment = match input
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            None => None,
            Some(text) => Some(
                MessageBody::parse(text, MAX_COMMENT_CHARS)
                    .gql()?
                    .as_str()
                    .to_owned(),
            ),
        };
        let command = ConversationCommand::Rate(RateConversation {
            conversation_id: input.conversation_id,
            scale,
            score,
            comment,
            at: Utc::now(),
        });
        let meta = command_meta(ctx, Uuid::now_v7(), Actor::contact(contact_id));
        let handled = app.handler.handle(&meta, &command).await.gql()?;
        handled
            .events
            .iter()
            .find_map(|event| match event {
                DomainEvent::ConversationRated(r) => Some(Rating {
                    scale: r.scale.into(),
                    score: i32::from(r.score),
                    comment: r.comment.clone(),
                    rated_at: r.rated_at,
                }),
                _ => None,
            })
            .ok_or(ApiError::from(DomainError::AlreadyRated(
                input.conversation_id,
            )))
            .gql()
    }
}

#[derive(Debug, InputObject)]
pub struct MarkReadInput {
    pub conversation_id: Uuid,
    /// The last message read; omit for everything so far.
    pub up_to_message_id: Option<Uuid>,
}

#[Object]
impl VisitorReadMutation {
    /// The visitor has read the replies up to a message (CONV-5). Markers only move forward;
    /// `changed` is false when it was already there.
    async fn mark_read(
        &self,
        ctx: &Context<'_>,
        input: MarkReadInput,
    ) -> async_graphql::Result<ConversationChange> {
        let app = ctx.data::<AppContext>()?;
        let (contact_id, _) = ctx
            .data::<Authentication>()?
            .require_widget_session(input.conversation_id)
            .gql()?;
        let meta = command_meta(ctx, Uuid::now_v7(), Actor::contact(contact_id));
        let command = ConversationCommand::MarkRead(MarkRead {
            conversation_id: input.conversation_id,
            up_to_message_id: input.up_to_message_id,
            at: Utc::now(),
        });
        let handled = app.handler.handle(&meta, &command).await.gql()?;
        Ok(ConversationChange {
            conversation_id: input.conversation_id,
            changed: !handled.events.is_empty(),
        })
    }
}

#[derive(Default)]
pub struct VisitorReadMutation;

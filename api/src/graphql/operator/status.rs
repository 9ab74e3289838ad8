//! How an operator handles a conversation: its status (CONV-2) and priority, who has it
//! (assignment and transfer, OPS-4, OPS-5), that they opened and read it (OPS-3, CONV-5), and
//! its tags (CONV-9).

use async_graphql::{Context, Object};
use chrono::Utc;
use switchboard_domain::conversation::{
    AssignConversation, ChangeStatus, ConversationCommand, MarkRead, OpenConversation, SetPriority,
    TagConversation, Transfer, TransferTarget, UnassignConversation, UntagConversation,
};
use switchboard_domain::values::Tag;
use uuid::Uuid;

use super::command::{operator_branch, operator_change};
use crate::auth::{Authentication, CONVERSATION_ROLES};
use crate::error::{ApiError, ResultExt};
use crate::graphql::types::{ConversationChange, ConversationStatus, Priority};

#[derive(Default)]
pub struct StatusMutation;

#[Object]
impl StatusMutation {
    /// Moves the conversation to another status along CONV-2's machine (ILLEGAL_TRANSITION
    /// otherwise). Resolving sets `resolvedAt`, closing `closedAt`. PENDING_CALLBACK marks
    /// it as awaiting a call ("we will call you"; the bot's `/callback`), from OPEN,
    /// IN_PROGRESS or WAITING_FOR_USER, with or without a call-back request: the number may
    /// be the contact's own or given in the chat.
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
}

#[derive(Default)]
pub struct TagMutation;

#[Object]
impl TagMutation {
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

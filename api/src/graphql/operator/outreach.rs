//! An operator starts a conversation with a contact already known (seed 000: the back office
//! writes to a client first): the conversation opens in an inbox, assigned to the operator,
//! with the operator's first message. A contact who is not on the page is reached by e-mail
//! when they gave one (the notifier's part).

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::Utc;
use switchboard_domain::conversation::{
    AssignConversation, ConversationCommand, PostMessage, StartConversation,
};
use switchboard_domain::event::{self, Channel, Contact, Sender, SenderKind};
use switchboard_domain::operator::may_work_branch;
use switchboard_domain::values::{short_text, MessageBody};
use switchboard_domain::{Actor, DomainError};
use switchboard_projections::conversations::read;
use switchboard_projections::inboxes::read as inboxes;
use uuid::Uuid;

use super::command::operator_branch;
use crate::auth::{Authentication, MANAGER_ROLES};
use crate::error::{ApiError, ResultExt};
use crate::graphql::command_meta;
use crate::graphql::types::Message;
use crate::graphql::AppContext;

/// Namespace of the conversation ids derived from an operator's `clientRequestId`.
const OUTREACH_NAMESPACE: Uuid = Uuid::from_u128(0x1f6e_83c2_5a07_4d9b_b2e4_70c1_9a3d_5e28);

#[derive(Debug, InputObject)]
pub struct StartConversationWithContactInput {
    /// The contact, as an earlier conversation of theirs names them.
    pub contact_id: Uuid,
    /// The inbox the conversation belongs to; it must be active.
    pub inbox_id: Uuid,
    pub subject: Option<String>,
    /// The operator's first message to the contact.
    pub body: String,
    /// Optional id chosen by the client: retrying with it returns the same conversation and
    /// records nothing twice.
    pub client_request_id: Option<Uuid>,
}

#[derive(Default)]
pub struct OutreachMutation;

#[Object]
impl OutreachMutation {
    /// Starts a conversation with a known contact (seed 000; admins and managers, the back
    /// office: a moderator's reach stops at what is assigned to them), assigned to the caller, with
    /// their first message; source API. The contact's details are those of their latest
    /// conversation. `CONTACT_NOT_FOUND` for a contact never seen, `CONTACT_ERASED` for one
    /// erased, `OUTSIDE_BRANCH` when the caller cannot work the inbox's branch; nothing is
    /// recorded then.
    async fn start_conversation_with_contact(
        &self,
        ctx: &Context<'_>,
        input: StartConversationWithContactInput,
    ) -> async_graphql::Result<StartedConversation> {
        let (operator_id, roles) = ctx
            .data::<Authentication>()?
            .require_operator(MANAGER_ROLES)
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        let body = MessageBody::parse(&input.body, app.max_body_chars).gql()?;
        let subject = short_text("subject", input.subject.as_deref()).gql()?;
        let known = read::of_contact_anywhere(&app.pool, input.contact_id)
            .await
            .gql()?
            .ok_or(ApiError::ContactNotFound(input.contact_id))
            .gql()?;
        if switchboard_commands::seal::is_erased(&app.pool, input.contact_id)
            .await
            .gql()?
        {
            return Err(ApiError::ContactErased(input.contact_id)).gql();
        }
        let inbox = inboxes::inbox(&app.pool, input.inbox_id)
            .await
            .gql()?
            .ok_or(ApiError::from(DomainError::InboxNotFound(input.inbox_id)))
            .gql()?;
        if !inbox.active {
            return Err(ApiError::InboxInactive(inbox.inbox_id)).gql();
        }
        let settings = inboxes::settings(&app.pool, inbox.inbox_id)
            .await
            .gql()?
            .ok_or(ApiError::from(DomainError::InboxNotFound(inbox.inbox_id)))
            .gql()?;
        // A branch inbox's conversation is its branch's; a global inbox's goes where a visitor
        // of unknown region would (INBOX-2). The caller must be able to work it.
        let (branch_id, routing) = settings.place(inbox.branch_id, None);
        let operator_branch_id = operator_branch(ctx, operator_id).await?;
        if !may_work_branch(operator_branch_id, branch_id) {
            return Err(ApiError::from(DomainError::OutsideBranch { operator_id })).gql();
        }
        let conversation_id = match input.client_request_id {
            Some(request) => {
                let mut name = operator_id.as_bytes().to_vec();
                name.extend_from_slice(request.as_bytes());
                Uuid::new_v5(&OUTREACH_NAMESPACE, &name)
            }
            None => Uuid::now_v7(),
        };
        let actor = Actor::operator(operator_id, roles.to_vec());
        let now = Utc::now();
        // Three commands, each with an id derived from the conversation's: a retry after any
        // of them failing re-runs the rest and records nothing twice.
        let commands = [
            (
                b"start".as_slice(),
                ConversationCommand::Start(StartConversation {
                    conversation_id,
                    inbox_id: inbox.inbox_id,
                    source: event::Source::Api,
                    contact: Contact {
                        id: input.contact_id,
                        name: known.contact_name,
                        email: known.contact_email,
                        phone: known.contact_phone,
                    },
                    subject,
                    first_message: None,
                    callback: None,
                    branch_id,
                    routing,
                    sla: Some(settings.sla_terms()),
                    at: now,
                }),
            ),
            (
                b"assign".as_slice(),
                ConversationCommand::Assign(AssignConversation {
                    conversation_id,
                    operator_id,
                    operator_branch_id,
                    at: now,
                }),
            ),
            (
                b"first-message".as_slice(),
                ConversationCommand::PostMessage(PostMessage {
                    conversation_id,
                    message_id: Uuid::new_v5(&conversation_id, b"first-message"),
                    sender: Sender {
                        kind: SenderKind::Operator,
                        id: Some(operator_id),
                    },
                    channel: Channel::Api,
                    body,
                    attachments: Vec::new(),
                    at: now,
                }),
            ),
        ];
        let mut message = None;
        for (step, command) in &commands {
            let meta = command_meta(ctx, Uuid::new_v5(&conversation_id, step), actor.clone());
            match app.handler.handle(&meta, command).await {
                Ok(handled) => message = message.or(Message::recorded_in(&handled)),
                // A retry finds the conversation started by the first attempt.
                Err(switchboard_commands::handler::CommandError::Domain(
                    DomainError::ConversationAlreadyExists(_),
                )) => {}
                Err(err) => return Err(ApiError::from(err)).gql(),
            }
        }
        Ok(StartedConversation {
            conversation_id,
            message,
        })
    }
}

/// The conversation an operator started, and their first message in it.
#[derive(Debug, SimpleObject)]
pub struct StartedConversation {
    pub conversation_id: Uuid,
    pub message: Option<Message>,
}

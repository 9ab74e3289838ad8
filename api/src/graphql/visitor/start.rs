//! Starting a conversation from the widget: who the visitor is (a verified user of the site,
//! the same visitor again, or someone new: SEC-1) and what they must tell first (INBOX-1).

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::Utc;
use switchboard_domain::conversation::{ConversationCommand, FirstMessage, StartConversation};
use switchboard_domain::event::{self, Contact, DomainEvent};
use switchboard_domain::inbox::{InboxSettings, VisitorDetails, VisitorIdentity};
use switchboard_domain::values::{email, short_text, InvalidInput, MessageBody, Phone};
use switchboard_domain::Actor;
use switchboard_domain::DomainError;
use uuid::Uuid;

use super::{active_inbox, check_honeypot, place, settings_of, START_NAMESPACE};
use crate::auth::{Authentication, Viewer};
use crate::error::{ApiError, ResultExt};
use crate::graphql::command_meta;
use crate::graphql::types::Message;
use crate::graphql::AppContext;
use crate::identity;
use switchboard_projections::inboxes::read as inboxes;

#[derive(Debug, InputObject)]
pub struct StartConversationInput {
    /// The inbox's widget token (from the inbox settings): it names the inbox the
    /// conversation belongs to.
    pub widget_token: String,
    /// Optional random id (a v4 UUID) the client keeps to itself: retrying a timed-out start
    /// with the same id returns the same conversation and a session token for it. Only the
    /// holder of this id can do that; a conversation id alone never yields a token.
    pub client_request_id: Option<Uuid>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub subject: Option<String>,
    /// The visitor's first message, if they wrote one before starting.
    pub message: Option<String>,
    /// The honeypot: the widget renders this field hidden and sends it empty. Anything in it
    /// marks the request as a bot's (`SPAM_SUSPECTED`), and nothing is recorded.
    pub website: Option<String>,
    /// The site's signed-in user (SEC-1): one contact across visits and devices. Without it
    /// the visitor is anonymous (refused with `IDENTITY_REQUIRED` where the inbox requires
    /// verified users); an anonymous visitor who sends their widget session token starts their
    /// next conversation as the same contact.
    pub user: Option<VisitorUserInput>,
}

/// A signed-in user of the site (SEC-1), as the site's server vouches for them.
#[derive(Debug, InputObject)]
pub struct VisitorUserInput {
    /// The user's id on the site, 1 to 255 bytes.
    pub id: String,
    /// Hex HMAC-SHA256 of `id` with the inbox's identity secret, computed by the site's server
    /// (never in the browser: the secret must stay on the server). A wrong hash answers
    /// `IDENTITY_NOT_VERIFIED`.
    pub identity_hash: String,
}

#[derive(Debug, SimpleObject)]
pub struct StartConversationPayload {
    pub conversation_id: Uuid,
    pub contact_id: Uuid,
    /// Send as `Authorization: Bearer <token>` (HTTP) or `{"authorization": "Bearer <token>"}`
    /// (WebSocket `connection_init`) on every later widget call.
    pub session_token: String,
    pub message: Option<Message>,
}

#[derive(Default)]
pub struct VisitorMutation;

#[Object]
impl VisitorMutation {
    /// Starts a conversation as a website visitor, in the inbox whose widget token is in the
    /// input; returns the widget session token for everything after. The details the inbox
    /// requires must be given (`EMPTY_FIELD` names the first missing), an e-mail must look
    /// like one and a phone number is stored as E.164 (`MALFORMED_FIELD`). Who the visitor
    /// is: the verified `user`, else the contact of the widget session in the Authorization
    /// header (a new chat of the same visitor), else a new contact.
    async fn start_conversation(
        &self,
        ctx: &Context<'_>,
        input: StartConversationInput,
    ) -> async_graphql::Result<StartConversationPayload> {
        let app = ctx.data::<AppContext>()?;
        check_honeypot(input.website.as_deref()).gql()?;
        let inbox = active_inbox(ctx, &input.widget_token).await.gql()?;
        let conversation_id = match input.client_request_id {
            // One-way: knowing the conversation id does not give away the request id.
            Some(request_id) => Uuid::new_v5(&START_NAMESPACE, request_id.as_bytes()),
            None => Uuid::now_v7(),
        };
        let first_message = input
            .message
            .as_deref()
            .map(|text| MessageBody::parse(text, app.max_body_chars))
            .transpose()
            .gql()?
            .map(|body| FirstMessage {
                message_id: Uuid::new_v5(&conversation_id, b"first-message"),
                channel: event::Channel::Web,
                body,
                attachments: Vec::new(),
            });
        let settings = settings_of(&inbox).gql()?;
        let details = visitor_details(app, &input).gql()?;
        details.require(&settings.required_fields).gql()?;
        let contact = Contact {
            id: who_starts(ctx, &inbox, &settings, input.user.as_ref())
                .await
                .gql()?,
            name: details.name,
            email: details.email,
            phone: details.phone,
        };
        let placement = place(ctx, &inbox).await.gql()?;
        let command = ConversationCommand::Start(StartConversation {
            conversation_id,
            inbox_id: inbox.inbox_id,
            source: event::Source::Web,
            contact: contact.clone(),
            subject: short_text("subject", input.subject.as_deref()).gql()?,
            first_message,
            callback: None,
            branch_id: placement.branch_id,
            routing: placement.routing,
            sla: Some(placement.sla),
            at: Utc::now(),
        });
        // One start per conversation id: a retry is recognised as the same command.
        let command_id = Uuid::new_v5(&conversation_id, b"start");
        let meta = command_meta(ctx, command_id, Actor::contact(contact.id));
        let handled = app.handler.handle(&meta, &command).await.gql()?;
        // Answer from what was recorded, so a retry gets the same contact and message.
        let mut payload = None;
        let mut message = None;
        for (event, recorded) in handled.events.iter().zip(&handled.recorded) {
            match event {
                DomainEvent::ConversationStarted(e) => payload = Some((e.contact.id, e.inbox_id)),
                DomainEvent::MessagePosted(e) => {
                    message = Some(Message::from_event(e, recorded.stream_version))
                }
                _ => {}
            }
        }
        let (contact_id, inbox_id) = payload
            .ok_or(ApiError::from(DomainError::ConversationAlreadyExists(
                conversation_id,
            )))
            .gql()?;
        Ok(StartConversationPayload {
            conversation_id,
            contact_id,
            session_token: app
                .auth
                .issue_widget_session(contact_id, conversation_id, inbox_id),
            message,
        })
    }
}

/// The contact details of the start input, checked: trimmed, the e-mail an address (as an
/// operator's is), the phone in E.164.
fn visitor_details(
    app: &AppContext,
    input: &StartConversationInput,
) -> Result<VisitorDetails, InvalidInput> {
    Ok(VisitorDetails {
        name: short_text("name", input.name.as_deref())?,
        email: email(input.email.as_deref())?,
        phone: short_text("phone", input.phone.as_deref())?
            .map(|phone| Phone::parse(&phone, app.default_phone_region.as_deref()))
            .transpose()?
            .map(|phone| phone.as_str().to_owned()),
    })
}

/// The contact a new conversation of `inbox` belongs to (SEC-1): the verified user's, else
/// (where the inbox lets anonymous visitors chat) the widget session's of the same inbox,
/// else a new one.
async fn who_starts(
    ctx: &Context<'_>,
    inbox: &inboxes::InboxRow,
    settings: &InboxSettings,
    user: Option<&VisitorUserInput>,
) -> Result<Uuid, ApiError> {
    let app = ctx
        .data::<AppContext>()
        .map_err(|_| ApiError::internal("no application context"))?;
    if let Some(user) = user {
        return identity::verified_contact(
            &app.pool,
            inbox.inbox_id,
            &user.id,
            &user.identity_hash,
        )
        .await;
    }
    if settings.visitor_identity == VisitorIdentity::Required {
        return Err(ApiError::IdentityRequired);
    }
    // An expired or foreign token is no claim at all: the visitor is new.
    let session = ctx
        .data_opt::<Authentication>()
        .and_then(|auth| auth.0.as_ref().ok());
    match session {
        Some(Viewer::WidgetSession {
            contact_id,
            inbox_id,
            ..
        }) if *inbox_id == inbox.inbox_id => {
            // An erased contact (GDPR-2) cannot be written for again: they start anew.
            if switchboard_commands::seal::is_erased(&app.pool, *contact_id).await? {
                Ok(Uuid::now_v7())
            } else {
                Ok(*contact_id)
            }
        }
        _ => Ok(Uuid::now_v7()),
    }
}

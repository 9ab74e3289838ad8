//! The visitor's call-back request (CALL-1), from their conversation or as a guest without one.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_commands::handler::CommandMeta;
use switchboard_domain::conversation::{
    CallbackRequest, ConversationCommand, RequestCallback, StartConversation,
};
use switchboard_domain::event::{self, Consent, Contact};
use switchboard_domain::values::{short_text, InvalidInput, Phone};
use switchboard_domain::Actor;
use uuid::Uuid;

use super::{active_inbox, check_honeypot, place, settings_of};
use crate::auth::Authentication;
use crate::error::{ApiError, ResultExt};
use crate::graphql::{request_id, AppContext};
use crate::request::ClientIp;
use switchboard_domain::inbox::VisitorIdentity;

#[derive(Debug, InputObject)]
pub struct ConsentInput {
    /// The version of the consent text the visitor was shown.
    pub text_version: String,
    /// They ticked the box.
    pub accepted: bool,
}

#[derive(Debug, InputObject)]
pub struct RequestCallbackInput {
    /// The visitor's conversation (with its widget session token); omit for a guest.
    pub conversation_id: Option<Uuid>,
    /// For a guest without a chat: the inbox's widget token.
    pub widget_token: Option<String>,
    /// Any common format; stored as E.164.
    pub phone: String,
    pub name: Option<String>,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    pub consent: ConsentInput,
    /// The honeypot, as in `StartConversationInput`: must be absent or empty.
    pub website: Option<String>,
}

#[derive(Debug, SimpleObject)]
pub struct CallbackRequestPayload {
    pub conversation_id: Uuid,
    pub callback_id: Uuid,
    /// For a guest: the session token of the conversation the request opened.
    pub session_token: Option<String>,
}

#[derive(Default)]
pub struct VisitorCallbackMutation;

#[Object]
impl VisitorCallbackMutation {
    /// Asks to be called back (CALL-1), from a conversation or as a guest without one (then a
    /// conversation with source CALLBACK is opened). The phone is normalised to E.164; the
    /// consent (text version, time, IP) is recorded. The conversation waits in
    /// PENDING_CALLBACK.
    async fn request_callback(
        &self,
        ctx: &Context<'_>,
        input: RequestCallbackInput,
    ) -> async_graphql::Result<CallbackRequestPayload> {
        let app = ctx.data::<AppContext>()?;
        check_honeypot(input.website.as_deref()).gql()?;
        if !input.consent.accepted {
            return Err(ApiError::ConsentRequired).gql();
        }
        let text_version = short_text("consent.textVersion", Some(&input.consent.text_version))
            .gql()?
            .ok_or(ApiError::from(InvalidInput::Empty {
                field: "consent.textVersion",
            }))
            .gql()?;
        let phone = Phone::parse(&input.phone, app.default_phone_region.as_deref()).gql()?;
        let ip = ctx.data_opt::<ClientIp>().and_then(|ip| ip.0.clone());
        let callback_id = Uuid::now_v7();
        let now = Utc::now();
        let request = CallbackRequest {
            callback_id,
            phone: phone.clone(),
            window_from: input.window_from,
            window_to: input.window_to,
            consent: Consent {
                text_version,
                given_at: now,
                ip: ip.clone(),
            },
        };
        if let Some(conversation_id) = input.conversation_id {
            let auth = ctx.data::<Authentication>()?;
            let (contact_id, _) = auth.require_widget_session(conversation_id).gql()?;
            let meta = CommandMeta {
                command_id: Uuid::now_v7(),
                actor: Actor::contact(contact_id),
                correlation_id: request_id(ctx),
                ip,
            };
            let command = ConversationCommand::RequestCallback(RequestCallback {
                conversation_id,
                request,
                at: now,
            });
            app.handler.handle(&meta, &command).await.gql()?;
            return Ok(CallbackRequestPayload {
                conversation_id,
                callback_id,
                session_token: None,
            });
        }
        let token = input
            .widget_token
            .as_deref()
            .ok_or(ApiError::InvalidArgument {
                argument: "widgetToken",
                reason: "a guest request needs the inbox's widget token (or give conversationId)"
                    .into(),
            })
            .gql()?;
        let inbox = active_inbox(ctx, token).await.gql()?;
        // A guest is anonymous: an inbox for verified users only takes none (SEC-1).
        if settings_of(&inbox).gql()?.visitor_identity == VisitorIdentity::Required {
            return Err(ApiError::IdentityRequired).gql();
        }
        let conversation_id = Uuid::now_v7();
        let contact = Contact {
            id: Uuid::now_v7(),
            name: short_text("name", input.name.as_deref()).gql()?,
            email: None,
            phone: Some(phone.as_str().to_owned()),
        };
        let placement = place(ctx, &inbox).await.gql()?;
        let command = ConversationCommand::Start(StartConversation {
            conversation_id,
            inbox_id: inbox.inbox_id,
            source: event::Source::Callback,
            contact: contact.clone(),
            subject: None,
            first_message: None,
            callback: Some(request),
            branch_id: placement.branch_id,
            routing: placement.routing,
            sla: Some(placement.sla),
            at: now,
        });
        let meta = CommandMeta {
            command_id: Uuid::new_v5(&conversation_id, b"start"),
            actor: Actor::contact(contact.id),
            correlation_id: request_id(ctx),
            ip,
        };
        app.handler.handle(&meta, &command).await.gql()?;
        Ok(CallbackRequestPayload {
            conversation_id,
            callback_id,
            session_token: Some(app.auth.issue_widget_session(
                contact.id,
                conversation_id,
                inbox.inbox_id,
            )),
        })
    }
}

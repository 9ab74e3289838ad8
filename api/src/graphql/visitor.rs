//! The website visitor's part of the schema, what the widget calls: start a conversation (which
//! issues the widget session token), send messages, mark replies read, rate the conversation,
//! ask for a call-back, read their own conversation, and whether someone is there to answer.
//! Following the thread live (`messagePosted`) is [`super::thread`]'s, typing
//! [`super::typing`]'s: operators use them too.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_commands::handler::CommandMeta;
use switchboard_domain::conversation::{
    CallbackRequest, ConversationCommand, FirstMessage, MarkRead, PostMessage, RateConversation,
    RequestCallback, StartConversation,
};
use switchboard_domain::event::{self, Consent, Contact, DomainEvent, Sender};
use switchboard_domain::inbox::{RatingScale, SlaTerms};
use switchboard_domain::values::{short_text, InvalidInput, MessageBody, Phone};
use switchboard_domain::Actor;
use switchboard_domain::DomainError;
use uuid::Uuid;

use crate::auth::Authentication;
use crate::error::{ApiError, ResultExt};
use crate::graphql::command_meta;
use crate::graphql::types::{Conversation, ConversationChange, Message, Rating};
use crate::graphql::widget_token::widget_token_hash;
use crate::graphql::{request_id, AppContext};
use crate::request::{ClientIp, RequestOrigin, VisitorRegion};
use switchboard_projections::conversations::read;
use switchboard_projections::inboxes::read as inboxes;
use switchboard_projections::operators::read as operators;

/// The inbox a widget token opens, if it is active (SEC-1, INBOX-1).
/// Where a new conversation of `inbox` goes and what it is measured by.
struct Placement {
    branch_id: Option<Uuid>,
    routing: Option<event::Routing>,
    sla: SlaTerms,
}

/// Where a new conversation of `inbox` goes (INBOX-2): a branch inbox's branch, or for a
/// global inbox the branch its routing rules give for the visitor's region; and the inbox's
/// SLA terms it will be measured by (PROJ-3).
async fn place(ctx: &Context<'_>, inbox: &inboxes::InboxRow) -> Result<Placement, ApiError> {
    let app = ctx.data_unchecked::<AppContext>();
    let settings = inboxes::settings(&app.pool, inbox.inbox_id)
        .await?
        .ok_or(ApiError::from(DomainError::InboxNotFound(inbox.inbox_id)))?;
    let sla = settings.sla_terms();
    if inbox.branch_id.is_some() {
        return Ok(Placement {
            branch_id: inbox.branch_id,
            routing: None,
            sla,
        });
    }
    let region = ctx.data_opt::<VisitorRegion>().and_then(|r| r.0.as_deref());
    let (branch_id, routing) = settings.route(region);
    Ok(Placement {
        branch_id,
        routing: Some(routing),
        sla,
    })
}

/// Where a new conversation of `inbox` would go (INBOX-2).
async fn route(
    ctx: &Context<'_>,
    inbox: &inboxes::InboxRow,
) -> Result<(Option<Uuid>, Option<event::Routing>), ApiError> {
    let placement = place(ctx, inbox).await?;
    Ok((placement.branch_id, placement.routing))
}

/// The inbox of a widget token, if it takes conversations, from this page, now (SEC-1,
/// SEC-2).
async fn active_inbox(
    ctx: &Context<'_>,
    widget_token: &str,
) -> Result<inboxes::InboxRow, ApiError> {
    let app = ctx
        .data::<AppContext>()
        .map_err(|_| ApiError::internal("no application context"))?;
    // Whoever presents the widget token: operators and sockets included.
    if !app.widget_api_enabled {
        return Err(ApiError::MessengerDisabled);
    }
    let inbox = inboxes::by_widget_token_hash(&app.pool, &widget_token_hash(widget_token))
        .await?
        .ok_or(ApiError::InvalidWidgetToken)?;
    if !inbox.active {
        return Err(ApiError::InboxInactive(inbox.inbox_id));
    }
    if let (Some(origin), Some(settings)) = (
        ctx.data_opt::<RequestOrigin>().and_then(|o| o.0.as_deref()),
        &inbox.settings,
    ) {
        if !settings.0.allows_origin(origin) {
            return Err(ApiError::OriginNotAllowed(origin.to_owned()));
        }
    }
    app.limits.check_widget(inbox.inbox_id)?;
    Ok(inbox)
}

/// The honeypot (SEC-2): a form field the widget hides from people, so only bots fill it.
fn check_honeypot(website: Option<&str>) -> Result<(), ApiError> {
    match website {
        Some(value) if !value.trim().is_empty() => Err(ApiError::SpamSuspected),
        _ => Ok(()),
    }
}

/// Namespace of the conversation ids derived from `clientRequestId`.
const START_NAMESPACE: Uuid = Uuid::from_u128(0x5b0a_2d1e_9c4f_4e7a_8a61_3f0c_7d2e_9b14);

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

#[derive(Default)]
pub struct VisitorMutation;

#[derive(Default)]
pub struct VisitorRatingMutation;

#[Object]
impl VisitorMutation {
    /// Starts a conversation as a website visitor, in the inbox whose widget token is in the
    /// input (no Authorization header); returns the widget session token for everything after.
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
        let contact = Contact {
            id: Uuid::now_v7(),
            name: short_text("name", input.name.as_deref()).gql()?,
            email: short_text("email", input.email.as_deref()).gql()?,
            phone: short_text("phone", input.phone.as_deref()).gql()?,
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

#[derive(Default)]
pub struct VisitorQuery;

#[Object]
impl VisitorQuery {
    /// The widget session's own conversation.
    async fn my_conversation(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Conversation>> {
        let conversation_id = ctx
            .data::<Authentication>()?
            .require_any_widget_session()
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        let row = read::conversation(&app.pool, conversation_id).await.gql()?;
        Ok(row.map(Conversation::from))
    }

    /// Whether someone is there to answer now (INBOX-3, INBOX-4), for the widget's banner.
    /// Messages are accepted and kept either way.
    async fn availability(
        &self,
        ctx: &Context<'_>,
        widget_token: String,
    ) -> async_graphql::Result<Availability> {
        let app = ctx.data::<AppContext>()?;
        let inbox = active_inbox(ctx, &widget_token).await.gql()?;
        let settings = inboxes::settings(&app.pool, inbox.inbox_id)
            .await
            .gql()?
            .ok_or(ApiError::from(DomainError::InboxNotFound(inbox.inbox_id)))
            .gql()?;
        let now = Utc::now();
        if !settings.working_hours.is_open(now) {
            return Ok(Availability {
                state: AvailabilityState::OutsideWorkingHours,
                message: settings.outside_hours_message,
                next_opening: settings.working_hours.next_opening(now),
            });
        }
        let (branch, _) = route(ctx, &inbox).await.gql()?;
        let someone_online = operators::online(&app.pool)
            .await
            .gql()?
            .iter()
            .any(|operator| operator.branch_id == branch);
        Ok(if someone_online {
            Availability {
                state: AvailabilityState::Online,
                message: None,
                next_opening: None,
            }
        } else {
            Availability {
                state: AvailabilityState::Offline,
                message: settings.offline_message,
                next_opening: None,
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum AvailabilityState {
    /// An operator of the branch that would take the conversation is online.
    Online,
    /// Within working hours, but nobody is online (INBOX-4).
    Offline,
    /// Outside the inbox's working hours (INBOX-3): `outside_working_hours` in SPEC terms.
    OutsideWorkingHours,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Availability {
    pub state: AvailabilityState,
    /// The inbox's banner for this state, if it set one.
    pub message: Option<String>,
    /// Outside working hours: when they start again.
    pub next_opening: Option<DateTime<Utc>>,
}

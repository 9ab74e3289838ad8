//! What the widget reads and follows: its settings (INBOX-1), whether someone is there
//! (INBOX-3, INBOX-4), the visitor's conversations (SEC-1) and the live status of theirs.

use async_graphql::{Context, Enum, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use switchboard_domain::inbox::InboxSettings;
use uuid::Uuid;

use super::start::VisitorUserInput;
use super::{active_inbox, route, settings_of, widget_inbox};
use crate::auth::Authentication;
use crate::changes::{next_event, FeedEvent};
use crate::error::{ApiError, ResultExt};
use crate::graphql::admin::AttachmentType;
use crate::graphql::types::{page_size, Conversation, RatingScale, VisitorField, VisitorIdentity};
use crate::graphql::AppContext;
use crate::identity;
use switchboard_projections::conversations::read;
use switchboard_projections::inboxes::read as inboxes;
use switchboard_projections::operators::read as operators;

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
        Ok(row.map(|row| Conversation::from(row).for_contact()))
    }

    /// The visitor's conversations in this inbox, most recently active first (SEC-1; seed
    /// 003: several tickets per client), each with a session token to open it. The visitor
    /// is the widget session's contact, or, on a device without a session, the verified
    /// `user` of the inbox of `widgetToken`.
    async fn my_conversations(
        &self,
        ctx: &Context<'_>,
        widget_token: Option<String>,
        user: Option<VisitorUserInput>,
        #[graphql(default = 20)] first: Option<i32>,
    ) -> async_graphql::Result<Vec<VisitorConversation>> {
        let app = ctx.data::<AppContext>()?;
        let limit = page_size(first, 20).gql()?;
        let (contact_id, inbox_id) = match (widget_token, user) {
            (Some(token), Some(user)) => {
                let inbox = active_inbox(ctx, &token).await.gql()?;
                let contact = identity::verified_contact(
                    &app.pool,
                    inbox.inbox_id,
                    &user.id,
                    &user.identity_hash,
                )
                .await
                .gql()?;
                (contact, inbox.inbox_id)
            }
            (None, None) => {
                let auth = ctx.data::<Authentication>()?;
                let own = auth.require_any_widget_session().gql()?;
                let (contact, inbox) = auth.require_widget_session(own).gql()?;
                (contact, inbox)
            }
            _ => {
                return Err(ApiError::InvalidArgument {
                    argument: "user",
                    reason:
                        "give widgetToken and user together, or neither (with a widget session)"
                            .into(),
                })
                .gql()
            }
        };
        if switchboard_commands::seal::is_erased(&app.pool, contact_id)
            .await
            .gql()?
        {
            return Err(ApiError::ContactErased(contact_id)).gql();
        }
        let rows = read::of_contact(&app.pool, contact_id, inbox_id, limit)
            .await
            .gql()?;
        Ok(rows
            .into_iter()
            .map(|row| VisitorConversation {
                session_token: app.auth.issue_widget_session(
                    contact_id,
                    row.conversation_id,
                    inbox_id,
                ),
                conversation: Conversation::from(row).for_contact(),
            })
            .collect())
    }

    /// What the widget renders before and around a chat (INBOX-1, INBOX-3, INBOX-4, CONV-7,
    /// CONV-8, SEC-1, TG-4): the inbox's title, greeting and colour, the details the pre-chat
    /// form must ask for, whether visitors must be signed-in users, the rating scale, the
    /// files it takes, whether someone is there now, and whether Telegram is on offer.
    async fn widget_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The inbox's widget token; omit it to ask for the caller's widget session's inbox."
        )]
        widget_token: Option<String>,
    ) -> async_graphql::Result<WidgetSettings> {
        let app = ctx.data::<AppContext>()?;
        let inbox = widget_inbox(ctx, widget_token.as_deref()).await.gql()?;
        let settings = settings_of(&inbox).gql()?;
        let availability = availability_of(ctx, &inbox, &settings).await.gql()?;
        Ok(WidgetSettings {
            inbox_id: inbox.inbox_id,
            title: settings.title,
            greeting: settings.greeting,
            color: settings.color,
            required_fields: settings.required_fields.iter().map(|&f| f.into()).collect(),
            visitor_identity: settings.visitor_identity.into(),
            rating: settings.rating.into(),
            max_message_chars: i32::try_from(app.max_body_chars).unwrap_or(i32::MAX),
            max_attachment_bytes: settings.attachments.max_bytes,
            attachment_types: settings
                .attachments
                .types
                .iter()
                .map(|&t| t.into())
                .collect(),
            availability,
            offline_message: settings.offline_message,
            outside_hours_message: settings.outside_hours_message,
            telegram_available: app.telegram.is_some(),
        })
    }

    /// Whether someone is there to answer now (INBOX-3, INBOX-4), for the widget's banner.
    /// Messages are accepted and kept either way.
    async fn availability(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The inbox's widget token; omit it to ask for the caller's widget session's inbox."
        )]
        widget_token: Option<String>,
    ) -> async_graphql::Result<Availability> {
        let inbox = widget_inbox(ctx, widget_token.as_deref()).await.gql()?;
        let settings = settings_of(&inbox).gql()?;
        availability_of(ctx, &inbox, &settings).await.gql()
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

/// Whether someone is there to answer in `inbox` now (INBOX-3, INBOX-4).
async fn availability_of(
    ctx: &Context<'_>,
    inbox: &inboxes::InboxRow,
    settings: &InboxSettings,
) -> Result<Availability, ApiError> {
    let app = ctx
        .data::<AppContext>()
        .map_err(|_| ApiError::internal("no application context"))?;
    let now = Utc::now();
    if !settings.working_hours.is_open(now) {
        return Ok(Availability {
            state: AvailabilityState::OutsideWorkingHours,
            message: settings.outside_hours_message.clone(),
            next_opening: settings.working_hours.next_opening(now),
        });
    }
    let (branch, _) = route(ctx, inbox).await?;
    let someone_online = operators::online(&app.pool)
        .await?
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
            message: settings.offline_message.clone(),
            next_opening: None,
        }
    })
}

/// One of the visitor's conversations, with the token that opens it.
#[derive(SimpleObject)]
pub struct VisitorConversation {
    pub conversation: Conversation,
    /// A widget session token for this conversation.
    pub session_token: String,
}

/// What the widget renders (see `widgetSettings`).
#[derive(SimpleObject)]
pub struct WidgetSettings {
    pub inbox_id: Uuid,
    pub title: String,
    pub greeting: Option<String>,
    /// `#rrggbb`; null: the widget's own.
    pub color: Option<String>,
    /// The pre-chat form's fields that must be filled in (INBOX-1).
    pub required_fields: Vec<VisitorField>,
    /// `REQUIRED`: only signed-in users of the site may chat (SEC-1).
    pub visitor_identity: VisitorIdentity,
    /// The scale the rating asks on after a resolve or close (CONV-8); `NONE`: no rating.
    pub rating: RatingScale,
    /// The longest message, in characters (CONV-3).
    pub max_message_chars: i32,
    /// The largest attachment, in bytes (CONV-7).
    pub max_attachment_bytes: u64,
    /// The file types the inbox takes (CONV-7).
    pub attachment_types: Vec<AttachmentType>,
    /// Whether someone is there to answer now, with the banner to show.
    pub availability: Availability,
    /// The banner when nobody is online (INBOX-4), whatever the state now.
    pub offline_message: Option<String>,
    /// The message outside working hours (INBOX-3), whatever the state now.
    pub outside_hours_message: Option<String>,
    /// Whether the visitor may continue in Telegram (`createTelegramLink`, TG-4).
    pub telegram_available: bool,
}

#[derive(Default)]
pub struct VisitorSubscription;

#[Subscription]
impl VisitorSubscription {
    /// The widget session's conversation each time it changes (status, assignee, rating, a
    /// new message…), as its contact sees it, starting with how it stands: the widget's status
    /// line ("an operator is joining", "reply received", "we will call you").
    async fn my_conversation_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Conversation>> {
        let conversation_id = ctx
            .data::<Authentication>()?
            .require_any_widget_session()
            .gql()?;
        let app = ctx.data::<AppContext>()?.clone();
        // Subscribe first, then read where we stand: nothing committed in between is missed.
        let mut events = app.feed.subscribe();
        let first = read::conversation(&app.pool, conversation_id).await.gql()?;
        Ok(async_stream::stream! {
            if let Some(row) = first {
                yield Conversation::from(row).for_contact();
            }
            while let Some(event) = next_event(&mut events).await {
                let ours = match &event {
                    FeedEvent::Resync => true,
                    FeedEvent::Changed(change) => change.conversation_id() == Some(conversation_id),
                    FeedEvent::Typing(_) => false,
                };
                if !ours {
                    continue;
                }
                match read::conversation(&app.pool, conversation_id).await {
                    Ok(Some(row)) => yield Conversation::from(row).for_contact(),
                    Ok(None) => {}
                    Err(err) => tracing::warn!(error = %err, "conversation subscription read failed"),
                }
            }
        })
    }
}

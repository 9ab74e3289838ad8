//! The website visitor's part of the schema, what the widget calls. This file holds what the
//! parts share (the inbox a widget token opens, where a new conversation goes, the honeypot);
//! `start.rs` starts conversations (who the visitor is: SEC-1 identity, INBOX-1 required
//! details), `session.rs` is what a widget session does in its conversation (write, read,
//! rate, end), `callback.rs` the call-back request (CALL-1), `query.rs` what the widget reads
//! and follows (its settings, availability, the visitor's conversations, live status).
//! Following the thread live (`messagePosted`) is [`super::thread`]'s, typing
//! [`super::typing`]'s: operators use them too.

mod callback;
mod query;
mod session;
mod start;

pub use callback::{
    CallbackRequestPayload, ConsentInput, RequestCallbackInput, VisitorCallbackMutation,
};
pub use query::{Availability, AvailabilityState, VisitorQuery, VisitorSubscription};
pub use session::{
    MarkReadInput, RateConversationInput, SendMessageInput, VisitorMessageMutation,
    VisitorRatingMutation, VisitorReadMutation,
};
pub use start::{
    StartConversationInput, StartConversationPayload, VisitorMutation, VisitorUserInput,
};

use async_graphql::Context;
use switchboard_domain::event;
use switchboard_domain::inbox::{InboxSettings, SlaTerms};
use switchboard_domain::DomainError;
use uuid::Uuid;

use crate::auth::{Authentication, Viewer};
use crate::error::ApiError;
use crate::graphql::widget_token::widget_token_hash;
use crate::graphql::AppContext;
use crate::request::{RequestOrigin, VisitorRegion};
use switchboard_projections::inboxes::read as inboxes;

/// Where a new conversation of `inbox` goes and what it is measured by.
pub(super) struct Placement {
    pub(super) branch_id: Option<Uuid>,
    pub(super) routing: Option<event::Routing>,
    pub(super) sla: SlaTerms,
}

/// Where a new conversation of `inbox` goes (INBOX-2): a branch inbox's branch, or for a
/// global inbox the branch its routing rules give for the visitor's region; and the inbox's
/// SLA terms it will be measured by (PROJ-3).
pub(super) async fn place(
    ctx: &Context<'_>,
    inbox: &inboxes::InboxRow,
) -> Result<Placement, ApiError> {
    let settings = settings_of(inbox)?;
    let region = ctx.data_opt::<VisitorRegion>().and_then(|r| r.0.as_deref());
    let (branch_id, routing) = settings.place(inbox.branch_id, region);
    Ok(Placement {
        branch_id,
        routing,
        sla: settings.sla_terms(),
    })
}

/// The settings of an inbox as its row was read (the widget token's lookup reads them).
pub(super) fn settings_of(inbox: &inboxes::InboxRow) -> Result<InboxSettings, ApiError> {
    inbox
        .settings
        .as_ref()
        .map(|json| json.0.clone())
        .ok_or(ApiError::from(DomainError::InboxNotFound(inbox.inbox_id)))
}

/// Where a new conversation of `inbox` would go (INBOX-2).
pub(super) async fn route(
    ctx: &Context<'_>,
    inbox: &inboxes::InboxRow,
) -> Result<(Option<Uuid>, Option<event::Routing>), ApiError> {
    let placement = place(ctx, inbox).await?;
    Ok((placement.branch_id, placement.routing))
}

/// The inbox of a widget token, if it takes conversations, from this page, now (SEC-1,
/// SEC-2).
pub(super) async fn active_inbox(
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
    admit(ctx, app, inbox)
}

/// The inbox of the widget token given or, without one, of the caller's widget session (the
/// page the visitor's e-mail links to knows only the session), checked as [`active_inbox`]
/// checks it.
pub(super) async fn widget_inbox(
    ctx: &Context<'_>,
    widget_token: Option<&str>,
) -> Result<inboxes::InboxRow, ApiError> {
    if let Some(widget_token) = widget_token {
        return active_inbox(ctx, widget_token).await;
    }
    let app = ctx
        .data::<AppContext>()
        .map_err(|_| ApiError::internal("no application context"))?;
    if !app.widget_api_enabled {
        return Err(ApiError::MessengerDisabled);
    }
    let Ok(Viewer::WidgetSession { inbox_id, .. }) = &ctx
        .data::<Authentication>()
        .map_err(|_| ApiError::internal("no authentication"))?
        .0
    else {
        return Err(ApiError::InvalidArgument {
            argument: "widgetToken",
            reason: "give the inbox's widget token, or call with a widget session".into(),
        });
    };
    let inbox = inboxes::inbox(&app.pool, *inbox_id)
        .await?
        .ok_or(ApiError::InvalidWidgetToken)?;
    admit(ctx, app, inbox)
}

fn admit(
    ctx: &Context<'_>,
    app: &AppContext,
    inbox: inboxes::InboxRow,
) -> Result<inboxes::InboxRow, ApiError> {
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
pub(super) fn check_honeypot(website: Option<&str>) -> Result<(), ApiError> {
    match website {
        Some(value) if !value.trim().is_empty() => Err(ApiError::SpamSuspected),
        _ => Ok(()),
    }
}

/// Namespace of the conversation ids derived from `clientRequestId`.
pub(super) const START_NAMESPACE: Uuid = Uuid::from_u128(0x5b0a_2d1e_9c4f_4e7a_8a61_3f0c_7d2e_9b14);

//! The GraphQL schema, split by the user it serves: [`widget`] (website visitors),
//! [`operator`] (the operator UI), [`team`] (operators and their status), [`admin`]
//! (inboxes) and [`webhooks`] (webhook endpoints and deliveries). Each module contributes its
//! part of Query, Mutation and Subscription; they are merged here. Shared object types live in
//! [`types`].

use async_graphql::{MergedObject, MergedSubscription, Schema};
use sqlx::PgPool;
use switchboard_commands::handler::{
    ConversationHandler, InboxHandler, OperatorHandler, WebhookEndpointHandler,
};

use crate::auth::Auth;
use crate::changes::ChangeFeed;

pub mod admin;
pub mod operator;
pub mod sla;
pub mod team;
pub mod types;
pub mod typing;
pub mod webhooks;
pub mod widget;

/// What every resolver may use. Put into the schema once, at start-up.
#[derive(Clone)]
pub struct AppContext {
    pub pool: PgPool,
    pub handler: ConversationHandler,
    pub inbox_handler: InboxHandler,
    pub operator_handler: OperatorHandler,
    pub webhook_handler: WebhookEndpointHandler,
    pub auth: Auth,
    pub feed: ChangeFeed,
    /// Message reads shared by the subscriptions one change wakes.
    pub message_reads: crate::shared_reads::MessageReads,
    pub max_body_chars: usize,
    /// How long a typing indicator stays on without renewal (CONV-6).
    pub typing_ttl: std::time::Duration,
    /// The country for phone numbers without a country code (CALL-1).
    pub default_phone_region: Option<String>,
}

/// The client's address as the HTTP server saw it, recorded in event metadata.
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

/// The visitor's region as the trusted proxy's header gave it (INBOX-2).
#[derive(Debug, Clone)]
pub struct VisitorRegion(pub Option<String>);

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    operator::OperatorQuery,
    widget::WidgetQuery,
    admin::AdminQuery,
    team::TeamQuery,
    sla::SlaQuery,
    webhooks::WebhooksQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    widget::WidgetMutation,
    widget::WidgetRatingMutation,
    widget::WidgetReadMutation,
    widget::WidgetCallbackMutation,
    typing::TypingMutation,
    operator::OperatorMutation,
    admin::AdminMutation,
    team::TeamMutation,
    webhooks::WebhooksMutation,
);

#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    operator::OperatorSubscription,
    widget::WidgetSubscription,
    typing::TypingSubscription,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Depth and complexity limits keep one request from asking for the whole database (SEC-2).
pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 1_000;

pub fn build_schema(context: Option<AppContext>) -> AppSchema {
    let builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .extension(crate::error::ErrorCodes);
    match context {
        Some(context) => builder.data(context).finish(),
        None => builder.finish(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sdl_contract() {
        insta::assert_snapshot!(super::build_schema(None).sdl());
    }
}

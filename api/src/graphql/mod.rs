//! The GraphQL schema, one module per user of it, each contributing its part of Query, Mutation
//! and Subscription; they are merged here.
//!
//! - [`visitor`]: website visitors, through the widget: start a conversation, write, rate,
//!   ask for a call-back, read their own conversation.
//! - [`operator`]: the operator UI: the inbox list, a conversation's thread, its status and
//!   assignment, call-backs, live updates.
//! - [`admin`] (inboxes), [`team`] (operators and their status), [`webhooks`] (endpoints and
//!   deliveries), [`privacy`] (contacts' data: export, erasure), [`telegram`] (link tokens for
//!   operators and visitors): admins, and operators for themselves.
//! - [`analyst`]: the SLA report.
//! - [`auditor`]: the log itself.
//!
//! What several of them share has a module of its own, so that no user's module imports
//! another's: [`types`] (the object types, a conversation's SLA figures among them),
//! [`thread`] (a thread as both sides reach it), [`typing`] (typing indicators, both ways),
//! [`widget_token`]. [`depth`] is the depth limit.

use async_graphql::{MergedObject, MergedSubscription, Schema};
use sqlx::PgPool;
use switchboard_commands::handler::{
    ContactHandler, ConversationHandler, InboxHandler, OperatorHandler, WebhookEndpointHandler,
};

use crate::auth::Auth;
use crate::changes::ChangeFeed;
use crate::request::{ClientIp, RequestId};

pub mod admin;
pub mod analyst;
pub mod auditor;
pub mod depth;
pub mod operator;
pub mod privacy;
pub mod sign_in;
pub mod team;
pub mod telegram;
pub mod thread;
pub mod types;
pub mod typing;
pub mod visitor;
pub mod webhooks;
pub mod widget_token;

/// What every resolver may use. Put into the schema once, at start-up.
#[derive(Clone)]
pub struct AppContext {
    pub pool: PgPool,
    pub handler: ConversationHandler,
    pub inbox_handler: InboxHandler,
    pub operator_handler: OperatorHandler,
    pub webhook_handler: WebhookEndpointHandler,
    /// Erasure (GDPR-2).
    pub contact_handler: ContactHandler,
    /// Where attachment bytes live: erasure deletes a contact's files.
    pub attachments: crate::attachments::store::SharedStore,
    pub auth: Auth,
    pub feed: ChangeFeed,
    /// Message reads shared by the subscriptions one change wakes.
    pub message_reads: crate::shared_reads::MessageReads,
    pub max_body_chars: usize,
    /// How long a typing indicator stays on without renewal (CONV-6).
    pub typing_ttl: std::time::Duration,
    /// The country for phone numbers without a country code (CALL-1).
    pub default_phone_region: Option<String>,
    /// Abuse limits (SEC-2), shared with the HTTP layer.
    pub limits: std::sync::Arc<crate::limits::RateLimits>,
    /// False: the widget API is switched off (seed 001), for whoever calls it.
    pub widget_api_enabled: bool,
    /// What `/metrics` reports; the schema counts open subscriptions into it.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// The Telegram bot, when one is set up (TG-1, TG-4 links).
    pub telegram: Option<std::sync::Arc<crate::telegram::Telegram>>,
    /// Operator sign-in: passwords, sessions, one-time links.
    pub sign_in: crate::sign_in::SignIn,
}

/// The correlation id for the commands of the request `ctx` serves.
pub fn request_id(ctx: &async_graphql::Context<'_>) -> Option<uuid::Uuid> {
    ctx.data_opt::<RequestId>().map(|id| id.0)
}

/// The metadata of a command `actor` sends in the request `ctx` serves: its correlation id is
/// the request's, its address the client's.
pub fn command_meta(
    ctx: &async_graphql::Context<'_>,
    command_id: uuid::Uuid,
    actor: switchboard_domain::envelope::Actor,
) -> switchboard_commands::handler::CommandMeta {
    switchboard_commands::handler::CommandMeta {
        command_id,
        actor,
        correlation_id: request_id(ctx),
        ip: ctx.data_opt::<ClientIp>().and_then(|ip| ip.0.clone()),
    }
}

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    operator::OperatorQuery,
    visitor::VisitorQuery,
    admin::AdminQuery,
    team::TeamQuery,
    analyst::AnalystQuery,
    webhooks::WebhooksQuery,
    auditor::AuditorQuery,
    privacy::PrivacyQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    visitor::VisitorMutation,
    visitor::VisitorMessageMutation,
    visitor::VisitorRatingMutation,
    visitor::VisitorReadMutation,
    visitor::VisitorCallbackMutation,
    typing::TypingMutation,
    operator::OperatorMutation,
    admin::AdminMutation,
    team::TeamMutation,
    sign_in::SignInMutation,
    webhooks::WebhooksMutation,
    privacy::PrivacyMutation,
    telegram::TelegramMutation,
);

#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    operator::OperatorSubscription,
    thread::ThreadSubscription,
    typing::TypingSubscription,
    visitor::VisitorSubscription,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Depth and complexity limits keep one request from asking for the whole database (SEC-2);
/// the depth limit is [`depth::DepthLimit`]'s.
pub const MAX_COMPLEXITY: usize = 1_000;

pub fn build_schema(context: Option<AppContext>) -> AppSchema {
    let builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(depth::MAX_INTROSPECTION_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .extension(depth::DepthLimit)
    .extension(crate::error::ErrorCodes);
    match context {
        Some(context) => builder
            .extension(crate::metrics::CountSubscriptions(context.metrics.clone()))
            .extension(crate::limits::ChargeOperations(context.limits.clone()))
            .data(context)
            .finish(),
        None => builder.finish(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sdl_contract() {
        insta::assert_snapshot!(super::build_schema(None).sdl());
    }

    /// graphql-js 16's `getIntrospectionQuery()` with every option on, as GraphiQL and client
    /// code generators send it.
    const GRAPHQL_JS_INTROSPECTION: &str = include_str!("introspection.graphql");

    #[tokio::test]
    async fn client_tools_introspection_passes_and_deep_queries_do_not() {
        let schema = super::build_schema(None);
        let response = schema.execute(GRAPHQL_JS_INTROSPECTION).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        // Nested past 12 levels (inbox → nodes → messages → nodes → … via fragments would
        // need real types; the introspection fields mixed with a real one lose the allowance).
        let deep = format!(
            "{{ me {{ id }} __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
            "ofType { ".repeat(9),
            "}".repeat(9)
        );
        let response = schema.execute(deep.as_str()).await;
        assert_eq!(
            response.errors[0].message,
            "Query is nested too deep (at most 12 levels)."
        );
    }
}

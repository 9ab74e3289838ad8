//! Telegram links (TG-1, TG-4): operators link their Telegram account with `/login <token>`,
//! visitors move their conversation to Telegram with `/start link_<token>`. See
//! [`crate::telegram`].

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_domain::DomainError;
use uuid::Uuid;

use crate::auth::{Authentication, ANY_ROLE};
use crate::error::{ApiError, ResultExt};
use crate::graphql::AppContext;
use crate::telegram::{LinkTarget, Telegram, VISITOR_LINK_PREFIX};

/// A one-time token that links Telegram to Switchboard.
#[derive(Debug, Clone, SimpleObject)]
pub struct TelegramLink {
    pub token: String,
    /// What to send the bot: `/login <token>` for an operator, `/start link_<token>` for a
    /// visitor.
    pub command: String,
    /// For a visitor: `https://t.me/<bot>?start=link_<token>`, which opens the bot and sends
    /// the command. Null for an operator (who sends `command` themselves).
    pub url: Option<String>,
    pub expires_at: DateTime<Utc>,
}

fn telegram<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Telegram> {
    ctx.data::<AppContext>()?
        .telegram
        .as_deref()
        .ok_or(ApiError::TelegramDisabled)
        .gql()
}

#[derive(Default)]
pub struct TelegramMutation;

#[Object]
impl TelegramMutation {
    /// A token for the caller to link their Telegram account (TG-1): send the bot
    /// `/login <token>` within the token's lifetime. A new link replaces an older one.
    async fn create_telegram_link(&self, ctx: &Context<'_>) -> async_graphql::Result<TelegramLink> {
        let (operator_id, _) = ctx
            .data::<Authentication>()?
            .require_operator(ANY_ROLE)
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        let telegram = telegram(ctx)?;
        if switchboard_projections::operators::read::operator(&app.pool, operator_id)
            .await
            .map_err(ApiError::internal)
            .gql()?
            .is_none()
        {
            return Err(ApiError::from(DomainError::OperatorNotFound(operator_id))).gql();
        }
        let link = telegram
            .issue_link(&app.pool, LinkTarget::Operator(operator_id))
            .await
            .map_err(ApiError::internal)
            .gql()?;
        Ok(TelegramLink {
            command: format!("/login {}", link.token),
            token: link.token,
            url: None,
            expires_at: link.expires_at,
        })
    }

    /// Unlinks the caller's Telegram account (and gives up what was queued for it); true if
    /// one was linked.
    async fn unlink_telegram(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let (operator_id, _) = ctx
            .data::<Authentication>()?
            .require_operator(ANY_ROLE)
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        crate::telegram::unlink_operator(&app.pool, operator_id)
            .await
            .map_err(ApiError::internal)
            .gql()
    }

    /// A link that moves the widget's conversation to Telegram as well (TG-4): the visitor
    /// opens `url`, and from then on both the widget and the Telegram chat carry the
    /// conversation, with the same history.
    async fn link_telegram(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
    ) -> async_graphql::Result<TelegramLink> {
        let (contact_id, _) = ctx
            .data::<Authentication>()?
            .require_widget_session(conversation_id)
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        let telegram = telegram(ctx)?;
        let username = telegram.username().await.gql()?.to_owned();
        let link = telegram
            .issue_link(
                &app.pool,
                LinkTarget::Conversation {
                    conversation_id,
                    contact_id,
                },
            )
            .await
            .map_err(ApiError::internal)
            .gql()?;
        let start = format!("{VISITOR_LINK_PREFIX}{}", link.token);
        Ok(TelegramLink {
            command: format!("/start {start}"),
            url: Some(format!("https://t.me/{username}?start={start}")),
            token: link.token,
            expires_at: link.expires_at,
        })
    }
}

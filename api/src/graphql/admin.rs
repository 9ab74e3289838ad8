//! The admin's part of the schema: inboxes (INBOX-1). Creating an inbox or rotating its
//! widget token returns the token once; only its SHA-256 is kept.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use switchboard_commands::handler::{CommandMeta, Handled};
use switchboard_domain::inbox::{InboxCommand, InboxSettings};
use switchboard_domain::Actor;
use switchboard_projections::inboxes::read::{self, InboxRow};
use uuid::Uuid;

use crate::auth::{Authentication, Role};
use crate::error::{ApiError, ResultExt};
use crate::graphql::{AppContext, ClientIp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "switchboard_domain::inbox::RatingScale")]
pub enum RatingScale {
    None,
    Csat,
    Nps,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Inbox {
    pub id: Uuid,
    /// Set at creation and never changed; null for a global inbox.
    pub branch_id: Option<Uuid>,
    pub title: String,
    pub greeting: Option<String>,
    pub color: Option<String>,
    pub rating: RatingScale,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<InboxRow> for Inbox {
    fn from(row: InboxRow) -> Self {
        let rating = switchboard_domain::inbox::RatingScale::parse(&row.rating).unwrap_or_default();
        Self {
            id: row.inbox_id,
            branch_id: row.branch_id,
            title: row.title,
            greeting: row.greeting,
            color: row.color,
            rating: rating.into(),
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, InputObject)]
pub struct InboxSettingsInput {
    pub title: String,
    pub greeting: Option<String>,
    /// `#rrggbb`
    pub color: Option<String>,
    #[graphql(default_with = "RatingScale::None")]
    pub rating: RatingScale,
}

impl InboxSettingsInput {
    fn validate(&self) -> Result<InboxSettings, ApiError> {
        Ok(InboxSettings::new(
            &self.title,
            self.greeting.as_deref(),
            self.color.as_deref(),
            self.rating.into(),
        )?)
    }
}

#[derive(Debug, InputObject)]
pub struct CreateInboxInput {
    /// The branch the inbox belongs to, for good; omit for a global inbox.
    pub branch_id: Option<Uuid>,
    pub settings: InboxSettingsInput,
}

#[derive(Debug, SimpleObject)]
pub struct InboxWithToken {
    pub inbox_id: Uuid,
    /// Shown this once: the widget sends it to start conversations. Keep it like a password.
    pub widget_token: String,
}

#[derive(Debug, SimpleObject)]
pub struct InboxChange {
    pub inbox_id: Uuid,
    /// False when the inbox already was as asked.
    pub changed: bool,
}

/// A new widget token: 256 random bits (two v4 UUIDs from the OS's generator), prefixed so
/// that a leaked one is recognisable.
fn new_widget_token() -> String {
    format!("sbw_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// What the log keeps of a widget token.
pub fn widget_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

async fn as_admin(ctx: &Context<'_>, command: InboxCommand) -> async_graphql::Result<Handled> {
    let (operator_id, roles) = ctx
        .data::<Authentication>()?
        .require_operator(&[Role::Admin])
        .gql()?;
    let app = ctx.data::<AppContext>()?;
    let meta = CommandMeta {
        command_id: Uuid::now_v7(),
        actor: Actor::operator(operator_id, roles.to_vec()),
        correlation_id: None,
        ip: ctx.data_opt::<ClientIp>().and_then(|ip| ip.0.clone()),
    };
    app.inbox_handler.handle(&meta, &command).await.gql()
}

#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Every inbox. Any operator may list them (the operator UI filters by inbox).
    async fn inboxes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Inbox>> {
        ctx.data::<Authentication>()?.require_operator(&[]).gql()?;
        let app = ctx.data::<AppContext>()?;
        Ok(read::all(&app.pool)
            .await
            .gql()?
            .into_iter()
            .map(Inbox::from)
            .collect())
    }
}

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Creates an inbox and returns its widget token (admins).
    async fn create_inbox(
        &self,
        ctx: &Context<'_>,
        input: CreateInboxInput,
    ) -> async_graphql::Result<InboxWithToken> {
        let settings = input.settings.validate().gql()?;
        let inbox_id = Uuid::now_v7();
        let widget_token = new_widget_token();
        as_admin(
            ctx,
            InboxCommand::Create {
                inbox_id,
                branch_id: input.branch_id,
                settings,
                widget_token_hash: widget_token_hash(&widget_token),
                at: Utc::now(),
            },
        )
        .await?;
        Ok(InboxWithToken {
            inbox_id,
            widget_token,
        })
    }

    /// Replaces an inbox's settings (admins). The branch cannot change.
    async fn update_inbox(
        &self,
        ctx: &Context<'_>,
        inbox_id: Uuid,
        settings: InboxSettingsInput,
    ) -> async_graphql::Result<InboxChange> {
        let settings = settings.validate().gql()?;
        let handled = as_admin(
            ctx,
            InboxCommand::ChangeSettings {
                inbox_id,
                settings,
                at: Utc::now(),
            },
        )
        .await?;
        Ok(InboxChange {
            inbox_id,
            changed: !handled.events.is_empty(),
        })
    }

    /// Issues a new widget token; the old one stops working (admins).
    async fn rotate_widget_token(
        &self,
        ctx: &Context<'_>,
        inbox_id: Uuid,
    ) -> async_graphql::Result<InboxWithToken> {
        let widget_token = new_widget_token();
        as_admin(
            ctx,
            InboxCommand::RotateWidgetToken {
                inbox_id,
                widget_token_hash: widget_token_hash(&widget_token),
                at: Utc::now(),
            },
        )
        .await?;
        Ok(InboxWithToken {
            inbox_id,
            widget_token,
        })
    }

    /// Switches an inbox on or off; an inactive inbox starts no conversations (admins).
    async fn set_inbox_active(
        &self,
        ctx: &Context<'_>,
        inbox_id: Uuid,
        active: bool,
    ) -> async_graphql::Result<InboxChange> {
        let handled = as_admin(
            ctx,
            InboxCommand::SetActive {
                inbox_id,
                active,
                at: Utc::now(),
            },
        )
        .await?;
        Ok(InboxChange {
            inbox_id,
            changed: !handled.events.is_empty(),
        })
    }
}

//! Operators as an admin manages them and as they manage themselves (OPS-2): registration,
//! profile (roles, branch, capacity), status, and the list with each one's current load.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_domain::operator::{OperatorCommand, OperatorProfile};
use switchboard_domain::Actor;
use switchboard_projections::operators::read::{self, OperatorRow};
use uuid::Uuid;

use crate::auth::{Authentication, Role, ANY_ROLE, CONVERSATION_ROLES};
use crate::error::ResultExt;
use crate::graphql::command_meta;
use crate::graphql::AppContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "switchboard_domain::operator::Role")]
pub enum OperatorRole {
    Admin,
    Moderator,
    Manager,
    Analyst,
    Auditor,
}

/// Whether an operator is at work (OPS-2): only ONLINE operators get conversations
/// automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "switchboard_domain::operator::OperatorStatus")]
pub enum OperatorStatus {
    Online,
    Away,
    Busy,
    Offline,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Operator {
    pub id: Uuid,
    pub name: String,
    pub roles: Vec<OperatorRole>,
    /// Null: head office, who may work any branch's conversations.
    pub branch_id: Option<Uuid>,
    /// The most conversations auto-assignment gives them; null: the inbox's default.
    pub capacity: Option<i32>,
    /// Where call-back notifications reach them by e-mail (CALL-2).
    pub email: Option<String>,
    /// Whether they linked a Telegram account (`/login`, TG-1).
    pub telegram_linked: bool,
    pub status: OperatorStatus,
    pub status_changed_at: DateTime<Utc>,
    /// Conversations assigned to them that are neither resolved nor closed.
    pub load: i64,
    pub last_assigned_at: Option<DateTime<Utc>>,
    /// False once an admin deactivated them: no sign-in, no conversations.
    pub active: bool,
    /// Invited, and the password not set yet.
    pub invitation_pending: bool,
}

impl From<OperatorRow> for Operator {
    fn from(row: OperatorRow) -> Self {
        use switchboard_domain::operator as domain;
        Self {
            id: row.operator_id,
            name: row.name,
            roles: row
                .roles
                .iter()
                .filter_map(|r| domain::Role::parse(r))
                .map(OperatorRole::from)
                .collect(),
            branch_id: row.branch_id,
            capacity: row.capacity,
            email: row.email,
            telegram_linked: row.telegram_linked,
            status: domain::OperatorStatus::parse(&row.status)
                .unwrap_or_default()
                .into(),
            status_changed_at: row.status_changed_at,
            load: row.load,
            last_assigned_at: row.last_assigned_at,
            active: row.active,
            invitation_pending: row.invitation_pending,
        }
    }
}

#[derive(Debug, InputObject)]
pub struct OperatorProfileInput {
    pub name: String,
    pub roles: Vec<OperatorRole>,
    /// Omit for head office.
    pub branch_id: Option<Uuid>,
    /// 1–1000; omit to use each inbox's default.
    pub capacity: Option<i32>,
    /// Where call-back notifications reach them by e-mail (CALL-2); omit for none.
    pub email: Option<String>,
}

impl OperatorProfileInput {
    pub(crate) fn validate(&self) -> Result<OperatorProfile, crate::error::ApiError> {
        let roles: Vec<Role> = self.roles.iter().map(|&r| r.into()).collect();
        // Out of u16's range is out of the allowed range too (0 is): the profile says so.
        let capacity = self.capacity.map(|c| u16::try_from(c).unwrap_or(0));
        Ok(
            OperatorProfile::new(&self.name, &roles, self.branch_id, capacity)?
                .with_email(self.email.as_deref())?,
        )
    }
}

#[derive(Debug, InputObject)]
pub struct RegisterOperatorInput {
    /// The operator's id: the subject of their sign-in token. Omit to get a new one.
    pub operator_id: Option<Uuid>,
    pub profile: OperatorProfileInput,
}

#[derive(Debug, SimpleObject)]
pub struct OperatorChange {
    pub operator_id: Uuid,
    /// False when the operator already was as asked.
    pub changed: bool,
}

pub(crate) async fn handle(
    ctx: &Context<'_>,
    allowed: &[Role],
    command: OperatorCommand,
) -> async_graphql::Result<OperatorChange> {
    let (caller, roles) = ctx
        .data::<Authentication>()?
        .require_operator(allowed)
        .gql()?;
    let app = ctx.data::<AppContext>()?;
    let meta = command_meta(ctx, Uuid::now_v7(), Actor::operator(caller, roles.to_vec()));
    let handled = app.operator_handler.handle(&meta, &command).await.gql()?;
    Ok(OperatorChange {
        operator_id: command.operator_id(),
        changed: !handled.events.is_empty(),
    })
}

#[derive(Default)]
pub struct TeamQuery;

#[Object]
impl TeamQuery {
    /// Operators by name, with status and load; admins and managers. `branchId` narrows to a
    /// branch; `headOffice: true` to those without one.
    async fn operators(
        &self,
        ctx: &Context<'_>,
        branch_id: Option<Uuid>,
        #[graphql(default = false)] head_office: bool,
    ) -> async_graphql::Result<Vec<Operator>> {
        ctx.data::<Authentication>()?
            .require_operator(&[Role::Admin, Role::Manager])
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        let branch = match (branch_id, head_office) {
            (Some(branch), _) => Some(Some(branch)),
            (None, true) => Some(None),
            (None, false) => None,
        };
        let rows = read::all(&app.pool, branch).await.gql()?;
        Ok(rows.into_iter().map(Operator::from).collect())
    }

    /// The caller's own operator record; null until an admin registers them.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Operator>> {
        let (caller, _) = ctx
            .data::<Authentication>()?
            .require_operator(ANY_ROLE)
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        Ok(read::operator(&app.pool, caller)
            .await
            .gql()?
            .map(Operator::from))
    }
}

#[derive(Default)]
pub struct TeamMutation;

#[Object]
impl TeamMutation {
    /// Registers an operator (admins): who they are, their roles, branch and capacity. They
    /// start OFFLINE.
    async fn register_operator(
        &self,
        ctx: &Context<'_>,
        input: RegisterOperatorInput,
    ) -> async_graphql::Result<OperatorChange> {
        let profile = input.profile.validate().gql()?;
        handle(
            ctx,
            &[Role::Admin],
            OperatorCommand::Register {
                operator_id: input.operator_id.unwrap_or_else(Uuid::now_v7),
                profile,
                at: Utc::now(),
            },
        )
        .await
    }

    /// Replaces an operator's profile (admins).
    async fn update_operator(
        &self,
        ctx: &Context<'_>,
        operator_id: Uuid,
        profile: OperatorProfileInput,
    ) -> async_graphql::Result<OperatorChange> {
        let profile = profile.validate().gql()?;
        handle(
            ctx,
            &[Role::Admin],
            OperatorCommand::ChangeProfile {
                operator_id,
                profile,
                at: Utc::now(),
            },
        )
        .await
    }

    /// Sets the caller's status, or (admins) another operator's. Going ONLINE makes them a
    /// candidate for auto-assignment at once; queued conversations come oldest first.
    async fn set_operator_status(
        &self,
        ctx: &Context<'_>,
        status: OperatorStatus,
        operator_id: Option<Uuid>,
    ) -> async_graphql::Result<OperatorChange> {
        let (caller, _) = ctx
            .data::<Authentication>()?
            .require_operator(CONVERSATION_ROLES)
            .gql()?;
        handle(
            ctx,
            CONVERSATION_ROLES,
            OperatorCommand::SetStatus {
                operator_id: operator_id.unwrap_or(caller),
                status: status.into(),
                at: Utc::now(),
            },
        )
        .await
    }
}

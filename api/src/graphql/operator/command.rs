//! How an operator's request becomes a conversation command: their roles checked, the command
//! id derived, the handler called. Shared by [`super::replies`], [`super::status`] and
//! [`super::callbacks`].

use async_graphql::Context;
use switchboard_commands::handler::Handled;
use switchboard_domain::conversation::ConversationCommand;
use switchboard_domain::Actor;
use switchboard_domain::DomainError;
use uuid::Uuid;

use crate::auth::{Authentication, CONVERSATION_ROLES};
use crate::error::{ApiError, ResultExt};
use crate::graphql::types::ConversationChange;
use crate::graphql::{command_meta, AppContext};

/// Runs a conversation command as the operator of this request, if their roles allow.
/// `command` gets the operator's id and the command id, which is derived from `client_id`
/// (per conversation and operator, so nobody else's id can collide) or fresh.
pub(super) async fn as_operator(
    ctx: &Context<'_>,
    conversation_id: Uuid,
    client_id: Option<Uuid>,
    command: impl FnOnce(Uuid, Uuid) -> ConversationCommand,
) -> async_graphql::Result<(Uuid, Handled)> {
    let (operator_id, roles) = ctx
        .data::<Authentication>()?
        .require_operator(CONVERSATION_ROLES)
        .gql()?;
    let command_id = match client_id {
        Some(client_id) => {
            let mut name = operator_id.as_bytes().to_vec();
            name.extend_from_slice(client_id.as_bytes());
            Uuid::new_v5(&conversation_id, &name)
        }
        None => Uuid::now_v7(),
    };
    let app = ctx.data::<AppContext>()?;
    let meta = command_meta(
        ctx,
        command_id,
        Actor::operator(operator_id, roles.to_vec()),
    );
    let handled = app
        .handler
        .handle(&meta, &command(operator_id, command_id))
        .await
        .gql()?;
    Ok((command_id, handled))
}

/// The branch of a registered operator, from their stream in the log (not a projection, so
/// an operator moved a moment ago is seen where they are now).
pub(super) async fn operator_branch(
    ctx: &Context<'_>,
    operator_id: Uuid,
) -> async_graphql::Result<Option<Uuid>> {
    let app = ctx.data::<AppContext>()?;
    match app.operator_handler.state(operator_id).await.gql()? {
        switchboard_domain::operator::Operator::Registered(operator) => {
            Ok(operator.profile.branch_id)
        }
        switchboard_domain::operator::Operator::NotRegistered => {
            Err(ApiError::from(DomainError::OperatorNotFound(operator_id))).gql()
        }
    }
}

/// Runs an operator's command that answers with whether it changed anything.
pub(super) async fn operator_change(
    ctx: &Context<'_>,
    conversation_id: Uuid,
    command: impl FnOnce(Uuid) -> ConversationCommand,
) -> async_graphql::Result<ConversationChange> {
    let (_, handled) = as_operator(ctx, conversation_id, None, |operator_id, _| {
        command(operator_id)
    })
    .await?;
    Ok(ConversationChange {
        conversation_id,
        changed: !handled.events.is_empty(),
    })
}

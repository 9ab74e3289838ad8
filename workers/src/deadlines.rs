//! What the scheduler and the dispatcher share: a system command issued for a deadline, with
//! an id derived from the conversation and the deadline, so that acting on the same deadline
//! twice (a retry, a second scheduler, a stale read) records it once.

use switchboard_commands::handler::{CommandMeta, ConversationHandler};
use switchboard_domain::conversation::ConversationCommand;
use switchboard_domain::envelope::RecordedEvent;
use switchboard_domain::Actor;
use uuid::Uuid;

/// Issues `command` as the system, with an id derived from the conversation and the
/// `deadline` it acts on (the scheduler's and the dispatcher's rule: the same deadline acted
/// on twice, by a retry or a second scheduler, is recorded once). The events it recorded now;
/// `None` when it recorded nothing, was a repeat, or failed (logged).
pub async fn issue_for_deadline(
    handler: &ConversationHandler,
    conversation_id: Uuid,
    deadline: &str,
    command: &ConversationCommand,
) -> Option<Vec<RecordedEvent>> {
    let meta = CommandMeta {
        command_id: Uuid::new_v5(&conversation_id, deadline.as_bytes()),
        actor: Actor::system(),
        correlation_id: None,
        ip: None,
    };
    match handler.handle(&meta, command).await {
        Ok(handled) if !handled.events.is_empty() && !handled.duplicate => Some(handled.recorded),
        Ok(_) => None,
        Err(err) => {
            tracing::warn!(%conversation_id, %deadline, error = %err, "scheduled command failed");
            None
        }
    }
}

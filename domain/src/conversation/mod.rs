//! The conversation aggregate as a decider: `initial_state`, `decide`, `evolve`.
//!
//! One conversation is one stream in the log. The command handler loads its events, folds
//! them with [`evolve()`], asks [`decide()`] what a command means in that state, and appends
//! the answer. The status machine of CONV-2 lives in `status_machine.rs`
//! ([`operator_may_set`], [`after_message`]) and nowhere else. Who may send which command
//! lives in `decide.rs`: `authorize_command` decides it once per command, before a function
//! of its own decides what the command means.
//!
//! One file per part. The parts import one another's files, never this one (the tests
//! aside), so they form no circle:
//! - `status.rs`: the statuses, a leaf the events import;
//! - `status_machine.rs`: the moves between them;
//! - `state.rs`: what the decider knows about a conversation;
//! - `command.rs`: the commands;
//! - `decide.rs`: the decisions; `evolve.rs`: the fold;
//! - `tests.rs`: the given / when / then tests.
//!
//! This file names them all under `conversation::` and plugs them into the [`Decider`] trait.

use uuid::Uuid;

use crate::decider::Decider;
use crate::envelope::Actor;
use crate::error::DomainError;
use crate::event::DomainEvent;

mod command;
mod decide;
mod evolve;
mod state;
pub(crate) mod status;
pub(crate) mod status_machine;
#[cfg(test)]
mod tests;

pub use command::{
    AddInternalNote, AssignConversation, AutoAssign, CallbackRequest, ChangeStatus,
    CloseForInactivity, CloseForRetention, ConversationCommand, EndConversation, Escalate,
    FirstMessage, MarkRead, OpenConversation, PostMessage, RaisePriorityForWait, RateConversation,
    RecordSlaBreach, RequestCallback, ScheduleCallback, SendAutoReply, SetPriority, SettleCallback,
    StartConversation, TagConversation, Transfer, TransferTarget, UnassignConversation,
    UntagConversation,
};
pub use decide::decide;
pub use evolve::evolve;
pub use state::{initial_state, Conversation, ConversationState};
pub use status::ConversationStatus;
pub use status_machine::{after_message, contact_may_end, operator_may_set};

/// The stream type under which conversations are stored in the log.
pub const STREAM_TYPE: &str = "conversation";

/// The conversation aggregate, for the generic command handler.
pub struct ConversationDecider;

impl Decider for ConversationDecider {
    type State = Conversation;
    type Command = ConversationCommand;
    const STREAM_TYPE: &'static str = STREAM_TYPE;

    fn initial_state() -> Conversation {
        initial_state()
    }

    fn stream_id(command: &ConversationCommand) -> Uuid {
        command.conversation_id()
    }

    fn decide(
        state: &Conversation,
        command: &ConversationCommand,
        actor: &Actor,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        decide(state, command, actor)
    }

    fn evolve(state: Conversation, event: &DomainEvent) -> Conversation {
        evolve(state, event)
    }

    fn data_subject(state: &Conversation, events: &[DomainEvent]) -> Option<Uuid> {
        match state {
            Conversation::Started(started) => Some(started.contact_id),
            Conversation::NotStarted => events.iter().find_map(|e| match e {
                DomainEvent::ConversationStarted(e) => Some(e.contact.id),
                _ => None,
            }),
        }
    }
}

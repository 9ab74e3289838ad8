//! The shape every aggregate has: a pure decider (Jérémie Chassaing's "Decider" pattern). The
//! command handler in `switchboard_commands` does the IO around any of them.

use uuid::Uuid;

use crate::envelope::Actor;
use crate::error::DomainError;
use crate::event::DomainEvent;

pub trait Decider {
    type State;
    type Command;

    /// The `stream_type` of this aggregate's streams in the log.
    const STREAM_TYPE: &'static str;

    fn initial_state() -> Self::State;

    /// The stream (aggregate instance) a command is about.
    fn stream_id(command: &Self::Command) -> Uuid;

    /// What `command`, sent by `actor`, means in `state`. Pure.
    fn decide(
        state: &Self::State,
        command: &Self::Command,
        actor: &Actor,
    ) -> Result<Vec<DomainEvent>, DomainError>;

    /// The state after `event`. Total: events of other aggregates leave it as is.
    fn evolve(state: Self::State, event: &DomainEvent) -> Self::State;

    /// The contact whose personal data `events` (decided in `state`, by one command) carry,
    /// if any: that data is sealed with the contact's key before it is stored (GDPR-2). See
    /// [`DomainEvent::personal_data`] for which fields.
    fn data_subject(_state: &Self::State, _events: &[DomainEvent]) -> Option<Uuid> {
        None
    }
}

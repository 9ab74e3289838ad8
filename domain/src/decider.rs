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

/// Tests of any decider, written as given events / when command / then events or error:
///
/// ```ignore
/// given::<InboxDecider>(&[created()])
///     .when(&deactivate(), &admin())
///     .then(&[deactivated()]);
/// ```
///
/// One helper for every aggregate, so each test module says only what its history is.
#[cfg(test)]
pub(crate) mod testing {
    use super::Decider;
    use crate::envelope::Actor;
    use crate::error::DomainError;
    use crate::event::DomainEvent;

    /// A decider's state after a history of events.
    pub(crate) struct Given<D: Decider> {
        state: D::State,
    }

    /// The state `events` leave, folded with [`Decider::evolve`] from the initial state.
    pub(crate) fn given<D: Decider>(events: &[DomainEvent]) -> Given<D> {
        let state = events.iter().fold(D::initial_state(), D::evolve);
        Given { state }
    }

    /// The events `commands` record, each sent by its actor in the state the ones before it
    /// left: a history told as what people did. Panics if the decider refuses one, since then
    /// the test's history is wrong, not the decider.
    pub(crate) fn decided<D: Decider>(commands: &[(D::Command, Actor)]) -> Vec<DomainEvent>
    where
        D::Command: std::fmt::Debug,
    {
        let mut state = D::initial_state();
        let mut history = Vec::new();
        for (command, actor) in commands {
            let events = D::decide(&state, command, actor)
                .unwrap_or_else(|e| panic!("the history's {command:?} was refused: {e}"));
            state = events.iter().fold(state, D::evolve);
            history.extend(events);
        }
        history
    }

    impl<D: Decider> Given<D> {
        /// What `command`, sent by `actor`, decides in this state.
        pub(crate) fn when(&self, command: &D::Command, actor: &Actor) -> When {
            When(D::decide(&self.state, command, actor))
        }

        /// The state itself, for tests that look at it rather than at a decision.
        pub(crate) fn into_state(self) -> D::State {
            self.state
        }
    }

    /// What a command decided, to be compared with what the test expects.
    #[must_use = "a decision is checked with then, then_error or outcome"]
    pub(crate) struct When(Result<Vec<DomainEvent>, DomainError>);

    impl When {
        /// Exactly these events, in this order (none: the command changes nothing).
        #[track_caller]
        pub(crate) fn then(self, expected: &[DomainEvent]) {
            assert_eq!(self.0, Ok(expected.to_vec()));
        }

        /// Refused, for exactly this reason.
        #[track_caller]
        pub(crate) fn then_error(self, expected: DomainError) {
            assert_eq!(self.0, Err(expected));
        }

        /// The decision itself, for tables of expected outcomes and for tests that look at a
        /// part of the events.
        pub(crate) fn outcome(self) -> Result<Vec<DomainEvent>, DomainError> {
            self.0
        }
    }
}

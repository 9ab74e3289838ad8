//! Operators (SPEC OPS-1, OPS-2): their roles and what those allow, and the operator aggregate
//! — who an operator is (name, roles, branch, capacity) and whether they are at work (status).
//!
//! An operator's stream id is their id, the subject of their sign-in token. The conversation
//! aggregate never reads this stream: whoever assigns a conversation reads the assignee's
//! branch here first and passes it along, and the conversation's decider checks it.
//!
//! The values operator events carry live in leaf files that import no event: `role.rs` (roles
//! and what they allow), `profile.rs` (profile and status). This file is the decider.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::decider::Decider;
use crate::envelope::{Actor, ActorKind};
use crate::error::DomainError;
use crate::event::{
    DomainEvent, OperatorProfileChanged, OperatorRegistered, OperatorStatusChanged,
};

pub(crate) mod profile;
pub(crate) mod role;

pub use profile::{OperatorProfile, OperatorStatus, MAX_CAPACITY};
pub use role::{conversation_scope, may_work_branch, ConversationScope, Role};

pub const STREAM_TYPE: &str = "operator";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorState {
    pub id: Uuid,
    pub profile: OperatorProfile,
    pub status: OperatorStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    NotRegistered,
    Registered(OperatorState),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorCommand {
    /// An admin registers an operator (the id is their token's subject).
    Register {
        operator_id: Uuid,
        profile: OperatorProfile,
        at: DateTime<Utc>,
    },
    /// An admin changes who an operator is (the whole profile, as it now is).
    ChangeProfile {
        operator_id: Uuid,
        profile: OperatorProfile,
        at: DateTime<Utc>,
    },
    /// The operator (or an admin) says whether they are at work.
    SetStatus {
        operator_id: Uuid,
        status: OperatorStatus,
        at: DateTime<Utc>,
    },
}

impl OperatorCommand {
    pub fn operator_id(&self) -> Uuid {
        match self {
            OperatorCommand::Register { operator_id, .. }
            | OperatorCommand::ChangeProfile { operator_id, .. }
            | OperatorCommand::SetStatus { operator_id, .. } => *operator_id,
        }
    }
}

pub struct OperatorDecider;

impl Decider for OperatorDecider {
    type State = Operator;
    type Command = OperatorCommand;
    const STREAM_TYPE: &'static str = STREAM_TYPE;

    fn initial_state() -> Operator {
        Operator::NotRegistered
    }

    fn stream_id(command: &OperatorCommand) -> Uuid {
        command.operator_id()
    }

    fn decide(
        state: &Operator,
        command: &OperatorCommand,
        actor: &Actor,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        let own = actor.kind == ActorKind::Operator && actor.id == Some(command.operator_id());
        let allowed = match command {
            OperatorCommand::SetStatus { .. } => own || actor.is_admin(),
            OperatorCommand::Register { .. } | OperatorCommand::ChangeProfile { .. } => {
                actor.is_admin()
            }
        };
        if !allowed {
            return Err(DomainError::NotPermitted("only an admin or the operator"));
        }
        let registered = match (state, command) {
            (
                Operator::NotRegistered,
                OperatorCommand::Register {
                    operator_id,
                    profile,
                    at,
                },
            ) => {
                return Ok(vec![DomainEvent::OperatorRegistered(OperatorRegistered {
                    operator_id: *operator_id,
                    profile: profile.clone(),
                    registered_at: *at,
                })])
            }
            (Operator::Registered(_), OperatorCommand::Register { operator_id, .. }) => {
                return Err(DomainError::OperatorAlreadyExists(*operator_id))
            }
            (Operator::NotRegistered, other) => {
                return Err(DomainError::OperatorNotFound(other.operator_id()))
            }
            (Operator::Registered(registered), _) => registered,
        };
        match command {
            OperatorCommand::Register { .. } => unreachable!("handled above"),
            OperatorCommand::ChangeProfile { profile, at, .. } => {
                if *profile == registered.profile {
                    return Ok(Vec::new());
                }
                Ok(vec![DomainEvent::OperatorProfileChanged(
                    OperatorProfileChanged {
                        operator_id: registered.id,
                        profile: profile.clone(),
                        changed_at: *at,
                    },
                )])
            }
            OperatorCommand::SetStatus { status, at, .. } => {
                if *status == registered.status {
                    return Ok(Vec::new());
                }
                Ok(vec![DomainEvent::OperatorStatusChanged(
                    OperatorStatusChanged {
                        operator_id: registered.id,
                        from: registered.status,
                        to: *status,
                        changed_at: *at,
                    },
                )])
            }
        }
    }

    fn evolve(state: Operator, event: &DomainEvent) -> Operator {
        let mut registered = match (state, event) {
            (_, DomainEvent::OperatorRegistered(e)) => {
                return Operator::Registered(OperatorState {
                    id: e.operator_id,
                    profile: e.profile.clone(),
                    status: OperatorStatus::Offline,
                })
            }
            (Operator::Registered(registered), _) => registered,
            (state, _) => return state,
        };
        match event {
            DomainEvent::OperatorProfileChanged(e) => registered.profile = e.profile.clone(),
            DomainEvent::OperatorStatusChanged(e) => registered.status = e.to,
            _ => {}
        }
        Operator::Registered(registered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decider::testing::given;
    use chrono::TimeZone;

    const OPERATOR: Uuid = Uuid::from_u128(5);
    const BRANCH: Uuid = Uuid::from_u128(6);

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    fn admin() -> Actor {
        Actor::operator(Uuid::from_u128(2), vec![Role::Admin])
    }

    fn profile(capacity: Option<u16>) -> OperatorProfile {
        OperatorProfile::new("Olena", &[Role::Moderator], Some(BRANCH), capacity).unwrap()
    }

    fn register() -> OperatorCommand {
        OperatorCommand::Register {
            operator_id: OPERATOR,
            profile: profile(Some(3)),
            at: at(),
        }
    }

    fn status(status: OperatorStatus) -> OperatorCommand {
        OperatorCommand::SetStatus {
            operator_id: OPERATOR,
            status,
            at: at(),
        }
    }

    /// What `register()` records.
    fn registered() -> DomainEvent {
        DomainEvent::OperatorRegistered(OperatorRegistered {
            operator_id: OPERATOR,
            profile: profile(Some(3)),
            registered_at: at(),
        })
    }

    /// A table row: name, given events, when command, by actor, then.
    type Case<'a> = (
        &'static str,
        &'a [DomainEvent],
        OperatorCommand,
        &'a Actor,
        Result<Vec<DomainEvent>, DomainError>,
    );

    #[test]
    fn register_change_and_status() {
        let me = Actor::operator(OPERATOR, vec![Role::Moderator]);
        let other = Actor::operator(Uuid::from_u128(9), vec![Role::Manager]);
        let admin = admin();
        let registered = [registered()];
        let cases: Vec<Case> = vec![
            (
                "an admin registers",
                &[],
                register(),
                &admin,
                Ok(vec![DomainEvent::OperatorRegistered(OperatorRegistered {
                    operator_id: OPERATOR,
                    profile: profile(Some(3)),
                    registered_at: at(),
                })]),
            ),
            (
                "only admins register",
                &[],
                register(),
                &other,
                Err(DomainError::NotPermitted("only an admin or the operator")),
            ),
            (
                "once",
                &registered,
                register(),
                &admin,
                Err(DomainError::OperatorAlreadyExists(OPERATOR)),
            ),
            (
                "status of nobody",
                &[],
                status(OperatorStatus::Online),
                &admin,
                Err(DomainError::OperatorNotFound(OPERATOR)),
            ),
            (
                "the operator goes online",
                &registered,
                status(OperatorStatus::Online),
                &me,
                Ok(vec![DomainEvent::OperatorStatusChanged(
                    OperatorStatusChanged {
                        operator_id: OPERATOR,
                        from: OperatorStatus::Offline,
                        to: OperatorStatus::Online,
                        changed_at: at(),
                    },
                )]),
            ),
            (
                "the same status again changes nothing",
                &registered,
                status(OperatorStatus::Offline),
                &me,
                Ok(vec![]),
            ),
            (
                "nobody else sets it",
                &registered,
                status(OperatorStatus::Online),
                &other,
                Err(DomainError::NotPermitted("only an admin or the operator")),
            ),
            (
                "operators do not change their own profile",
                &registered,
                OperatorCommand::ChangeProfile {
                    operator_id: OPERATOR,
                    profile: profile(Some(9)),
                    at: at(),
                },
                &me,
                Err(DomainError::NotPermitted("only an admin or the operator")),
            ),
            (
                "an admin changes it",
                &registered,
                OperatorCommand::ChangeProfile {
                    operator_id: OPERATOR,
                    profile: profile(Some(9)),
                    at: at(),
                },
                &admin,
                Ok(vec![DomainEvent::OperatorProfileChanged(
                    OperatorProfileChanged {
                        operator_id: OPERATOR,
                        profile: profile(Some(9)),
                        changed_at: at(),
                    },
                )]),
            ),
            (
                "the same profile changes nothing",
                &registered,
                OperatorCommand::ChangeProfile {
                    operator_id: OPERATOR,
                    profile: profile(Some(3)),
                    at: at(),
                },
                &admin,
                Ok(vec![]),
            ),
        ];
        for (name, history, when, actor, expected) in cases {
            assert_eq!(
                given::<OperatorDecider>(history)
                    .when(&when, actor)
                    .outcome(),
                expected,
                "{name}"
            );
        }
    }
}

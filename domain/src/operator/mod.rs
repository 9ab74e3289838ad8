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
    DomainEvent, OperatorDeactivated, OperatorInvitationAccepted, OperatorInvited,
    OperatorLockedOut, OperatorPasswordReset, OperatorPasswordResetRequested,
    OperatorProfileChanged, OperatorReactivated, OperatorRegistered, OperatorSignInFailed,
    OperatorSignedIn, OperatorSignedOut, OperatorStatusChanged, SignInFailedForUnknownEmail,
};

pub(crate) mod access;
pub(crate) mod profile;
pub(crate) mod role;

pub use access::{
    invitation_lifetime, lock_for, reset_lifetime, SessionEndReason, SignInFailure, SignInMethod,
    LOCK_AFTER_FAILURES,
};
pub use profile::{OperatorProfile, OperatorStatus, MAX_CAPACITY};
pub use role::{conversation_scope, may_work_branch, ConversationScope, Role};

pub const STREAM_TYPE: &str = "operator";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorState {
    pub id: Uuid,
    pub profile: OperatorProfile,
    pub status: OperatorStatus,
    /// False once an admin deactivated them (and until they are reactivated).
    pub active: bool,
    pub access: Access,
}

/// What the decider knows of an operator's way in (see `access.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    /// The invitation that may still be accepted, and until when.
    pub invitation: Option<(Uuid, DateTime<Utc>)>,
    /// Whether they ever set a password (by an invitation or a reset).
    pub password_set: bool,
    /// How many times a password was set: the API stores it beside the hash, and a sign-in
    /// checked against an older hash is refused.
    pub password_generation: u32,
    /// The reset link that may still be used, and until when.
    pub reset: Option<(Uuid, DateTime<Utc>)>,
    /// Wrong passwords in a row since the last sign-in, lock or reset.
    pub failures: u32,
    /// The latest sign-in: a reset or a deactivation is dated after it.
    pub last_signed_in_at: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
}

impl OperatorState {
    /// `at`, or just after the latest sign-in if that is later (another node's clock, or a
    /// command retried after a sign-in won the race): what ends sessions is dated after every
    /// sign-in it follows in the stream.
    pub fn after_every_sign_in(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        match self.access.last_signed_in_at {
            Some(last) if last >= at => last + chrono::Duration::microseconds(1),
            _ => at,
        }
    }

    /// Is the account locked at `at`?
    pub fn locked_at(&self, at: DateTime<Utc>) -> bool {
        self.access.locked_until.is_some_and(|until| at < until)
    }
}

// Folded once per command and kept once per stream in the handler's cache: a box would only
// add an allocation per fold.
#[allow(clippy::large_enum_variant)]
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
    /// An admin invites someone to sign in: registers them (if new) with `profile`, whose
    /// e-mail the link goes to. Replaces an earlier invitation; refused once a password is set.
    Invite {
        operator_id: Uuid,
        profile: OperatorProfile,
        invitation_id: Uuid,
        at: DateTime<Utc>,
    },
    /// The invitee set their password from the link (the system, for an unauthenticated
    /// caller who holds the link).
    AcceptInvitation {
        operator_id: Uuid,
        invitation_id: Uuid,
        session_id: Uuid,
        at: DateTime<Utc>,
    },
    /// A sign-in with a password the API checked (the system, for the caller) against the
    /// hash of `password_generation`: a match against a hash a reset has since replaced is
    /// no match.
    SignIn {
        operator_id: Uuid,
        session_id: Uuid,
        password_matched: bool,
        password_generation: u32,
        at: DateTime<Utc>,
    },
    /// A session ends.
    SignOut {
        operator_id: Uuid,
        session_id: Uuid,
        reason: SessionEndReason,
        at: DateTime<Utc>,
    },
    /// A reset link is to be e-mailed (the system, for whoever asked).
    RequestPasswordReset {
        operator_id: Uuid,
        reset_id: Uuid,
        at: DateTime<Utc>,
    },
    /// A new password from the reset link (the system, for the caller who holds it).
    ResetPassword {
        operator_id: Uuid,
        reset_id: Uuid,
        session_id: Uuid,
        at: DateTime<Utc>,
    },
    /// An admin stops (or restores) an operator's access.
    Deactivate {
        operator_id: Uuid,
        at: DateTime<Utc>,
    },
    Reactivate {
        operator_id: Uuid,
        at: DateTime<Utc>,
    },
}

impl OperatorCommand {
    pub fn operator_id(&self) -> Uuid {
        match self {
            OperatorCommand::Register { operator_id, .. }
            | OperatorCommand::ChangeProfile { operator_id, .. }
            | OperatorCommand::SetStatus { operator_id, .. }
            | OperatorCommand::Invite { operator_id, .. }
            | OperatorCommand::AcceptInvitation { operator_id, .. }
            | OperatorCommand::SignIn { operator_id, .. }
            | OperatorCommand::SignOut { operator_id, .. }
            | OperatorCommand::RequestPasswordReset { operator_id, .. }
            | OperatorCommand::ResetPassword { operator_id, .. }
            | OperatorCommand::Deactivate { operator_id, .. }
            | OperatorCommand::Reactivate { operator_id, .. } => *operator_id,
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
        let system = actor.kind == ActorKind::System;
        let allowed = match command {
            OperatorCommand::SetStatus { .. } | OperatorCommand::SignOut { .. } => {
                own || actor.is_admin()
            }
            OperatorCommand::Register { .. }
            | OperatorCommand::ChangeProfile { .. }
            | OperatorCommand::Invite { .. }
            | OperatorCommand::Reactivate { .. } => actor.is_admin(),
            // Nobody locks themselves out.
            OperatorCommand::Deactivate { .. } => actor.is_admin() && !own,
            // Only the API, on behalf of a caller who proved a password or holds a link.
            OperatorCommand::AcceptInvitation { .. }
            | OperatorCommand::SignIn { .. }
            | OperatorCommand::RequestPasswordReset { .. }
            | OperatorCommand::ResetPassword { .. } => system,
        };
        if !allowed {
            return Err(DomainError::NotPermitted(match command {
                OperatorCommand::Deactivate { .. } if own => "an admin deactivating themselves",
                OperatorCommand::AcceptInvitation { .. }
                | OperatorCommand::SignIn { .. }
                | OperatorCommand::RequestPasswordReset { .. }
                | OperatorCommand::ResetPassword { .. } => "anyone but the sign-in service",
                _ => "only an admin or the operator",
            }));
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
            (
                Operator::NotRegistered,
                OperatorCommand::Invite {
                    operator_id,
                    profile,
                    invitation_id,
                    at,
                },
            ) => {
                let email = profile
                    .email
                    .clone()
                    .ok_or(DomainError::InvitationNeedsEmail)?;
                return Ok(vec![
                    DomainEvent::OperatorRegistered(OperatorRegistered {
                        operator_id: *operator_id,
                        profile: profile.clone(),
                        registered_at: *at,
                    }),
                    DomainEvent::OperatorInvited(OperatorInvited {
                        operator_id: *operator_id,
                        invitation_id: *invitation_id,
                        email,
                        expires_at: *at + invitation_lifetime(),
                        invited_at: *at,
                    }),
                ]);
            }
            (Operator::NotRegistered, other) => {
                return Err(DomainError::OperatorNotFound(other.operator_id()))
            }
            (Operator::Registered(registered), _) => registered,
        };
        match command {
            OperatorCommand::Register { .. } => unreachable!("handled above"),
            OperatorCommand::Invite { .. }
            | OperatorCommand::AcceptInvitation { .. }
            | OperatorCommand::SignIn { .. }
            | OperatorCommand::SignOut { .. }
            | OperatorCommand::RequestPasswordReset { .. }
            | OperatorCommand::ResetPassword { .. }
            | OperatorCommand::Deactivate { .. }
            | OperatorCommand::Reactivate { .. } => decide_access(registered, command),
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
                if !registered.active && *status != OperatorStatus::Offline {
                    return Err(DomainError::OperatorDeactivated(registered.id));
                }
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
                    active: true,
                    access: Access::default(),
                })
            }
            (Operator::Registered(registered), _) => registered,
            (state, _) => return state,
        };
        match event {
            DomainEvent::OperatorProfileChanged(e) => registered.profile = e.profile.clone(),
            DomainEvent::OperatorStatusChanged(e) => registered.status = e.to,
            DomainEvent::OperatorInvited(e) => {
                registered.access.invitation = Some((e.invitation_id, e.expires_at));
            }
            DomainEvent::OperatorInvitationAccepted(e) => {
                registered.access.invitation = None;
                registered.access.password_set = true;
                registered.access.password_generation = e.password_generation;
            }
            DomainEvent::OperatorSignedIn(e) => {
                registered.access.failures = 0;
                registered.access.last_signed_in_at = registered
                    .access
                    .last_signed_in_at
                    .max(Some(e.signed_in_at));
            }
            DomainEvent::OperatorSignInFailed(e) => registered.access.failures = e.failures,
            DomainEvent::OperatorLockedOut(e) => {
                registered.access.locked_until = Some(e.until);
                registered.access.failures = 0;
            }
            DomainEvent::OperatorPasswordResetRequested(e) => {
                registered.access.reset = Some((e.reset_id, e.expires_at));
            }
            DomainEvent::OperatorPasswordReset(e) => {
                registered.access.reset = None;
                registered.access.password_set = true;
                registered.access.password_generation = e.password_generation;
                registered.access.failures = 0;
                registered.access.locked_until = None;
            }
            DomainEvent::OperatorDeactivated(_) => {
                registered.active = false;
                registered.status = OperatorStatus::Offline;
            }
            DomainEvent::OperatorReactivated(_) => registered.active = true,
            _ => {}
        }
        Operator::Registered(registered)
    }
}

/// The sign-in commands of a registered operator (see `access.rs` for the policy).
fn decide_access(
    registered: &OperatorState,
    command: &OperatorCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    let id = registered.id;
    let refuse_inactive = || {
        if registered.active {
            Ok(())
        } else {
            Err(DomainError::OperatorDeactivated(id))
        }
    };
    match command {
        OperatorCommand::Invite {
            profile,
            invitation_id,
            at,
            ..
        } => {
            refuse_inactive()?;
            if registered.access.password_set {
                return Err(DomainError::OperatorAlreadySignedUp(id));
            }
            let email = profile
                .email
                .clone()
                .ok_or(DomainError::InvitationNeedsEmail)?;
            let mut events = Vec::new();
            if *profile != registered.profile {
                events.push(DomainEvent::OperatorProfileChanged(
                    OperatorProfileChanged {
                        operator_id: id,
                        profile: profile.clone(),
                        changed_at: *at,
                    },
                ));
            }
            events.push(DomainEvent::OperatorInvited(OperatorInvited {
                operator_id: id,
                invitation_id: *invitation_id,
                email,
                expires_at: *at + invitation_lifetime(),
                invited_at: *at,
            }));
            Ok(events)
        }
        OperatorCommand::AcceptInvitation {
            invitation_id,
            session_id,
            at,
            ..
        } => {
            refuse_inactive()?;
            match registered.access.invitation {
                Some((current, expires)) if current == *invitation_id && *at < expires => {}
                _ => return Err(DomainError::InvitationInvalid),
            }
            Ok(vec![
                DomainEvent::OperatorInvitationAccepted(OperatorInvitationAccepted {
                    operator_id: id,
                    invitation_id: *invitation_id,
                    password_generation: registered.access.password_generation + 1,
                    accepted_at: *at,
                }),
                DomainEvent::OperatorSignedIn(OperatorSignedIn {
                    operator_id: id,
                    session_id: *session_id,
                    method: SignInMethod::Invitation,
                    signed_in_at: *at,
                }),
            ])
        }
        OperatorCommand::SignIn {
            session_id,
            password_matched,
            password_generation,
            at,
            ..
        } => {
            let failed = |reason, failures| {
                DomainEvent::OperatorSignInFailed(OperatorSignInFailed {
                    operator_id: id,
                    reason,
                    failures,
                    failed_at: *at,
                })
            };
            let access = &registered.access;
            let failures = access.failures;
            // Refusals are recorded too (an auditor reads every attempt): the caller learns
            // the outcome from the events. Wrong passwords count before deactivation is
            // looked at, so a deactivated account is not a place to guess without a lock.
            if registered.locked_at(*at) {
                return Ok(vec![failed(SignInFailure::Locked, failures)]);
            }
            // Invited and no password yet: counted like a wrong one, so that it answers as
            // an unknown or a known address does.
            let no_password = !access.password_set;
            if no_password
                || !password_matched
                || *password_generation != access.password_generation
            {
                let (failures, lock) = count_failure(failures, *at);
                let reason = match no_password {
                    true => SignInFailure::NoPassword,
                    false => SignInFailure::WrongPassword,
                };
                let mut events = vec![failed(reason, failures)];
                if let Some(until) = lock {
                    events.push(DomainEvent::OperatorLockedOut(OperatorLockedOut {
                        operator_id: id,
                        until,
                        locked_at: *at,
                    }));
                }
                return Ok(events);
            }
            if !registered.active {
                return Ok(vec![failed(SignInFailure::Deactivated, failures)]);
            }
            Ok(vec![DomainEvent::OperatorSignedIn(OperatorSignedIn {
                operator_id: id,
                session_id: *session_id,
                method: SignInMethod::Password,
                signed_in_at: *at,
            })])
        }
        OperatorCommand::SignOut {
            session_id,
            reason,
            at,
            ..
        } => Ok(vec![DomainEvent::OperatorSignedOut(OperatorSignedOut {
            operator_id: id,
            session_id: *session_id,
            reason: *reason,
            signed_out_at: *at,
        })]),
        OperatorCommand::RequestPasswordReset { reset_id, at, .. } => {
            // Nothing to reset for the deactivated or the not yet signed up (an invitation
            // is theirs to accept): nothing recorded, nothing sent, and the caller is told
            // the same as for anyone else.
            let Some(email) = registered.profile.email.clone() else {
                return Ok(Vec::new());
            };
            if !registered.active || !registered.access.password_set {
                return Ok(Vec::new());
            }
            Ok(vec![DomainEvent::OperatorPasswordResetRequested(
                OperatorPasswordResetRequested {
                    operator_id: id,
                    reset_id: *reset_id,
                    email,
                    expires_at: *at + reset_lifetime(),
                    requested_at: *at,
                },
            )])
        }
        OperatorCommand::ResetPassword {
            reset_id,
            session_id,
            at,
            ..
        } => {
            refuse_inactive()?;
            match registered.access.reset {
                Some((current, expires)) if current == *reset_id && *at < expires => {}
                _ => return Err(DomainError::ResetLinkInvalid),
            }
            let at = registered.after_every_sign_in(*at);
            Ok(vec![
                DomainEvent::OperatorPasswordReset(OperatorPasswordReset {
                    operator_id: id,
                    reset_id: *reset_id,
                    password_generation: registered.access.password_generation + 1,
                    reset_at: at,
                }),
                DomainEvent::OperatorSignedIn(OperatorSignedIn {
                    operator_id: id,
                    session_id: *session_id,
                    method: SignInMethod::PasswordReset,
                    signed_in_at: at,
                }),
            ])
        }
        OperatorCommand::Deactivate { at, .. } => Ok(if registered.active {
            vec![DomainEvent::OperatorDeactivated(OperatorDeactivated {
                operator_id: id,
                deactivated_at: registered.after_every_sign_in(*at),
            })]
        } else {
            Vec::new()
        }),
        OperatorCommand::Reactivate { at, .. } => Ok(if registered.active {
            Vec::new()
        } else {
            vec![DomainEvent::OperatorReactivated(OperatorReactivated {
                operator_id: id,
                reactivated_at: *at,
            })]
        }),
        OperatorCommand::Register { .. }
        | OperatorCommand::ChangeProfile { .. }
        | OperatorCommand::SetStatus { .. } => unreachable!("decided by the operator decider"),
    }
}

/// One more wrong password after `failures` in a row, at `at`: the new count, and the lock it
/// brings, if any (the count starts again after a lock). Unknown addresses get the same
/// answers as known ones, so the answers tell nobody which addresses have an account.
fn count_failure(failures: u32, at: DateTime<Utc>) -> (u32, Option<DateTime<Utc>>) {
    let failures = failures + 1;
    let lock = (failures >= LOCK_AFTER_FAILURES).then(|| at + lock_for());
    (failures, lock)
}

/// The stream of failed sign-ins with an address no operator has: one per address (lower
/// case), so an auditor reads every attempt and no operator stream is touched.
pub fn unknown_email_stream(email: &str) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x3f0e_8b1c_5a2d_4e67_9c41_d2a8_6b7f_0e15);
    Uuid::new_v5(&NAMESPACE, email.trim().to_lowercase().as_bytes())
}

pub const UNKNOWN_EMAIL_STREAM_TYPE: &str = "sign_in_unknown_email";

/// Records a failed sign-in with an unknown address (see [`unknown_email_stream`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordUnknownEmail {
    pub email: String,
    pub at: DateTime<Utc>,
}

/// What the decider of an [`unknown_email_stream`] knows: the failures in a row and the
/// lock, counted as for an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnknownEmailState {
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// The decider of [`unknown_email_stream`]s: every attempt is recorded, counted and locked as
/// an operator's would be ([`count_failure`]).
pub struct UnknownEmailDecider;

impl Decider for UnknownEmailDecider {
    type State = UnknownEmailState;
    type Command = RecordUnknownEmail;
    const STREAM_TYPE: &'static str = UNKNOWN_EMAIL_STREAM_TYPE;

    fn initial_state() -> UnknownEmailState {
        UnknownEmailState::default()
    }

    fn stream_id(command: &RecordUnknownEmail) -> Uuid {
        unknown_email_stream(&command.email)
    }

    fn decide(
        state: &UnknownEmailState,
        command: &RecordUnknownEmail,
        actor: &Actor,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        if actor.kind != ActorKind::System {
            return Err(DomainError::NotPermitted("anyone but the sign-in service"));
        }
        let locked = state.locked_until.is_some_and(|until| command.at < until);
        let (failures, locked_until) = if locked {
            (state.failures, state.locked_until)
        } else {
            let failures = if state.locked_until.is_some() {
                0
            } else {
                state.failures
            };
            count_failure(failures, command.at)
        };
        Ok(vec![DomainEvent::SignInFailedForUnknownEmail(
            SignInFailedForUnknownEmail {
                email: command.email.trim().to_lowercase(),
                failures,
                // The lock this failure met, or the one it brought.
                locked_until,
                locked,
                failed_at: command.at,
            },
        )])
    }

    fn evolve(state: UnknownEmailState, event: &DomainEvent) -> UnknownEmailState {
        match event {
            DomainEvent::SignInFailedForUnknownEmail(e) if e.locked => state,
            // After a lock has passed, `decide` starts the count again.
            DomainEvent::SignInFailedForUnknownEmail(e) => UnknownEmailState {
                failures: e.failures,
                locked_until: e.locked_until,
            },
            _ => state,
        }
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

    fn system() -> Actor {
        Actor::system()
    }

    fn invited_profile() -> OperatorProfile {
        profile(Some(3))
            .with_email(Some("olena@example.com"))
            .unwrap()
    }

    fn invited() -> Vec<DomainEvent> {
        given::<OperatorDecider>(&[])
            .when(
                &OperatorCommand::Invite {
                    operator_id: OPERATOR,
                    profile: invited_profile(),
                    invitation_id: Uuid::from_u128(20),
                    at: at(),
                },
                &admin(),
            )
            .outcome()
            .unwrap()
    }

    fn signed_up() -> Vec<DomainEvent> {
        let mut history = invited();
        history.extend(
            given::<OperatorDecider>(&history)
                .when(
                    &OperatorCommand::AcceptInvitation {
                        operator_id: OPERATOR,
                        invitation_id: Uuid::from_u128(20),
                        session_id: Uuid::from_u128(21),
                        at: at(),
                    },
                    &system(),
                )
                .outcome()
                .unwrap(),
        );
        history
    }

    /// The password generation after `history`.
    fn generation(history: &[DomainEvent]) -> u32 {
        match history
            .iter()
            .fold(OperatorDecider::initial_state(), |state, event| {
                OperatorDecider::evolve(state, event)
            }) {
            Operator::Registered(state) => state.access.password_generation,
            Operator::NotRegistered => 0,
        }
    }

    fn sign_in(history: &[DomainEvent], matched: bool, minutes: i64) -> Vec<DomainEvent> {
        given::<OperatorDecider>(history)
            .when(
                &OperatorCommand::SignIn {
                    operator_id: OPERATOR,
                    session_id: Uuid::from_u128(30),
                    password_matched: matched,
                    password_generation: generation(history),
                    at: at() + chrono::Duration::minutes(minutes),
                },
                &system(),
            )
            .outcome()
            .unwrap()
    }

    #[test]
    fn an_invitation_registers_and_is_accepted_once() {
        let history = invited();
        assert_eq!(history.len(), 2);
        assert!(matches!(&history[1], DomainEvent::OperatorInvited(e)
            if e.email == "olena@example.com" && e.expires_at == at() + invitation_lifetime()));
        let accept = |invitation: u128, minutes: i64, actor: &Actor, history: &[DomainEvent]| {
            given::<OperatorDecider>(history)
                .when(
                    &OperatorCommand::AcceptInvitation {
                        operator_id: OPERATOR,
                        invitation_id: Uuid::from_u128(invitation),
                        session_id: Uuid::from_u128(21),
                        at: at() + chrono::Duration::minutes(minutes),
                    },
                    actor,
                )
                .outcome()
        };
        assert_eq!(
            accept(20, 1, &admin(), &history),
            Err(DomainError::NotPermitted("anyone but the sign-in service"))
        );
        assert_eq!(
            accept(99, 1, &system(), &history),
            Err(DomainError::InvitationInvalid)
        );
        assert_eq!(
            accept(20, 7 * 24 * 60, &system(), &history),
            Err(DomainError::InvitationInvalid),
            "expired"
        );
        let done = signed_up();
        assert_eq!(
            accept(20, 1, &system(), &done),
            Err(DomainError::InvitationInvalid),
            "used"
        );
        // Once signed up, no second invitation.
        assert_eq!(
            given::<OperatorDecider>(&done)
                .when(
                    &OperatorCommand::Invite {
                        operator_id: OPERATOR,
                        profile: invited_profile(),
                        invitation_id: Uuid::from_u128(22),
                        at: at(),
                    },
                    &admin(),
                )
                .outcome(),
            Err(DomainError::OperatorAlreadySignedUp(OPERATOR))
        );
        assert_eq!(
            given::<OperatorDecider>(&[])
                .when(
                    &OperatorCommand::Invite {
                        operator_id: OPERATOR,
                        profile: profile(None),
                        invitation_id: Uuid::from_u128(22),
                        at: at(),
                    },
                    &admin(),
                )
                .outcome(),
            Err(DomainError::InvitationNeedsEmail)
        );
    }

    #[test]
    fn wrong_passwords_lock_the_account_until_a_reset() {
        let mut history = signed_up();
        for n in 1..LOCK_AFTER_FAILURES {
            let events = sign_in(&history, false, 0);
            assert!(matches!(&events[..], [DomainEvent::OperatorSignInFailed(e)]
                if e.failures == n && e.reason == SignInFailure::WrongPassword));
            history.extend(events);
        }
        let events = sign_in(&history, false, 0);
        assert!(matches!(&events[..], [DomainEvent::OperatorSignInFailed(_),
            DomainEvent::OperatorLockedOut(e)] if e.until == at() + lock_for()));
        history.extend(events);
        // Locked: even the right password is refused, and not counted.
        assert!(matches!(&sign_in(&history, true, 1)[..],
            [DomainEvent::OperatorSignInFailed(e)] if e.reason == SignInFailure::Locked));
        // After the lock, the right password works.
        assert!(matches!(&sign_in(&history, true, 16)[..],
            [DomainEvent::OperatorSignedIn(e)] if e.method == SignInMethod::Password));
        // A reset lifts the lock at once.
        let reset = given::<OperatorDecider>(&history)
            .when(
                &OperatorCommand::RequestPasswordReset {
                    operator_id: OPERATOR,
                    reset_id: Uuid::from_u128(40),
                    at: at(),
                },
                &system(),
            )
            .outcome()
            .unwrap();
        history.extend(reset);
        let reset_with = |id: u128, history: &[DomainEvent]| {
            given::<OperatorDecider>(history)
                .when(
                    &OperatorCommand::ResetPassword {
                        operator_id: OPERATOR,
                        reset_id: Uuid::from_u128(id),
                        session_id: Uuid::from_u128(41),
                        at: at() + chrono::Duration::minutes(2),
                    },
                    &system(),
                )
                .outcome()
        };
        assert_eq!(reset_with(39, &history), Err(DomainError::ResetLinkInvalid));
        history.extend(reset_with(40, &history).unwrap());
        assert_eq!(reset_with(40, &history), Err(DomainError::ResetLinkInvalid));
        assert!(matches!(
            &sign_in(&history, true, 3)[..],
            [DomainEvent::OperatorSignedIn(_)]
        ));
    }

    #[test]
    fn a_deactivated_operator_cannot_sign_in_or_go_online() {
        let mut history = signed_up();
        let me = Actor::operator(OPERATOR, vec![Role::Moderator]);
        let deactivate = OperatorCommand::Deactivate {
            operator_id: OPERATOR,
            at: at(),
        };
        assert_eq!(
            given::<OperatorDecider>(&history)
                .when(&deactivate, &Actor::operator(OPERATOR, vec![Role::Admin]))
                .outcome(),
            Err(DomainError::NotPermitted(
                "an admin deactivating themselves"
            ))
        );
        history.extend(
            given::<OperatorDecider>(&history)
                .when(&deactivate, &admin())
                .outcome()
                .unwrap(),
        );
        assert!(matches!(&sign_in(&history, true, 1)[..],
            [DomainEvent::OperatorSignInFailed(e)] if e.reason == SignInFailure::Deactivated));
        assert_eq!(
            given::<OperatorDecider>(&history)
                .when(&status(OperatorStatus::Online), &me)
                .outcome(),
            Err(DomainError::OperatorDeactivated(OPERATOR))
        );
        assert_eq!(
            given::<OperatorDecider>(&history)
                .when(&deactivate, &admin())
                .outcome(),
            Ok(vec![])
        );
    }

    #[test]
    fn a_password_checked_against_a_replaced_hash_is_no_match() {
        let history = signed_up();
        assert_eq!(generation(&history), 1);
        let stale = given::<OperatorDecider>(&history)
            .when(
                &OperatorCommand::SignIn {
                    operator_id: OPERATOR,
                    session_id: Uuid::from_u128(30),
                    password_matched: true,
                    password_generation: 0,
                    at: at(),
                },
                &system(),
            )
            .outcome()
            .unwrap();
        assert!(matches!(&stale[..], [DomainEvent::OperatorSignInFailed(e)]
            if e.reason == SignInFailure::WrongPassword && e.failures == 1));
    }

    #[test]
    fn unknown_addresses_are_counted_and_locked_like_accounts() {
        let mut history = Vec::new();
        let attempt = |history: &[DomainEvent], minutes: i64| {
            given::<UnknownEmailDecider>(history)
                .when(
                    &RecordUnknownEmail {
                        email: "Nobody@example.com".into(),
                        at: at() + chrono::Duration::minutes(minutes),
                    },
                    &system(),
                )
                .outcome()
                .unwrap()
        };
        for n in 1..=LOCK_AFTER_FAILURES {
            let events = attempt(&history, 0);
            let DomainEvent::SignInFailedForUnknownEmail(e) = &events[0] else {
                panic!("{events:?}")
            };
            assert_eq!((e.failures, e.locked), (n, false));
            assert_eq!(e.email, "nobody@example.com");
            assert_eq!(
                e.locked_until,
                (n == LOCK_AFTER_FAILURES).then(|| at() + lock_for())
            );
            history.extend(events);
        }
        assert!(matches!(&attempt(&history, 1)[..],
            [DomainEvent::SignInFailedForUnknownEmail(e)] if e.locked));
        // The lock passes; five more lock it again.
        for n in 1..=LOCK_AFTER_FAILURES {
            let events = attempt(&history, 16);
            assert!(
                matches!(&events[..], [DomainEvent::SignInFailedForUnknownEmail(e)]
                if !e.locked && e.failures == n
                    && e.locked_until.is_some() == (n == LOCK_AFTER_FAILURES))
            );
            history.extend(events);
        }
        assert!(matches!(&attempt(&history, 17)[..],
            [DomainEvent::SignInFailedForUnknownEmail(e)] if e.locked));
    }

    #[test]
    fn a_reset_is_dated_after_every_sign_in_it_follows() {
        let mut history = signed_up();
        // A sign-in decided on a node whose clock runs ten minutes ahead.
        history.extend(sign_in(&history, true, 10));
        history.extend(
            given::<OperatorDecider>(&history)
                .when(
                    &OperatorCommand::RequestPasswordReset {
                        operator_id: OPERATOR,
                        reset_id: Uuid::from_u128(40),
                        at: at(),
                    },
                    &system(),
                )
                .outcome()
                .unwrap(),
        );
        let reset = given::<OperatorDecider>(&history)
            .when(
                &OperatorCommand::ResetPassword {
                    operator_id: OPERATOR,
                    reset_id: Uuid::from_u128(40),
                    session_id: Uuid::from_u128(41),
                    at: at() + chrono::Duration::minutes(5),
                },
                &system(),
            )
            .outcome()
            .unwrap();
        let later = at() + chrono::Duration::minutes(10) + chrono::Duration::microseconds(1);
        assert!(matches!(&reset[..], [DomainEvent::OperatorPasswordReset(r),
            DomainEvent::OperatorSignedIn(s)]
            if r.reset_at == later && s.signed_in_at == later && r.password_generation == 2));
    }

    #[test]
    fn unknown_addresses_have_one_stream_each() {
        assert_eq!(
            unknown_email_stream(" Nobody@Example.com"),
            unknown_email_stream("nobody@example.com")
        );
        assert_ne!(
            unknown_email_stream("a@example.com"),
            unknown_email_stream("b@example.com")
        );
    }
}

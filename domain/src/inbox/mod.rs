//! The inbox aggregate (SPEC INBOX-1): a widget channel with its widget token, settings and
//! active flag. Its branch is set once, at creation, and there is no command to change it:
//! the invariant holds by construction. An inbox without a branch is global.
//!
//! The widget token itself never enters the log (events are kept forever and published to
//! Kafka): only its SHA-256, computed by the caller.
//!
//! The settings, which inbox and conversation events carry, live in `settings.rs`: a leaf
//! that imports no events. This file is the decider.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::decider::Decider;
use crate::envelope::Actor;
use crate::error::DomainError;
use crate::event::{
    DomainEvent, IdentitySecretRotated, InboxActivated, InboxCreated, InboxDeactivated,
    InboxSettingsChanged, WidgetTokenRotated,
};

pub(crate) mod settings;
pub mod visitor;

pub use visitor::{VisitorDetails, VisitorField, VisitorIdentity};

pub use settings::{
    InactivityRule, InboxSettings, RatingScale, RoutingRule, SlaPolicy, SlaTerms, DEFAULT_CAPACITY,
    DEFAULT_ESCALATION_SECS, MAX_ALLOWED_ORIGINS,
};

pub const STREAM_TYPE: &str = "inbox";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxState {
    pub id: Uuid,
    pub branch_id: Option<Uuid>,
    pub settings: InboxSettings,
    pub active: bool,
    pub widget_token_hash: String,
}

// One value per command handled, moved not copied around, like `Conversation`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbox {
    NotCreated,
    Created(InboxState),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxCommand {
    Create {
        inbox_id: Uuid,
        branch_id: Option<Uuid>,
        settings: InboxSettings,
        widget_token_hash: String,
        at: DateTime<Utc>,
    },
    ChangeSettings {
        inbox_id: Uuid,
        settings: InboxSettings,
        at: DateTime<Utc>,
    },
    RotateWidgetToken {
        inbox_id: Uuid,
        widget_token_hash: String,
        at: DateTime<Utc>,
    },
    SetActive {
        inbox_id: Uuid,
        active: bool,
        at: DateTime<Utc>,
    },
    /// A new identity secret (SEC-1); the caller stores the secret itself, apart from the log.
    RotateIdentitySecret { inbox_id: Uuid, at: DateTime<Utc> },
}

impl InboxCommand {
    pub fn inbox_id(&self) -> Uuid {
        match self {
            InboxCommand::Create { inbox_id, .. }
            | InboxCommand::ChangeSettings { inbox_id, .. }
            | InboxCommand::RotateWidgetToken { inbox_id, .. }
            | InboxCommand::SetActive { inbox_id, .. }
            | InboxCommand::RotateIdentitySecret { inbox_id, .. } => *inbox_id,
        }
    }
}

pub struct InboxDecider;

impl Decider for InboxDecider {
    type State = Inbox;
    type Command = InboxCommand;
    const STREAM_TYPE: &'static str = STREAM_TYPE;

    fn initial_state() -> Inbox {
        Inbox::NotCreated
    }

    fn stream_id(command: &InboxCommand) -> Uuid {
        command.inbox_id()
    }

    fn decide(
        state: &Inbox,
        command: &InboxCommand,
        actor: &Actor,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        if !actor.is_admin() {
            return Err(DomainError::NotPermitted("only an admin"));
        }
        let created = match (state, command) {
            (
                Inbox::NotCreated,
                InboxCommand::Create {
                    inbox_id,
                    branch_id,
                    settings,
                    widget_token_hash,
                    at,
                },
            ) => {
                return Ok(vec![DomainEvent::InboxCreated(InboxCreated {
                    inbox_id: *inbox_id,
                    branch_id: *branch_id,
                    settings: settings.clone(),
                    widget_token_hash: widget_token_hash.clone(),
                    created_at: *at,
                })])
            }
            (Inbox::Created(_), InboxCommand::Create { inbox_id, .. }) => {
                return Err(DomainError::InboxAlreadyExists(*inbox_id))
            }
            (Inbox::NotCreated, other) => return Err(DomainError::InboxNotFound(other.inbox_id())),
            (Inbox::Created(created), _) => created,
        };
        match command {
            InboxCommand::Create { .. } => unreachable!("handled above"),
            InboxCommand::ChangeSettings { settings, at, .. } => {
                if *settings == created.settings {
                    return Ok(Vec::new());
                }
                Ok(vec![DomainEvent::InboxSettingsChanged(
                    InboxSettingsChanged {
                        inbox_id: created.id,
                        settings: settings.clone(),
                        changed_at: *at,
                    },
                )])
            }
            InboxCommand::RotateWidgetToken {
                widget_token_hash,
                at,
                ..
            } => Ok(vec![DomainEvent::WidgetTokenRotated(WidgetTokenRotated {
                inbox_id: created.id,
                widget_token_hash: widget_token_hash.clone(),
                rotated_at: *at,
            })]),
            InboxCommand::RotateIdentitySecret { at, .. } => {
                Ok(vec![DomainEvent::IdentitySecretRotated(
                    IdentitySecretRotated {
                        inbox_id: created.id,
                        rotated_at: *at,
                    },
                )])
            }
            InboxCommand::SetActive { active, at, .. } => match (created.active, active) {
                (true, true) | (false, false) => Ok(Vec::new()),
                (false, true) => Ok(vec![DomainEvent::InboxActivated(InboxActivated {
                    inbox_id: created.id,
                    activated_at: *at,
                })]),
                (true, false) => Ok(vec![DomainEvent::InboxDeactivated(InboxDeactivated {
                    inbox_id: created.id,
                    deactivated_at: *at,
                })]),
            },
        }
    }

    fn evolve(state: Inbox, event: &DomainEvent) -> Inbox {
        let mut created = match (state, event) {
            (_, DomainEvent::InboxCreated(e)) => {
                return Inbox::Created(InboxState {
                    id: e.inbox_id,
                    branch_id: e.branch_id,
                    settings: e.settings.clone(),
                    active: true,
                    widget_token_hash: e.widget_token_hash.clone(),
                })
            }
            (Inbox::Created(created), _) => created,
            (state, _) => return state,
        };
        match event {
            DomainEvent::InboxSettingsChanged(e) => created.settings = e.settings.clone(),
            DomainEvent::WidgetTokenRotated(e) => {
                created.widget_token_hash = e.widget_token_hash.clone()
            }
            DomainEvent::InboxActivated(_) => created.active = true,
            DomainEvent::InboxDeactivated(_) => created.active = false,
            _ => {}
        }
        Inbox::Created(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decider::testing::given;
    use crate::operator::role::Role;
    use chrono::TimeZone;

    const INBOX: Uuid = Uuid::from_u128(1);

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    fn admin() -> Actor {
        Actor::operator(Uuid::from_u128(2), vec![Role::Admin])
    }

    fn settings(title: &str) -> InboxSettings {
        InboxSettings::new(title, None, Some("#FFAA00"), RatingScale::Csat).unwrap()
    }

    fn create() -> InboxCommand {
        InboxCommand::Create {
            inbox_id: INBOX,
            branch_id: Some(Uuid::from_u128(3)),
            settings: settings("Support"),
            widget_token_hash: "h1".into(),
            at: at(),
        }
    }

    /// What `create()` records.
    fn created() -> DomainEvent {
        DomainEvent::InboxCreated(InboxCreated {
            inbox_id: INBOX,
            branch_id: Some(Uuid::from_u128(3)),
            settings: settings("Support"),
            widget_token_hash: "h1".into(),
            created_at: at(),
        })
    }

    #[test]
    fn only_admins_manage_inboxes() {
        let manager = Actor::operator(Uuid::from_u128(4), vec![Role::Manager]);
        given::<InboxDecider>(&[])
            .when(&create(), &manager)
            .then_error(DomainError::NotPermitted("only an admin"));
        assert_eq!(
            given::<InboxDecider>(&[])
                .when(&create(), &admin())
                .outcome()
                .unwrap()[0]
                .event_type(),
            "InboxCreated"
        );
        given::<InboxDecider>(&[created()])
            .when(&create(), &admin())
            .then_error(DomainError::InboxAlreadyExists(INBOX));
    }

    #[test]
    fn settings_tokens_and_activation() {
        let change = |title: &str| InboxCommand::ChangeSettings {
            inbox_id: INBOX,
            settings: settings(title),
            at: at(),
        };
        let inbox = given::<InboxDecider>(&[created()]);
        inbox.when(&change("Support"), &admin()).then(&[]);
        assert_eq!(
            inbox.when(&change("Sales"), &admin()).outcome().unwrap()[0].event_type(),
            "InboxSettingsChanged"
        );
        given::<InboxDecider>(&[])
            .when(&change("Sales"), &admin())
            .then_error(DomainError::InboxNotFound(INBOX));
        let off = InboxCommand::SetActive {
            inbox_id: INBOX,
            active: false,
            at: at(),
        };
        assert_eq!(
            inbox.when(&off, &admin()).outcome().unwrap()[0].event_type(),
            "InboxDeactivated"
        );
        let deactivated = DomainEvent::InboxDeactivated(InboxDeactivated {
            inbox_id: INBOX,
            deactivated_at: at(),
        });
        given::<InboxDecider>(&[created(), deactivated])
            .when(&off, &admin())
            .then(&[]);
    }

    #[test]
    fn identity_secrets_are_rotated_by_admins_of_existing_inboxes() {
        let rotate = InboxCommand::RotateIdentitySecret {
            inbox_id: INBOX,
            at: at(),
        };
        given::<InboxDecider>(&[created()])
            .when(&rotate, &admin())
            .then(&[DomainEvent::IdentitySecretRotated(IdentitySecretRotated {
                inbox_id: INBOX,
                rotated_at: at(),
            })]);
        given::<InboxDecider>(&[])
            .when(&rotate, &admin())
            .then_error(DomainError::InboxNotFound(INBOX));
        given::<InboxDecider>(&[created()])
            .when(
                &rotate,
                &Actor::operator(Uuid::from_u128(4), vec![Role::Manager]),
            )
            .then_error(DomainError::NotPermitted("only an admin"));
    }
}

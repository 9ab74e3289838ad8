//! The inbox aggregate (SPEC INBOX-1): a widget channel with its widget token, settings and
//! active flag. Its branch is set once, at creation, and there is no command to change it:
//! the invariant holds by construction. An inbox without a branch is global.
//!
//! The widget token itself never enters the log (events are kept forever and published to
//! Kafka): only its SHA-256, computed by the caller.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::conversation::DomainError;
use crate::decider::Decider;
use crate::envelope::{Actor, ActorKind};
use crate::event::{
    DomainEvent, InboxActivated, InboxCreated, InboxDeactivated, InboxSettingsChanged,
    WidgetTokenRotated,
};
use crate::operator::Role;
use crate::values::{short_text, InvalidInput};

pub const STREAM_TYPE: &str = "inbox";

text_enum! {
    /// How contacts rate a conversation after it is resolved or closed (CONV-8).
    #[derive(Default)]
    pub enum RatingScale {
        /// No rating is asked for.
        #[default]
        None = "none",
        /// Stars 1–5.
        Csat = "csat",
        /// 0–10.
        Nps = "nps",
    }
}

/// What an admin sets on an inbox. Construct with [`InboxSettings::new`], which validates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxSettings {
    pub title: String,
    pub greeting: Option<String>,
    /// `#rrggbb`, lower-case.
    pub color: Option<String>,
    pub rating: RatingScale,
}

impl InboxSettings {
    pub fn new(
        title: &str,
        greeting: Option<&str>,
        color: Option<&str>,
        rating: RatingScale,
    ) -> Result<Self, InvalidInput> {
        let title =
            short_text("title", Some(title))?.ok_or(InvalidInput::Empty { field: "title" })?;
        let greeting = short_text("greeting", greeting)?;
        let color = match color.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => {
                let hex = c.strip_prefix('#').unwrap_or(c);
                if hex.len() != 6 || !hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
                    return Err(InvalidInput::Malformed {
                        field: "color",
                        expected: "#rrggbb",
                    });
                }
                Some(format!("#{}", hex.to_ascii_lowercase()))
            }
        };
        Ok(Self {
            title,
            greeting,
            color,
            rating,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxState {
    pub id: Uuid,
    pub branch_id: Option<Uuid>,
    pub settings: InboxSettings,
    pub active: bool,
    pub widget_token_hash: String,
}

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
}

impl InboxCommand {
    pub fn inbox_id(&self) -> Uuid {
        match self {
            InboxCommand::Create { inbox_id, .. }
            | InboxCommand::ChangeSettings { inbox_id, .. }
            | InboxCommand::RotateWidgetToken { inbox_id, .. }
            | InboxCommand::SetActive { inbox_id, .. } => *inbox_id,
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
        let admin = actor.kind == ActorKind::System
            || (actor.kind == ActorKind::Operator && actor.roles.contains(&Role::Admin));
        if !admin {
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

    fn given_when(
        history: &[InboxCommand],
        command: InboxCommand,
        actor: &Actor,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        let mut state = InboxDecider::initial_state();
        for past in history {
            for event in InboxDecider::decide(&state, past, &admin()).unwrap() {
                state = InboxDecider::evolve(state, &event);
            }
        }
        InboxDecider::decide(&state, &command, actor)
    }

    #[test]
    fn only_admins_manage_inboxes() {
        let manager = Actor::operator(Uuid::from_u128(4), vec![Role::Manager]);
        assert_eq!(
            given_when(&[], create(), &manager),
            Err(DomainError::NotPermitted("only an admin"))
        );
        assert_eq!(
            given_when(&[], create(), &admin()).unwrap()[0].event_type(),
            "InboxCreated"
        );
        assert_eq!(
            given_when(&[create()], create(), &admin()),
            Err(DomainError::InboxAlreadyExists(INBOX))
        );
    }

    #[test]
    fn settings_tokens_and_activation() {
        let change = |title: &str| InboxCommand::ChangeSettings {
            inbox_id: INBOX,
            settings: settings(title),
            at: at(),
        };
        assert_eq!(
            given_when(&[create()], change("Support"), &admin()),
            Ok(vec![])
        );
        assert_eq!(
            given_when(&[create()], change("Sales"), &admin()).unwrap()[0].event_type(),
            "InboxSettingsChanged"
        );
        assert_eq!(
            given_when(&[], change("Sales"), &admin()),
            Err(DomainError::InboxNotFound(INBOX))
        );
        let off = InboxCommand::SetActive {
            inbox_id: INBOX,
            active: false,
            at: at(),
        };
        assert_eq!(
            given_when(&[create()], off.clone(), &admin()).unwrap()[0].event_type(),
            "InboxDeactivated"
        );
        assert_eq!(
            given_when(&[create(), off.clone()], off, &admin()),
            Ok(vec![])
        );
    }

    #[test]
    fn settings_are_validated() {
        assert_eq!(settings("x").color.as_deref(), Some("#ffaa00"));
        assert_eq!(
            InboxSettings::new(" ", None, None, RatingScale::None),
            Err(InvalidInput::Empty { field: "title" })
        );
        assert_eq!(
            InboxSettings::new("t", None, Some("red"), RatingScale::None),
            Err(InvalidInput::Malformed {
                field: "color",
                expected: "#rrggbb"
            })
        );
    }
}

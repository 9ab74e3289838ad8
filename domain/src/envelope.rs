//! What the log keeps around every event: who caused it and why. The stream, version and
//! position are the log's business (`switchboard_commands::log`); this module owns only the
//! metadata a command handler attaches.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::operator::role::Role;

/// Who did it. Auditors read this; projections use it to tell operator from contact actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A website visitor (or a Telegram user) writing through the widget.
    Contact,
    /// An operator: admin, moderator, manager.
    Operator,
    /// Switchboard itself: timers, auto-replies.
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    /// The contact's or operator's id; `None` for the system.
    pub id: Option<Uuid>,
    /// The operator's roles at the time, as their token carried them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
}

impl Actor {
    pub fn contact(id: Uuid) -> Self {
        Self {
            kind: ActorKind::Contact,
            id: Some(id),
            roles: Vec::new(),
        }
    }

    pub fn operator(id: Uuid, roles: Vec<Role>) -> Self {
        Self {
            kind: ActorKind::Operator,
            id: Some(id),
            roles,
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            roles: Vec::new(),
        }
    }

    /// May this actor administer Switchboard: create inboxes, register operators and webhook
    /// endpoints, erase contacts? An operator with the admin role may; so may the system,
    /// which acts on the admins' behalf (the webhook delivery worker disabling a failing
    /// endpoint, an erasure from the command line). Contacts never may.
    pub fn is_admin(&self) -> bool {
        match self.kind {
            ActorKind::System => true,
            ActorKind::Operator => self.roles.contains(&Role::Admin),
            ActorKind::Contact => false,
        }
    }
}

/// Metadata stored next to each event's payload (the `metadata` column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub actor: Actor,
    /// The command that produced the event. Event ids are derived from it, which is what
    /// makes a retried command idempotent.
    pub command_id: Uuid,
    /// Groups everything one user action caused, across streams.
    pub correlation_id: Uuid,
    /// The event or command that directly caused this one, when it was not the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// The client's IP address as the API saw it, for the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The contact whose key sealed the values at [`EventMetadata::sealed`] (GDPR-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_subject: Option<Uuid>,
    /// JSON pointers, into `{"payload": …, "metadata": …}`, of the values stored sealed
    /// (`/payload/body`, `/metadata/ip`). Readers open them with the data subject's key, or
    /// read them as erased once it is destroyed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sealed: Vec<String>,
}

/// An event as the log recorded it: the unit that travels to Kafka (as the message value),
/// to projections and to exports. Its JSON is a contract (see the snapshot test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Position in the whole log. Unique and increasing in insertion order, but not in commit
    /// order: consumers order by stream version within a stream, never by this across streams.
    pub global_position: i64,
    pub stream_id: Uuid,
    pub stream_type: String,
    /// 1 for the first event of a stream, then +1 per event, without gaps.
    pub stream_version: i32,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i16,
    pub payload: serde_json::Value,
    pub metadata: serde_json::Value,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn recorded_event_json_contract() {
        let metadata = EventMetadata {
            actor: Actor::operator(Uuid::from_u128(7), vec![Role::Admin]),
            command_id: Uuid::from_u128(8),
            correlation_id: Uuid::from_u128(8),
            causation_id: None,
            ip: Some("203.0.113.9".into()),
            data_subject: None,
            sealed: Vec::new(),
        };
        let event = RecordedEvent {
            global_position: 42,
            stream_id: Uuid::from_u128(1),
            stream_type: "conversation".into(),
            stream_version: 3,
            event_id: Uuid::from_u128(9),
            event_type: "MessagePosted".into(),
            schema_version: 1,
            payload: serde_json::json!({"body": "hi"}),
            metadata: serde_json::to_value(metadata).unwrap(),
            recorded_at: chrono::Utc
                .with_ymd_and_hms(2026, 11, 25, 9, 30, 0)
                .unwrap(),
        };
        insta::assert_json_snapshot!(event);
    }

    #[test]
    fn admins_are_admin_operators_and_the_system() {
        let id = Uuid::from_u128(7);
        let cases = [
            (
                Actor::operator(id, vec![Role::Moderator, Role::Admin]),
                true,
            ),
            (Actor::system(), true),
            (
                Actor::operator(id, vec![Role::Manager, Role::Auditor]),
                false,
            ),
            (Actor::operator(id, Vec::new()), false),
            (Actor::contact(id), false),
            // Roles count only on an operator.
            (
                Actor {
                    roles: vec![Role::Admin],
                    ..Actor::contact(id)
                },
                false,
            ),
        ];
        for (actor, admin) in cases {
            assert_eq!(actor.is_admin(), admin, "{actor:?}");
        }
    }
}

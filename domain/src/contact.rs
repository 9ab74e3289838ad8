//! Contacts' personal data (GDPR-1, GDPR-2): which event fields hold it, and the contact
//! aggregate whose one command is erasure.
//!
//! Personal data in the log is sealed with a key per contact before it is stored (the
//! sealing itself is IO and lives in `switchboard_commands::seal`); this module only says
//! *what* is personal. Erasing destroys the key and records [`ContactErased`]: the events
//! stay, byte for byte, so their hash chains still verify, but what was sealed reads as
//! [`ERASED`] for ever.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::decider::Decider;
use crate::envelope::{Actor, RecordedEvent};
use crate::error::DomainError;
use crate::event::{ContactErased, DomainEvent, SenderKind};

/// What sealed personal data reads as once its contact is erased.
pub const ERASED: &str = "[erased]";

/// The `stream_type` of contacts' streams.
pub const STREAM_TYPE: &str = "contact";

/// The key of the PostgreSQL advisory lock that orders erasures after the projection batches under way
/// (GDPR-2): an agreement between the write side (`switchboard_commands::seal`, which destroys
/// keys) and the read side (the projection runner), kept here so neither depends on the
/// other. A batch that reads contacts' keys holds it shared until it commits; destroying a
/// key takes it exclusively in the same transaction, so it waits for every batch that may have
/// read the key as live, and every batch after it reads the key as gone. An advisory lock
/// lives in memory: unlike a row lock on `contact_keys`, it writes nothing to the table's
/// pages.
pub const ERASURE_FENCE: i64 = 0x5357_4254_4552_4153; // "SWBTERAS"

impl DomainEvent {
    /// JSON pointers (RFC 6901) into [`DomainEvent::payload`] of the contact's personal data
    /// this event carries: what they told us about themselves and what they wrote. Operators'
    /// words are not in it (an operator's reply is the company's record), nor ids.
    pub fn personal_data(&self) -> Vec<String> {
        let fields: &[&str] = match self {
            DomainEvent::ConversationStarted(_) => &[
                "/contact/name",
                "/contact/email",
                "/contact/phone",
                "/subject",
            ],
            DomainEvent::MessagePosted(e) if e.sender.kind == SenderKind::Contact => {
                let mut pointers = vec!["/body".to_owned()];
                pointers.extend((0..e.attachments.len()).map(|i| format!("/attachments/{i}/name")));
                return pointers;
            }
            DomainEvent::CallbackRequested(_) => &["/phone", "/consent/ip"],
            DomainEvent::ConversationRated(_) => &["/comment"],
            _ => &[],
        };
        fields.iter().map(|f| (*f).to_owned()).collect()
    }
}

/// Reads `event`'s sealed values (`metadata.sealed`) as [`ERASED`], in place: what a reader
/// sees once the key that sealed them is destroyed, whether the event still holds the sealed
/// text (read from the log) or the opened text (read from Kafka before the erasure).
pub fn erase_sealed(event: &mut RecordedEvent) {
    for pointer in sealed_pointers(event) {
        if let Some(value) = value_at(&mut event.payload, &mut event.metadata, &pointer) {
            *value = serde_json::Value::String(ERASED.to_owned());
        }
    }
}

/// The pointers of `event`'s sealed values (`metadata.sealed`).
pub fn sealed_pointers(event: &RecordedEvent) -> Vec<String> {
    match event.metadata.get("sealed") {
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The value at `pointer` in `{"payload": …, "metadata": …}`: its first segment picks which.
pub fn value_at<'a>(
    payload: &'a mut serde_json::Value,
    metadata: &'a mut serde_json::Value,
    pointer: &str,
) -> Option<&'a mut serde_json::Value> {
    if let Some(rest) = pointer.strip_prefix("/payload") {
        payload.pointer_mut(rest)
    } else if let Some(rest) = pointer.strip_prefix("/metadata") {
        metadata.pointer_mut(rest)
    } else {
        None
    }
}

/// The contact whose key sealed `event`'s personal data, if it has any sealed.
pub fn data_subject(event: &RecordedEvent) -> Option<Uuid> {
    event.metadata.get("sealed")?;
    event.metadata.get("data_subject")?.as_str()?.parse().ok()
}

/// Erase a contact (GDPR-2). Admins, or the system (an operator running `switchboard contact
/// erase` on the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EraseContact {
    pub contact_id: Uuid,
    /// The conversations they started, as the caller found them in the log.
    pub conversation_ids: Vec<Uuid>,
    pub at: DateTime<Utc>,
}

/// A contact, as far as the log keeps one: erased or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContactState {
    pub erased: bool,
}

/// The contact aggregate, for the generic command handler.
pub struct ContactDecider;

impl Decider for ContactDecider {
    type State = ContactState;
    type Command = EraseContact;
    const STREAM_TYPE: &'static str = STREAM_TYPE;

    fn initial_state() -> ContactState {
        ContactState::default()
    }

    fn stream_id(command: &EraseContact) -> Uuid {
        command.contact_id
    }

    fn decide(
        state: &ContactState,
        command: &EraseContact,
        actor: &Actor,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        if !actor.is_admin() {
            return Err(DomainError::NotPermitted("only an admin"));
        }
        if state.erased {
            return Ok(Vec::new());
        }
        Ok(vec![DomainEvent::ContactErased(ContactErased {
            contact_id: command.contact_id,
            conversation_ids: command.conversation_ids.clone(),
            erased_at: command.at,
        })])
    }

    fn evolve(state: ContactState, event: &DomainEvent) -> ContactState {
        match event {
            DomainEvent::ContactErased(_) => ContactState { erased: true },
            _ => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decider::testing::given;
    use crate::event::{AttachmentRef, Channel, MessagePosted, Sender};
    use crate::operator::role::Role;

    fn erase() -> EraseContact {
        EraseContact {
            contact_id: Uuid::from_u128(3),
            conversation_ids: vec![Uuid::from_u128(1)],
            at: DateTime::UNIX_EPOCH,
        }
    }

    fn erased() -> DomainEvent {
        DomainEvent::ContactErased(ContactErased {
            contact_id: Uuid::from_u128(3),
            conversation_ids: vec![Uuid::from_u128(1)],
            erased_at: DateTime::UNIX_EPOCH,
        })
    }

    #[test]
    fn only_admins_and_the_system_erase_and_erasing_twice_records_once() {
        let admin = Actor::operator(Uuid::from_u128(9), vec![Role::Admin]);
        let not_erased = given::<ContactDecider>(&[]);
        not_erased.when(&erase(), &admin).then(&[erased()]);
        given::<ContactDecider>(&[erased()])
            .when(&erase(), &admin)
            .then(&[]);
        not_erased
            .when(&erase(), &Actor::system())
            .then(&[erased()]);
        for actor in [
            Actor::operator(Uuid::from_u128(9), vec![Role::Manager, Role::Auditor]),
            Actor::contact(Uuid::from_u128(3)),
        ] {
            not_erased
                .when(&erase(), &actor)
                .then_error(DomainError::NotPermitted("only an admin"));
        }
    }

    #[test]
    fn a_contacts_message_and_its_file_names_are_personal_an_operators_are_not() {
        let message = |kind| {
            DomainEvent::MessagePosted(MessagePosted {
                conversation_id: Uuid::from_u128(1),
                message_id: Uuid::from_u128(2),
                sender: Sender {
                    kind,
                    id: Some(Uuid::from_u128(3)),
                },
                channel: Channel::Web,
                body: "hi".into(),
                posted_at: DateTime::UNIX_EPOCH,
                attachments: vec![AttachmentRef {
                    attachment_id: Uuid::from_u128(4),
                    name: "passport.jpg".into(),
                    content_type: "image/jpeg".into(),
                    size: 1,
                    sha256: String::new(),
                }],
            })
        };
        assert_eq!(
            message(SenderKind::Contact).personal_data(),
            ["/body", "/attachments/0/name"]
        );
        assert!(message(SenderKind::Operator).personal_data().is_empty());
    }
}

//! The event catalogue: every fact Switchboard records, its name and its JSON shape.
//!
//! These shapes are contracts with integrators (Kafka, webhooks) and auditors (the log keeps
//! them forever). Each has a snapshot test. Changing an existing shape means a new
//! `schema_version` and an upcaster in [`DomainEvent::decode`], never an edit in place.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

text_enum! {
    /// Where a conversation came from (CONV-1).
    pub enum Source {
        Web = "web",
        Telegram = "telegram",
        Callback = "callback",
        Api = "api",
    }
}

text_enum! {
    /// Who wrote a message (CONV-3).
    pub enum SenderKind {
        Contact = "contact",
        Operator = "operator",
        System = "system",
        Bot = "bot",
    }
}

text_enum! {
    /// The channel a message travelled (CONV-3).
    pub enum Channel {
        Web = "web",
        Telegram = "telegram",
        Api = "api",
    }
}

/// The person on the other side of the conversation, as they introduced themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: Uuid,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    pub kind: SenderKind,
    /// The contact's or operator's id; `None` for system and bot messages.
    pub id: Option<Uuid>,
}

/// A conversation was opened in an inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationStarted {
    pub conversation_id: Uuid,
    pub inbox_id: Uuid,
    pub source: Source,
    pub contact: Contact,
    pub subject: Option<String>,
    pub started_at: DateTime<Utc>,
}

/// A message was added to a conversation's thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePosted {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub sender: Sender,
    pub channel: Channel,
    pub body: String,
    pub posted_at: DateTime<Utc>,
}

/// Every event Switchboard records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    ConversationStarted(ConversationStarted),
    MessagePosted(MessagePosted),
}

/// An event from the log (or from Kafka) could not be read back into a [`DomainEvent`].
#[derive(Debug, Error)]
pub enum EventDecodeError {
    /// The log holds an event type this build does not know: a newer writer, or a bug.
    #[error("unknown event type `{event_type}` (schema version {schema_version})")]
    UnknownType {
        event_type: String,
        schema_version: i16,
    },
    /// The payload does not match the shape of its type and version.
    #[error("payload of `{event_type}` v{schema_version} does not match its schema: {source}")]
    BadPayload {
        event_type: String,
        schema_version: i16,
        #[source]
        source: serde_json::Error,
    },
}

impl DomainEvent {
    /// The name stored in `events.event_type` and sent as part of CloudEvents' `ce_type`.
    pub fn event_type(&self) -> &'static str {
        match self {
            DomainEvent::ConversationStarted(_) => "ConversationStarted",
            DomainEvent::MessagePosted(_) => "MessagePosted",
        }
    }

    /// The version of this type's JSON shape that [`DomainEvent::payload`] writes.
    pub fn schema_version(&self) -> i16 {
        1
    }

    /// The JSON payload stored in the log.
    pub fn payload(&self) -> serde_json::Value {
        let value = match self {
            DomainEvent::ConversationStarted(e) => serde_json::to_value(e),
            DomainEvent::MessagePosted(e) => serde_json::to_value(e),
        };
        // Serializing plain structs of strings, numbers and uuids into a `Value` cannot fail.
        value.expect("event payloads serialize to JSON")
    }

    /// Reads a stored payload back, upcasting older schema versions when there are any.
    pub fn decode(
        event_type: &str,
        schema_version: i16,
        payload: serde_json::Value,
    ) -> Result<Self, EventDecodeError> {
        fn parse<T: DeserializeOwned>(
            event_type: &str,
            schema_version: i16,
            payload: serde_json::Value,
        ) -> Result<T, EventDecodeError> {
            serde_json::from_value(payload).map_err(|source| EventDecodeError::BadPayload {
                event_type: event_type.to_owned(),
                schema_version,
                source,
            })
        }
        match (event_type, schema_version) {
            ("ConversationStarted", 1) => Ok(DomainEvent::ConversationStarted(parse(
                event_type,
                schema_version,
                payload,
            )?)),
            ("MessagePosted", 1) => Ok(DomainEvent::MessagePosted(parse(
                event_type,
                schema_version,
                payload,
            )?)),
            _ => Err(EventDecodeError::UnknownType {
                event_type: event_type.to_owned(),
                schema_version,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 9, 30, 0).unwrap()
    }

    fn every_event() -> Vec<DomainEvent> {
        let conversation_id = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
        vec![
            DomainEvent::ConversationStarted(ConversationStarted {
                conversation_id,
                inbox_id: Uuid::from_u128(2),
                source: Source::Web,
                contact: Contact {
                    id: Uuid::from_u128(3),
                    name: Some("Олена".into()),
                    email: Some("olena@example.com".into()),
                    phone: None,
                },
                subject: Some("Delivery".into()),
                started_at: at(),
            }),
            DomainEvent::MessagePosted(MessagePosted {
                conversation_id,
                message_id: Uuid::from_u128(4),
                sender: Sender {
                    kind: SenderKind::Contact,
                    id: Some(Uuid::from_u128(3)),
                },
                channel: Channel::Web,
                body: "Where is my order?".into(),
                posted_at: at(),
            }),
        ]
    }

    #[test]
    fn event_json_contract() {
        for event in every_event() {
            let name = format!("{}_v{}", event.event_type(), event.schema_version());
            insta::assert_json_snapshot!(name, event.payload());
        }
    }

    #[test]
    fn every_event_round_trips_through_its_payload() {
        for event in every_event() {
            let back =
                DomainEvent::decode(event.event_type(), event.schema_version(), event.payload())
                    .unwrap();
            assert_eq!(back, event);
        }
    }

    #[test]
    fn text_forms_agree_with_serde() {
        fn check<T: Serialize + Copy>(all: &[T], text: fn(T) -> &'static str) {
            for &v in all {
                assert_eq!(serde_json::to_value(v).unwrap(), text(v));
            }
        }
        check(Source::ALL, Source::as_str);
        check(SenderKind::ALL, SenderKind::as_str);
        check(Channel::ALL, Channel::as_str);
        check(
            crate::conversation::ConversationStatus::ALL,
            crate::conversation::ConversationStatus::as_str,
        );
        assert_eq!(Channel::parse("telegram"), Some(Channel::Telegram));
        assert_eq!(Channel::parse("fax"), None);
    }

    #[test]
    fn unknown_and_malformed_events_are_typed_errors() {
        let unknown = DomainEvent::decode("Nope", 1, serde_json::json!({})).unwrap_err();
        assert!(
            matches!(unknown, EventDecodeError::UnknownType { ref event_type, schema_version: 1 } if event_type == "Nope")
        );
        let bad =
            DomainEvent::decode("MessagePosted", 1, serde_json::json!({"body": 1})).unwrap_err();
        assert!(matches!(bad, EventDecodeError::BadPayload { .. }));
    }
}

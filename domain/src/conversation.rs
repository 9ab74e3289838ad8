//! The conversation aggregate as a decider: `initial_state`, `decide`, `evolve`.
//!
//! One conversation is one stream in the log. The command handler loads its events, folds them
//! with [`evolve`], asks [`decide`] what a command means in that state, and appends the answer.
//! The status machine of CONV-2 lives here and nowhere else.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use thiserror::Error;
use uuid::Uuid;

use crate::event::{
    Channel, Contact, ConversationStarted, DomainEvent, MessagePosted, Sender, SenderKind, Source,
};
use crate::values::MessageBody;

/// The stream type under which conversations are stored in the log.
pub const STREAM_TYPE: &str = "conversation";

text_enum! {
    /// CONV-2's statuses. Only `Open` is reachable so far; the rest of the machine follows.
    pub enum ConversationStatus {
        Open = "open",
        InProgress = "in_progress",
        WaitingForUser = "waiting_for_user",
        PendingCallback = "pending_callback",
        Resolved = "resolved",
        Closed = "closed",
    }
}

/// What the decider needs to know about a conversation; nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conversation {
    NotStarted,
    Started {
        id: Uuid,
        inbox_id: Uuid,
        contact_id: Uuid,
        status: ConversationStatus,
        /// Every message id in the thread: ids are unique within a conversation.
        message_ids: HashSet<Uuid>,
    },
}

/// Open a conversation, optionally with the contact's first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartConversation {
    pub conversation_id: Uuid,
    pub inbox_id: Uuid,
    pub source: Source,
    pub contact: Contact,
    pub subject: Option<String>,
    pub first_message: Option<FirstMessage>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstMessage {
    pub message_id: Uuid,
    pub channel: Channel,
    pub body: MessageBody,
}

/// Add a message to an existing conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostMessage {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub sender: Sender,
    pub channel: Channel,
    pub body: MessageBody,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationCommand {
    Start(StartConversation),
    PostMessage(PostMessage),
}

impl ConversationCommand {
    /// The stream the command is about.
    pub fn conversation_id(&self) -> Uuid {
        match self {
            ConversationCommand::Start(c) => c.conversation_id,
            ConversationCommand::PostMessage(c) => c.conversation_id,
        }
    }
}

/// A command that the conversation's current state does not allow. Each variant is something
/// the caller can act on; none of them changed anything.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// There is no conversation with this id (it was never started).
    #[error("conversation {0} does not exist")]
    ConversationNotFound(Uuid),
    /// A conversation with this id was already started.
    #[error("conversation {0} already exists")]
    ConversationAlreadyExists(Uuid),
    /// A contact tried to write into a conversation that is not theirs.
    #[error("contact {contact_id} is not the contact of conversation {conversation_id}")]
    NotTheContact {
        conversation_id: Uuid,
        contact_id: Uuid,
    },
    /// Contact messages must name the contact; operator messages the operator.
    #[error("a {kind} message must carry its sender's id")]
    MissingSenderId { kind: &'static str },
    /// The conversation already has a message with this id.
    #[error("conversation {conversation_id} already has a message {message_id}")]
    DuplicateMessageId {
        conversation_id: Uuid,
        message_id: Uuid,
    },
}

pub fn initial_state() -> Conversation {
    Conversation::NotStarted
}

/// What `command` means in `state`: the events to record, or why not. Pure.
pub fn decide(
    state: &Conversation,
    command: &ConversationCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    match command {
        ConversationCommand::Start(start) => {
            if !matches!(state, Conversation::NotStarted) {
                return Err(DomainError::ConversationAlreadyExists(
                    start.conversation_id,
                ));
            }
            let mut events = vec![DomainEvent::ConversationStarted(ConversationStarted {
                conversation_id: start.conversation_id,
                inbox_id: start.inbox_id,
                source: start.source,
                contact: start.contact.clone(),
                subject: start.subject.clone(),
                started_at: start.at,
            })];
            if let Some(first) = &start.first_message {
                events.push(DomainEvent::MessagePosted(MessagePosted {
                    conversation_id: start.conversation_id,
                    message_id: first.message_id,
                    sender: Sender {
                        kind: SenderKind::Contact,
                        id: Some(start.contact.id),
                    },
                    channel: first.channel,
                    body: first.body.as_str().to_owned(),
                    posted_at: start.at,
                }));
            }
            Ok(events)
        }
        ConversationCommand::PostMessage(post) => {
            let Conversation::Started {
                contact_id,
                message_ids,
                ..
            } = state
            else {
                return Err(DomainError::ConversationNotFound(post.conversation_id));
            };
            if message_ids.contains(&post.message_id) {
                return Err(DomainError::DuplicateMessageId {
                    conversation_id: post.conversation_id,
                    message_id: post.message_id,
                });
            }
            match post.sender.kind {
                SenderKind::Contact => match post.sender.id {
                    None => return Err(DomainError::MissingSenderId { kind: "contact" }),
                    Some(id) if id != *contact_id => {
                        return Err(DomainError::NotTheContact {
                            conversation_id: post.conversation_id,
                            contact_id: id,
                        })
                    }
                    Some(_) => {}
                },
                SenderKind::Operator if post.sender.id.is_none() => {
                    return Err(DomainError::MissingSenderId { kind: "operator" })
                }
                _ => {}
            }
            Ok(vec![DomainEvent::MessagePosted(MessagePosted {
                conversation_id: post.conversation_id,
                message_id: post.message_id,
                sender: post.sender.clone(),
                channel: post.channel,
                body: post.body.as_str().to_owned(),
                posted_at: post.at,
            })])
        }
    }
}

/// The state after `event`. Total: an event the state does not care about leaves it as is.
pub fn evolve(state: Conversation, event: &DomainEvent) -> Conversation {
    match event {
        DomainEvent::ConversationStarted(e) => Conversation::Started {
            id: e.conversation_id,
            inbox_id: e.inbox_id,
            contact_id: e.contact.id,
            status: ConversationStatus::Open,
            message_ids: HashSet::new(),
        },
        DomainEvent::MessagePosted(e) => match state {
            Conversation::Started {
                id,
                inbox_id,
                contact_id,
                status,
                mut message_ids,
            } => {
                message_ids.insert(e.message_id);
                Conversation::Started {
                    id,
                    inbox_id,
                    contact_id,
                    status,
                    message_ids,
                }
            }
            other => other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const CONVERSATION: Uuid = Uuid::from_u128(10);
    const CONTACT: Uuid = Uuid::from_u128(20);

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    fn body(text: &str) -> MessageBody {
        MessageBody::parse(text, 4000).unwrap()
    }

    fn start(first: Option<&str>) -> ConversationCommand {
        ConversationCommand::Start(StartConversation {
            conversation_id: CONVERSATION,
            inbox_id: Uuid::from_u128(1),
            source: Source::Web,
            contact: Contact {
                id: CONTACT,
                name: Some("Ann".into()),
                email: None,
                phone: None,
            },
            subject: None,
            first_message: first.map(|text| FirstMessage {
                message_id: Uuid::from_u128(30),
                channel: Channel::Web,
                body: body(text),
            }),
            at: at(),
        })
    }

    fn post(kind: SenderKind, id: Option<Uuid>) -> ConversationCommand {
        ConversationCommand::PostMessage(PostMessage {
            conversation_id: CONVERSATION,
            message_id: Uuid::from_u128(31),
            sender: Sender { kind, id },
            channel: Channel::Web,
            body: body("hi"),
            at: at(),
        })
    }

    /// given `history`, when `command`, then the result.
    fn given_when(
        history: &[ConversationCommand],
        command: ConversationCommand,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        let mut state = initial_state();
        for past in history {
            for event in decide(&state, past).expect("history is valid") {
                state = evolve(state, &event);
            }
        }
        decide(&state, &command)
    }

    #[test]
    fn start_records_the_conversation_and_its_first_message() {
        let events = given_when(&[], start(Some("hello"))).unwrap();
        let types: Vec<_> = events.iter().map(DomainEvent::event_type).collect();
        assert_eq!(types, ["ConversationStarted", "MessagePosted"]);
        let DomainEvent::MessagePosted(m) = &events[1] else {
            unreachable!()
        };
        assert_eq!(m.sender.id, Some(CONTACT));
        assert_eq!(m.body, "hello");
    }

    #[test]
    fn start_twice_is_refused() {
        assert_eq!(
            given_when(&[start(None)], start(None)),
            Err(DomainError::ConversationAlreadyExists(CONVERSATION))
        );
    }

    #[test]
    fn no_message_to_a_conversation_that_does_not_exist() {
        assert_eq!(
            given_when(&[], post(SenderKind::Contact, Some(CONTACT))),
            Err(DomainError::ConversationNotFound(CONVERSATION))
        );
    }

    #[test]
    fn a_message_id_is_used_once_per_conversation() {
        // The first message of `start(Some(..))` has id 30; post one with the same id.
        let mut duplicate = post(SenderKind::Contact, Some(CONTACT));
        if let ConversationCommand::PostMessage(p) = &mut duplicate {
            p.message_id = Uuid::from_u128(30);
        }
        assert_eq!(
            given_when(&[start(Some("hello"))], duplicate),
            Err(DomainError::DuplicateMessageId {
                conversation_id: CONVERSATION,
                message_id: Uuid::from_u128(30)
            })
        );
    }

    #[test]
    fn only_the_conversation_contact_writes_as_contact() {
        let stranger = Uuid::from_u128(99);
        assert_eq!(
            given_when(&[start(None)], post(SenderKind::Contact, Some(stranger))),
            Err(DomainError::NotTheContact {
                conversation_id: CONVERSATION,
                contact_id: stranger
            })
        );
        assert_eq!(
            given_when(&[start(None)], post(SenderKind::Operator, None)),
            Err(DomainError::MissingSenderId { kind: "operator" })
        );
        let events = given_when(&[start(None)], post(SenderKind::Contact, Some(CONTACT))).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type(), "MessagePosted");
    }
}

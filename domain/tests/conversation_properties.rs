//! Property tests of the conversation decider: random command sequences, from random actors,
//! never break an invariant. Every accepted command's events are checked against a shadow of
//! what the rules allow; refused commands must record nothing (they return an error instead).

use std::collections::HashSet;

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use switchboard_domain::conversation::{
    after_message, contact_may_end, decide, evolve, initial_state, operator_may_set,
    AddInternalNote, AssignConversation, AutoAssign, CallbackRequest, ChangeStatus,
    CloseForInactivity, CloseForRetention, Conversation, ConversationCommand, ConversationStatus,
    EndConversation, Escalate, MarkRead, OpenConversation, PostMessage, RaisePriorityForWait,
    RateConversation, RequestCallback, ScheduleCallback, SendAutoReply, SetPriority,
    SettleCallback, StartConversation, TagConversation, Transfer, TransferTarget,
    UnassignConversation,
};
use switchboard_domain::envelope::ActorKind;
use switchboard_domain::event::{
    CallbackOutcome, Channel, Consent, Contact, DomainEvent, Priority, RoutedBy, Routing, Sender,
    SenderKind, Source, StatusTrigger,
};
use switchboard_domain::inbox::{InactivityRule, RatingScale};
use switchboard_domain::operator::{may_work_branch, Role};
use switchboard_domain::values::{MessageBody, Phone, Tag};
use switchboard_domain::Actor;
use uuid::Uuid;

const CONVERSATION: Uuid = Uuid::from_u128(1);
const CONTACT: Uuid = Uuid::from_u128(2);
const OPERATORS: [Uuid; 3] = [
    Uuid::from_u128(10),
    Uuid::from_u128(11),
    Uuid::from_u128(12),
];

const BRANCHES: [Option<Uuid>; 3] = [None, Some(Uuid::from_u128(21)), Some(Uuid::from_u128(22))];

/// The operators' branches: the first works at head office, the others in a branch each.
fn branch_of(operator: Uuid) -> Option<Uuid> {
    let i = OPERATORS
        .iter()
        .position(|o| *o == operator)
        .expect("one of ours");
    BRANCHES[i]
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

/// Who acts: the contact, or one of three operators with a role.
fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        Just(Actor::contact(CONTACT)),
        Just(Actor::system()),
        (
            0..3usize,
            prop::sample::select(vec![
                Role::Admin,
                Role::Moderator,
                Role::Manager,
                Role::Analyst
            ])
        )
            .prop_map(|(i, role)| Actor::operator(OPERATORS[i], vec![role])),
    ]
}

fn command() -> impl Strategy<Value = ConversationCommand> {
    let status = prop::sample::select(ConversationStatus::ALL.to_vec());
    let priority = prop::sample::select(Priority::ALL.to_vec());
    let tag = prop::sample::select(vec!["billing", "vip", "refund"]);
    let id = (0u128..40).prop_map(|n| Uuid::from_u128(1000 + n));
    prop_oneof![
        (id.clone(), prop::bool::ANY).prop_map(|(message_id, from_contact)| {
            ConversationCommand::PostMessage(PostMessage {
                conversation_id: CONVERSATION,
                message_id,
                // The operator sender is filled in from the actor below.
                sender: Sender {
                    kind: if from_contact {
                        SenderKind::Contact
                    } else {
                        SenderKind::Operator
                    },
                    id: Some(CONTACT),
                },
                channel: Channel::Web,
                body: MessageBody::parse("hi", 10).unwrap(),
                attachments: Vec::new(),
                at: at(),
            })
        }),
        id.prop_map(
            |note_id| ConversationCommand::AddInternalNote(AddInternalNote {
                conversation_id: CONVERSATION,
                note_id,
                author_id: OPERATORS[0],
                body: MessageBody::parse("note", 10).unwrap(),
                at: at(),
            })
        ),
        status.prop_map(|to| ConversationCommand::ChangeStatus(ChangeStatus {
            conversation_id: CONVERSATION,
            to,
            at: at(),
        })),
        priority.prop_map(|priority| ConversationCommand::SetPriority(SetPriority {
            conversation_id: CONVERSATION,
            priority,
            at: at(),
        })),
        tag.prop_map(|t| ConversationCommand::Tag(TagConversation {
            conversation_id: CONVERSATION,
            tag: Tag::parse(t).unwrap(),
            at: at(),
        })),
        (0..3usize).prop_map(|i| ConversationCommand::Assign(AssignConversation {
            conversation_id: CONVERSATION,
            operator_id: OPERATORS[i],
            operator_branch_id: BRANCHES[i],
            at: at(),
        })),
        (0..3usize, 0i32..12).prop_map(|(i, queued_since_position)| {
            ConversationCommand::AutoAssign(AutoAssign {
                conversation_id: CONVERSATION,
                queued_since_position,
                operator_id: OPERATORS[i],
                operator_branch_id: BRANCHES[i],
                at: at(),
            })
        }),
        (0..3usize, 0i32..12).prop_map(|(i, assignment_position)| ConversationCommand::Escalate(
            Escalate {
                conversation_id: CONVERSATION,
                assignment_position,
                operator_id: OPERATORS[i],
                operator_branch_id: BRANCHES[i],
                at: at(),
            }
        )),
        Just(ConversationCommand::Open(OpenConversation {
            conversation_id: CONVERSATION,
            at: at(),
        })),
        (0..3usize, prop::bool::ANY).prop_map(|(i, to_operator)| ConversationCommand::Transfer(
            Transfer {
                conversation_id: CONVERSATION,
                to: if to_operator {
                    TransferTarget::Operator {
                        operator_id: OPERATORS[i],
                        branch_id: BRANCHES[i],
                    }
                } else {
                    TransferTarget::Branch(BRANCHES[i])
                },
                at: at(),
            }
        )),
        (0u128..40).prop_map(|n| ConversationCommand::SendAutoReply(SendAutoReply {
            conversation_id: CONVERSATION,
            message_id: Uuid::from_u128(1000 + n),
            body: MessageBody::parse("auto", 10).unwrap(),
            at: at(),
        })),
        Just(ConversationCommand::Unassign(UnassignConversation {
            conversation_id: CONVERSATION,
            at: at(),
        })),
        (0i32..12, any::<bool>()).prop_map(|(last_message_position, any_idle)| {
            ConversationCommand::CloseForInactivity(CloseForInactivity {
                conversation_id: CONVERSATION,
                last_message_position,
                rule: if any_idle {
                    InactivityRule::AnyIdle
                } else {
                    InactivityRule::WaitingOnContact
                },
                at: at(),
            })
        }),
        Just(ConversationCommand::End(EndConversation {
            conversation_id: CONVERSATION,
            at: at(),
        })),
        Just(ConversationCommand::CloseForRetention(CloseForRetention {
            conversation_id: CONVERSATION,
            at: at(),
        })),
        (0i32..12, 0u8..4).prop_map(|(waiting_since_position, step)| {
            ConversationCommand::RaisePriorityForWait(RaisePriorityForWait {
                conversation_id: CONVERSATION,
                waiting_since_position,
                step,
                at: at(),
            })
        }),
        prop::option::of(0u128..40).prop_map(|up_to| {
            ConversationCommand::MarkRead(MarkRead {
                conversation_id: CONVERSATION,
                up_to_message_id: up_to.map(|n| Uuid::from_u128(1000 + n)),
                at: at(),
            })
        }),
        (0u128..3).prop_map(|n| ConversationCommand::RequestCallback(RequestCallback {
            conversation_id: CONVERSATION,
            request: CallbackRequest {
                callback_id: Uuid::from_u128(500 + n),
                phone: Phone::parse("+380441234567", None).unwrap(),
                window_from: None,
                window_to: None,
                consent: Consent {
                    text_version: "v1".into(),
                    given_at: at(),
                    ip: None
                },
            },
            at: at(),
        })),
        (0u128..3).prop_map(|n| ConversationCommand::ScheduleCallback(ScheduleCallback {
            conversation_id: CONVERSATION,
            callback_id: Uuid::from_u128(500 + n),
            scheduled_for: at(),
            at: at(),
        })),
        (
            0u128..3,
            prop::sample::select(CallbackOutcome::ALL.to_vec())
        )
            .prop_map(|(n, outcome)| {
                ConversationCommand::SettleCallback(SettleCallback {
                    conversation_id: CONVERSATION,
                    callback_id: Uuid::from_u128(500 + n),
                    outcome,
                    note: None,
                    at: at(),
                })
            }),
        (prop::sample::select(RatingScale::ALL.to_vec()), 0u8..12).prop_map(|(scale, score)| {
            ConversationCommand::Rate(RateConversation {
                conversation_id: CONVERSATION,
                scale,
                score,
                comment: None,
                at: at(),
            })
        }),
    ]
}

fn start() -> ConversationCommand {
    ConversationCommand::Start(StartConversation {
        conversation_id: CONVERSATION,
        inbox_id: Uuid::from_u128(3),
        source: Source::Web,
        contact: Contact {
            id: CONTACT,
            name: None,
            email: None,
            phone: None,
        },
        subject: None,
        first_message: None,
        callback: None,
        // A global inbox's conversation, routed to the first branch: it may be transferred.
        branch_id: BRANCHES[1],
        routing: Some(Routing {
            region: Some("UA-30".into()),
            routed_by: RoutedBy::Rule,
        }),
        sla: None,
        at: at(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_histories_keep_every_invariant(steps in prop::collection::vec((actor(), command()), 1..60)) {
        let mut state = initial_state();
        for event in decide(&state, &start(), &Actor::contact(CONTACT)).unwrap() {
            state = evolve(state, &event);
        }
        let mut ids_in_thread = HashSet::new();
        let mut ratings = 0;
        let mut pending_callback: Option<Uuid> = None;
        let mut read_markers: std::collections::HashMap<Option<Uuid>, i32> = Default::default();
        let mut auto_replies = 0;
        for (actor, mut command) in steps {
            // An operator writes as themselves.
            if let (ConversationCommand::PostMessage(post), Some(id)) = (&mut command, actor.id) {
                if post.sender.kind == SenderKind::Operator {
                    post.sender.id = Some(id);
                }
            }
            let Conversation::Started(before) = state.clone() else { unreachable!() };
            let Ok(events) = decide(&state, &command, &actor) else { continue };

            // Whoever acted on the conversation (beyond a contact writing) was allowed to.
            let contact_writes = matches!(&command, ConversationCommand::PostMessage(p) if p.sender.kind == SenderKind::Contact);
            // The contact's own commands: rating, call-backs, reading what was sent to them.
            let contact_command = actor.kind == ActorKind::Contact
                && matches!(
                    &command,
                    ConversationCommand::Rate(_)
                        | ConversationCommand::RequestCallback(_)
                        | ConversationCommand::MarkRead(_)
                        | ConversationCommand::End(_)
                );
            if contact_command {
                prop_assert_eq!(actor.id, Some(CONTACT));
            }
            if !events.is_empty() && !contact_writes && !contact_command && actor.kind != ActorKind::System {
                prop_assert!(!actor.roles.is_empty() && !actor.roles.contains(&Role::Analyst), "{actor:?} acted");
                if actor.roles == [Role::Moderator] {
                    prop_assert_eq!(before.assignee, actor.id, "a moderator acted on another's conversation");
                }
            }
            let mut status = before.status;
            for event in &events {
                match event {
                    DomainEvent::ConversationStatusChanged(change) => {
                        prop_assert_eq!(change.from, status);
                        let legal = match change.trigger {
                            StatusTrigger::Operator => operator_may_set(change.from, change.to),
                            StatusTrigger::ContactWrote => after_message(change.from, SenderKind::Contact) == Some((change.to, StatusTrigger::ContactWrote)),
                            StatusTrigger::OperatorReplied => after_message(change.from, SenderKind::Operator) == Some((change.to, StatusTrigger::OperatorReplied)),
                            StatusTrigger::Inactivity => actor.kind == ActorKind::System
                                && change.to == ConversationStatus::Closed
                                && !matches!(change.from, ConversationStatus::Closed | ConversationStatus::Resolved),
                            StatusTrigger::CallbackRequested => change.to == ConversationStatus::PendingCallback,
                            StatusTrigger::CallbackSettled => change.from == ConversationStatus::PendingCallback
                                && matches!(change.to, ConversationStatus::Resolved | ConversationStatus::Open),
                            StatusTrigger::ContactEnded => actor.kind == ActorKind::Contact
                                && actor.id == Some(CONTACT)
                                && contact_may_end(change.from)
                                && change.to == ConversationStatus::Resolved,
                            StatusTrigger::Retention => actor.kind == ActorKind::System
                                && change.from == ConversationStatus::Resolved
                                && change.to == ConversationStatus::Closed,
                        };
                        prop_assert!(legal, "illegal {:?} → {:?} by {:?}", change.from, change.to, change.trigger);
                        // "We will call you": asked for by the contact, or marked by hand (never
                        // by the contact) on a conversation still being worked.
                        if change.to == ConversationStatus::PendingCallback {
                            prop_assert!(
                                change.trigger == StatusTrigger::CallbackRequested
                                    || (change.trigger == StatusTrigger::Operator
                                        && actor.kind != ActorKind::Contact
                                        && !matches!(change.from, ConversationStatus::Resolved | ConversationStatus::Closed)),
                                "{:?} → pending_callback by {:?} as {:?}", change.from, change.trigger, actor
                            );
                        }
                        status = change.to;
                    }
                    DomainEvent::MessagePosted(m) => {
                        prop_assert!(ids_in_thread.insert(m.message_id), "message id reused");
                        if m.sender.kind == SenderKind::Operator {
                            prop_assert_ne!(status, ConversationStatus::Closed, "operator wrote to a closed conversation");
                        }
                    }
                    DomainEvent::InternalNoteAdded(n) => {
                        prop_assert!(ids_in_thread.insert(n.note_id), "note id reused");
                    }
                    DomainEvent::CallbackRequested(r) => {
                        prop_assert_eq!(pending_callback, None, "a second call-back while one is awaited");
                        prop_assert!(r.phone.starts_with('+'));
                        pending_callback = Some(r.callback_id);
                    }
                    DomainEvent::CallbackScheduled(r) => {
                        prop_assert_eq!(pending_callback, Some(r.callback_id));
                    }
                    DomainEvent::CallbackSettled(r) => {
                        prop_assert_eq!(pending_callback, Some(r.callback_id), "settled a call-back nobody awaited");
                        pending_callback = None;
                    }
                    DomainEvent::ConversationReadByContact(r) => {
                        let marker = read_markers.entry(None).or_default();
                        prop_assert!(r.up_to_position > *marker, "the contact's marker went back");
                        *marker = r.up_to_position;
                    }
                    DomainEvent::ConversationReadByOperator(r) => {
                        let marker = read_markers.entry(Some(r.operator_id)).or_default();
                        prop_assert!(r.up_to_position > *marker, "an operator's marker went back");
                        *marker = r.up_to_position;
                    }
                    DomainEvent::PriorityRaisedForWait(r) => {
                        prop_assert_eq!(actor.kind, ActorKind::System);
                        prop_assert_eq!(Some(r.to), r.from.raised());
                    }
                    DomainEvent::ConversationRated(r) => {
                        ratings += 1;
                        prop_assert_eq!(ratings, 1, "rated twice");
                        prop_assert!(matches!(status, ConversationStatus::Resolved | ConversationStatus::Closed));
                        prop_assert_eq!(actor.id, Some(CONTACT));
                        let range = if r.scale == RatingScale::Csat { 1..=5 } else { 0..=10 };
                        prop_assert!(r.scale != RatingScale::None && range.contains(&r.score));
                    }
                    DomainEvent::ConversationAssigned(a) => {
                        prop_assert_ne!(before.status, ConversationStatus::Closed);
                        prop_assert_eq!(a.previous_operator_id, before.assignee);
                    }
                    DomainEvent::AutoReplySent(r) => {
                        auto_replies += 1;
                        prop_assert_eq!(auto_replies, 1, "two auto-replies");
                        prop_assert_eq!(actor.kind, ActorKind::System);
                        prop_assert_eq!(status, ConversationStatus::Open);
                        prop_assert_eq!(Some(r.operator_id), before.assignee);
                        prop_assert!(before.has_inbound && !before.has_outbound);
                        prop_assert!(ids_in_thread.insert(r.message_id), "message id reused");
                    }
                    DomainEvent::ConversationOpened(o) => {
                        // Only the assignee opens, once per assignment (taking it included).
                        prop_assert_eq!(Some(o.operator_id), actor.id, "someone else's view opened it");
                        let Conversation::Started(now) = &state else { unreachable!() };
                        prop_assert_eq!(now.assignee, Some(o.operator_id));
                        prop_assert!(!now.opened, "opened twice");
                    }
                    _ => {}
                }
                state = evolve(state, event);
            }
            let Conversation::Started(after) = &state else { unreachable!() };
            // Versions are contiguous: each recorded event takes the next one.
            prop_assert_eq!(after.version, before.version + events.len() as i32);
            // The assignee always works the conversation's branch.
            if let Some(assignee) = after.assignee {
                prop_assert!(
                    may_work_branch(branch_of(assignee), after.branch_id),
                    "{assignee} of {:?} works {:?}", branch_of(assignee), after.branch_id
                );
            }
            // A conversation the contact reopened is back in the Open queue (an operator who
            // reopens it by hand keeps it).
            if contact_writes
                && matches!(before.status, ConversationStatus::Resolved | ConversationStatus::Closed)
            {
                prop_assert_eq!(after.status, ConversationStatus::Open);
                prop_assert_eq!(after.assignee, None);
            }
        }
    }
}

use super::*;
use crate::decider::testing::{decided, given, Given};
use crate::event::{
    AssignReason, AttachmentRef, AutoReplySent, CallbackOutcome, Channel, Consent, Contact,
    ConversationAssigned, ConversationOpened, ConversationReadByContact, ConversationStatusChanged,
    ConversationTransferred, ConversationUnassigned, Priority, Routing, Sender, SenderKind, Source,
    StatusTrigger, UnassignReason,
};
use crate::inbox::settings::{InactivityRule, RatingScale};
use crate::operator::role::Role;
use crate::values::{MessageBody, Phone, Tag};
use chrono::{DateTime, TimeZone, Utc};

const CONVERSATION: Uuid = Uuid::from_u128(10);
const CONTACT: Uuid = Uuid::from_u128(20);

const ADMIN: Uuid = Uuid::from_u128(77);
const MODERATOR: Uuid = Uuid::from_u128(88);

/// Who sends `command` in these tests: the contact writes as the contact; everything else
/// is an admin's doing.
fn actor_for(command: &ConversationCommand) -> Actor {
    match command {
        ConversationCommand::Start(_)
        | ConversationCommand::RequestCallback(_)
        | ConversationCommand::End(_)
        | ConversationCommand::PostMessage(PostMessage {
            sender:
                Sender {
                    kind: SenderKind::Contact,
                    ..
                },
            ..
        }) => Actor::contact(CONTACT),
        ConversationCommand::AutoAssign(_)
        | ConversationCommand::Escalate(_)
        | ConversationCommand::SendAutoReply(_) => Actor::system(),
        _ => Actor::operator(ADMIN, vec![Role::Admin]),
    }
}

fn contact() -> Actor {
    Actor::contact(CONTACT)
}

fn admin() -> Actor {
    Actor::operator(ADMIN, vec![Role::Admin])
}

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
            attachments: Vec::new(),
        }),
        callback: None,
        branch_id: None,
        routing: None,
        sla: None,
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
        attachments: Vec::new(),
        at: at(),
    })
}

fn attachment(n: u128) -> AttachmentRef {
    AttachmentRef {
        attachment_id: Uuid::from_u128(n),
        name: format!("{n}.png"),
        content_type: "image/png".into(),
        size: 10,
        sha256: "00".into(),
    }
}

#[test]
fn an_empty_body_only_with_attachments() {
    let with = |body: &str, attachments: Vec<AttachmentRef>| {
        ConversationCommand::PostMessage(PostMessage {
            conversation_id: CONVERSATION,
            message_id: Uuid::from_u128(31),
            sender: Sender {
                kind: SenderKind::Contact,
                id: Some(CONTACT),
            },
            channel: Channel::Web,
            body: MessageBody::parse_or_empty(body, 4000).unwrap(),
            attachments,
            at: at(),
        })
    };
    let events = given_commands(&[start(None)])
        .when(&with(" ", vec![attachment(1)]), &contact())
        .outcome()
        .unwrap();
    let DomainEvent::MessagePosted(posted) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!((posted.body.as_str(), posted.attachments.len()), ("", 1));
    given_commands(&[start(None)])
        .when(&with("  ", vec![]), &contact())
        .then_error(DomainError::EmptyMessage);
    given_commands(&[start(None)])
        .when(&with("x", (0..11).map(attachment).collect()), &contact())
        .then_error(DomainError::TooManyAttachments { count: 11, max: 10 });
}

/// The events `commands` record, each sent by whom [`actor_for`] says.
fn history(commands: &[ConversationCommand]) -> Vec<DomainEvent> {
    let sent: Vec<_> = commands.iter().map(|c| (c.clone(), actor_for(c))).collect();
    decided::<ConversationDecider>(&sent)
}

/// Given the events `commands` record.
fn given_commands(commands: &[ConversationCommand]) -> Given<ConversationDecider> {
    given(&history(commands))
}

#[test]
fn start_records_the_conversation_and_its_first_message() {
    let events = given_commands(&[])
        .when(&start(Some("hello")), &contact())
        .outcome()
        .unwrap();
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
    given_commands(&[start(None)])
        .when(&start(None), &contact())
        .then_error(DomainError::ConversationAlreadyExists(CONVERSATION));
}

#[test]
fn no_message_to_a_conversation_that_does_not_exist() {
    given_commands(&[])
        .when(&post(SenderKind::Contact, Some(CONTACT)), &contact())
        .then_error(DomainError::ConversationNotFound(CONVERSATION));
}

#[test]
fn a_message_id_is_used_once_per_conversation() {
    // The first message of `start(Some(..))` has id 30; post one with the same id.
    let mut duplicate = post(SenderKind::Contact, Some(CONTACT));
    if let ConversationCommand::PostMessage(p) = &mut duplicate {
        p.message_id = Uuid::from_u128(30);
    }
    given_commands(&[start(Some("hello"))])
        .when(&duplicate, &contact())
        .then_error(DomainError::DuplicateMessageId {
            conversation_id: CONVERSATION,
            message_id: Uuid::from_u128(30),
        });
}

fn set(to: ConversationStatus) -> ConversationCommand {
    ConversationCommand::ChangeStatus(ChangeStatus {
        conversation_id: CONVERSATION,
        to,
        at: at(),
    })
}

/// The state reached by `commands`.
fn state_after(commands: &[ConversationCommand]) -> ConversationState {
    match given_commands(commands).into_state() {
        Conversation::Started(started) => started,
        Conversation::NotStarted => panic!("not started"),
    }
}

/// Commands that bring a new conversation to `status`.
fn reach(status: ConversationStatus) -> Vec<ConversationCommand> {
    use ConversationStatus::*;
    let mut history = vec![start(None)];
    match status {
        Open => {}
        InProgress | WaitingForUser | PendingCallback | Resolved | Closed => {
            history.push(set(status))
        }
    }
    history
}

#[test]
fn operators_move_the_status_only_along_the_machine() {
    use ConversationStatus::*;
    let allowed = [
        (Open, InProgress),
        (Open, WaitingForUser),
        (Open, PendingCallback),
        (Open, Resolved),
        (Open, Closed),
        (InProgress, WaitingForUser),
        (InProgress, PendingCallback),
        (InProgress, Resolved),
        (InProgress, Closed),
        (WaitingForUser, InProgress),
        (WaitingForUser, PendingCallback),
        (WaitingForUser, Resolved),
        (WaitingForUser, Closed),
        (PendingCallback, InProgress),
        (PendingCallback, Resolved),
        (PendingCallback, Closed),
        (Resolved, Open),
        (Resolved, Closed),
        (Closed, Open),
    ];
    for from in ConversationStatus::ALL.iter().copied() {
        for to in ConversationStatus::ALL.iter().copied() {
            let result = given_commands(&reach(from))
                .when(&set(to), &admin())
                .outcome();
            if from == to {
                assert_eq!(result, Ok(vec![]), "{from:?} → itself changes nothing");
            } else if allowed.contains(&(from, to)) {
                let events = result.unwrap_or_else(|e| panic!("{from:?} → {to:?}: {e}"));
                assert_eq!(
                    events,
                    [DomainEvent::ConversationStatusChanged(
                        ConversationStatusChanged {
                            conversation_id: CONVERSATION,
                            from,
                            to,
                            trigger: StatusTrigger::Operator,
                            changed_at: at(),
                        }
                    )]
                );
            } else {
                assert_eq!(
                    result,
                    Err(DomainError::IllegalTransition { from, to }),
                    "{from:?} → {to:?}"
                );
            }
        }
    }
}

#[test]
fn messages_move_the_status() {
    use ConversationStatus::*;
    let operator = Some(Uuid::from_u128(77));
    // (status before, who writes, status after or None for unchanged)
    let cases = [
        (Open, SenderKind::Operator, Some(InProgress)),
        (Open, SenderKind::Contact, None),
        (InProgress, SenderKind::Operator, None),
        (InProgress, SenderKind::Contact, None),
        (WaitingForUser, SenderKind::Contact, Some(InProgress)),
        (WaitingForUser, SenderKind::Operator, None),
        (PendingCallback, SenderKind::Contact, None),
        (PendingCallback, SenderKind::Operator, None),
        (Resolved, SenderKind::Contact, Some(Open)),
        (Resolved, SenderKind::Operator, None),
        (Closed, SenderKind::Contact, Some(Open)),
    ];
    for (before, kind, after) in cases {
        let id = if kind == SenderKind::Contact {
            Some(CONTACT)
        } else {
            operator
        };
        let message = post(kind, id);
        let events = given_commands(&reach(before))
            .when(&message, &actor_for(&message))
            .outcome()
            .unwrap();
        assert_eq!(events[0].event_type(), "MessagePosted");
        let changed = events.get(1).map(|e| match e {
            DomainEvent::ConversationStatusChanged(c) => (c.from, c.to),
            other => panic!("unexpected {other:?}"),
        });
        assert_eq!(
            changed,
            after.map(|to| (before, to)),
            "{before:?} + {kind:?}"
        );
    }
    given_commands(&reach(Closed))
        .when(&post(SenderKind::Operator, operator), &admin())
        .then_error(DomainError::ConversationClosed(CONVERSATION));
}

#[test]
fn notes_priority_and_tags() {
    let note = ConversationCommand::AddInternalNote(AddInternalNote {
        conversation_id: CONVERSATION,
        note_id: Uuid::from_u128(40),
        author_id: Uuid::from_u128(77),
        body: body("call him back"),
        at: at(),
    });
    let events = given_commands(&reach(ConversationStatus::Closed))
        .when(&note, &admin())
        .outcome()
        .unwrap();
    assert_eq!(events[0].event_type(), "InternalNoteAdded");
    given_commands(&[start(None), note.clone()])
        .when(&note, &admin())
        .then_error(DomainError::DuplicateMessageId {
            conversation_id: CONVERSATION,
            message_id: Uuid::from_u128(40),
        });

    let urgent = ConversationCommand::SetPriority(SetPriority {
        conversation_id: CONVERSATION,
        priority: Priority::Urgent,
        at: at(),
    });
    assert_eq!(
        state_after(&[start(None), urgent.clone()]).priority,
        Priority::Urgent
    );
    given_commands(&[start(None), urgent.clone()])
        .when(&urgent, &admin())
        .then(&[]);

    let tag = |raw: &str| {
        ConversationCommand::Tag(TagConversation {
            conversation_id: CONVERSATION,
            tag: Tag::parse(raw).unwrap(),
            at: at(),
        })
    };
    let untag = ConversationCommand::Untag(UntagConversation {
        conversation_id: CONVERSATION,
        tag: Tag::parse("vip").unwrap(),
        at: at(),
    });
    let state = state_after(&[start(None), tag("VIP"), tag("billing"), untag.clone()]);
    assert_eq!(state.tags.into_iter().collect::<Vec<_>>(), ["billing"]);
    given_commands(&[start(None)])
        .when(&untag, &admin())
        .then(&[]);
    given_commands(&[start(None), tag("vip")])
        .when(&tag(" Vip "), &admin())
        .then(&[]);
}

fn assign(operator_id: Uuid) -> ConversationCommand {
    ConversationCommand::Assign(AssignConversation {
        conversation_id: CONVERSATION,
        operator_id,
        operator_branch_id: None,
        at: at(),
    })
}

#[test]
fn moderators_work_only_their_own_conversations() {
    let moderator = Actor::operator(MODERATOR, vec![Role::Moderator]);
    let analyst = Actor::operator(Uuid::from_u128(99), vec![Role::Analyst]);
    let not_theirs = Err(DomainError::NotAssignee {
        conversation_id: CONVERSATION,
        operator_id: MODERATOR,
    });
    let unassigned = Conversation::Started(state_after(&[start(None)]));
    let theirs = Conversation::Started(state_after(&[start(None), assign(MODERATOR)]));
    let someone_elses = Conversation::Started(state_after(&[start(None), assign(ADMIN)]));
    let reply = post(SenderKind::Operator, Some(MODERATOR));
    assert_eq!(decide(&unassigned, &reply, &moderator), not_theirs);
    assert_eq!(decide(&someone_elses, &reply, &moderator), not_theirs);
    assert_eq!(
        decide(&theirs, &reply, &moderator).unwrap().len(),
        3,
        "message, status, opened"
    );
    assert_eq!(
        decide(&unassigned, &assign(MODERATOR), &moderator),
        not_theirs
    );
    assert_eq!(decide(&theirs, &assign(MODERATOR), &moderator), Ok(vec![]));
    // Another moderator learns nothing about whose it is: not even a no-op passes.
    let other_moderator = Actor::operator(Uuid::from_u128(98), vec![Role::Moderator]);
    assert_eq!(
        decide(&theirs, &assign(MODERATOR), &other_moderator),
        Err(DomainError::NotAssignee {
            conversation_id: CONVERSATION,
            operator_id: Uuid::from_u128(98),
        })
    );
    assert_eq!(
        decide(&theirs, &set(ConversationStatus::Resolved), &analyst),
        Err(DomainError::NotPermitted("this role"))
    );
    assert_eq!(
        decide(
            &theirs,
            &set(ConversationStatus::Resolved),
            &Actor::contact(CONTACT)
        ),
        Err(DomainError::NotPermitted("a contact"))
    );
}

#[test]
fn assignment_and_the_open_queue() {
    let events = given_commands(&[start(None), assign(ADMIN)])
        .when(&assign(MODERATOR), &admin())
        .outcome()
        .unwrap();
    assert_eq!(
        events,
        [DomainEvent::ConversationAssigned(ConversationAssigned {
            conversation_id: CONVERSATION,
            operator_id: MODERATOR,
            previous_operator_id: Some(ADMIN),
            assigned_at: at(),
            reason: AssignReason::Manual,
        })]
    );
    given_commands(&[start(None), assign(ADMIN)])
        .when(&assign(ADMIN), &admin())
        .then(&[]);
    let unassign = ConversationCommand::Unassign(UnassignConversation {
        conversation_id: CONVERSATION,
        at: at(),
    });
    given_commands(&[start(None)])
        .when(&unassign, &admin())
        .then(&[]);
    assert_eq!(
        state_after(&[start(None), assign(ADMIN), unassign]).assignee,
        None
    );
    // Closed conversations are not assigned; a contact message reopens and unassigns.
    let closed = [start(None), assign(ADMIN), set(ConversationStatus::Closed)];
    given_commands(&closed)
        .when(&assign(MODERATOR), &admin())
        .then_error(DomainError::ConversationClosed(CONVERSATION));
    let events = given_commands(&closed)
        .when(&post(SenderKind::Contact, Some(CONTACT)), &contact())
        .outcome()
        .unwrap();
    let types: Vec<_> = events.iter().map(DomainEvent::event_type).collect();
    assert_eq!(
        types,
        [
            "MessagePosted",
            "ConversationStatusChanged",
            "ConversationUnassigned"
        ]
    );
}

fn rate(scale: RatingScale, score: u8) -> ConversationCommand {
    ConversationCommand::Rate(RateConversation {
        conversation_id: CONVERSATION,
        scale,
        score,
        comment: None,
        at: at(),
    })
}

#[test]
fn ratings_come_once_after_resolve_or_close_on_the_inbox_scale() {
    use ConversationStatus::*;
    let contact = Actor::contact(CONTACT);
    let decide_as = |history: &[ConversationCommand], command, actor: &Actor| {
        decide(
            &Conversation::Started(state_after(history)),
            &command,
            actor,
        )
    };
    let resolved = reach(Resolved);
    let cases = [
        (
            reach(Open),
            rate(RatingScale::Csat, 5),
            Err(DomainError::RatingTooEarly(Open)),
        ),
        (
            resolved.clone(),
            rate(RatingScale::None, 5),
            Err(DomainError::RatingDisabled),
        ),
        (
            resolved.clone(),
            rate(RatingScale::Csat, 0),
            Err(DomainError::ScoreOutOfRange {
                scale: RatingScale::Csat,
                score: 0,
                min: 1,
                max: 5,
            }),
        ),
        (
            resolved.clone(),
            rate(RatingScale::Nps, 11),
            Err(DomainError::ScoreOutOfRange {
                scale: RatingScale::Nps,
                score: 11,
                min: 0,
                max: 10,
            }),
        ),
    ];
    for (history, command, expected) in cases {
        assert_eq!(
            decide_as(&history, command.clone(), &contact),
            expected,
            "{command:?}"
        );
    }
    assert_eq!(
        decide_as(&resolved, rate(RatingScale::Nps, 0), &contact)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        decide_as(&reach(Closed), rate(RatingScale::Csat, 4), &contact)
            .unwrap()
            .len(),
        1
    );
    let mut rated = resolved.clone();
    rated.push(rate(RatingScale::Csat, 4));
    let state = state_after_as(&rated, &contact);
    assert_eq!(
        decide(&state, &rate(RatingScale::Csat, 5), &contact),
        Err(DomainError::AlreadyRated(CONVERSATION))
    );
    assert_eq!(
        decide_as(
            &resolved,
            rate(RatingScale::Csat, 5),
            &Actor::operator(ADMIN, vec![Role::Admin])
        ),
        Err(DomainError::NotPermitted("only the contact"))
    );
}

/// Like `state_after`, but the last command is sent by `actor`.
fn state_after_as(commands: &[ConversationCommand], actor: &Actor) -> Conversation {
    let (last, earlier) = commands.split_last().unwrap();
    let mut sent: Vec<_> = earlier.iter().map(|c| (c.clone(), actor_for(c))).collect();
    sent.push((last.clone(), actor.clone()));
    given::<ConversationDecider>(&decided::<ConversationDecider>(&sent)).into_state()
}

#[test]
fn read_markers_move_forward_only() {
    let contact = Actor::contact(CONTACT);
    let admin = Actor::operator(ADMIN, vec![Role::Admin]);
    // start (1), message 30 (2), reply 31 (3), status change (4)
    let history = [
        start(Some("hello")),
        post(SenderKind::Operator, Some(ADMIN)),
    ];
    let state = Conversation::Started(state_after(&history));
    let Conversation::Started(s) = &state else {
        unreachable!()
    };
    assert_eq!(s.version, 4);
    assert_eq!(s.message_positions[&Uuid::from_u128(31)], 3);
    let read = |up_to: Option<u128>| {
        ConversationCommand::MarkRead(MarkRead {
            conversation_id: CONVERSATION,
            up_to_message_id: up_to.map(Uuid::from_u128),
            at: at(),
        })
    };
    let events = decide(&state, &read(Some(31)), &contact).unwrap();
    assert_eq!(
        events,
        [DomainEvent::ConversationReadByContact(
            ConversationReadByContact {
                conversation_id: CONVERSATION,
                up_to_message_id: Some(Uuid::from_u128(31)),
                up_to_position: 3,
                read_at: at(),
            }
        )]
    );
    let mut after = state.clone();
    for e in &events {
        after = evolve(after, e);
    }
    assert_eq!(
        decide(&after, &read(Some(30)), &contact),
        Ok(vec![]),
        "never back"
    );
    let events = decide(&after, &read(None), &admin).unwrap();
    let DomainEvent::ConversationReadByOperator(r) = &events[0] else {
        panic!()
    };
    assert_eq!((r.operator_id, r.up_to_position), (ADMIN, 5));
    assert_eq!(
        decide(&state, &read(Some(99)), &contact),
        Err(DomainError::MessageNotFound {
            conversation_id: CONVERSATION,
            message_id: Uuid::from_u128(99)
        })
    );
    assert_eq!(
        decide(&state, &read(None), &Actor::contact(Uuid::from_u128(5))),
        Err(DomainError::NotTheContact {
            conversation_id: CONVERSATION,
            contact_id: Uuid::from_u128(5)
        })
    );
}

#[test]
fn the_scheduler_closes_idle_and_long_resolved_conversations_unless_stale() {
    use ConversationStatus::*;
    let system = Actor::system();
    // The old rule: any idle conversation closes, whoever waits.
    let idle = |position| {
        ConversationCommand::CloseForInactivity(CloseForInactivity {
            conversation_id: CONVERSATION,
            last_message_position: position,
            rule: InactivityRule::AnyIdle,
            at: at(),
        })
    };
    let retention = ConversationCommand::CloseForRetention(CloseForRetention {
        conversation_id: CONVERSATION,
        at: at(),
    });
    let with_message = Conversation::Started(state_after(&[start(Some("hello"))]));
    let closed = |state: &Conversation, command: &ConversationCommand| {
        decide(state, command, &system).map(|events| {
            events
                .iter()
                .map(|e| match e {
                    DomainEvent::ConversationStatusChanged(c) => (c.from, c.to, c.trigger),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        closed(&with_message, &idle(2)),
        Ok(vec![(Open, Closed, StatusTrigger::Inactivity)])
    );
    assert_eq!(
        closed(&with_message, &idle(1)),
        Ok(vec![]),
        "a message came since"
    );
    let resolved = Conversation::Started(state_after(&reach(Resolved)));
    assert_eq!(
        closed(&resolved, &idle(0)),
        Ok(vec![]),
        "resolved waits for retention"
    );
    assert_eq!(
        closed(&resolved, &retention),
        Ok(vec![(Resolved, Closed, StatusTrigger::Retention)])
    );
    assert_eq!(closed(&with_message, &retention), Ok(vec![]));
    assert_eq!(
        decide(
            &with_message,
            &idle(2),
            &Actor::operator(ADMIN, vec![Role::Admin])
        ),
        Err(DomainError::NotPermitted("only the scheduler"))
    );
}

#[test]
fn by_default_inactivity_closes_only_conversations_waiting_on_the_contact() {
    use ConversationStatus::*;
    let idle = |state: &ConversationState, rule| {
        let command = ConversationCommand::CloseForInactivity(CloseForInactivity {
            conversation_id: CONVERSATION,
            last_message_position: state.last_message_position,
            rule,
            at: at(),
        });
        decide(
            &Conversation::Started(state.clone()),
            &command,
            &Actor::system(),
        )
        .unwrap()
        .iter()
        .map(|e| match e {
            DomainEvent::ConversationStatusChanged(c) => (c.from, c.to, c.trigger),
            other => panic!("{other:?}"),
        })
        .collect::<Vec<_>>()
    };
    let reply = post(SenderKind::Operator, Some(ADMIN));
    let callback = ConversationCommand::RequestCallback(RequestCallback {
        conversation_id: CONVERSATION,
        request: callback_request(40),
        at: at(),
    });
    let started =
        |commands: &[ConversationCommand], last: &Actor| match state_after_as(commands, last) {
            Conversation::Started(s) => s,
            Conversation::NotStarted => unreachable!(),
        };
    let unanswered = state_after(&[start(Some("anyone there?"))]);
    let answered = state_after(&[start(Some("anyone there?")), reply.clone()]);
    let calling = started(&[start(Some("hi")), reply.clone(), callback], &contact());
    let waiting_for_user = state_after(&[start(Some("hi")), set(WaitingForUser)]);
    let silent = state_after(&[start(None)]);
    let closes = |from| vec![(from, Closed, StatusTrigger::Inactivity)];
    for (name, state, by_default) in [
        ("unanswered", &unanswered, vec![]),
        ("awaiting a call-back", &calling, vec![]),
        ("nobody wrote", &silent, vec![]),
        ("answered", &answered, closes(InProgress)),
        (
            "waiting for the user",
            &waiting_for_user,
            closes(WaitingForUser),
        ),
    ] {
        assert_eq!(
            idle(state, InactivityRule::WaitingOnContact),
            by_default,
            "{name}"
        );
        assert_eq!(
            idle(state, InactivityRule::AnyIdle),
            closes(state.status),
            "{name}, any idle"
        );
    }
}

fn callback_request(id: u128) -> CallbackRequest {
    CallbackRequest {
        callback_id: Uuid::from_u128(id),
        phone: Phone::parse("+380441234567", None).unwrap(),
        window_from: None,
        window_to: None,
        consent: Consent {
            text_version: "v1".into(),
            given_at: at(),
            ip: None,
        },
    }
}

#[test]
fn callbacks_request_schedule_settle() {
    use ConversationStatus::*;
    let contact = Actor::contact(CONTACT);
    let admin = Actor::operator(ADMIN, vec![Role::Admin]);
    let request = |id| {
        ConversationCommand::RequestCallback(RequestCallback {
            conversation_id: CONVERSATION,
            request: callback_request(id),
            at: at(),
        })
    };
    let apply = |state: Conversation, command: &ConversationCommand, actor: &Actor| {
        let mut state = state;
        for e in decide(&state, command, actor).unwrap() {
            state = evolve(state, &e);
        }
        state
    };
    let status = |state: &Conversation| match state {
        Conversation::Started(s) => s.status,
        _ => unreachable!(),
    };
    let open = Conversation::Started(state_after(&reach(InProgress)));
    let pending = apply(open, &request(1), &contact);
    assert_eq!(status(&pending), PendingCallback);
    assert_eq!(
        decide(&pending, &request(2), &contact),
        Err(DomainError::CallbackAlreadyPending(Uuid::from_u128(1)))
    );
    let schedule = ConversationCommand::ScheduleCallback(ScheduleCallback {
        conversation_id: CONVERSATION,
        callback_id: Uuid::from_u128(1),
        scheduled_for: at(),
        at: at(),
    });
    let scheduled = apply(pending.clone(), &schedule, &admin);
    assert_eq!(decide(&scheduled, &schedule, &admin), Ok(vec![]));
    let settle = |outcome| {
        ConversationCommand::SettleCallback(SettleCallback {
            conversation_id: CONVERSATION,
            callback_id: Uuid::from_u128(1),
            outcome,
            note: Some("done".into()),
            at: at(),
        })
    };
    assert_eq!(
        status(&apply(
            scheduled.clone(),
            &settle(CallbackOutcome::Completed),
            &admin
        )),
        Resolved
    );
    assert_eq!(
        status(&apply(
            scheduled.clone(),
            &settle(CallbackOutcome::NoAnswer),
            &admin
        )),
        Open
    );
    let settled = apply(scheduled, &settle(CallbackOutcome::Cancelled), &admin);
    assert_eq!(
        decide(&settled, &settle(CallbackOutcome::Completed), &admin),
        Err(DomainError::NoSuchCallback(Uuid::from_u128(1)))
    );
    assert_eq!(
        decide(&pending, &settle(CallbackOutcome::Completed), &contact),
        Err(DomainError::NotPermitted("a contact"))
    );
    // A guest's start can carry the request: one atomic set of events.
    let mut guest = start(None);
    if let ConversationCommand::Start(s) = &mut guest {
        s.callback = Some(callback_request(3));
    }
    let types: Vec<_> = decide(&initial_state(), &guest, &contact)
        .unwrap()
        .iter()
        .map(DomainEvent::event_type)
        .collect();
    assert_eq!(
        types,
        [
            "ConversationStarted",
            "CallbackRequested",
            "ConversationStatusChanged"
        ]
    );
    let mut backwards = callback_request(4);
    backwards.window_from = Some(at());
    backwards.window_to = Some(at() - chrono::TimeDelta::hours(1));
    let bad = ConversationCommand::RequestCallback(RequestCallback {
        conversation_id: CONVERSATION,
        request: backwards,
        at: at(),
    });
    assert_eq!(
        decide(
            &Conversation::Started(state_after(&reach(Open))),
            &bad,
            &contact
        ),
        Err(DomainError::InvalidCallbackWindow)
    );
}

/// Seed 000's `/callback <id>`: an operator marks a conversation as awaiting a call, with or
/// without a call-back request. The change says it was made by hand (trigger `operator`, not
/// `callback_requested`); a request that comes after it finds the status already there, and
/// settling that request leaves it as for any call-back.
#[test]
fn an_operator_marks_a_conversation_awaiting_a_call() {
    use ConversationStatus::*;
    let marked = ConversationStatusChanged {
        conversation_id: CONVERSATION,
        from: InProgress,
        to: PendingCallback,
        trigger: StatusTrigger::Operator,
        changed_at: at(),
    };
    given_commands(&reach(InProgress))
        .when(&set(PendingCallback), &admin())
        .then(&[DomainEvent::ConversationStatusChanged(marked.clone())]);
    insta::assert_json_snapshot!(
        "pending_callback_set_by_hand",
        DomainEvent::ConversationStatusChanged(marked).payload()
    );

    // Whoever works the conversation may: managers (who record the calls' outcomes), and a
    // moderator on their own assignment; not on someone else's, not an analyst, not the
    // contact.
    let manager = Actor::operator(Uuid::from_u128(97), vec![Role::Manager]);
    let moderator = Actor::operator(MODERATOR, vec![Role::Moderator]);
    let analyst = Actor::operator(Uuid::from_u128(99), vec![Role::Analyst]);
    assert_eq!(
        decide(
            &Conversation::Started(state_after(&reach(Open))),
            &set(PendingCallback),
            &manager
        )
        .map(|events| events.len()),
        Ok(1)
    );
    let theirs = Conversation::Started(state_after(&[start(None), assign(MODERATOR)]));
    assert_eq!(
        decide(&theirs, &set(PendingCallback), &moderator).map(|events| events.len()),
        Ok(2),
        "the change, and their first look at it"
    );
    let not_theirs = Conversation::Started(state_after(&[start(None), assign(ADMIN)]));
    assert_eq!(
        decide(&not_theirs, &set(PendingCallback), &moderator),
        Err(DomainError::NotAssignee {
            conversation_id: CONVERSATION,
            operator_id: MODERATOR,
        })
    );
    assert_eq!(
        decide(&theirs, &set(PendingCallback), &analyst),
        Err(DomainError::NotPermitted("this role"))
    );
    assert_eq!(
        decide(&theirs, &set(PendingCallback), &contact()),
        Err(DomainError::NotPermitted("a contact"))
    );
    // Done with is done with: reopen it first.
    for from in [Resolved, Closed] {
        given_commands(&reach(from))
            .when(&set(PendingCallback), &admin())
            .then_error(DomainError::IllegalTransition {
                from,
                to: PendingCallback,
            });
    }
    // Marked again: nothing to do.
    given_commands(&reach(PendingCallback))
        .when(&set(PendingCallback), &admin())
        .then(&[]);

    // The contact then asks for the call-back too: the request, no second status change; a
    // completed call resolves the conversation as for any request.
    let request = ConversationCommand::RequestCallback(RequestCallback {
        conversation_id: CONVERSATION,
        request: callback_request(1),
        at: at(),
    });
    let requested = given_commands(&reach(PendingCallback))
        .when(&request, &contact())
        .outcome()
        .unwrap();
    let types: Vec<_> = requested.iter().map(DomainEvent::event_type).collect();
    assert_eq!(types, ["CallbackRequested"]);
    let settle = ConversationCommand::SettleCallback(SettleCallback {
        conversation_id: CONVERSATION,
        callback_id: Uuid::from_u128(1),
        outcome: CallbackOutcome::Completed,
        note: None,
        at: at(),
    });
    let mut sent: Vec<_> = reach(PendingCallback)
        .into_iter()
        .map(|c| {
            let actor = actor_for(&c);
            (c, actor)
        })
        .collect();
    sent.push((request, contact()));
    let settled = given::<ConversationDecider>(&decided::<ConversationDecider>(&sent))
        .when(&settle, &admin())
        .outcome()
        .unwrap();
    assert!(matches!(
        &settled[1],
        DomainEvent::ConversationStatusChanged(c)
            if (c.from, c.to, c.trigger) == (PendingCallback, Resolved, StatusTrigger::CallbackSettled)
    ));
}

#[test]
fn long_waits_raise_the_priority_a_step_at_a_time() {
    let system = Actor::system();
    let raise = |waiting_since_position, step| {
        ConversationCommand::RaisePriorityForWait(RaisePriorityForWait {
            conversation_id: CONVERSATION,
            waiting_since_position,
            step,
            at: at(),
        })
    };
    let apply = |state: Conversation, command: &ConversationCommand| {
        let mut state = state;
        for e in decide(&state, command, &system).unwrap() {
            state = evolve(state, &e);
        }
        state
    };
    let priority = |state: &Conversation| match state {
        Conversation::Started(s) => s.priority,
        _ => unreachable!(),
    };
    // The contact's first message (position 2) is waiting.
    let waiting = Conversation::Started(state_after(&[start(Some("hello?"))]));
    let once = apply(waiting.clone(), &raise(2, 1));
    assert_eq!(priority(&once), Priority::High);
    assert_eq!(
        decide(&once, &raise(2, 1), &system),
        Ok(vec![]),
        "step taken"
    );
    let twice = apply(once, &raise(2, 2));
    assert_eq!(priority(&twice), Priority::Urgent);
    assert_eq!(
        decide(&twice, &raise(2, 3), &system),
        Ok(vec![]),
        "urgent is the top"
    );
    assert_eq!(
        decide(&waiting, &raise(1, 1), &system),
        Ok(vec![]),
        "another wait"
    );
    // An operator's answer ends the wait.
    let answered = Conversation::Started(state_after(&[
        start(Some("hello?")),
        post(SenderKind::Operator, Some(ADMIN)),
    ]));
    assert_eq!(decide(&answered, &raise(2, 1), &system), Ok(vec![]));
    assert_eq!(
        decide(
            &waiting,
            &raise(2, 1),
            &Actor::operator(ADMIN, vec![Role::Admin])
        ),
        Err(DomainError::NotPermitted("only the scheduler"))
    );
}

#[test]
fn the_scheduler_records_a_missed_sla_deadline() {
    let breach = ConversationCommand::RecordSlaBreach(RecordSlaBreach {
        conversation_id: CONVERSATION,
        metric: crate::event::SlaMetric::NextResponse,
        deadline: at() - chrono::Duration::minutes(5),
        at: at(),
    });
    let state = Conversation::Started(state_after(&[start(Some("hello?"))]));
    assert_eq!(
        decide(&state, &breach, &Actor::system()),
        Ok(vec![DomainEvent::SlaBreached(crate::event::SlaBreached {
            conversation_id: CONVERSATION,
            metric: crate::event::SlaMetric::NextResponse,
            deadline: at() - chrono::Duration::minutes(5),
            detected_at: at(),
        })])
    );
    assert_eq!(
        decide(&state, &breach, &Actor::operator(ADMIN, vec![Role::Admin])),
        Err(DomainError::NotPermitted("only the scheduler"))
    );
    assert_eq!(
        decide(&Conversation::NotStarted, &breach, &Actor::system()),
        Err(DomainError::ConversationNotFound(CONVERSATION))
    );
}

#[test]
fn only_the_conversation_contact_writes_as_contact() {
    let stranger = Uuid::from_u128(99);
    given_commands(&[start(None)])
        .when(&post(SenderKind::Contact, Some(stranger)), &contact())
        .then_error(DomainError::NotTheContact {
            conversation_id: CONVERSATION,
            contact_id: stranger,
        });
    given_commands(&[start(None)])
        .when(&post(SenderKind::Operator, None), &admin())
        .then_error(DomainError::MissingSenderId { kind: "operator" });
    let events = given_commands(&[start(None)])
        .when(&post(SenderKind::Contact, Some(CONTACT)), &contact())
        .outcome()
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type(), "MessagePosted");
}

type Decided = Result<Vec<DomainEvent>, DomainError>;

/// A table row: name, given commands, when command, then.
type Case = (
    &'static str,
    Vec<ConversationCommand>,
    ConversationCommand,
    Decided,
);

const NORTH: Uuid = Uuid::from_u128(501);
const SOUTH: Uuid = Uuid::from_u128(502);

/// A global inbox's conversation routed to the north branch, with the contact's message.
fn start_routed() -> ConversationCommand {
    let ConversationCommand::Start(mut start) = start(Some("hello")) else {
        unreachable!()
    };
    start.branch_id = Some(NORTH);
    start.routing = Some(Routing {
        region: Some("UA-30".into()),
        routed_by: crate::event::RoutedBy::Rule,
    });
    ConversationCommand::Start(start)
}

fn auto_assign(operator_id: Uuid, branch: Option<Uuid>, queued: i32) -> ConversationCommand {
    ConversationCommand::AutoAssign(AutoAssign {
        conversation_id: CONVERSATION,
        queued_since_position: queued,
        operator_id,
        operator_branch_id: branch,
        at: at(),
    })
}

fn escalate(operator_id: Uuid, branch: Option<Uuid>, position: i32) -> ConversationCommand {
    ConversationCommand::Escalate(Escalate {
        conversation_id: CONVERSATION,
        assignment_position: position,
        operator_id,
        operator_branch_id: branch,
        at: at(),
    })
}

fn transfer(to: TransferTarget) -> ConversationCommand {
    ConversationCommand::Transfer(Transfer {
        conversation_id: CONVERSATION,
        to,
        at: at(),
    })
}

fn auto_reply() -> ConversationCommand {
    ConversationCommand::SendAutoReply(SendAutoReply {
        conversation_id: CONVERSATION,
        message_id: Uuid::from_u128(40),
        body: body("We are on it"),
        at: at(),
    })
}

fn assigned_event(operator: Uuid, previous: Option<Uuid>, reason: AssignReason) -> DomainEvent {
    DomainEvent::ConversationAssigned(ConversationAssigned {
        conversation_id: CONVERSATION,
        operator_id: operator,
        previous_operator_id: previous,
        assigned_at: at(),
        reason,
    })
}

#[test]
fn branches_auto_assignment_and_escalation() {
    const NORTH_OP: Uuid = Uuid::from_u128(601);
    const SOUTH_OP: Uuid = Uuid::from_u128(602);
    // Started (1) and its first message (2): queued since position 1.
    let queued = [start_routed()];
    let auto_north = auto_assign(NORTH_OP, Some(NORTH), 1);
    let cases: Vec<Case> = vec![
        (
            "auto-assignment takes the queue entry",
            queued.to_vec(),
            auto_north.clone(),
            Ok(vec![assigned_event(NORTH_OP, None, AssignReason::Auto)]),
        ),
        (
            "a stale queue entry changes nothing",
            queued.to_vec(),
            auto_assign(NORTH_OP, Some(NORTH), 2),
            Ok(vec![]),
        ),
        (
            "nor does an assigned conversation",
            vec![start_routed(), auto_north.clone()],
            auto_assign(SOUTH_OP, Some(NORTH), 1),
            Ok(vec![]),
        ),
        (
            "never to another branch's operator",
            queued.to_vec(),
            auto_assign(SOUTH_OP, Some(SOUTH), 1),
            Err(DomainError::OutsideBranch {
                operator_id: SOUTH_OP,
            }),
        ),
        (
            "by hand neither",
            queued.to_vec(),
            ConversationCommand::Assign(AssignConversation {
                conversation_id: CONVERSATION,
                operator_id: SOUTH_OP,
                operator_branch_id: Some(SOUTH),
                at: at(),
            }),
            Err(DomainError::OutsideBranch {
                operator_id: SOUTH_OP,
            }),
        ),
        (
            "head office may take any branch's",
            queued.to_vec(),
            auto_assign(ADMIN, None, 1),
            Ok(vec![assigned_event(ADMIN, None, AssignReason::Auto)]),
        ),
        (
            "an unopened assignment escalates to the next operator",
            vec![start_routed(), auto_north.clone()],
            escalate(ADMIN, None, 3),
            Ok(vec![assigned_event(
                ADMIN,
                Some(NORTH_OP),
                AssignReason::Escalation,
            )]),
        ),
        (
            "an opened one does not",
            vec![
                start_routed(),
                auto_assign(ADMIN, None, 1),
                // The admin, the assignee, opens it.
                ConversationCommand::Open(OpenConversation {
                    conversation_id: CONVERSATION,
                    at: at(),
                }),
            ],
            escalate(NORTH_OP, Some(NORTH), 3),
            Ok(vec![]),
        ),
        (
            "nor another assignment than the one named",
            vec![start_routed(), auto_north.clone()],
            escalate(ADMIN, None, 2),
            Ok(vec![]),
        ),
    ];
    for (name, given, when, expected) in cases {
        assert_eq!(
            given_commands(&given)
                .when(&when, &actor_for(&when))
                .outcome(),
            expected,
            "{name}"
        );
    }
    let state = Conversation::Started(state_after(&queued));
    assert_eq!(
        decide(
            &state,
            &auto_north,
            &Actor::operator(ADMIN, vec![Role::Admin])
        ),
        Err(DomainError::NotPermitted("only the scheduler"))
    );
}

#[test]
fn whatever_the_assignee_does_opens_it() {
    let moderator = Actor::operator(MODERATOR, vec![Role::Moderator]);
    let assigned = Conversation::Started(state_after(&[start_routed(), assign(MODERATOR)]));
    let reply = post(SenderKind::Operator, Some(MODERATOR));
    let events = decide(&assigned, &reply, &moderator).unwrap();
    assert_eq!(
        events.last(),
        Some(&DomainEvent::ConversationOpened(ConversationOpened {
            conversation_id: CONVERSATION,
            operator_id: MODERATOR,
            opened_at: at(),
        }))
    );
    // Taking it is seeing it; someone else's action is not the assignee's view.
    let admin = Actor::operator(ADMIN, vec![Role::Admin]);
    let queued = Conversation::Started(state_after(&[start_routed()]));
    let take = decide(&queued, &assign(ADMIN), &admin).unwrap();
    assert_eq!(take.len(), 2);
    assert!(matches!(take[1], DomainEvent::ConversationOpened(_)));
    let by_other = decide(&assigned, &set(ConversationStatus::Resolved), &admin).unwrap();
    assert_eq!(by_other.len(), 1);
}

#[test]
fn the_assignee_opens_by_viewing_or_reading() {
    let nobody_opened = state_after(&[start_routed(), assign(MODERATOR)]);
    let moderator = Actor::operator(MODERATOR, vec![Role::Moderator]);
    let admin = Actor::operator(ADMIN, vec![Role::Admin]);
    let open = ConversationCommand::Open(OpenConversation {
        conversation_id: CONVERSATION,
        at: at(),
    });
    let opened_event = DomainEvent::ConversationOpened(ConversationOpened {
        conversation_id: CONVERSATION,
        operator_id: MODERATOR,
        opened_at: at(),
    });
    let state = Conversation::Started(nobody_opened.clone());
    assert_eq!(
        decide(&state, &open, &moderator),
        Ok(vec![opened_event.clone()])
    );
    assert_eq!(
        decide(&state, &open, &admin),
        Ok(vec![]),
        "not the assignee"
    );
    let read = ConversationCommand::MarkRead(MarkRead {
        conversation_id: CONVERSATION,
        up_to_message_id: None,
        at: at(),
    });
    let events = decide(&state, &read, &moderator).unwrap();
    assert_eq!(events[0], opened_event);
    assert!(matches!(
        events[1],
        DomainEvent::ConversationReadByOperator(_)
    ));
    let mut after = state;
    for event in &events {
        after = evolve(after, event);
    }
    assert_eq!(
        decide(&after, &open, &moderator),
        Ok(vec![]),
        "once per assignment"
    );
}

#[test]
fn transfers_move_global_conversations_between_branches() {
    const SOUTH_OP: Uuid = Uuid::from_u128(602);
    let transferred = |from, to| {
        DomainEvent::ConversationTransferred(ConversationTransferred {
            conversation_id: CONVERSATION,
            from_branch_id: from,
            to_branch_id: to,
            transferred_at: at(),
        })
    };
    let cases: Vec<Case> = vec![
        (
            "to a branch's queue",
            vec![start_routed(), assign(ADMIN)],
            transfer(TransferTarget::Branch(Some(SOUTH))),
            Ok(vec![
                transferred(Some(NORTH), Some(SOUTH)),
                DomainEvent::ConversationUnassigned(ConversationUnassigned {
                    conversation_id: CONVERSATION,
                    operator_id: ADMIN,
                    reason: UnassignReason::Transferred,
                    unassigned_at: at(),
                }),
            ]),
        ),
        (
            "to an operator: the branch follows them",
            vec![start_routed()],
            transfer(TransferTarget::Operator {
                operator_id: SOUTH_OP,
                branch_id: Some(SOUTH),
            }),
            Ok(vec![
                transferred(Some(NORTH), Some(SOUTH)),
                assigned_event(SOUTH_OP, None, AssignReason::Transfer),
            ]),
        ),
        (
            "to where it is: nothing",
            vec![start_routed()],
            transfer(TransferTarget::Branch(Some(NORTH))),
            Ok(vec![]),
        ),
        (
            "a branch inbox's conversation stays",
            vec![start(None)],
            transfer(TransferTarget::Branch(Some(SOUTH))),
            Err(DomainError::NotTransferable(CONVERSATION)),
        ),
    ];
    for (name, given, when, expected) in cases {
        assert_eq!(
            given_commands(&given)
                .when(&when, &actor_for(&when))
                .outcome(),
            expected,
            "{name}"
        );
    }
    let after = state_after(&[
        start_routed(),
        transfer(TransferTarget::Branch(Some(SOUTH))),
    ]);
    assert_eq!(after.branch_id, Some(SOUTH));
}

#[test]
fn the_auto_reply_goes_once_when_assigned_and_unanswered() {
    let replied = DomainEvent::AutoReplySent(AutoReplySent {
        conversation_id: CONVERSATION,
        message_id: Uuid::from_u128(40),
        operator_id: MODERATOR,
        body: "We are on it".into(),
        sent_at: at(),
    });
    let assigned = vec![start_routed(), assign(MODERATOR)];
    let cases: Vec<(&str, Vec<ConversationCommand>, Decided)> = vec![
        (
            "assigned, the contact wrote, nobody answered",
            assigned.clone(),
            Ok(vec![replied]),
        ),
        ("not assigned", vec![start_routed()], Ok(vec![])),
        (
            "no inbound message",
            vec![start(None), assign(MODERATOR)],
            Ok(vec![]),
        ),
        (
            "an operator answered",
            [
                assigned.clone(),
                vec![post(SenderKind::Operator, Some(MODERATOR))],
            ]
            .concat(),
            Ok(vec![]),
        ),
        (
            "once",
            [assigned.clone(), vec![auto_reply()]].concat(),
            Ok(vec![]),
        ),
        (
            "only while open",
            [assigned.clone(), vec![set(ConversationStatus::Resolved)]].concat(),
            Ok(vec![]),
        ),
    ];
    for (name, given, expected) in cases {
        assert_eq!(
            given_commands(&given)
                .when(&auto_reply(), &Actor::system())
                .outcome(),
            expected,
            "{name}"
        );
    }
    let after = state_after(&[assigned, vec![auto_reply()]].concat());
    assert_eq!(
        after.status,
        ConversationStatus::Open,
        "an auto-reply is not an answer"
    );
    assert_eq!(after.waiting_since_position, Some(2));
}

#[test]
fn the_contact_ends_the_chat_once_and_only_their_own() {
    use ConversationStatus::*;
    let end = ConversationCommand::End(EndConversation {
        conversation_id: CONVERSATION,
        at: at(),
    });
    let moves = |state: &Conversation, actor: &Actor| {
        decide(state, &end, actor).map(|events| {
            events
                .iter()
                .map(|e| match e {
                    DomainEvent::ConversationStatusChanged(c) => (c.from, c.to, c.trigger),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>()
        })
    };
    let mut pending = reach(Open);
    pending.push(ConversationCommand::RequestCallback(RequestCallback {
        conversation_id: CONVERSATION,
        request: callback_request(1),
        at: at(),
    }));
    let reached = |status| match status {
        PendingCallback => pending.clone(),
        other => reach(other),
    };
    for status in [Open, InProgress, WaitingForUser, PendingCallback] {
        let state = Conversation::Started(state_after(&reached(status)));
        assert_eq!(
            moves(&state, &contact()),
            Ok(vec![(status, Resolved, StatusTrigger::ContactEnded)]),
            "{status:?}"
        );
    }
    for status in [Resolved, Closed] {
        let state = Conversation::Started(state_after(&reach(status)));
        assert_eq!(moves(&state, &contact()), Ok(vec![]), "{status:?}");
    }
    let open = Conversation::Started(state_after(&reach(Open)));
    assert_eq!(
        moves(&open, &Actor::contact(Uuid::from_u128(99))),
        Err(DomainError::NotPermitted("only the contact"))
    );
    assert_eq!(
        moves(&open, &admin()),
        Err(DomainError::NotPermitted("only the contact"))
    );
}

//! [`decide`]: what a command means for a conversation. Who may send it is settled first, in
//! `authorize_command`; then one function per command decides its events.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::command::{
    AddInternalNote, AssignConversation, AutoAssign, CallbackRequest, ChangeStatus,
    CloseForInactivity, CloseForRetention, ConversationCommand, EndConversation, Escalate,
    MarkRead, PostMessage, RaisePriorityForWait, RateConversation, RecordSlaBreach,
    RequestCallback, ScheduleCallback, SendAutoReply, SetPriority, SettleCallback,
    StartConversation, TagConversation, Transfer, TransferTarget, UnassignConversation,
    UntagConversation,
};
use super::evolve::evolve;
use super::state::{Conversation, ConversationState};
use super::status::ConversationStatus;
use super::status_machine::{after_message, contact_may_end, operator_may_set};
use crate::attachment::MAX_ATTACHMENTS_PER_MESSAGE;
use crate::envelope::{Actor, ActorKind};
use crate::error::DomainError;
use crate::event::{
    AssignReason, AttachmentRef, AutoReplySent, CallbackOutcome, CallbackRequested,
    CallbackScheduled, CallbackSettled, ConversationAssigned, ConversationOpened,
    ConversationRated, ConversationReadByContact, ConversationReadByOperator, ConversationStarted,
    ConversationStatusChanged, ConversationTagged, ConversationTransferred, ConversationUnassigned,
    ConversationUntagged, DomainEvent, InternalNoteAdded, MessagePosted, PriorityChanged,
    PriorityRaisedForWait, Sender, SenderKind, StatusTrigger, UnassignReason,
};
use crate::inbox::settings::InactivityRule;
use crate::operator::role::{conversation_scope, may_work_branch, ConversationScope};
use crate::values::{has_content, MessageBody};

/// What `command`, sent by `actor`, means in `state`: the events to record, or why not. Pure.
/// An empty list means the command asks for what already is (a status it has, a tag it
/// carries, the assignee it has).
pub fn decide(
    state: &Conversation,
    command: &ConversationCommand,
    actor: &Actor,
) -> Result<Vec<DomainEvent>, DomainError> {
    let mut events = decide_command(state, command, actor)?;
    // OPS-3: whatever the assignee does in their conversation (reply, note, take it), they
    // have seen it: that opens their assignment too. Only the assignment matters here, so
    // it is followed through the new events rather than folding a copy of the state.
    if let (Conversation::Started(started), ActorKind::Operator) = (state, actor.kind) {
        let (mut assignee, mut opened) = (started.assignee, started.opened);
        for event in &events {
            match event {
                DomainEvent::ConversationAssigned(e) => {
                    (assignee, opened) = (Some(e.operator_id), false)
                }
                DomainEvent::ConversationUnassigned(_) => (assignee, opened) = (None, false),
                DomainEvent::ConversationOpened(_) => opened = true,
                _ => {}
            }
        }
        if let Some(operator_id) =
            assignee.filter(|id| !events.is_empty() && !opened && actor.id == Some(*id))
        {
            events.push(DomainEvent::ConversationOpened(ConversationOpened {
                conversation_id: started.id,
                operator_id,
                opened_at: command.at(),
            }));
        }
    }
    Ok(events)
}

fn decide_command(
    state: &Conversation,
    command: &ConversationCommand,
    actor: &Actor,
) -> Result<Vec<DomainEvent>, DomainError> {
    let started = match (state, command) {
        // Anyone may start a conversation: before it exists there is no contact or assignee
        // to check the actor against.
        (Conversation::NotStarted, ConversationCommand::Start(start)) => {
            return start_conversation(start)
        }
        (Conversation::Started(_), ConversationCommand::Start(start)) => {
            return Err(DomainError::ConversationAlreadyExists(
                start.conversation_id,
            ))
        }
        (Conversation::NotStarted, other) => {
            return Err(DomainError::ConversationNotFound(other.conversation_id()))
        }
        (Conversation::Started(started), _) => started,
    };
    authorize_command(started, command, actor)?;
    match command {
        ConversationCommand::Start(_) => unreachable!("handled above"),
        ConversationCommand::PostMessage(post) => post_message(started, post),
        ConversationCommand::AddInternalNote(note) => add_internal_note(started, note),
        ConversationCommand::ChangeStatus(change) => change_status(started, change),
        ConversationCommand::SetPriority(set) => set_priority(started, set),
        ConversationCommand::Tag(tag) => tag_conversation(started, tag),
        ConversationCommand::Untag(untag) => untag_conversation(started, untag),
        ConversationCommand::Assign(assign) => assign_conversation(started, assign),
        ConversationCommand::Unassign(unassign) => unassign_conversation(started, unassign),
        ConversationCommand::Rate(rate) => rate_conversation(started, rate),
        ConversationCommand::MarkRead(read) => mark_read(started, read, actor),
        ConversationCommand::CloseForInactivity(close) => close_for_inactivity(started, close),
        ConversationCommand::End(end) => Ok(end_by_contact(started, end).into_iter().collect()),
        ConversationCommand::CloseForRetention(close) => close_for_retention(started, close),
        ConversationCommand::RequestCallback(request) => request_callback(started, request),
        ConversationCommand::ScheduleCallback(schedule) => schedule_callback(started, schedule),
        ConversationCommand::SettleCallback(settle) => settle_callback(started, settle),
        ConversationCommand::RaisePriorityForWait(raise) => raise_priority_for_wait(started, raise),
        ConversationCommand::RecordSlaBreach(breach) => Ok(vec![sla_breached(started, breach)]),
        ConversationCommand::AutoAssign(auto) => auto_assign(started, auto),
        ConversationCommand::Escalate(escalate) => escalate_assignment(started, escalate),
        ConversationCommand::Open(open) => {
            Ok(opened(started, actor, open.at).into_iter().collect())
        }
        ConversationCommand::Transfer(transfer) => transfer_conversation(started, transfer),
        ConversationCommand::SendAutoReply(reply) => send_auto_reply(started, reply),
    }
}

/// May `actor` send `command` to this started conversation? Decided here, once, for every
/// command, before what it means: the functions below assume it. The match names every
/// command, so a new one cannot be added without saying who may send it.
fn authorize_command(
    started: &ConversationState,
    command: &ConversationCommand,
    actor: &Actor,
) -> Result<(), DomainError> {
    match command {
        ConversationCommand::Start(_) => unreachable!("a started conversation is not started"),
        // The background jobs' decisions (TIME-1/2, CONV-9, PROJ-3, OPS-2/3, INBOX-5), never
        // a person's.
        ConversationCommand::CloseForInactivity(_)
        | ConversationCommand::CloseForRetention(_)
        | ConversationCommand::RaisePriorityForWait(_)
        | ConversationCommand::RecordSlaBreach(_)
        | ConversationCommand::AutoAssign(_)
        | ConversationCommand::Escalate(_)
        | ConversationCommand::SendAutoReply(_) => {
            if actor.kind != ActorKind::System {
                return Err(DomainError::NotPermitted("only the scheduler"));
            }
            Ok(())
        }
        ConversationCommand::PostMessage(post) if post.sender.kind == SenderKind::Contact => {
            authorize_contact_message(started, post)
        }
        // Anyone else's message is operators' work, and an operator's names the operator.
        ConversationCommand::PostMessage(post) => {
            authorize(started, actor)?;
            if post.sender.kind == SenderKind::Operator && post.sender.id.is_none() {
                return Err(DomainError::MissingSenderId { kind: "operator" });
            }
            Ok(())
        }
        // The contact's own say (CONV-8, CALL-1).
        ConversationCommand::Rate(_) => authorize_rating(started, actor),
        ConversationCommand::RequestCallback(_) | ConversationCommand::End(_) => {
            if actor.kind != ActorKind::Contact || actor.id != Some(started.contact_id) {
                return Err(DomainError::NotPermitted("only the contact"));
            }
            Ok(())
        }
        // Each reader moves their own marker (CONV-5). Which contact reads is checked by
        // `mark_read`, after the message it names: an unknown message is reported first.
        ConversationCommand::MarkRead(_) if actor.kind == ActorKind::Contact => Ok(()),
        // Everything else is operators' work, within their scope (and the system's).
        ConversationCommand::MarkRead(_)
        | ConversationCommand::AddInternalNote(_)
        | ConversationCommand::ChangeStatus(_)
        | ConversationCommand::SetPriority(_)
        | ConversationCommand::Tag(_)
        | ConversationCommand::Untag(_)
        | ConversationCommand::Assign(_)
        | ConversationCommand::Unassign(_)
        | ConversationCommand::ScheduleCallback(_)
        | ConversationCommand::SettleCallback(_)
        | ConversationCommand::Open(_)
        | ConversationCommand::Transfer(_) => authorize(started, actor),
    }
}

/// A contact's message names its sender, who must be this conversation's contact. The actor
/// is not asked: the API fills the sender in from whom it authenticated.
fn authorize_contact_message(
    started: &ConversationState,
    post: &PostMessage,
) -> Result<(), DomainError> {
    match post.sender.id {
        None => Err(DomainError::MissingSenderId { kind: "contact" }),
        Some(id) if id != started.contact_id => Err(DomainError::NotTheContact {
            conversation_id: post.conversation_id,
            contact_id: id,
        }),
        Some(_) => Ok(()),
    }
}

/// CONV-8: only the conversation's own contact rates it.
fn authorize_rating(started: &ConversationState, actor: &Actor) -> Result<(), DomainError> {
    if actor.kind != ActorKind::Contact {
        return Err(DomainError::NotPermitted("only the contact"));
    }
    if actor.id != Some(started.contact_id) {
        return Err(DomainError::NotTheContact {
            conversation_id: started.id,
            contact_id: actor.id.unwrap_or_default(),
        });
    }
    Ok(())
}

/// May `actor` work this conversation? The system may; operators by their roles' scope
/// (moderators only on their own assignments); nobody else.
fn authorize(started: &ConversationState, actor: &Actor) -> Result<(), DomainError> {
    match actor.kind {
        ActorKind::System => Ok(()),
        ActorKind::Contact => Err(DomainError::NotPermitted("a contact")),
        ActorKind::Operator => {
            let operator_id = actor
                .id
                .ok_or(DomainError::MissingSenderId { kind: "operator" })?;
            match conversation_scope(&actor.roles) {
                ConversationScope::Any => Ok(()),
                ConversationScope::AssignedOnly if started.assignee == Some(operator_id) => Ok(()),
                ConversationScope::AssignedOnly => Err(DomainError::NotAssignee {
                    conversation_id: started.id,
                    operator_id,
                }),
                ConversationScope::None => Err(DomainError::NotPermitted("this role")),
            }
        }
    }
}

/// Resolved and closed conversations wait for nobody: the background jobs leave them be.
fn resolved_or_closed(status: ConversationStatus) -> bool {
    matches!(
        status,
        ConversationStatus::Resolved | ConversationStatus::Closed
    )
}

/// The start, its first message, and a guest's call-back request if it carries one.
fn start_conversation(start: &StartConversation) -> Result<Vec<DomainEvent>, DomainError> {
    if let Some(first) = &start.first_message {
        check_content(&first.body, &first.attachments)?;
    }
    let mut events = start_events(start);
    if let Some(request) = &start.callback {
        // Decide the request against the state the start creates.
        let mut state = Conversation::NotStarted;
        for event in &events {
            state = evolve(state, event);
        }
        let Conversation::Started(started) = &state else {
            unreachable!("a start starts")
        };
        events.extend(callback_requested(started, request, start.at)?);
    }
    Ok(events)
}

/// CONV-1/2: the message, and the status it moves the conversation to. Operators (and bots,
/// and the system) do not write to a closed conversation; the contact reopens it.
fn post_message(
    started: &ConversationState,
    post: &PostMessage,
) -> Result<Vec<DomainEvent>, DomainError> {
    if post.sender.kind != SenderKind::Contact && started.status == ConversationStatus::Closed {
        return Err(DomainError::ConversationClosed(started.id));
    }
    unused_id(started, post.message_id)?;
    check_content(&post.body, &post.attachments)?;
    let mut events = vec![DomainEvent::MessagePosted(MessagePosted {
        conversation_id: post.conversation_id,
        message_id: post.message_id,
        sender: post.sender.clone(),
        channel: post.channel,
        body: post.body.as_str().to_owned(),
        posted_at: post.at,
        attachments: post.attachments.clone(),
    })];
    if let Some((to, trigger)) = after_message(started.status, post.sender.kind) {
        events.push(status_changed(started, to, trigger, post.at));
        // A reopened conversation goes back to the Open queue (CONV-2).
        if let (ConversationStatus::Open, Some(operator_id)) = (to, started.assignee) {
            events.push(DomainEvent::ConversationUnassigned(
                ConversationUnassigned {
                    conversation_id: started.id,
                    operator_id,
                    reason: UnassignReason::Reopened,
                    unassigned_at: post.at,
                },
            ));
        }
    }
    Ok(events)
}

/// CONV-4: a note, even in a closed conversation; its id is unique like a message's.
fn add_internal_note(
    started: &ConversationState,
    note: &AddInternalNote,
) -> Result<Vec<DomainEvent>, DomainError> {
    unused_id(started, note.note_id)?;
    Ok(vec![DomainEvent::InternalNoteAdded(InternalNoteAdded {
        conversation_id: started.id,
        note_id: note.note_id,
        author_id: note.author_id,
        body: note.body.as_str().to_owned(),
        added_at: note.at,
    })])
}

/// CONV-2: an operator's move, along [`operator_may_set`] only.
fn change_status(
    started: &ConversationState,
    change: &ChangeStatus,
) -> Result<Vec<DomainEvent>, DomainError> {
    if change.to == started.status {
        return Ok(Vec::new());
    }
    if !operator_may_set(started.status, change.to) {
        return Err(DomainError::IllegalTransition {
            from: started.status,
            to: change.to,
        });
    }
    Ok(vec![status_changed(
        started,
        change.to,
        StatusTrigger::Operator,
        change.at,
    )])
}

/// The contact ends the chat: resolved, unless it is already resolved or closed.
fn end_by_contact(started: &ConversationState, end: &EndConversation) -> Option<DomainEvent> {
    contact_may_end(started.status).then(|| {
        status_changed(
            started,
            ConversationStatus::Resolved,
            StatusTrigger::ContactEnded,
            end.at,
        )
    })
}

fn set_priority(
    started: &ConversationState,
    set: &SetPriority,
) -> Result<Vec<DomainEvent>, DomainError> {
    if set.priority == started.priority {
        return Ok(Vec::new());
    }
    Ok(vec![DomainEvent::PriorityChanged(PriorityChanged {
        conversation_id: started.id,
        from: started.priority,
        to: set.priority,
        changed_at: set.at,
    })])
}

fn tag_conversation(
    started: &ConversationState,
    tag: &TagConversation,
) -> Result<Vec<DomainEvent>, DomainError> {
    if started.tags.contains(tag.tag.as_str()) {
        return Ok(Vec::new());
    }
    Ok(vec![DomainEvent::ConversationTagged(ConversationTagged {
        conversation_id: started.id,
        tag: tag.tag.as_str().to_owned(),
        tagged_at: tag.at,
    })])
}

fn untag_conversation(
    started: &ConversationState,
    untag: &UntagConversation,
) -> Result<Vec<DomainEvent>, DomainError> {
    if !started.tags.contains(untag.tag.as_str()) {
        return Ok(Vec::new());
    }
    Ok(vec![DomainEvent::ConversationUntagged(
        ConversationUntagged {
            conversation_id: started.id,
            tag: untag.tag.as_str().to_owned(),
            untagged_at: untag.at,
        },
    )])
}

/// OPS-5: by hand, to an operator who works the conversation's branch; not while closed.
fn assign_conversation(
    started: &ConversationState,
    assign: &AssignConversation,
) -> Result<Vec<DomainEvent>, DomainError> {
    if started.status == ConversationStatus::Closed {
        return Err(DomainError::ConversationClosed(started.id));
    }
    if started.assignee == Some(assign.operator_id) {
        return Ok(Vec::new());
    }
    assign_to(
        started,
        assign.operator_id,
        assign.operator_branch_id,
        AssignReason::Manual,
        assign.at,
    )
}

/// OPS-2: the queue entry auto-assignment named, unless it is gone.
fn auto_assign(
    started: &ConversationState,
    auto: &AutoAssign,
) -> Result<Vec<DomainEvent>, DomainError> {
    let stale = started.queued_since_position != Some(auto.queued_since_position)
        || resolved_or_closed(started.status);
    if stale {
        return Ok(Vec::new());
    }
    assign_to(
        started,
        auto.operator_id,
        auto.operator_branch_id,
        AssignReason::Auto,
        auto.at,
    )
}

/// OPS-3: the assignment escalation named, unless it changed, was opened, or already went to
/// that operator.
fn escalate_assignment(
    started: &ConversationState,
    escalate: &Escalate,
) -> Result<Vec<DomainEvent>, DomainError> {
    let stale = started.assignee.is_none()
        || started.assignment_position != escalate.assignment_position
        || started.opened
        || started.assignee == Some(escalate.operator_id)
        || resolved_or_closed(started.status);
    if stale {
        return Ok(Vec::new());
    }
    assign_to(
        started,
        escalate.operator_id,
        escalate.operator_branch_id,
        AssignReason::Escalation,
        escalate.at,
    )
}

/// An assignment to an operator of the conversation's branch or of head office (OPS-2).
fn assign_to(
    started: &ConversationState,
    operator_id: Uuid,
    operator_branch_id: Option<Uuid>,
    reason: AssignReason,
    at: DateTime<Utc>,
) -> Result<Vec<DomainEvent>, DomainError> {
    if !may_work_branch(operator_branch_id, started.branch_id) {
        return Err(DomainError::OutsideBranch { operator_id });
    }
    Ok(vec![assigned(started, operator_id, reason, at)])
}

/// OPS-5: back to the Open queue; nothing if it is there already.
fn unassign_conversation(
    started: &ConversationState,
    unassign: &UnassignConversation,
) -> Result<Vec<DomainEvent>, DomainError> {
    let Some(operator_id) = started.assignee else {
        return Ok(Vec::new());
    };
    Ok(vec![DomainEvent::ConversationUnassigned(
        ConversationUnassigned {
            conversation_id: started.id,
            operator_id,
            reason: UnassignReason::Operator,
            unassigned_at: unassign.at,
        },
    )])
}

/// INBOX-5: the auto-reply, in the assignee's name, once the contact wrote to an open,
/// assigned conversation nobody answered yet; once per conversation.
fn send_auto_reply(
    started: &ConversationState,
    reply: &SendAutoReply,
) -> Result<Vec<DomainEvent>, DomainError> {
    let due = started.status == ConversationStatus::Open
        && started.has_inbound
        && !started.has_outbound
        && !started.auto_replied;
    let Some(operator_id) = started.assignee.filter(|_| due) else {
        return Ok(Vec::new());
    };
    unused_id(started, reply.message_id)?;
    Ok(vec![DomainEvent::AutoReplySent(AutoReplySent {
        conversation_id: started.id,
        message_id: reply.message_id,
        operator_id,
        body: reply.body.as_str().to_owned(),
        sent_at: reply.at,
    })])
}

/// CONV-9: one step up for the wait named, unless an operator answered since, the step was
/// taken, or the priority is at the top.
fn raise_priority_for_wait(
    started: &ConversationState,
    raise: &RaisePriorityForWait,
) -> Result<Vec<DomainEvent>, DomainError> {
    let stale = started.waiting_since_position != Some(raise.waiting_since_position)
        || raise.step <= started.wait_raises
        || resolved_or_closed(started.status);
    let Some(to) = started.priority.raised().filter(|_| !stale) else {
        return Ok(Vec::new());
    };
    Ok(vec![DomainEvent::PriorityRaisedForWait(
        PriorityRaisedForWait {
            conversation_id: started.id,
            from: started.priority,
            to,
            waiting_since_position: raise.waiting_since_position,
            step: raise.step,
            raised_at: raise.at,
        },
    )])
}

/// PROJ-3: recorded as observed (see [`RecordSlaBreach`]).
fn sla_breached(started: &ConversationState, breach: &RecordSlaBreach) -> DomainEvent {
    DomainEvent::SlaBreached(crate::event::SlaBreached {
        conversation_id: started.id,
        metric: breach.metric,
        deadline: breach.deadline,
        detected_at: breach.at,
    })
}

/// TIME-1: closed for inactivity, unless a message came since, it is resolved (then
/// retention closes it), or the rule spares it: by default only a conversation waiting on the
/// contact closes, never one whose contact waits for an answer or a call-back.
fn close_for_inactivity(
    started: &ConversationState,
    close: &CloseForInactivity,
) -> Result<Vec<DomainEvent>, DomainError> {
    let spared = match close.rule {
        InactivityRule::AnyIdle => false,
        InactivityRule::WaitingOnContact => !waiting_on_contact(started),
    };
    let stale = started.last_message_position != close.last_message_position
        || resolved_or_closed(started.status)
        || spared;
    if stale {
        return Ok(Vec::new());
    }
    Ok(vec![status_changed(
        started,
        ConversationStatus::Closed,
        StatusTrigger::Inactivity,
        close.at,
    )])
}

/// The ball is in the contact's court (TIME-1): an operator set `waiting_for_user`, or
/// answered the contact's last message, and no call-back is awaited.
fn waiting_on_contact(started: &ConversationState) -> bool {
    use ConversationStatus::*;
    match started.status {
        WaitingForUser => true,
        Open | InProgress => {
            started.has_outbound
                && started.waiting_since_position.is_none()
                && started.pending_callback.is_none()
        }
        PendingCallback | Resolved | Closed => false,
    }
}

/// TIME-2: closed after the retention period, if it is still resolved.
fn close_for_retention(
    started: &ConversationState,
    close: &CloseForRetention,
) -> Result<Vec<DomainEvent>, DomainError> {
    if started.status != ConversationStatus::Resolved {
        return Ok(Vec::new());
    }
    Ok(vec![status_changed(
        started,
        ConversationStatus::Closed,
        StatusTrigger::Retention,
        close.at,
    )])
}

/// CALL-1: one call-back awaited at a time.
fn request_callback(
    started: &ConversationState,
    request: &RequestCallback,
) -> Result<Vec<DomainEvent>, DomainError> {
    if let Some((pending, _)) = started.pending_callback {
        return Err(DomainError::CallbackAlreadyPending(pending));
    }
    callback_requested(started, &request.request, request.at)
}

/// CALL-2: the awaited call-back's time; the same time again changes nothing.
fn schedule_callback(
    started: &ConversationState,
    schedule: &ScheduleCallback,
) -> Result<Vec<DomainEvent>, DomainError> {
    match started.pending_callback {
        Some((id, when)) if id == schedule.callback_id => {
            if when == Some(schedule.scheduled_for) {
                return Ok(Vec::new());
            }
        }
        _ => return Err(DomainError::NoSuchCallback(schedule.callback_id)),
    }
    Ok(vec![DomainEvent::CallbackScheduled(CallbackScheduled {
        conversation_id: started.id,
        callback_id: schedule.callback_id,
        scheduled_for: schedule.scheduled_for,
        scheduled_at: schedule.at,
    })])
}

/// CALL-2: how the awaited call-back ended, and where that leaves a conversation still
/// waiting on it.
fn settle_callback(
    started: &ConversationState,
    settle: &SettleCallback,
) -> Result<Vec<DomainEvent>, DomainError> {
    if started.pending_callback.map(|(id, _)| id) != Some(settle.callback_id) {
        return Err(DomainError::NoSuchCallback(settle.callback_id));
    }
    let mut events = vec![DomainEvent::CallbackSettled(CallbackSettled {
        conversation_id: started.id,
        callback_id: settle.callback_id,
        outcome: settle.outcome,
        note: settle.note.clone(),
        settled_at: settle.at,
    })];
    if started.status == ConversationStatus::PendingCallback {
        let to = match settle.outcome {
            CallbackOutcome::Completed => ConversationStatus::Resolved,
            CallbackOutcome::NoAnswer | CallbackOutcome::Cancelled => ConversationStatus::Open,
        };
        events.push(status_changed(
            started,
            to,
            StatusTrigger::CallbackSettled,
            settle.at,
        ));
    }
    Ok(events)
}

/// A (re)assignment; whatever it had before is in `previous_operator_id`.
fn assigned(
    started: &ConversationState,
    operator_id: Uuid,
    reason: AssignReason,
    at: DateTime<Utc>,
) -> DomainEvent {
    DomainEvent::ConversationAssigned(ConversationAssigned {
        conversation_id: started.id,
        operator_id,
        previous_operator_id: started.assignee,
        assigned_at: at,
        reason,
    })
}

/// OPS-3: the assignee's first view of their assignment; nothing for anyone else.
fn opened(started: &ConversationState, actor: &Actor, at: DateTime<Utc>) -> Option<DomainEvent> {
    let operator_id = started.assignee?;
    if started.opened || actor.kind != ActorKind::Operator || actor.id != Some(operator_id) {
        return None;
    }
    Some(DomainEvent::ConversationOpened(ConversationOpened {
        conversation_id: started.id,
        operator_id,
        opened_at: at,
    }))
}

/// OPS-4: a global inbox's conversation moves to a branch's queue, or to an operator and
/// their branch.
fn transfer_conversation(
    started: &ConversationState,
    transfer: &Transfer,
) -> Result<Vec<DomainEvent>, DomainError> {
    if !started.transferable {
        return Err(DomainError::NotTransferable(started.id));
    }
    if started.status == ConversationStatus::Closed {
        return Err(DomainError::ConversationClosed(started.id));
    }
    let (to_branch, operator) = match transfer.to {
        TransferTarget::Branch(branch) => (branch, None),
        TransferTarget::Operator {
            operator_id,
            branch_id,
        } => (branch_id, Some(operator_id)),
    };
    let mut events = Vec::new();
    if to_branch != started.branch_id {
        events.push(DomainEvent::ConversationTransferred(
            ConversationTransferred {
                conversation_id: started.id,
                from_branch_id: started.branch_id,
                to_branch_id: to_branch,
                transferred_at: transfer.at,
            },
        ));
    }
    match (operator, started.assignee) {
        (Some(operator_id), current) if current != Some(operator_id) => {
            events.push(assigned(
                started,
                operator_id,
                AssignReason::Transfer,
                transfer.at,
            ));
        }
        (Some(_), _) => {}
        (None, Some(current)) if !events.is_empty() => {
            events.push(DomainEvent::ConversationUnassigned(
                ConversationUnassigned {
                    conversation_id: started.id,
                    operator_id: current,
                    reason: UnassignReason::Transferred,
                    unassigned_at: transfer.at,
                },
            ));
        }
        (None, _) => {}
    }
    Ok(events)
}

/// CONV-5: moves the reader's marker forward to the message (or the end); never back.
fn mark_read(
    started: &ConversationState,
    read: &MarkRead,
    actor: &Actor,
) -> Result<Vec<DomainEvent>, DomainError> {
    let up_to_position = match read.up_to_message_id {
        None => started.version,
        Some(message_id) => {
            *started
                .message_positions
                .get(&message_id)
                .ok_or(DomainError::MessageNotFound {
                    conversation_id: started.id,
                    message_id,
                })?
        }
    };
    match (actor.kind, actor.id) {
        (ActorKind::Contact, Some(id)) if id == started.contact_id => {
            if up_to_position <= started.contact_read {
                return Ok(Vec::new());
            }
            Ok(vec![DomainEvent::ConversationReadByContact(
                ConversationReadByContact {
                    conversation_id: started.id,
                    up_to_message_id: read.up_to_message_id,
                    up_to_position,
                    read_at: read.at,
                },
            )])
        }
        (ActorKind::Contact, id) => Err(DomainError::NotTheContact {
            conversation_id: started.id,
            contact_id: id.unwrap_or_default(),
        }),
        (ActorKind::Operator, Some(operator_id)) => {
            let marker = started
                .operator_read
                .get(&operator_id)
                .copied()
                .unwrap_or(0);
            // Reading is opening: the first read of their assignment stops escalation.
            let mut events: Vec<DomainEvent> =
                opened(started, actor, read.at).into_iter().collect();
            if up_to_position > marker {
                events.push(DomainEvent::ConversationReadByOperator(
                    ConversationReadByOperator {
                        conversation_id: started.id,
                        operator_id,
                        up_to_message_id: read.up_to_message_id,
                        up_to_position,
                        read_at: read.at,
                    },
                ));
            }
            Ok(events)
        }
        _ => Err(DomainError::NotPermitted("only the contact or an operator")),
    }
}

/// CONV-8: the conversation's own contact, once, after resolve or close, on the inbox's scale.
fn rate_conversation(
    started: &ConversationState,
    rate: &RateConversation,
) -> Result<Vec<DomainEvent>, DomainError> {
    let Some((min, max)) = rate.scale.bounds() else {
        return Err(DomainError::RatingDisabled);
    };
    if !resolved_or_closed(started.status) {
        return Err(DomainError::RatingTooEarly(started.status));
    }
    if started.rated {
        return Err(DomainError::AlreadyRated(started.id));
    }
    if !(min..=max).contains(&rate.score) {
        return Err(DomainError::ScoreOutOfRange {
            scale: rate.scale,
            score: i64::from(rate.score),
            min,
            max,
        });
    }
    Ok(vec![DomainEvent::ConversationRated(ConversationRated {
        conversation_id: started.id,
        scale: rate.scale,
        score: rate.score,
        comment: rate.comment.clone(),
        rated_at: rate.at,
    })])
}

/// CALL-1: the request, and the move to `pending_callback`.
fn callback_requested(
    started: &ConversationState,
    request: &CallbackRequest,
    at: DateTime<Utc>,
) -> Result<Vec<DomainEvent>, DomainError> {
    if let (Some(from), Some(to)) = (request.window_from, request.window_to) {
        if to < from {
            return Err(DomainError::InvalidCallbackWindow);
        }
    }
    let mut events = vec![DomainEvent::CallbackRequested(CallbackRequested {
        conversation_id: started.id,
        callback_id: request.callback_id,
        phone: request.phone.as_str().to_owned(),
        window_from: request.window_from,
        window_to: request.window_to,
        consent: request.consent.clone(),
        requested_at: at,
    })];
    if started.status != ConversationStatus::PendingCallback {
        events.push(status_changed(
            started,
            ConversationStatus::PendingCallback,
            StatusTrigger::CallbackRequested,
            at,
        ));
    }
    Ok(events)
}

/// CONV-7: a text, or attachments, or both; not too many attachments.
fn check_content(body: &MessageBody, attachments: &[AttachmentRef]) -> Result<(), DomainError> {
    if !has_content(body, attachments.len()) {
        return Err(DomainError::EmptyMessage);
    }
    if attachments.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(DomainError::TooManyAttachments {
            count: attachments.len(),
            max: MAX_ATTACHMENTS_PER_MESSAGE,
        });
    }
    Ok(())
}

fn start_events(start: &StartConversation) -> Vec<DomainEvent> {
    let mut events = vec![DomainEvent::ConversationStarted(ConversationStarted {
        conversation_id: start.conversation_id,
        inbox_id: start.inbox_id,
        source: start.source,
        contact: start.contact.clone(),
        subject: start.subject.clone(),
        started_at: start.at,
        branch_id: start.branch_id,
        routing: start.routing.clone(),
        sla: start.sla.clone(),
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
            attachments: first.attachments.clone(),
        }));
    }
    events
}

fn unused_id(started: &ConversationState, id: Uuid) -> Result<(), DomainError> {
    if started.message_positions.contains_key(&id) {
        return Err(DomainError::DuplicateMessageId {
            conversation_id: started.id,
            message_id: id,
        });
    }
    Ok(())
}

fn status_changed(
    started: &ConversationState,
    to: ConversationStatus,
    trigger: StatusTrigger,
    at: DateTime<Utc>,
) -> DomainEvent {
    DomainEvent::ConversationStatusChanged(ConversationStatusChanged {
        conversation_id: started.id,
        from: started.status,
        to,
        trigger,
        changed_at: at,
    })
}

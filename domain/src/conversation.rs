//! The conversation aggregate as a decider: `initial_state`, `decide`, `evolve`.
//!
//! One conversation is one stream in the log. The command handler loads its events, folds them
//! with [`evolve`], asks [`decide`] what a command means in that state, and appends the answer.
//! The status machine of CONV-2 lives here ([`operator_may_set`], [`after_message`]) and
//! nowhere else. So does who may send which command: `authorize_command` decides it once per
//! command, before a function of its own decides what the command means.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::attachment::MAX_ATTACHMENTS_PER_MESSAGE;
use crate::decider::Decider;
use crate::envelope::{Actor, ActorKind};
use crate::error::DomainError;
use crate::event::{
    AssignReason, AttachmentRef, AutoReplySent, CallbackOutcome, CallbackRequested,
    CallbackScheduled, CallbackSettled, Channel, Consent, Contact, ConversationAssigned,
    ConversationOpened, ConversationRated, ConversationReadByContact, ConversationReadByOperator,
    ConversationStarted, ConversationStatusChanged, ConversationTagged, ConversationTransferred,
    ConversationUnassigned, ConversationUntagged, DomainEvent, InternalNoteAdded, MessagePosted,
    Priority, PriorityChanged, PriorityRaisedForWait, Routing, Sender, SenderKind, Source,
    StatusTrigger, UnassignReason,
};
use crate::inbox::RatingScale;
use crate::operator::{conversation_scope, may_work_branch, ConversationScope};
use crate::values::{MessageBody, Phone, Tag};

/// The stream type under which conversations are stored in the log.
pub const STREAM_TYPE: &str = "conversation";

text_enum! {
    /// CONV-2's statuses.
    pub enum ConversationStatus {
        Open = "open",
        InProgress = "in_progress",
        WaitingForUser = "waiting_for_user",
        PendingCallback = "pending_callback",
        Resolved = "resolved",
        Closed = "closed",
    }
}

/// May an operator move a conversation from `from` to `to` by hand? (`from == to` is handled
/// by the caller as "nothing to do".) `pending_callback` is entered only by a call-back request.
pub fn operator_may_set(from: ConversationStatus, to: ConversationStatus) -> bool {
    use ConversationStatus::*;
    match to {
        Open => matches!(from, Resolved | Closed),
        InProgress => matches!(from, Open | WaitingForUser | PendingCallback),
        WaitingForUser => matches!(from, Open | InProgress),
        Resolved => matches!(from, Open | InProgress | WaitingForUser | PendingCallback),
        Closed => from != Closed,
        PendingCallback => false,
    }
}

/// The status a message moves the conversation to, if any: the contact writing reopens a
/// resolved or closed conversation and resumes a waiting one; the first operator reply takes an
/// open conversation into progress.
pub fn after_message(
    status: ConversationStatus,
    sender: SenderKind,
) -> Option<(ConversationStatus, StatusTrigger)> {
    use ConversationStatus::*;
    match (sender, status) {
        (SenderKind::Contact, Resolved | Closed) => Some((Open, StatusTrigger::ContactWrote)),
        (SenderKind::Contact, WaitingForUser) => Some((InProgress, StatusTrigger::ContactWrote)),
        (SenderKind::Operator, Open) => Some((InProgress, StatusTrigger::OperatorReplied)),
        _ => None,
    }
}

/// What the decider needs to know about a started conversation; nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationState {
    pub id: Uuid,
    pub inbox_id: Uuid,
    pub contact_id: Uuid,
    pub status: ConversationStatus,
    pub priority: Priority,
    pub tags: BTreeSet<String>,
    /// The operator working it; `None` while it waits in the Open queue.
    pub assignee: Option<Uuid>,
    /// Rated once already (CONV-8).
    pub rated: bool,
    /// Every message and note id in the thread, with its position (stream version): ids are
    /// unique within a conversation.
    pub message_positions: HashMap<Uuid, i32>,
    /// The stream version this state is at: the position of its last event.
    pub version: i32,
    /// How far each operator has read (CONV-5).
    pub operator_read: HashMap<Uuid, i32>,
    /// How far the contact has read (CONV-5).
    pub contact_read: i32,
    /// The position of the last message to or from the contact (not notes); 0 before any.
    pub last_message_position: i32,
    /// The position of the contact's oldest message no operator has answered yet (CONV-9).
    pub waiting_since_position: Option<i32>,
    /// How many times the current wait raised the priority.
    pub wait_raises: u8,
    /// The call-back being awaited, if any (CALL-1/2): its id and whether it is scheduled.
    pub pending_callback: Option<(Uuid, Option<DateTime<Utc>>)>,
    /// The branch that works it; `None`: head office (INBOX-2, OPS-4).
    pub branch_id: Option<Uuid>,
    /// Started in a global inbox, so it may move between branches (OPS-4).
    pub transferable: bool,
    /// While unassigned: the position at which it entered the queue. Auto-assignment names
    /// it, so a stale decision (the queue entry is gone) changes nothing (OPS-2).
    pub queued_since_position: Option<i32>,
    /// While assigned: the position of the assignment, and whether the assignee opened it
    /// since (OPS-3).
    pub assignment_position: i32,
    pub opened: bool,
    /// The contact wrote at least once; an operator answered at least once (INBOX-5).
    pub has_inbound: bool,
    pub has_outbound: bool,
    /// The auto-reply went out (INBOX-5): once per conversation.
    pub auto_replied: bool,
}

// One value per command handled, moved not copied around: boxing the large variant would buy
// nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conversation {
    NotStarted,
    Started(ConversationState),
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
    /// A guest's call-back request that opens the conversation (CALL-1).
    pub callback: Option<CallbackRequest>,
    /// The branch that will work it: the inbox's, or where routing sent it (INBOX-2).
    pub branch_id: Option<Uuid>,
    /// How routing chose the branch; `Some` exactly when the inbox is global.
    pub routing: Option<Routing>,
    /// The inbox's SLA policy and working hours now (PROJ-3), recorded with the start.
    pub sla: Option<crate::inbox::SlaTerms>,
    pub at: DateTime<Utc>,
}

/// What a contact asks for when they ask to be called back (CALL-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    pub callback_id: Uuid,
    pub phone: Phone,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    pub consent: Consent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstMessage {
    pub message_id: Uuid,
    pub channel: Channel,
    pub body: MessageBody,
    pub attachments: Vec<AttachmentRef>,
}

/// Add a message to an existing conversation, from the contact or an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostMessage {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub sender: Sender,
    pub channel: Channel,
    /// Empty only with attachments (CONV-7).
    pub body: MessageBody,
    /// Files already uploaded to this conversation (the API checks that), at most
    /// [`MAX_ATTACHMENTS_PER_MESSAGE`].
    pub attachments: Vec<AttachmentRef>,
    pub at: DateTime<Utc>,
}

/// An operator's note, never shown to the contact (CONV-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddInternalNote {
    pub conversation_id: Uuid,
    pub note_id: Uuid,
    pub author_id: Uuid,
    pub body: MessageBody,
    pub at: DateTime<Utc>,
}

/// An operator moves the conversation to another status (CONV-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeStatus {
    pub conversation_id: Uuid,
    pub to: ConversationStatus,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPriority {
    pub conversation_id: Uuid,
    pub priority: Priority,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagConversation {
    pub conversation_id: Uuid,
    pub tag: Tag,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntagConversation {
    pub conversation_id: Uuid,
    pub tag: Tag,
    pub at: DateTime<Utc>,
}

/// Give the conversation to an operator (OPS-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignConversation {
    pub conversation_id: Uuid,
    pub operator_id: Uuid,
    /// The assignee's branch, as their operator stream says: they must be able to work the
    /// conversation's branch.
    pub operator_branch_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// Auto-assignment gives a queued conversation to an online operator (OPS-2). Stale if the
/// conversation left that queue entry (someone took it, it was closed): then nothing happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoAssign {
    pub conversation_id: Uuid,
    pub queued_since_position: i32,
    pub operator_id: Uuid,
    pub operator_branch_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// The assignee did not open the conversation in time; it goes to the next operator (OPS-3).
/// Stale if the assignment changed or was opened meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalate {
    pub conversation_id: Uuid,
    pub assignment_position: i32,
    pub operator_id: Uuid,
    pub operator_branch_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// The operator opened (viewed) the conversation (OPS-3). Only the assignee's first view
/// of their assignment is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenConversation {
    pub conversation_id: Uuid,
    pub at: DateTime<Utc>,
}

/// Where a transfer sends a conversation (OPS-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    /// To a branch's queue, for its first free operator.
    Branch(Option<Uuid>),
    /// To this operator; the branch follows them.
    Operator {
        operator_id: Uuid,
        branch_id: Option<Uuid>,
    },
}

/// Move a global inbox's conversation to another branch or operator (OPS-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub conversation_id: Uuid,
    pub to: TransferTarget,
    pub at: DateTime<Utc>,
}

/// The inbox's auto-reply, sent by the system in the assignee's name (INBOX-5). Stale unless
/// the conversation is open, assigned, the contact wrote, nobody answered and no auto-reply
/// went out yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendAutoReply {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub body: MessageBody,
    pub at: DateTime<Utc>,
}

/// Put the conversation back into the Open queue (OPS-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnassignConversation {
    pub conversation_id: Uuid,
    pub at: DateTime<Utc>,
}

/// The contact rates the conversation (CONV-8). `scale` is the inbox's setting at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateConversation {
    pub conversation_id: Uuid,
    pub scale: RatingScale,
    pub score: u8,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// The contact of an existing conversation asks to be called back (CALL-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCallback {
    pub conversation_id: Uuid,
    pub request: CallbackRequest,
    pub at: DateTime<Utc>,
}

/// An operator sets (or moves) the time of the awaited call-back (CALL-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleCallback {
    pub conversation_id: Uuid,
    pub callback_id: Uuid,
    pub scheduled_for: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// An operator records how the call-back ended (CALL-2). While the conversation still waits
/// on it, a completed call resolves the conversation; otherwise it goes back to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleCallback {
    pub conversation_id: Uuid,
    pub callback_id: Uuid,
    pub outcome: CallbackOutcome,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// The scheduler closes a conversation that saw no message since `last_message_position`
/// for the inactivity timeout (TIME-1). Stale if a message came since: then nothing happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseForInactivity {
    pub conversation_id: Uuid,
    pub last_message_position: i32,
    pub at: DateTime<Utc>,
}

/// The scheduler closes a conversation that stayed resolved for the retention period
/// (TIME-2). Stale if it is no longer resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseForRetention {
    pub conversation_id: Uuid,
    pub at: DateTime<Utc>,
}

/// The scheduler raises the priority of a conversation whose contact has waited
/// `step` × the raise interval for an answer (CONV-9). Stale if an operator answered since
/// (the wait changed) or this step was already taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisePriorityForWait {
    pub conversation_id: Uuid,
    pub waiting_since_position: i32,
    pub step: u8,
    pub at: DateTime<Utc>,
}

/// The scheduler saw an SLA deadline pass with its wait still running (PROJ-3), from the SLA
/// projection. The SLA clock is not part of the conversation's state, so the decider takes
/// the observation as it is; the command's id, derived from the deadline, records it once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSlaBreach {
    pub conversation_id: Uuid,
    pub metric: crate::event::SlaMetric,
    pub deadline: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// A reader (the contact, or the operator who sends it) has read the thread up to a message,
/// or all of it (CONV-5). Markers only move forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkRead {
    pub conversation_id: Uuid,
    /// `None`: everything so far.
    pub up_to_message_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

// A command lives for one request and is matched, not stored: boxing the start would only
// cost an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationCommand {
    Start(StartConversation),
    PostMessage(PostMessage),
    AddInternalNote(AddInternalNote),
    ChangeStatus(ChangeStatus),
    SetPriority(SetPriority),
    Tag(TagConversation),
    Untag(UntagConversation),
    Assign(AssignConversation),
    Unassign(UnassignConversation),
    Rate(RateConversation),
    MarkRead(MarkRead),
    CloseForInactivity(CloseForInactivity),
    CloseForRetention(CloseForRetention),
    RequestCallback(RequestCallback),
    ScheduleCallback(ScheduleCallback),
    SettleCallback(SettleCallback),
    RaisePriorityForWait(RaisePriorityForWait),
    RecordSlaBreach(RecordSlaBreach),
    AutoAssign(AutoAssign),
    Escalate(Escalate),
    Open(OpenConversation),
    Transfer(Transfer),
    SendAutoReply(SendAutoReply),
}

impl ConversationCommand {
    /// When the command was sent.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            ConversationCommand::Start(c) => c.at,
            ConversationCommand::PostMessage(c) => c.at,
            ConversationCommand::AddInternalNote(c) => c.at,
            ConversationCommand::ChangeStatus(c) => c.at,
            ConversationCommand::SetPriority(c) => c.at,
            ConversationCommand::Tag(c) => c.at,
            ConversationCommand::Untag(c) => c.at,
            ConversationCommand::Assign(c) => c.at,
            ConversationCommand::Unassign(c) => c.at,
            ConversationCommand::Rate(c) => c.at,
            ConversationCommand::MarkRead(c) => c.at,
            ConversationCommand::CloseForInactivity(c) => c.at,
            ConversationCommand::CloseForRetention(c) => c.at,
            ConversationCommand::RequestCallback(c) => c.at,
            ConversationCommand::ScheduleCallback(c) => c.at,
            ConversationCommand::SettleCallback(c) => c.at,
            ConversationCommand::RaisePriorityForWait(c) => c.at,
            ConversationCommand::RecordSlaBreach(c) => c.at,
            ConversationCommand::AutoAssign(c) => c.at,
            ConversationCommand::Escalate(c) => c.at,
            ConversationCommand::Open(c) => c.at,
            ConversationCommand::Transfer(c) => c.at,
            ConversationCommand::SendAutoReply(c) => c.at,
        }
    }

    /// The stream the command is about.
    pub fn conversation_id(&self) -> Uuid {
        match self {
            ConversationCommand::Start(c) => c.conversation_id,
            ConversationCommand::PostMessage(c) => c.conversation_id,
            ConversationCommand::AddInternalNote(c) => c.conversation_id,
            ConversationCommand::ChangeStatus(c) => c.conversation_id,
            ConversationCommand::SetPriority(c) => c.conversation_id,
            ConversationCommand::Tag(c) => c.conversation_id,
            ConversationCommand::Untag(c) => c.conversation_id,
            ConversationCommand::Assign(c) => c.conversation_id,
            ConversationCommand::Unassign(c) => c.conversation_id,
            ConversationCommand::Rate(c) => c.conversation_id,
            ConversationCommand::MarkRead(c) => c.conversation_id,
            ConversationCommand::CloseForInactivity(c) => c.conversation_id,
            ConversationCommand::CloseForRetention(c) => c.conversation_id,
            ConversationCommand::RequestCallback(c) => c.conversation_id,
            ConversationCommand::ScheduleCallback(c) => c.conversation_id,
            ConversationCommand::SettleCallback(c) => c.conversation_id,
            ConversationCommand::RaisePriorityForWait(c) => c.conversation_id,
            ConversationCommand::RecordSlaBreach(c) => c.conversation_id,
            ConversationCommand::AutoAssign(c) => c.conversation_id,
            ConversationCommand::Escalate(c) => c.conversation_id,
            ConversationCommand::Open(c) => c.conversation_id,
            ConversationCommand::Transfer(c) => c.conversation_id,
            ConversationCommand::SendAutoReply(c) => c.conversation_id,
        }
    }
}

/// The conversation aggregate, for the generic command handler.
pub struct ConversationDecider;

impl Decider for ConversationDecider {
    type State = Conversation;
    type Command = ConversationCommand;
    const STREAM_TYPE: &'static str = STREAM_TYPE;

    fn initial_state() -> Conversation {
        initial_state()
    }

    fn stream_id(command: &ConversationCommand) -> Uuid {
        command.conversation_id()
    }

    fn decide(
        state: &Conversation,
        command: &ConversationCommand,
        actor: &Actor,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        decide(state, command, actor)
    }

    fn evolve(state: Conversation, event: &DomainEvent) -> Conversation {
        evolve(state, event)
    }

    fn data_subject(state: &Conversation, events: &[DomainEvent]) -> Option<Uuid> {
        match state {
            Conversation::Started(started) => Some(started.contact_id),
            Conversation::NotStarted => events.iter().find_map(|e| match e {
                DomainEvent::ConversationStarted(e) => Some(e.contact.id),
                _ => None,
            }),
        }
    }
}

pub fn initial_state() -> Conversation {
    Conversation::NotStarted
}

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
        ConversationCommand::RequestCallback(_) => {
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

/// TIME-1: closed for inactivity, unless a message came since or it is resolved (then
/// retention closes it).
fn close_for_inactivity(
    started: &ConversationState,
    close: &CloseForInactivity,
) -> Result<Vec<DomainEvent>, DomainError> {
    let stale = started.last_message_position != close.last_message_position
        || resolved_or_closed(started.status);
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
    let (min, max) = match rate.scale {
        RatingScale::None => return Err(DomainError::RatingDisabled),
        RatingScale::Csat => (1, 5),
        RatingScale::Nps => (0, 10),
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
            score: rate.score,
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
    if body.is_empty() && attachments.is_empty() {
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

/// The state after `event`. Total: an event the state does not care about leaves it as is.
pub fn evolve(state: Conversation, event: &DomainEvent) -> Conversation {
    let mut started = match (state, event) {
        (_, DomainEvent::ConversationStarted(e)) => {
            return Conversation::Started(ConversationState {
                id: e.conversation_id,
                inbox_id: e.inbox_id,
                contact_id: e.contact.id,
                status: ConversationStatus::Open,
                priority: Priority::default(),
                tags: BTreeSet::new(),
                assignee: None,
                rated: false,
                message_positions: HashMap::new(),
                version: 1,
                operator_read: HashMap::new(),
                contact_read: 0,
                last_message_position: 0,
                pending_callback: None,
                waiting_since_position: None,
                wait_raises: 0,
                branch_id: e.branch_id,
                transferable: e.routing.is_some(),
                queued_since_position: Some(1),
                assignment_position: 0,
                opened: false,
                has_inbound: false,
                has_outbound: false,
                auto_replied: false,
            })
        }
        (Conversation::NotStarted, _) => return Conversation::NotStarted,
        (Conversation::Started(started), _) => started,
    };
    // Every event of the stream passes here once, in order: counting them gives the version.
    started.version += 1;
    match event {
        DomainEvent::ConversationStarted(_) => unreachable!("handled above"),
        DomainEvent::MessagePosted(e) => {
            started
                .message_positions
                .insert(e.message_id, started.version);
            started.last_message_position = started.version;
            match e.sender.kind {
                SenderKind::Contact => {
                    started.has_inbound = true;
                    if started.waiting_since_position.is_none() {
                        started.waiting_since_position = Some(started.version);
                        started.wait_raises = 0;
                    }
                }
                SenderKind::Operator => {
                    started.has_outbound = true;
                    started.waiting_since_position = None;
                }
                SenderKind::System | SenderKind::Bot => {}
            }
        }
        DomainEvent::PriorityRaisedForWait(e) => {
            started.priority = e.to;
            started.wait_raises = e.step;
        }
        DomainEvent::InternalNoteAdded(e) => {
            started.message_positions.insert(e.note_id, started.version);
        }
        DomainEvent::ConversationReadByOperator(e) => {
            started
                .operator_read
                .insert(e.operator_id, e.up_to_position);
        }
        DomainEvent::ConversationReadByContact(e) => started.contact_read = e.up_to_position,
        DomainEvent::CallbackRequested(e) => started.pending_callback = Some((e.callback_id, None)),
        DomainEvent::CallbackScheduled(e) => {
            started.pending_callback = Some((e.callback_id, Some(e.scheduled_for)))
        }
        DomainEvent::CallbackSettled(_) => started.pending_callback = None,
        DomainEvent::ConversationStatusChanged(e) => started.status = e.to,
        DomainEvent::PriorityChanged(e) => started.priority = e.to,
        DomainEvent::ConversationTagged(e) => {
            started.tags.insert(e.tag.clone());
        }
        DomainEvent::ConversationUntagged(e) => {
            started.tags.remove(&e.tag);
        }
        DomainEvent::ConversationAssigned(e) => {
            started.assignee = Some(e.operator_id);
            started.assignment_position = started.version;
            started.opened = false;
            started.queued_since_position = None;
        }
        DomainEvent::ConversationUnassigned(_) => {
            started.assignee = None;
            started.opened = false;
            started.queued_since_position = Some(started.version);
        }
        DomainEvent::ConversationOpened(_) => started.opened = true,
        DomainEvent::ConversationTransferred(e) => started.branch_id = e.to_branch_id,
        DomainEvent::AutoReplySent(e) => {
            // A message to the contact like any other (TIME-1 counts it), but no answer.
            started.auto_replied = true;
            started
                .message_positions
                .insert(e.message_id, started.version);
            started.last_message_position = started.version;
        }
        DomainEvent::ConversationRated(_) => started.rated = true,
        // Other aggregates' events.
        DomainEvent::InboxCreated(_)
        | DomainEvent::InboxSettingsChanged(_)
        | DomainEvent::WidgetTokenRotated(_)
        | DomainEvent::InboxActivated(_)
        | DomainEvent::InboxDeactivated(_)
        | DomainEvent::OperatorRegistered(_)
        | DomainEvent::OperatorProfileChanged(_)
        | DomainEvent::OperatorStatusChanged(_)
        | DomainEvent::WebhookEndpointRegistered(_)
        | DomainEvent::WebhookEndpointChanged(_)
        | DomainEvent::WebhookEndpointDisabled(_)
        | DomainEvent::WebhookEndpointEnabled(_)
        | DomainEvent::WebhookSecretRotated(_)
        | DomainEvent::ContactErased(_)
        // The SLA clock lives in its projection; a breach changes nothing here.
        | DomainEvent::SlaBreached(_) => {}
    }
    Conversation::Started(started)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decider::testing::{decided, given, Given};
    use crate::operator::Role;
    use chrono::TimeZone;

    const CONVERSATION: Uuid = Uuid::from_u128(10);
    const CONTACT: Uuid = Uuid::from_u128(20);

    const ADMIN: Uuid = Uuid::from_u128(77);
    const MODERATOR: Uuid = Uuid::from_u128(88);

    /// Who sends `command` in these tests: the contact writes as the contact; everything else
    /// is an admin's doing.
    fn actor_for(command: &ConversationCommand) -> Actor {
        match command {
            ConversationCommand::Start(_)
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
            InProgress | WaitingForUser | Resolved | Closed => history.push(set(status)),
            PendingCallback => panic!("only a call-back request reaches pending_callback"),
        }
        history
    }

    #[test]
    fn operators_move_the_status_only_along_the_machine() {
        use ConversationStatus::*;
        let reachable = [Open, InProgress, WaitingForUser, Resolved, Closed];
        let allowed = [
            (Open, InProgress),
            (Open, WaitingForUser),
            (Open, Resolved),
            (Open, Closed),
            (InProgress, WaitingForUser),
            (InProgress, Resolved),
            (InProgress, Closed),
            (WaitingForUser, InProgress),
            (WaitingForUser, Resolved),
            (WaitingForUser, Closed),
            (Resolved, Open),
            (Resolved, Closed),
            (Closed, Open),
        ];
        for from in reachable {
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
        let idle = |position| {
            ConversationCommand::CloseForInactivity(CloseForInactivity {
                conversation_id: CONVERSATION,
                last_message_position: position,
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
}

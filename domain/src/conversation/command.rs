//! What may be asked of a conversation: [`ConversationCommand`], one variant per command, each
//! a struct of what the sender says. Commands are imperatives and never stored; the events
//! `decide` answers with are.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::status::ConversationStatus;
use crate::event::{
    AttachmentRef, CallbackOutcome, Channel, Consent, Contact, Priority, Routing, Sender,
    SlaMetric, Source,
};
use crate::inbox::settings::{InactivityRule, RatingScale, SlaTerms};
use crate::values::{MessageBody, Phone, Tag};

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
    pub sla: Option<SlaTerms>,
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
    /// [`MAX_ATTACHMENTS_PER_MESSAGE`](crate::attachment::MAX_ATTACHMENTS_PER_MESSAGE).
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

/// An operator moves the conversation to another status (CONV-2), `pending_callback`
/// included: "we will call you" (seed 000), recorded with trigger `operator`.
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
/// for the inactivity timeout (TIME-1), if its inbox's `rule` lets it close. Stale if a
/// message came since, or if the rule no longer holds: then nothing happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseForInactivity {
    pub conversation_id: Uuid,
    pub last_message_position: i32,
    pub rule: InactivityRule,
    pub at: DateTime<Utc>,
}

/// The contact ends the chat from the widget: it is resolved, as if an operator had resolved
/// it (the rating is asked for next). Nothing happens if it is resolved or closed already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndConversation {
    pub conversation_id: Uuid,
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
    pub metric: SlaMetric,
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
    End(EndConversation),
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
            ConversationCommand::End(c) => c.at,
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
            ConversationCommand::End(c) => c.conversation_id,
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

//! The event catalogue: every fact Switchboard records, its name and its JSON shape.
//!
//! These shapes are contracts with integrators (Kafka, webhooks) and auditors (the log keeps
//! them forever). Each has a snapshot test. Changing an existing shape means a new
//! `schema_version` and an upcaster in [`DomainEvent::decode`], never an edit in place.
//! The one exception is adding an optional field that older events read as its default
//! (`#[serde(default)]`): every reader of the old shape still reads the new one and the old
//! events still mean what they meant, so the version stays.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::conversation::status::ConversationStatus;
use crate::inbox::settings::{InboxSettings, RatingScale, SlaTerms};
use crate::operator::access::{SessionEndReason, SignInFailure, SignInMethod};
use crate::operator::profile::{OperatorProfile, OperatorStatus};
use crate::webhook::types::{DisableReason, WebhookEventType};

// How a global inbox's conversation was routed is decided by the inbox's settings, so it lives
// with them; `ConversationStarted` records it, and these stay its names in the catalogue.
pub use crate::inbox::settings::{RoutedBy, Routing};

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

text_enum! {
    /// How urgent a conversation is (CONV-1, CONV-9); medium unless someone says otherwise.
    #[derive(Default)]
    pub enum Priority {
        Low = "low",
        #[default]
        Medium = "medium",
        High = "high",
        Urgent = "urgent",
    }
}

impl Priority {
    /// One step up; `None` at urgent.
    pub fn raised(self) -> Option<Priority> {
        match self {
            Priority::Low => Some(Priority::Medium),
            Priority::Medium => Some(Priority::High),
            Priority::High => Some(Priority::Urgent),
            Priority::Urgent => None,
        }
    }
}

text_enum! {
    /// Why a conversation's status changed (CONV-2).
    pub enum StatusTrigger {
        /// An operator set it by hand: any move the status machine allows them, marking the
        /// conversation as awaiting a call (`pending_callback`, seed 000) included.
        Operator = "operator",
        /// The first operator reply moved an open conversation into progress.
        OperatorReplied = "operator_replied",
        /// The contact wrote: a resolved or closed conversation reopens, a waiting one resumes.
        ContactWrote = "contact_wrote",
        /// Nobody wrote for the inbox's inactivity timeout (TIME-1).
        Inactivity = "inactivity",
        /// It stayed resolved for the retention period (TIME-2).
        Retention = "retention",
        /// The contact asked for a call-back (CALL-1).
        CallbackRequested = "callback_requested",
        /// The awaited call-back was settled (CALL-2).
        CallbackSettled = "callback_settled",
        /// The contact ended the chat from the widget.
        ContactEnded = "contact_ended",
    }
}

text_enum! {
    /// Why a conversation lost its assignee.
    pub enum UnassignReason {
        /// An operator unassigned it (or reassigned it; see `ConversationAssigned`).
        Operator = "operator",
        /// The contact wrote after resolve or close: back to the Open queue (CONV-2).
        Reopened = "reopened",
        /// It moved to another branch, to be assigned there (OPS-4).
        Transferred = "transferred",
    }
}

text_enum! {
    /// How a conversation got its assignee.
    #[derive(Default)]
    pub enum AssignReason {
        /// An operator assigned it, or took it (OPS-5).
        #[default]
        Manual = "manual",
        /// Auto-assignment gave it to the least-loaded online operator (OPS-2).
        Auto = "auto",
        /// The assignee did not open it in time; it went to the next operator (OPS-3).
        Escalation = "escalation",
        /// It moved to another branch with a chosen operator (OPS-4).
        Transfer = "transfer",
    }
}

text_enum! {
    /// How a call-back ended (CALL-2).
    pub enum CallbackOutcome {
        Completed = "completed",
        NoAnswer = "no_answer",
        Cancelled = "cancelled",
    }
}

/// The contact's consent to the processing of their personal data (CALL-1): which text they
/// agreed to, when, and from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub text_version: String,
    pub given_at: DateTime<Utc>,
    pub ip: Option<String>,
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
    /// The branch that works it: the inbox's, or the routed one (INBOX-2); `None`: head office.
    #[serde(default)]
    pub branch_id: Option<Uuid>,
    /// Present when the inbox is global: how the branch was chosen. Only such conversations
    /// can be transferred to another branch (OPS-4).
    #[serde(default)]
    pub routing: Option<Routing>,
    /// The inbox's SLA policy and working hours at the start (PROJ-3); absent in events
    /// recorded before they were carried (the SLA projection then uses the inbox's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaTerms>,
}

/// A message was added to a conversation's thread.
///
/// Version 2 added `attachments` (CONV-7); a version 1 payload reads as version 2 with none
/// (see [`upcast`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePosted {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub sender: Sender,
    pub channel: Channel,
    /// Empty only when the message carries attachments.
    pub body: String,
    pub posted_at: DateTime<Utc>,
    pub attachments: Vec<AttachmentRef>,
}

/// A file attached to a message (CONV-7): the bytes live in the attachment store, the log
/// keeps what identifies and describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub attachment_id: Uuid,
    /// The file name as uploaded (for the download's `Content-Disposition`).
    pub name: String,
    /// The type read from the file's first bytes, not the one the client claimed.
    pub content_type: String,
    pub size: u64,
    /// SHA-256 of the bytes, hex: an auditor can check a stored file against the log.
    pub sha256: String,
}

/// A conversation moved from one status to another (CONV-2). `resolved_at` and `closed_at`
/// are the `changed_at` of the changes to those statuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationStatusChanged {
    pub conversation_id: Uuid,
    pub from: ConversationStatus,
    pub to: ConversationStatus,
    pub trigger: StatusTrigger,
    pub changed_at: DateTime<Utc>,
}

/// An operator wrote a note only operators see (CONV-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalNoteAdded {
    pub conversation_id: Uuid,
    pub note_id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub added_at: DateTime<Utc>,
}

/// An operator changed the conversation's priority (CONV-1, CONV-9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityChanged {
    pub conversation_id: Uuid,
    pub from: Priority,
    pub to: Priority,
    pub changed_at: DateTime<Utc>,
}

text_enum! {
    /// Which SLA target a breach missed (PROJ-3).
    pub enum SlaMetric {
        FirstResponse = "first_response",
        NextResponse = "next_response",
        Resolution = "resolution",
    }
}

/// A deadline of the conversation's SLA passed with its wait still running (PROJ-3): the
/// scheduler records it when it sees it, once per deadline. `deadline` is the one missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaBreached {
    pub conversation_id: Uuid,
    pub metric: SlaMetric,
    pub deadline: DateTime<Utc>,
    pub detected_at: DateTime<Utc>,
}

/// The contact waited too long for an answer, so the priority went up a step (CONV-9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityRaisedForWait {
    pub conversation_id: Uuid,
    pub from: Priority,
    pub to: Priority,
    /// The position of the contact's oldest unanswered message: which wait this is.
    pub waiting_since_position: i32,
    /// How many raises this wait has caused, this one included.
    pub step: u8,
    pub raised_at: DateTime<Utc>,
}

/// An operator put a tag on the conversation (CONV-9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationTagged {
    pub conversation_id: Uuid,
    pub tag: String,
    pub tagged_at: DateTime<Utc>,
}

/// An operator took a tag off the conversation (CONV-9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationUntagged {
    pub conversation_id: Uuid,
    pub tag: String,
    pub untagged_at: DateTime<Utc>,
}

/// A conversation got an assignee, or another one (OPS-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationAssigned {
    pub conversation_id: Uuid,
    pub operator_id: Uuid,
    /// The assignee it had before, if any.
    pub previous_operator_id: Option<Uuid>,
    pub assigned_at: DateTime<Utc>,
    #[serde(default)]
    pub reason: AssignReason,
}

/// The assignee opened the conversation for the first time since it was assigned to them
/// (OPS-3): escalation no longer applies to this assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationOpened {
    pub conversation_id: Uuid,
    pub operator_id: Uuid,
    pub opened_at: DateTime<Utc>,
}

/// A global inbox's conversation moved to another branch (OPS-4). An assignment or an
/// unassignment follows in the same command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationTransferred {
    pub conversation_id: Uuid,
    pub from_branch_id: Option<Uuid>,
    pub to_branch_id: Option<Uuid>,
    pub transferred_at: DateTime<Utc>,
}

/// The inbox's auto-reply went to the contact, in the assignee's name (INBOX-5). It is not an
/// operator's answer: it moves no status and counts for no response time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoReplySent {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    /// The assignee it is sent as.
    pub operator_id: Uuid,
    pub body: String,
    pub sent_at: DateTime<Utc>,
}

/// An admin registered an operator (OPS-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorRegistered {
    pub operator_id: Uuid,
    pub profile: OperatorProfile,
    pub registered_at: DateTime<Utc>,
}

/// An admin changed an operator's profile (the whole profile, as it now is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorProfileChanged {
    pub operator_id: Uuid,
    pub profile: OperatorProfile,
    pub changed_at: DateTime<Utc>,
}

/// An operator's status changed (OPS-2): only `online` operators get conversations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorStatusChanged {
    pub operator_id: Uuid,
    pub from: OperatorStatus,
    pub to: OperatorStatus,
    pub changed_at: DateTime<Utc>,
}

/// An admin invited an operator to sign in: the e-mail's one-time link names this invitation.
/// A new invitation replaces the one before; it can be accepted until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorInvited {
    pub operator_id: Uuid,
    pub invitation_id: Uuid,
    /// Where the link is sent; also the address they sign in with.
    pub email: String,
    pub expires_at: DateTime<Utc>,
    pub invited_at: DateTime<Utc>,
}

/// The invitee followed the link and set their password (kept outside the log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorInvitationAccepted {
    pub operator_id: Uuid,
    pub invitation_id: Uuid,
    /// The password's generation: the API stores its hash under it.
    pub password_generation: u32,
    pub accepted_at: DateTime<Utc>,
}

/// A session began: the console holds its refresh token. The address is in the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSignedIn {
    pub operator_id: Uuid,
    pub session_id: Uuid,
    pub method: SignInMethod,
    pub signed_in_at: DateTime<Utc>,
}

/// A sign-in was refused. `failures` counts the consecutive wrong passwords so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSignInFailed {
    pub operator_id: Uuid,
    pub reason: SignInFailure,
    pub failures: u32,
    pub failed_at: DateTime<Utc>,
}

/// Too many wrong passwords in a row: no sign-in until `until` (or a password reset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorLockedOut {
    pub operator_id: Uuid,
    pub until: DateTime<Utc>,
    pub locked_at: DateTime<Utc>,
}

/// A session ended; its refresh token no longer works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSignedOut {
    pub operator_id: Uuid,
    pub session_id: Uuid,
    pub reason: SessionEndReason,
    pub signed_out_at: DateTime<Utc>,
}

/// A password-reset link was e-mailed; it names this reset and works until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorPasswordResetRequested {
    pub operator_id: Uuid,
    pub reset_id: Uuid,
    /// Where the link is sent: the profile's address at the time.
    pub email: String,
    pub expires_at: DateTime<Utc>,
    pub requested_at: DateTime<Utc>,
}

/// The operator set a new password from a reset link; any lock is lifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorPasswordReset {
    pub operator_id: Uuid,
    pub reset_id: Uuid,
    /// The new password's generation: the API stores its hash under it.
    pub password_generation: u32,
    pub reset_at: DateTime<Utc>,
}

/// An admin deactivated an operator: no sign-in, every session ended, no new conversations.
/// Its time (like a reset's) is later than every sign-in before it in the stream: sessions
/// signed in before it are over, whatever the clocks of the nodes that decided them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorDeactivated {
    pub operator_id: Uuid,
    pub deactivated_at: DateTime<Utc>,
}

/// An admin let a deactivated operator back in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorReactivated {
    pub operator_id: Uuid,
    pub reactivated_at: DateTime<Utc>,
}

/// Someone tried to sign in with an address no operator has (the stream is the address's:
/// see `switchboard_domain::operator::unknown_email_stream`). The address is in the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInFailedForUnknownEmail {
    pub email: String,
    /// Counted as an operator's would be, so the answer is the same as for a known address.
    pub failures: u32,
    /// The lock this failure brought (as `OperatorLockedOut` does to an account) or, when
    /// `locked`, the one it met.
    pub locked_until: Option<DateTime<Utc>>,
    /// The address was locked already: not counted.
    pub locked: bool,
    pub failed_at: DateTime<Utc>,
}

/// A conversation went back to the unassigned queue (OPS-5, CONV-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationUnassigned {
    pub conversation_id: Uuid,
    /// The assignee it had.
    pub operator_id: Uuid,
    pub reason: UnassignReason,
    pub unassigned_at: DateTime<Utc>,
}

/// An admin created an inbox (INBOX-1). Only the widget token's SHA-256 (hex) is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxCreated {
    pub inbox_id: Uuid,
    /// Set once, never changed; `None` for a global inbox.
    pub branch_id: Option<Uuid>,
    pub settings: InboxSettings,
    pub widget_token_hash: String,
    pub created_at: DateTime<Utc>,
}

/// An admin changed an inbox's settings (the whole set, as it now is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxSettingsChanged {
    pub inbox_id: Uuid,
    pub settings: InboxSettings,
    pub changed_at: DateTime<Utc>,
}

/// An admin replaced the inbox's widget token; the old one stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetTokenRotated {
    pub inbox_id: Uuid,
    pub widget_token_hash: String,
    pub rotated_at: DateTime<Utc>,
}

/// An admin issued a new identity secret for the inbox (SEC-1): the site signs its users'
/// ids with it (`identityHash`), and hashes made with the old one stop verifying. The secret
/// itself never enters the log: it lives in `inbox_identity_secrets`, which the API writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySecretRotated {
    pub inbox_id: Uuid,
    pub rotated_at: DateTime<Utc>,
}

/// An inactive inbox accepts conversations again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxActivated {
    pub inbox_id: Uuid,
    pub activated_at: DateTime<Utc>,
}

/// An inbox stops accepting new conversations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxDeactivated {
    pub inbox_id: Uuid,
    pub deactivated_at: DateTime<Utc>,
}

/// The contact rated the conversation after it was resolved or closed (CONV-8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRated {
    pub conversation_id: Uuid,
    /// `csat` (1–5) or `nps` (0–10), as the inbox asked at the time.
    pub scale: RatingScale,
    pub score: u8,
    pub comment: Option<String>,
    pub rated_at: DateTime<Utc>,
}

/// An operator read the thread up to a position (CONV-5): their last-read marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationReadByOperator {
    pub conversation_id: Uuid,
    pub operator_id: Uuid,
    /// The message they read up to, or `None` for "everything so far".
    pub up_to_message_id: Option<Uuid>,
    /// The stream position that covers.
    pub up_to_position: i32,
    pub read_at: DateTime<Utc>,
}

/// The contact read the messages sent to them up to a position (CONV-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationReadByContact {
    pub conversation_id: Uuid,
    pub up_to_message_id: Option<Uuid>,
    pub up_to_position: i32,
    pub read_at: DateTime<Utc>,
}

/// The contact asked to be called back (CALL-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackRequested {
    pub conversation_id: Uuid,
    pub callback_id: Uuid,
    /// E.164.
    pub phone: String,
    /// When the contact would like the call, if they said.
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    pub consent: Consent,
    pub requested_at: DateTime<Utc>,
}

/// An operator set a time for the call-back (CALL-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackScheduled {
    pub conversation_id: Uuid,
    pub callback_id: Uuid,
    pub scheduled_for: DateTime<Utc>,
    pub scheduled_at: DateTime<Utc>,
}

/// The call-back ended, with the manager's outcome note (CALL-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackSettled {
    pub conversation_id: Uuid,
    pub callback_id: Uuid,
    pub outcome: CallbackOutcome,
    pub note: Option<String>,
    pub settled_at: DateTime<Utc>,
}

/// An admin registered a webhook endpoint for an inbox (PROJ-4). It starts enabled. Its signing
/// secret is not here: secrets live outside the log, so they can be rotated and deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointRegistered {
    pub endpoint_id: Uuid,
    pub inbox_id: Uuid,
    pub url: String,
    pub event_types: Vec<WebhookEventType>,
    pub registered_at: DateTime<Utc>,
}

/// An admin changed a webhook endpoint's URL or event types (the whole set, as it now is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointChanged {
    pub endpoint_id: Uuid,
    pub url: String,
    pub event_types: Vec<WebhookEventType>,
    pub changed_at: DateTime<Utc>,
}

/// A webhook endpoint was switched off, by an admin or because its deliveries kept failing.
/// It gets no new deliveries; its pending ones wait until it is enabled again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointDisabled {
    pub endpoint_id: Uuid,
    pub reason: DisableReason,
    /// In words, e.g. how many deliveries failed in a row.
    pub detail: Option<String>,
    pub disabled_at: DateTime<Utc>,
}

/// An admin switched a webhook endpoint on again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointEnabled {
    pub endpoint_id: Uuid,
    pub enabled_at: DateTime<Utc>,
}

/// An admin replaced a webhook endpoint's signing secret. Only the fact is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSecretRotated {
    pub endpoint_id: Uuid,
    pub rotated_at: DateTime<Utc>,
}

/// A contact was erased (GDPR-2): their key is destroyed, so the personal data sealed with it
/// in earlier events reads as erased from now on, and the projections drop what they hold of
/// it. Recorded on the contact's own stream (`stream_type` "contact", id = the contact's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactErased {
    pub contact_id: Uuid,
    /// The conversations the contact had started when they were erased.
    pub conversation_ids: Vec<Uuid>,
    pub erased_at: DateTime<Utc>,
}

/// Every event Switchboard records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    ConversationStarted(ConversationStarted),
    MessagePosted(MessagePosted),
    ConversationStatusChanged(ConversationStatusChanged),
    InternalNoteAdded(InternalNoteAdded),
    PriorityChanged(PriorityChanged),
    ConversationTagged(ConversationTagged),
    ConversationUntagged(ConversationUntagged),
    ConversationAssigned(ConversationAssigned),
    ConversationUnassigned(ConversationUnassigned),
    InboxCreated(InboxCreated),
    InboxSettingsChanged(InboxSettingsChanged),
    WidgetTokenRotated(WidgetTokenRotated),
    IdentitySecretRotated(IdentitySecretRotated),
    InboxActivated(InboxActivated),
    InboxDeactivated(InboxDeactivated),
    ConversationRated(ConversationRated),
    ConversationReadByOperator(ConversationReadByOperator),
    ConversationReadByContact(ConversationReadByContact),
    CallbackRequested(CallbackRequested),
    CallbackScheduled(CallbackScheduled),
    CallbackSettled(CallbackSettled),
    PriorityRaisedForWait(PriorityRaisedForWait),
    SlaBreached(SlaBreached),
    ConversationOpened(ConversationOpened),
    ConversationTransferred(ConversationTransferred),
    AutoReplySent(AutoReplySent),
    OperatorRegistered(OperatorRegistered),
    OperatorProfileChanged(OperatorProfileChanged),
    OperatorStatusChanged(OperatorStatusChanged),
    OperatorInvited(OperatorInvited),
    OperatorInvitationAccepted(OperatorInvitationAccepted),
    OperatorSignedIn(OperatorSignedIn),
    OperatorSignInFailed(OperatorSignInFailed),
    OperatorLockedOut(OperatorLockedOut),
    OperatorSignedOut(OperatorSignedOut),
    OperatorPasswordResetRequested(OperatorPasswordResetRequested),
    OperatorPasswordReset(OperatorPasswordReset),
    OperatorDeactivated(OperatorDeactivated),
    OperatorReactivated(OperatorReactivated),
    SignInFailedForUnknownEmail(SignInFailedForUnknownEmail),
    WebhookEndpointRegistered(WebhookEndpointRegistered),
    WebhookEndpointChanged(WebhookEndpointChanged),
    WebhookEndpointDisabled(WebhookEndpointDisabled),
    WebhookEndpointEnabled(WebhookEndpointEnabled),
    WebhookSecretRotated(WebhookSecretRotated),
    ContactErased(ContactErased),
}

/// Lists every event type once: its name, its payload struct, and the schema version written.
/// `event_type`, `payload` and `decode` are generated from it, so they cannot disagree.
macro_rules! event_catalogue {
    ($($variant:ident => version $version:literal),+ $(,)?) => {
        impl DomainEvent {
            /// Every event type name, in catalogue order.
            pub const TYPES: &'static [&'static str] = &[$(stringify!($variant)),+];

            /// The name stored in `events.event_type` and sent as part of CloudEvents' `ce_type`.
            pub fn event_type(&self) -> &'static str {
                match self {
                    $(DomainEvent::$variant(_) => stringify!($variant)),+
                }
            }

            /// The version of this type's JSON shape that [`DomainEvent::payload`] writes.
            pub fn schema_version(&self) -> i16 {
                match self {
                    $(DomainEvent::$variant(_) => $version),+
                }
            }

            /// The JSON payload stored in the log.
            pub fn payload(&self) -> serde_json::Value {
                // Serializing plain structs of strings, numbers and uuids cannot fail.
                match self {
                    $(DomainEvent::$variant(e) => serde_json::to_value(e)),+
                }
                .expect("event payloads serialize to JSON")
            }

            /// Reads a stored payload back; older schema versions are first [`upcast`] to the
            /// current one.
            pub fn decode(
                event_type: &str,
                schema_version: i16,
                payload: serde_json::Value,
            ) -> Result<Self, EventDecodeError> {
                // Errors name the version as stored, which is what an auditor finds in the log.
                let (current, payload) = upcast(event_type, schema_version, payload);
                match (event_type, current) {
                    $((stringify!($variant), $version) => {
                        parse(event_type, schema_version, payload).map(DomainEvent::$variant)
                    })+
                    _ => Err(EventDecodeError::UnknownType {
                        event_type: event_type.to_owned(),
                        schema_version,
                    }),
                }
            }
        }
    };
}

event_catalogue! {
    ConversationStarted => version 1,
    MessagePosted => version 2,
    ConversationStatusChanged => version 1,
    InternalNoteAdded => version 1,
    PriorityChanged => version 1,
    ConversationTagged => version 1,
    ConversationUntagged => version 1,
    ConversationAssigned => version 1,
    ConversationUnassigned => version 1,
    InboxCreated => version 1,
    InboxSettingsChanged => version 1,
    WidgetTokenRotated => version 1,
    IdentitySecretRotated => version 1,
    InboxActivated => version 1,
    InboxDeactivated => version 1,
    ConversationRated => version 1,
    ConversationReadByOperator => version 1,
    ConversationReadByContact => version 1,
    CallbackRequested => version 1,
    CallbackScheduled => version 1,
    CallbackSettled => version 1,
    PriorityRaisedForWait => version 1,
    SlaBreached => version 1,
    ConversationOpened => version 1,
    ConversationTransferred => version 1,
    AutoReplySent => version 1,
    OperatorRegistered => version 1,
    OperatorProfileChanged => version 1,
    OperatorStatusChanged => version 1,
    OperatorInvited => version 1,
    OperatorInvitationAccepted => version 1,
    OperatorSignedIn => version 1,
    OperatorSignInFailed => version 1,
    OperatorLockedOut => version 1,
    OperatorSignedOut => version 1,
    OperatorPasswordResetRequested => version 1,
    OperatorPasswordReset => version 1,
    OperatorDeactivated => version 1,
    OperatorReactivated => version 1,
    SignInFailedForUnknownEmail => version 1,
    WebhookEndpointRegistered => version 1,
    WebhookEndpointChanged => version 1,
    WebhookEndpointDisabled => version 1,
    WebhookEndpointEnabled => version 1,
    WebhookSecretRotated => version 1,
    ContactErased => version 1,
}

/// Brings an older payload up to the next version of its type, repeatedly, until it is
/// current; anything else passes through unchanged. Each step is a pure function of the
/// stored JSON, so the log itself never changes.
pub fn upcast(
    event_type: &str,
    schema_version: i16,
    payload: serde_json::Value,
) -> (i16, serde_json::Value) {
    match (event_type, schema_version, payload) {
        // v1 → v2: messages from before attachments have none.
        ("MessagePosted", 1, serde_json::Value::Object(mut fields)) => {
            fields.insert("attachments".into(), serde_json::Value::Array(Vec::new()));
            upcast(event_type, 2, serde_json::Value::Object(fields))
        }
        (_, version, payload) => (version, payload),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::settings::SlaPolicy;
    use crate::operator::role::Role;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 9, 30, 0).unwrap()
    }

    fn inbox_settings() -> InboxSettings {
        InboxSettings::new(
            "Support",
            Some("Hi! How can we help?"),
            Some("#0a84ff"),
            RatingScale::Csat,
        )
        .unwrap()
        .with_messages(
            Some("We are offline, leave a message"),
            Some("We work 9 to 18 on weekdays"),
            Some("Thanks! We will answer in a minute."),
        )
        .unwrap()
        .with_routing(&[("UA-30", Uuid::from_u128(7))], Some(Uuid::from_u128(9)))
        .unwrap()
        .with_assignment(4, 300)
        .unwrap()
        .with_allowed_origins(&["https://shop.example.com", "https://*.example.org"])
        .unwrap()
        .with_working_hours(
            crate::hours::WorkingHours::new(
                "Europe/Kyiv",
                vec![crate::hours::DayHours::new(
                    chrono::Weekday::Mon,
                    vec![crate::hours::Period::parse("09:00", "18:00").unwrap()],
                )
                .unwrap()],
                vec![chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()],
            )
            .unwrap(),
        )
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
                branch_id: Some(Uuid::from_u128(7)),
                routing: Some(Routing {
                    region: Some("UA-30".into()),
                    routed_by: RoutedBy::Rule,
                }),
                sla: Some(SlaTerms {
                    policy: SlaPolicy::new(Some(600), Some(300), None, true).unwrap(),
                    working_hours: crate::hours::WorkingHours::default(),
                }),
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
                attachments: vec![AttachmentRef {
                    attachment_id: Uuid::from_u128(11),
                    name: "receipt.pdf".into(),
                    content_type: "application/pdf".into(),
                    size: 48213,
                    sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                        .into(),
                }],
            }),
            DomainEvent::ConversationStatusChanged(ConversationStatusChanged {
                conversation_id,
                from: ConversationStatus::Open,
                to: ConversationStatus::InProgress,
                trigger: StatusTrigger::OperatorReplied,
                changed_at: at(),
            }),
            DomainEvent::InternalNoteAdded(InternalNoteAdded {
                conversation_id,
                note_id: Uuid::from_u128(5),
                author_id: Uuid::from_u128(6),
                body: "VIP customer, be quick".into(),
                added_at: at(),
            }),
            DomainEvent::PriorityChanged(PriorityChanged {
                conversation_id,
                from: Priority::Medium,
                to: Priority::Urgent,
                changed_at: at(),
            }),
            DomainEvent::ConversationTagged(ConversationTagged {
                conversation_id,
                tag: "billing".into(),
                tagged_at: at(),
            }),
            DomainEvent::ConversationUntagged(ConversationUntagged {
                conversation_id,
                tag: "billing".into(),
                untagged_at: at(),
            }),
            DomainEvent::ConversationAssigned(ConversationAssigned {
                conversation_id,
                operator_id: Uuid::from_u128(6),
                previous_operator_id: None,
                assigned_at: at(),
                reason: AssignReason::Auto,
            }),
            DomainEvent::ConversationUnassigned(ConversationUnassigned {
                conversation_id,
                operator_id: Uuid::from_u128(6),
                reason: UnassignReason::Reopened,
                unassigned_at: at(),
            }),
            DomainEvent::InboxCreated(InboxCreated {
                inbox_id: Uuid::from_u128(2),
                branch_id: Some(Uuid::from_u128(7)),
                settings: inbox_settings(),
                widget_token_hash:
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                created_at: at(),
            }),
            DomainEvent::InboxSettingsChanged(InboxSettingsChanged {
                inbox_id: Uuid::from_u128(2),
                settings: inbox_settings(),
                changed_at: at(),
            }),
            DomainEvent::WidgetTokenRotated(WidgetTokenRotated {
                inbox_id: Uuid::from_u128(2),
                widget_token_hash:
                    "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752".into(),
                rotated_at: at(),
            }),
            DomainEvent::IdentitySecretRotated(IdentitySecretRotated {
                inbox_id: Uuid::from_u128(2),
                rotated_at: at(),
            }),
            DomainEvent::InboxActivated(InboxActivated {
                inbox_id: Uuid::from_u128(2),
                activated_at: at(),
            }),
            DomainEvent::InboxDeactivated(InboxDeactivated {
                inbox_id: Uuid::from_u128(2),
                deactivated_at: at(),
            }),
            DomainEvent::ConversationRated(ConversationRated {
                conversation_id,
                scale: RatingScale::Csat,
                score: 5,
                comment: Some("Quick and kind".into()),
                rated_at: at(),
            }),
            DomainEvent::ConversationReadByOperator(ConversationReadByOperator {
                conversation_id,
                operator_id: Uuid::from_u128(6),
                up_to_message_id: None,
                up_to_position: 7,
                read_at: at(),
            }),
            DomainEvent::ConversationReadByContact(ConversationReadByContact {
                conversation_id,
                up_to_message_id: Some(Uuid::from_u128(4)),
                up_to_position: 2,
                read_at: at(),
            }),
            DomainEvent::CallbackRequested(CallbackRequested {
                conversation_id,
                callback_id: Uuid::from_u128(8),
                phone: "+380441234567".into(),
                window_from: Some(at()),
                window_to: None,
                consent: Consent {
                    text_version: "privacy-2026-01".into(),
                    given_at: at(),
                    ip: Some("203.0.113.9".into()),
                },
                requested_at: at(),
            }),
            DomainEvent::CallbackScheduled(CallbackScheduled {
                conversation_id,
                callback_id: Uuid::from_u128(8),
                scheduled_for: at(),
                scheduled_at: at(),
            }),
            DomainEvent::CallbackSettled(CallbackSettled {
                conversation_id,
                callback_id: Uuid::from_u128(8),
                outcome: CallbackOutcome::Completed,
                note: Some("Delivered tomorrow".into()),
                settled_at: at(),
            }),
            DomainEvent::PriorityRaisedForWait(PriorityRaisedForWait {
                conversation_id,
                from: Priority::Medium,
                to: Priority::High,
                waiting_since_position: 2,
                step: 1,
                raised_at: at(),
            }),
            DomainEvent::SlaBreached(SlaBreached {
                conversation_id,
                metric: SlaMetric::FirstResponse,
                deadline: at(),
                detected_at: at(),
            }),
            DomainEvent::ConversationOpened(ConversationOpened {
                conversation_id,
                operator_id: Uuid::from_u128(6),
                opened_at: at(),
            }),
            DomainEvent::ConversationTransferred(ConversationTransferred {
                conversation_id,
                from_branch_id: Some(Uuid::from_u128(7)),
                to_branch_id: Some(Uuid::from_u128(9)),
                transferred_at: at(),
            }),
            DomainEvent::AutoReplySent(AutoReplySent {
                conversation_id,
                message_id: Uuid::from_u128(10),
                operator_id: Uuid::from_u128(6),
                body: "Thanks! Olena will answer in a minute.".into(),
                sent_at: at(),
            }),
            DomainEvent::OperatorRegistered(OperatorRegistered {
                operator_id: Uuid::from_u128(6),
                profile: operator_profile(),
                registered_at: at(),
            }),
            DomainEvent::OperatorProfileChanged(OperatorProfileChanged {
                operator_id: Uuid::from_u128(6),
                profile: operator_profile(),
                changed_at: at(),
            }),
            DomainEvent::OperatorStatusChanged(OperatorStatusChanged {
                operator_id: Uuid::from_u128(6),
                from: OperatorStatus::Offline,
                to: OperatorStatus::Online,
                changed_at: at(),
            }),
            DomainEvent::OperatorInvited(OperatorInvited {
                operator_id: Uuid::from_u128(6),
                invitation_id: Uuid::from_u128(20),
                email: "olena@example.com".into(),
                expires_at: at() + chrono::Duration::days(7),
                invited_at: at(),
            }),
            DomainEvent::OperatorInvitationAccepted(OperatorInvitationAccepted {
                operator_id: Uuid::from_u128(6),
                invitation_id: Uuid::from_u128(20),
                password_generation: 1,
                accepted_at: at(),
            }),
            DomainEvent::OperatorSignedIn(OperatorSignedIn {
                operator_id: Uuid::from_u128(6),
                session_id: Uuid::from_u128(21),
                method: SignInMethod::Password,
                signed_in_at: at(),
            }),
            DomainEvent::OperatorSignInFailed(OperatorSignInFailed {
                operator_id: Uuid::from_u128(6),
                reason: SignInFailure::WrongPassword,
                failures: 2,
                failed_at: at(),
            }),
            DomainEvent::OperatorLockedOut(OperatorLockedOut {
                operator_id: Uuid::from_u128(6),
                until: at() + chrono::Duration::minutes(15),
                locked_at: at(),
            }),
            DomainEvent::OperatorSignedOut(OperatorSignedOut {
                operator_id: Uuid::from_u128(6),
                session_id: Uuid::from_u128(21),
                reason: SessionEndReason::SignedOut,
                signed_out_at: at(),
            }),
            DomainEvent::OperatorPasswordResetRequested(OperatorPasswordResetRequested {
                operator_id: Uuid::from_u128(6),
                reset_id: Uuid::from_u128(22),
                email: "olena@example.com".into(),
                expires_at: at() + chrono::Duration::hours(1),
                requested_at: at(),
            }),
            DomainEvent::OperatorPasswordReset(OperatorPasswordReset {
                operator_id: Uuid::from_u128(6),
                reset_id: Uuid::from_u128(22),
                password_generation: 2,
                reset_at: at(),
            }),
            DomainEvent::OperatorDeactivated(OperatorDeactivated {
                operator_id: Uuid::from_u128(6),
                deactivated_at: at(),
            }),
            DomainEvent::OperatorReactivated(OperatorReactivated {
                operator_id: Uuid::from_u128(6),
                reactivated_at: at(),
            }),
            DomainEvent::SignInFailedForUnknownEmail(SignInFailedForUnknownEmail {
                email: "nobody@example.com".into(),
                failures: 5,
                locked_until: Some(at() + chrono::Duration::minutes(15)),
                locked: false,
                failed_at: at(),
            }),
            DomainEvent::WebhookEndpointRegistered(WebhookEndpointRegistered {
                endpoint_id: Uuid::from_u128(12),
                inbox_id: Uuid::from_u128(2),
                url: "https://crm.example.com/hooks".into(),
                event_types: vec![
                    WebhookEventType::ConversationCreated,
                    WebhookEventType::MessageIn,
                ],
                registered_at: at(),
            }),
            DomainEvent::WebhookEndpointChanged(WebhookEndpointChanged {
                endpoint_id: Uuid::from_u128(12),
                url: "https://crm.example.com/hooks/v2".into(),
                event_types: vec![WebhookEventType::ConversationClosed],
                changed_at: at(),
            }),
            DomainEvent::WebhookEndpointDisabled(WebhookEndpointDisabled {
                endpoint_id: Uuid::from_u128(12),
                reason: DisableReason::Failing,
                detail: Some("5 deliveries in a row were dead-lettered".into()),
                disabled_at: at(),
            }),
            DomainEvent::WebhookEndpointEnabled(WebhookEndpointEnabled {
                endpoint_id: Uuid::from_u128(12),
                enabled_at: at(),
            }),
            DomainEvent::WebhookSecretRotated(WebhookSecretRotated {
                endpoint_id: Uuid::from_u128(12),
                rotated_at: at(),
            }),
            DomainEvent::ContactErased(ContactErased {
                contact_id: Uuid::from_u128(3),
                conversation_ids: vec![conversation_id],
                erased_at: at(),
            }),
        ]
    }

    fn operator_profile() -> OperatorProfile {
        OperatorProfile::new(
            "Olena",
            &[Role::Moderator],
            Some(Uuid::from_u128(7)),
            Some(4),
        )
        .unwrap()
    }

    /// The first upcaster: a MessagePosted written as version 1 reads as version 2.
    #[test]
    fn message_posted_v1_reads_as_v2_without_attachments() {
        let v1 = serde_json::json!({
            "conversation_id": "00000000-0000-0000-0000-000000000001",
            "message_id": "00000000-0000-0000-0000-000000000004",
            "sender": {"kind": "contact", "id": "00000000-0000-0000-0000-000000000003"},
            "channel": "web",
            "body": "Where is my order?",
            "posted_at": "2026-11-25T09:30:00Z"
        });
        let DomainEvent::MessagePosted(message) =
            DomainEvent::decode("MessagePosted", 1, v1).unwrap()
        else {
            panic!("decoded as another type")
        };
        assert_eq!(message.body, "Where is my order?");
        assert_eq!(message.attachments, []);
        // A v2 payload without the field is malformed, not silently upcast.
        let bad = serde_json::json!({
            "conversation_id": "00000000-0000-0000-0000-000000000001",
            "message_id": "00000000-0000-0000-0000-000000000004",
            "sender": {"kind": "contact", "id": null},
            "channel": "web", "body": "x", "posted_at": "2026-11-25T09:30:00Z"
        });
        assert!(matches!(
            DomainEvent::decode("MessagePosted", 2, bad),
            Err(EventDecodeError::BadPayload { .. })
        ));
    }

    /// Fields added later with a default (see the module docs) read as that default from
    /// events written before them.
    #[test]
    fn events_written_before_added_fields_still_decode() {
        let started = DomainEvent::decode(
            "ConversationStarted",
            1,
            serde_json::json!({
                "conversation_id": "00000000-0000-0000-0000-000000000001",
                "inbox_id": "00000000-0000-0000-0000-000000000002",
                "source": "web",
                "contact": {"id": "00000000-0000-0000-0000-000000000003",
                            "name": null, "email": null, "phone": null},
                "subject": null,
                "started_at": "2026-11-25T09:30:00Z"
            }),
        )
        .unwrap();
        let DomainEvent::ConversationStarted(started) = started else {
            panic!("decoded as another type")
        };
        assert_eq!((started.branch_id, started.routing), (None, None));
        let assigned = DomainEvent::decode(
            "ConversationAssigned",
            1,
            serde_json::json!({
                "conversation_id": "00000000-0000-0000-0000-000000000001",
                "operator_id": "00000000-0000-0000-0000-000000000006",
                "previous_operator_id": null,
                "assigned_at": "2026-11-25T09:30:00Z"
            }),
        )
        .unwrap();
        let DomainEvent::ConversationAssigned(assigned) = assigned else {
            panic!("decoded as another type")
        };
        assert_eq!(assigned.reason, AssignReason::Manual);
    }

    #[test]
    fn event_json_contract() {
        for event in every_event() {
            let name = format!("{}_v{}", event.event_type(), event.schema_version());
            insta::assert_json_snapshot!(name, event.payload());
        }
    }

    #[test]
    fn the_contract_tests_cover_every_event_type() {
        let covered: Vec<_> = every_event().iter().map(DomainEvent::event_type).collect();
        assert_eq!(covered, DomainEvent::TYPES);
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
        check(Priority::ALL, Priority::as_str);
        check(StatusTrigger::ALL, StatusTrigger::as_str);
        check(UnassignReason::ALL, UnassignReason::as_str);
        check(AssignReason::ALL, AssignReason::as_str);
        check(RoutedBy::ALL, RoutedBy::as_str);
        check(OperatorStatus::ALL, OperatorStatus::as_str);
        check(CallbackOutcome::ALL, CallbackOutcome::as_str);
        check(RatingScale::ALL, RatingScale::as_str);
        check(Role::ALL, Role::as_str);
        check(ConversationStatus::ALL, ConversationStatus::as_str);
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
            DomainEvent::decode("MessagePosted", 2, serde_json::json!({"body": 1})).unwrap_err();
        assert!(matches!(bad, EventDecodeError::BadPayload { .. }));
    }
}

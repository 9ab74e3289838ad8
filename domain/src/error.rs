//! Why a decider refused a command: [`DomainError`], the one error type of every aggregate.
//!
//! One enum for all deciders because the command handler (`switchboard_commands`) is generic
//! over the `Decider` trait and the API maps each variant to one stable error code
//! (`api/src/error.rs`). A refusal changes nothing: no event was recorded, so the caller
//! may fix what the variant names and send the command again.

use thiserror::Error;
use uuid::Uuid;

use crate::conversation::status::ConversationStatus;
use crate::inbox::settings::RatingScale;

/// A command that the aggregate's current state, or the actor's rights, do not allow. Each
/// variant is something the caller can act on; none of them changed anything.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    // Conversations (CONV, OPS, CALL).
    /// There is no conversation with this id (it was never started): start it first, or check
    /// the id.
    #[error("conversation {0} does not exist")]
    ConversationNotFound(Uuid),
    /// A conversation with this id was already started: post to it instead.
    #[error("conversation {0} already exists")]
    ConversationAlreadyExists(Uuid),
    /// A contact tried to write into (or read, or rate) a conversation that is not theirs.
    #[error("contact {contact_id} is not the contact of conversation {conversation_id}")]
    NotTheContact {
        conversation_id: Uuid,
        contact_id: Uuid,
    },
    /// Contact messages must name the contact; operator messages (and operator actors) the
    /// operator.
    #[error("a {kind} message must carry its sender's id")]
    MissingSenderId { kind: &'static str },
    /// The conversation already has a message or note with this id: ids are unique within a
    /// conversation, so a new message needs a new id.
    #[error("conversation {conversation_id} already has a message {message_id}")]
    DuplicateMessageId {
        conversation_id: Uuid,
        message_id: Uuid,
    },
    /// The status machine (CONV-2) does not allow this move by hand; see
    /// [`operator_may_set`](crate::conversation::status_machine::operator_may_set).
    #[error("a conversation cannot go from {} to {} by hand", from.as_str(), to.as_str())]
    IllegalTransition {
        from: ConversationStatus,
        to: ConversationStatus,
    },
    /// Operators cannot write to, assign or transfer a closed conversation; reopen it first.
    /// (The texts of these variants are what API clients read.)
    #[error("conversation {0} is closed; reopen it to reply")]
    ConversationClosed(Uuid),
    /// A moderator acted on a conversation that is not assigned to them (OPS-1): it has to be
    /// assigned to them first.
    #[error("conversation {conversation_id} is not assigned to you")]
    NotAssignee {
        conversation_id: Uuid,
        operator_id: Uuid,
    },
    /// The actor's kind or roles do not allow this (analysts, auditors, contacts on operators'
    /// commands; non-admins on inboxes, operators and webhooks; anyone but the scheduler on
    /// its commands). Its text says who may ("only an admin") or who may not ("a contact").
    #[error("{0} may not do this")]
    NotPermitted(&'static str),
    /// The inbox does not ask for ratings (its scale is `none`).
    #[error("this inbox does not take ratings")]
    RatingDisabled,
    /// Ratings come after the conversation is resolved or closed (CONV-8): rate it later.
    #[error("a conversation can be rated once it is resolved or closed, not while {}", .0.as_str())]
    RatingTooEarly(ConversationStatus),
    /// The conversation was already rated; a rating is given once.
    #[error("conversation {0} was already rated")]
    AlreadyRated(Uuid),
    /// The score is outside the scale (CSAT 1–5, NPS 0–10).
    #[error("a score on this scale is {min}–{max}, not {score}")]
    ScoreOutOfRange {
        scale: RatingScale,
        score: i64,
        min: u8,
        max: u8,
    },
    /// The conversation has no message with this id (a read marker names an unknown message).
    #[error("the conversation has no message {message_id}")]
    MessageNotFound {
        conversation_id: Uuid,
        message_id: Uuid,
    },
    /// A call-back is already awaited in this conversation (CALL-1): settle it first.
    #[error("a call-back ({0}) is already awaited in this conversation")]
    CallbackAlreadyPending(Uuid),
    /// No call-back with this id is awaited in this conversation (CALL-2): it was settled, or
    /// the id is wrong.
    #[error("no call-back {0} is awaited in this conversation")]
    NoSuchCallback(Uuid),
    /// The preferred call-back window ends before it starts.
    #[error("the call-back window ends before it starts")]
    InvalidCallbackWindow,
    /// The operator works another branch than the conversation's (OPS-2): pick an operator of
    /// that branch or of head office, or transfer the conversation first.
    #[error("operator {operator_id} does not work this conversation's branch; transfer it first")]
    OutsideBranch { operator_id: Uuid },
    /// A message needs a text or at least one attachment (CONV-7).
    #[error("a message needs a text or an attachment")]
    EmptyMessage,
    /// More attachments than one message may carry: split them over several messages.
    #[error("a message carries at most {max} attachments, not {count}")]
    TooManyAttachments { count: usize, max: usize },
    /// Only conversations of a global inbox move between branches (OPS-4).
    #[error("conversation {0} belongs to a branch inbox and cannot be transferred")]
    NotTransferable(Uuid),

    // Inboxes (INBOX).
    /// There is no inbox with this id: create it first, or check the id.
    #[error("inbox {0} does not exist")]
    InboxNotFound(Uuid),
    /// An inbox with this id was already created: change its settings instead.
    #[error("inbox {0} already exists")]
    InboxAlreadyExists(Uuid),

    // Operators (OPS).
    /// There is no operator with this id (never registered): register them first.
    #[error("operator {0} is not registered; an admin registers operators first")]
    OperatorNotFound(Uuid),
    /// An operator with this id was already registered: change their profile instead.
    #[error("operator {0} is already registered")]
    OperatorAlreadyExists(Uuid),
    /// The operator was deactivated by an admin: reactivate them first.
    #[error("operator {0} is deactivated")]
    OperatorDeactivated(Uuid),
    /// The operator already set a password: they sign in, or reset it if forgotten.
    #[error("operator {0} has already signed up; they can reset a forgotten password")]
    OperatorAlreadySignedUp(Uuid),
    /// An invitation goes to an e-mail address: give the profile one.
    #[error("an invitation needs the operator's e-mail address")]
    InvitationNeedsEmail,
    /// The invitation link was used, replaced by a newer one, or has expired: ask an admin to
    /// invite again.
    #[error("this invitation link is no longer valid; ask an admin for a new one")]
    InvitationInvalid,
    /// The reset link was used, replaced, or has expired: ask for a new one.
    #[error("this password-reset link is no longer valid; ask for a new one")]
    ResetLinkInvalid,

    // Webhook endpoints (PROJ-4).
    /// There is no webhook endpoint with this id: register it first, or check the id.
    #[error("webhook endpoint {0} does not exist")]
    WebhookEndpointNotFound(Uuid),
    /// A webhook endpoint with this id was already registered: change it instead.
    #[error("webhook endpoint {0} already exists")]
    WebhookEndpointAlreadyExists(Uuid),
}

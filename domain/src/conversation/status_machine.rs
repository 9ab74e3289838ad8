//! The status machine of CONV-2, in one place: which moves an operator may make by hand
//! ([`operator_may_set`]), and where a message takes a conversation ([`after_message`]). The
//! decider asks these and nothing else; the properties test checks every recorded change
//! against them.

use super::status::ConversationStatus;
use crate::event::{SenderKind, StatusTrigger};

/// May an operator move a conversation from `from` to `to` by hand? (`from == to` is handled
/// by the caller as "nothing to do".)
///
/// `pending_callback` means "we will call you" (seed 000's `/callback <id>`): a contact's
/// call-back request enters it, and so may an operator, from a conversation still being
/// worked (open, in progress, waiting for the user); a resolved or closed one is reopened
/// first. The operator's move needs no call-back request: the number to call may be the
/// contact's own, or given in the chat, and the status only says that a call is owed. It is
/// left as any status is, by hand, or by settling the request if there is one.
pub fn operator_may_set(from: ConversationStatus, to: ConversationStatus) -> bool {
    use ConversationStatus::*;
    match to {
        Open => matches!(from, Resolved | Closed),
        InProgress => matches!(from, Open | WaitingForUser | PendingCallback),
        WaitingForUser => matches!(from, Open | InProgress),
        Resolved => matches!(from, Open | InProgress | WaitingForUser | PendingCallback),
        Closed => from != Closed,
        PendingCallback => matches!(from, Open | InProgress | WaitingForUser),
    }
}

/// May the contact end the chat (the widget's "end chat")? Any conversation still under way:
/// it becomes resolved. One already resolved or closed has nothing to end.
pub fn contact_may_end(status: ConversationStatus) -> bool {
    use ConversationStatus::*;
    !matches!(status, Resolved | Closed)
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

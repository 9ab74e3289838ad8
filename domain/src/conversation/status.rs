//! A conversation's status (SPEC CONV-2): the values `ConversationStatusChanged` carries.
//!
//! A leaf: events carry the status, so this file imports no events and no decider. Which moves
//! between statuses are allowed is the decider's business (`operator_may_set`,
//! `after_message`).

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

//! What the conversation decider knows about a conversation: what `evolve.rs` folds its
//! events into, and what `decide.rs` decides on.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::status::ConversationStatus;
use crate::event::Priority;

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

/// A conversation before its first event: not started.
pub fn initial_state() -> Conversation {
    Conversation::NotStarted
}

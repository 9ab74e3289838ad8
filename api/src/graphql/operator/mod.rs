//! The operator UI's part of the schema, one file for each thing it serves:
//!
//! - [`inbox`]: the inbox list, its tabs, filters and search, and unread counts.
//! - [`replies`]: one conversation's thread: the conversation, replies and internal notes.
//! - [`status`]: status and priority, assignment and transfer, opened and read, tags.
//! - [`callbacks`]: call-back requests and how they ended.
//! - [`outreach`]: a conversation the operator starts with a known contact.
//! - [`subscriptions`]: the inbox list and the unread counters, live; [`live_list`] works
//!   out what a live inbox list is told: rows in, rows out, every tab's count.
//!
//! `command` turns an operator's request into a conversation command for the mutations. A
//! thread's live messages, which the visitor follows too, are in [`super::thread`].

use async_graphql::MergedObject;

pub mod callbacks;
mod command;
pub mod inbox;
pub mod live_list;
pub mod outreach;
pub mod replies;
pub mod status;
pub mod subscriptions;

pub use subscriptions::OperatorSubscription;

// The order of the parts is the order of their fields in the SDL, which integrators hold us
// to: keep it.
#[derive(MergedObject, Default)]
pub struct OperatorQuery(
    inbox::InboxListQuery,
    callbacks::CallbackQuery,
    replies::ConversationQuery,
);

#[derive(MergedObject, Default)]
pub struct OperatorMutation(
    replies::ReplyMutation,
    status::StatusMutation,
    callbacks::CallbackMutation,
    status::TagMutation,
    outreach::OutreachMutation,
);

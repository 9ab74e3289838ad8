//! [`evolve`]: how each event changes what the decider knows about a conversation.

use std::collections::{BTreeSet, HashMap};

use super::state::{Conversation, ConversationState};
use super::status::ConversationStatus;
use crate::event::{DomainEvent, Priority, SenderKind};

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
        | DomainEvent::IdentitySecretRotated(_)
        | DomainEvent::InboxActivated(_)
        | DomainEvent::InboxDeactivated(_)
        | DomainEvent::OperatorRegistered(_)
        | DomainEvent::OperatorProfileChanged(_)
        | DomainEvent::OperatorStatusChanged(_)
        | DomainEvent::OperatorInvited(_)
        | DomainEvent::OperatorInvitationAccepted(_)
        | DomainEvent::OperatorSignedIn(_)
        | DomainEvent::OperatorSignInFailed(_)
        | DomainEvent::OperatorLockedOut(_)
        | DomainEvent::OperatorSignedOut(_)
        | DomainEvent::OperatorPasswordResetRequested(_)
        | DomainEvent::OperatorPasswordReset(_)
        | DomainEvent::OperatorDeactivated(_)
        | DomainEvent::OperatorReactivated(_)
        | DomainEvent::SignInFailedForUnknownEmail(_)
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

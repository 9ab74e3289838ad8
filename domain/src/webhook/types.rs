//! The values webhook endpoint events carry (SPEC PROJ-4): the webhook event types an endpoint
//! subscribes to, which are the names integrators see, and why an endpoint was switched off.
//!
//! A leaf: the endpoint events carry these values, so this file imports no events and no
//! decider.

text_enum! {
    /// What an endpoint can subscribe to. The names are the wire contract (`event` in the body
    /// and the `X-Messenger-Event` header); the first four are the seed's.
    pub enum WebhookEventType {
        /// A conversation was started (`ConversationStarted`).
        ConversationCreated = "conversation.created",
        /// A conversation was closed (a `ConversationStatusChanged` to `closed`).
        ConversationClosed = "conversation.closed",
        /// The contact wrote (`MessagePosted` by the contact).
        MessageIn = "message.in",
        /// An operator, a bot or the system wrote to the contact (`MessagePosted`), or the
        /// inbox's auto-reply went out (`AutoReplySent`). Internal notes never are sent.
        MessageOut = "message.out",
        /// Any status change (`ConversationStatusChanged`).
        ConversationStatusChanged = "conversation.status_changed",
        /// The conversation got an assignee, or another one (`ConversationAssigned`).
        ConversationAssigned = "conversation.assigned",
        /// The contact rated the conversation (`ConversationRated`).
        ConversationRated = "conversation.rated",
        /// The contact asked to be called back (`CallbackRequested`).
        CallbackRequested = "callback.requested",
        /// An SLA deadline passed with the wait still running (`SlaBreached`, PROJ-3).
        SlaBreached = "conversation.sla_breached",
    }
}

text_enum! {
    /// Why an endpoint was switched off.
    pub enum DisableReason {
        /// An admin switched it off.
        Manual = "manual",
        /// Its deliveries kept failing (see the delivery worker's disabling rule).
        Failing = "failing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_agree_with_serde() {
        for &t in WebhookEventType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
            assert_eq!(WebhookEventType::parse(t.as_str()), Some(t));
        }
        for &r in DisableReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}

//! AUD-4: a conversation as it stood at a past instant, folded from the log alone.
//!
//! "At an instant" means what the log had recorded by then: every event of the stream with
//! `recorded_at <= at`, in stream order. The fold is written here, independently of the
//! projections, so that comparing the two is a real check (the tests do, step by step).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgPool;
use switchboard_commands::log::EventFilter;
use switchboard_domain::conversation::ConversationStatus;
use switchboard_domain::event::{AttachmentRef, CallbackOutcome, Priority, SenderKind};
use switchboard_domain::{DomainEvent, EventDecodeError};
use thiserror::Error;
use uuid::Uuid;

#[derive(Debug, Error)]
pub enum StateError {
    #[error("reading the log failed: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("the log holds an event this build cannot read: {0}")]
    Unreadable(#[from] EventDecodeError),
}

/// The conversation at `as_of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationAt {
    pub conversation_id: Uuid,
    pub as_of: DateTime<Utc>,
    /// The stream version the fold stopped at: how many of its events had been recorded.
    pub version: i32,
    pub inbox_id: Uuid,
    pub branch_id: Option<Uuid>,
    pub source: String,
    pub started_at: DateTime<Utc>,
    pub contact: ContactAt,
    pub subject: Option<String>,
    pub status: ConversationStatus,
    pub priority: Priority,
    pub tags: BTreeSet<String>,
    pub assignee_id: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Times it went from resolved or closed back to open.
    pub reopen_count: u32,
    /// Messages, auto-replies and internal notes, in thread order.
    pub messages: Vec<MessageAt>,
    pub rating: Option<RatingAt>,
    pub callbacks: Vec<CallbackAt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactAt {
    pub id: Uuid,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageAt {
    pub id: Uuid,
    /// The stream version that recorded it.
    pub position: i32,
    pub sender_kind: SenderKind,
    pub sender_id: Option<Uuid>,
    pub body: String,
    pub internal: bool,
    pub auto_reply: bool,
    pub attachments: Vec<AttachmentRef>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RatingAt {
    pub scale: String,
    pub score: u8,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackAt {
    pub id: Uuid,
    pub phone: String,
    pub scheduled_for: Option<DateTime<Utc>>,
    /// `None` while it is awaited.
    pub outcome: Option<CallbackOutcome>,
}

/// The conversation as the log had it at `at`; `None` if it had not started by then.
pub async fn conversation_at(
    pool: &PgPool,
    conversation_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<ConversationAt>, StateError> {
    let filter = EventFilter {
        streams: Some(vec![conversation_id]),
        // PostgreSQL keeps microseconds: "before the next microsecond" is "at or before".
        recorded_before: Some(at + Duration::microseconds(1)),
        ..EventFilter::default()
    };
    let mut state: Option<ConversationAt> = None;
    crate::export::for_each_event(pool, &filter, |logged| {
        let e = logged.event;
        let event = DomainEvent::decode(&e.event_type, e.schema_version, e.payload)?;
        state = fold(state.take(), &event, e.stream_version, at);
        Ok::<_, StateError>(())
    })
    .await?;
    Ok(state)
}

/// One step of the fold. Pure; events before the start, or of other aggregates, change
/// nothing.
pub fn fold(
    state: Option<ConversationAt>,
    event: &DomainEvent,
    version: i32,
    as_of: DateTime<Utc>,
) -> Option<ConversationAt> {
    let mut c = match (state, event) {
        (None, DomainEvent::ConversationStarted(e)) => {
            return Some(ConversationAt {
                conversation_id: e.conversation_id,
                as_of,
                version,
                inbox_id: e.inbox_id,
                branch_id: e.branch_id,
                source: e.source.as_str().to_owned(),
                started_at: e.started_at,
                contact: ContactAt {
                    id: e.contact.id,
                    name: e.contact.name.clone(),
                    email: e.contact.email.clone(),
                    phone: e.contact.phone.clone(),
                },
                subject: e.subject.clone(),
                status: ConversationStatus::Open,
                priority: Priority::default(),
                tags: BTreeSet::new(),
                assignee_id: None,
                resolved_at: None,
                closed_at: None,
                reopen_count: 0,
                messages: Vec::new(),
                rating: None,
                callbacks: Vec::new(),
            })
        }
        (None, _) => return None,
        (Some(c), _) => c,
    };
    c.version = version;
    match event {
        DomainEvent::MessagePosted(e) => c.messages.push(MessageAt {
            id: e.message_id,
            position: version,
            sender_kind: e.sender.kind,
            sender_id: e.sender.id,
            body: e.body.clone(),
            internal: false,
            auto_reply: false,
            attachments: e.attachments.clone(),
            at: e.posted_at,
        }),
        DomainEvent::AutoReplySent(e) => c.messages.push(MessageAt {
            id: e.message_id,
            position: version,
            sender_kind: SenderKind::Operator,
            sender_id: Some(e.operator_id),
            body: e.body.clone(),
            internal: false,
            auto_reply: true,
            attachments: Vec::new(),
            at: e.sent_at,
        }),
        DomainEvent::InternalNoteAdded(e) => c.messages.push(MessageAt {
            id: e.note_id,
            position: version,
            sender_kind: SenderKind::Operator,
            sender_id: Some(e.author_id),
            body: e.body.clone(),
            internal: true,
            auto_reply: false,
            attachments: Vec::new(),
            at: e.added_at,
        }),
        DomainEvent::ConversationStatusChanged(e) => {
            use ConversationStatus::{Closed, Open, Resolved};
            c.status = e.to;
            match e.to {
                Resolved => c.resolved_at = Some(e.changed_at),
                Closed => c.closed_at = Some(e.changed_at),
                _ => {}
            }
            if e.to == Open && matches!(e.from, Resolved | Closed) {
                c.reopen_count += 1;
            }
        }
        DomainEvent::PriorityChanged(e) => c.priority = e.to,
        DomainEvent::PriorityRaisedForWait(e) => c.priority = e.to,
        DomainEvent::ConversationTagged(e) => {
            c.tags.insert(e.tag.clone());
        }
        DomainEvent::ConversationUntagged(e) => {
            c.tags.remove(&e.tag);
        }
        DomainEvent::ConversationAssigned(e) => c.assignee_id = Some(e.operator_id),
        DomainEvent::ConversationUnassigned(_) => c.assignee_id = None,
        DomainEvent::ConversationTransferred(e) => c.branch_id = e.to_branch_id,
        DomainEvent::ConversationRated(e) => {
            c.rating = Some(RatingAt {
                scale: e.scale.as_str().to_owned(),
                score: e.score,
                comment: e.comment.clone(),
            })
        }
        DomainEvent::CallbackRequested(e) => c.callbacks.push(CallbackAt {
            id: e.callback_id,
            phone: e.phone.clone(),
            scheduled_for: None,
            outcome: None,
        }),
        DomainEvent::CallbackScheduled(e) => {
            if let Some(cb) = c.callbacks.iter_mut().find(|cb| cb.id == e.callback_id) {
                cb.scheduled_for = Some(e.scheduled_for);
            }
        }
        DomainEvent::CallbackSettled(e) => {
            if let Some(cb) = c.callbacks.iter_mut().find(|cb| cb.id == e.callback_id) {
                cb.outcome = Some(e.outcome);
            }
        }
        _ => {}
    }
    Some(c)
}

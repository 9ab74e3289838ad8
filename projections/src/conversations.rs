//! The conversations projection: the inbox list (PROJ-1: contact, last message, last activity)
//! and each conversation's thread (PROJ-5), in tables `inbox_conversations` and
//! `thread_messages`. [`read`] holds the queries the API runs against them.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use switchboard_domain::contact::ERASED;
use switchboard_domain::conversation::ConversationStatus;
use switchboard_domain::envelope::RecordedEvent;
use switchboard_domain::event::{
    AutoReplySent, Channel, ContactErased, ConversationStarted, ConversationStatusChanged,
    InternalNoteAdded, MessagePosted, Sender, SenderKind,
};
use switchboard_domain::DomainEvent;

use crate::{Applied, Change, LogReader, Projection, ProjectionError};

pub struct ConversationsProjection;

/// Other aggregates' event types, which [`ConversationsProjection`] ignores (the last arm of
/// its `apply`).
pub(crate) const IGNORED: &[&str] = &[
    "InboxCreated",
    "InboxSettingsChanged",
    "WidgetTokenRotated",
    "IdentitySecretRotated",
    "InboxActivated",
    "InboxDeactivated",
    "OperatorRegistered",
    "OperatorProfileChanged",
    "OperatorStatusChanged",
    "WebhookEndpointRegistered",
    "WebhookEndpointChanged",
    "WebhookEndpointDisabled",
    "WebhookEndpointEnabled",
    "WebhookSecretRotated",
    "SlaBreached",
];

impl Projection for ConversationsProjection {
    fn name(&self) -> &'static str {
        "conversations"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "inbox_conversations",
            "thread_messages",
            "operator_read_markers",
            "callbacks",
        ]
    }

    fn handles(&self, event_type: &str) -> bool {
        !IGNORED.contains(&event_type)
    }

    async fn apply(
        &self,
        tx: &mut PgConnection,
        _log: &dyn LogReader,
        event: &RecordedEvent,
    ) -> Result<Applied, ProjectionError> {
        let decoded = DomainEvent::decode(
            &event.event_type,
            event.schema_version,
            event.payload.clone(),
        );
        match decoded {
            Ok(DomainEvent::ConversationStarted(e)) => started(tx, &e).await.map(Applied::Changed),
            Ok(DomainEvent::MessagePosted(e)) => posted(tx, &e, event.stream_version)
                .await
                .map(Applied::Changed),
            Ok(DomainEvent::InternalNoteAdded(e)) => note_added(tx, &e, event.stream_version)
                .await
                .map(Applied::Changed),
            Ok(DomainEvent::ConversationStatusChanged(e)) => {
                status_changed(tx, &e).await.map(Applied::Changed)
            }
            Ok(DomainEvent::PriorityChanged(e)) => {
                let query = sqlx::query(
                    "update inbox_conversations set priority = $2 where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.to.as_str());
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::ConversationTagged(e)) => {
                let query = sqlx::query(
                    "update inbox_conversations
                     set tags = array(select distinct unnest(tags || $2::text) order by 1)
                     where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(&e.tag);
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::ConversationUntagged(e)) => {
                let query = sqlx::query(
                    "update inbox_conversations set tags = array_remove(tags, $2)
                     where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(&e.tag);
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::ConversationAssigned(e)) => {
                let query = sqlx::query(
                    "update inbox_conversations
                     set assignee_id = $2, assigned_at = $3, assignment_position = $4,
                         opened_at = null, queued_since_position = null, queued_at = null
                     where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.operator_id)
                .bind(e.assigned_at)
                .bind(event.stream_version);
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::ConversationUnassigned(e)) => {
                let query = sqlx::query(
                    "update inbox_conversations
                     set assignee_id = null, assigned_at = null, assignment_position = null,
                         opened_at = null, queued_since_position = $2, queued_at = $3
                     where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(event.stream_version)
                .bind(e.unassigned_at);
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::ConversationOpened(e)) => {
                let query = sqlx::query(
                    "update inbox_conversations set opened_at = coalesce(opened_at, $2)
                     where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.opened_at);
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::ConversationTransferred(e)) => {
                let query = sqlx::query(
                    "update inbox_conversations set branch_id = $2 where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.to_branch_id);
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::AutoReplySent(e)) => auto_reply_sent(tx, &e, event.stream_version)
                .await
                .map(Applied::Changed),
            Ok(DomainEvent::ConversationRated(e)) => {
                let query = sqlx::query(
                    "update inbox_conversations
                     set rating_scale = $2, rating_score = $3, rating_comment = $4, rated_at = $5
                     where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.scale.as_str())
                .bind(i16::from(e.score))
                .bind(&e.comment)
                .bind(e.rated_at);
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::ConversationReadByContact(e)) => {
                // The contact reads what was sent to them: operator, system and bot messages.
                // (The count reads no `read_at`: it is the same before or after the marking.)
                let query = sqlx::query(
                    "with marked as (
                         update thread_messages set read_at = coalesce(read_at, $3)
                         where conversation_id = $1 and stream_version <= $2
                           and sender_kind <> $4 and not internal
                     )
                     update inbox_conversations
                     set contact_read_position = greatest(contact_read_position, $2),
                         contact_unread = (
                             select count(*) from thread_messages m
                             where m.conversation_id = $1 and m.sender_kind <> $4
                               and not m.internal
                               and m.stream_version > greatest(contact_read_position, $2))
                     where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.up_to_position)
                .bind(e.read_at)
                .bind(SenderKind::Contact.as_str());
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::ConversationReadByOperator(e)) => {
                // The operator's marker moves on; PROJ-2: what they have not read yet is what
                // the contact wrote since. An operator reading marks the contact's messages
                // read (the count reads no `read_at`).
                let query = sqlx::query(
                    "with marked as (
                         update thread_messages set read_at = coalesce(read_at, $4)
                         where conversation_id = $1 and stream_version <= $3
                           and sender_kind = $5
                     )
                     insert into operator_read_markers
                        (conversation_id, operator_id, position, read_at, unread)
                     values ($1, $2, $3, $4,
                             (select count(*) from thread_messages m
                              where m.conversation_id = $1 and m.sender_kind = $5
                                and m.stream_version > $3))
                     on conflict (conversation_id, operator_id) do update
                     set position = greatest(operator_read_markers.position, excluded.position),
                         read_at = excluded.read_at,
                         unread = (select count(*) from thread_messages m
                                   where m.conversation_id = $1 and m.sender_kind = $5
                                     and m.stream_version > greatest(
                                         operator_read_markers.position, excluded.position))",
                )
                .bind(e.conversation_id)
                .bind(e.operator_id)
                .bind(e.up_to_position)
                .bind(e.read_at)
                .bind(SenderKind::Contact.as_str());
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::CallbackRequested(e)) => {
                let query = sqlx::query(
                    "insert into callbacks
                        (callback_id, conversation_id, phone, window_from, window_to,
                         consent_text_version, consent_given_at, consent_ip, status, requested_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, 'requested', $9)
                     on conflict (callback_id) do nothing",
                )
                .bind(e.callback_id)
                .bind(e.conversation_id)
                .bind(&e.phone)
                .bind(e.window_from)
                .bind(e.window_to)
                .bind(&e.consent.text_version)
                .bind(e.consent.given_at)
                .bind(&e.consent.ip)
                .bind(e.requested_at);
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::CallbackScheduled(e)) => {
                let query = sqlx::query(
                    "update callbacks set status = 'scheduled', scheduled_for = $2
                     where callback_id = $1",
                )
                .bind(e.callback_id)
                .bind(e.scheduled_for);
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::CallbackSettled(e)) => {
                let query = sqlx::query(
                    "update callbacks set status = $2, outcome_note = $3, settled_at = $4
                     where callback_id = $1",
                )
                .bind(e.callback_id)
                .bind(e.outcome.as_str())
                .bind(&e.note)
                .bind(e.settled_at);
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::PriorityRaisedForWait(e)) => {
                let query = sqlx::query(
                    "update inbox_conversations set priority = $2, wait_raises = $3
                     where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.to.as_str())
                .bind(i16::from(e.step));
                updated(tx, query, e.conversation_id).await
            }
            Ok(DomainEvent::ContactErased(e)) => contact_erased(tx, &e).await,
            // Other aggregates' events.
            Ok(
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
                | DomainEvent::SlaBreached(_),
            ) => Ok(Applied::Ignored),
            Err(err) => Ok(Applied::Unreadable(err.to_string())),
        }
    }
}

/// GDPR-2: what the contact told and wrote reads as erased, exactly as a rebuild from the
/// log (whose sealed values now read as erased) would leave it: set values become
/// [`ERASED`], absent ones stay absent. The text-search columns are generated from these, so
/// they follow.
async fn contact_erased(
    tx: &mut PgConnection,
    e: &ContactErased,
) -> Result<Applied, ProjectionError> {
    sqlx::query(
        "update inbox_conversations
         set contact_name = case when contact_name is null then null else $2 end,
             contact_email = case when contact_email is null then null else $2 end,
             contact_phone = case when contact_phone is null then null else $2 end,
             subject = case when subject is null then null else $2 end,
             rating_comment = case when rating_comment is null then null else $2 end,
             last_message_body = case when last_message_sender = 'contact' then $2
                                      else last_message_body end
         where conversation_id = any($1) or contact_id = $3",
    )
    .bind(&e.conversation_ids)
    .bind(ERASED)
    .bind(e.contact_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update thread_messages
         set body = $2,
             attachments = coalesce(
                 (select jsonb_agg(case when a ? 'name' then jsonb_set(a, '{name}', to_jsonb($2::text))
                                        else a end order by i)
                  from jsonb_array_elements(attachments) with ordinality as t(a, i)),
                 '[]'::jsonb)
         where sender_kind = 'contact'
           and (conversation_id = any($1)
                or conversation_id in (select conversation_id from inbox_conversations
                                       where contact_id = $3))",
    )
    .bind(&e.conversation_ids)
    .bind(ERASED)
    .bind(e.contact_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update callbacks
         set phone = $2, consent_ip = case when consent_ip is null then null else $2 end
         where conversation_id = any($1)
            or conversation_id in (select conversation_id from inbox_conversations
                                   where contact_id = $3)",
    )
    .bind(&e.conversation_ids)
    .bind(ERASED)
    .bind(e.contact_id)
    .execute(&mut *tx)
    .await?;
    Ok(match e.conversation_ids.first() {
        Some(&conversation_id) => Applied::Changed(Change::ConversationUpdated { conversation_id }),
        None => Applied::Ignored,
    })
}

/// Runs an update of one conversation's inbox row and announces it.
async fn updated(
    tx: &mut PgConnection,
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    conversation_id: uuid::Uuid,
) -> Result<Applied, ProjectionError> {
    query.execute(&mut *tx).await?;
    Ok(Applied::Changed(Change::ConversationUpdated {
        conversation_id,
    }))
}

async fn status_changed(
    tx: &mut PgConnection,
    e: &ConversationStatusChanged,
) -> Result<Change, ProjectionError> {
    use switchboard_domain::conversation::ConversationStatus::{Closed, Open, Resolved};
    sqlx::query(
        "update inbox_conversations
         set status = $2,
             resolved_at = case when $2 = $4 then $3 else resolved_at end,
             closed_at = case when $2 = $5 then $3 else closed_at end,
             reopen_count = reopen_count + case when $6 then 1 else 0 end
         where conversation_id = $1",
    )
    .bind(e.conversation_id)
    .bind(e.to.as_str())
    .bind(e.changed_at)
    .bind(Resolved.as_str())
    .bind(Closed.as_str())
    .bind(e.to == Open && matches!(e.from, Resolved | Closed))
    .execute(&mut *tx)
    .await?;
    Ok(Change::ConversationUpdated {
        conversation_id: e.conversation_id,
    })
}

async fn note_added(
    tx: &mut PgConnection,
    e: &InternalNoteAdded,
    stream_version: i32,
) -> Result<Change, ProjectionError> {
    sqlx::query(
        "insert into thread_messages
            (message_id, conversation_id, stream_version, sender_kind, sender_id, channel, body,
             posted_at, internal)
         values ($1, $2, $3, $4, $5, $6, $7, $8, true)",
    )
    .bind(e.note_id)
    .bind(e.conversation_id)
    .bind(stream_version)
    .bind(SenderKind::Operator.as_str())
    .bind(e.author_id)
    .bind(Channel::Api.as_str())
    .bind(&e.body)
    .bind(e.added_at)
    .execute(&mut *tx)
    .await?;
    Ok(Change::MessagePosted {
        conversation_id: e.conversation_id,
        message_id: e.note_id,
        stream_version,
        internal: true,
    })
}

async fn started(
    tx: &mut PgConnection,
    e: &ConversationStarted,
) -> Result<Change, ProjectionError> {
    sqlx::query(
        "insert into inbox_conversations
            (conversation_id, inbox_id, source, status, subject, contact_id, contact_name,
             contact_email, contact_phone, started_at, last_activity_at, branch_id,
             transferable, queued_since_position, queued_at)
         values ($1, $2, $3, $10, $4, $5, $6, $7, $8, $9, $9, $11, $12, 1, $9)
         on conflict (conversation_id) do nothing",
    )
    .bind(e.conversation_id)
    .bind(e.inbox_id)
    .bind(e.source.as_str())
    .bind(&e.subject)
    .bind(e.contact.id)
    .bind(&e.contact.name)
    .bind(&e.contact.email)
    .bind(&e.contact.phone)
    .bind(e.started_at)
    .bind(ConversationStatus::Open.as_str())
    .bind(e.branch_id)
    .bind(e.routing.is_some())
    .execute(&mut *tx)
    .await?;
    Ok(Change::ConversationStarted {
        conversation_id: e.conversation_id,
    })
}

/// What a message does to the contact's wait for an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// The contact's oldest unanswered message starts a wait.
    Starts,
    /// An operator's answer ends it.
    Ends,
    Unchanged,
}

/// A message joins the thread and becomes the inbox row's last message, in one statement.
/// `auto_reply` marks the inbox's automatic answer (INBOX-5).
async fn add_to_thread(
    tx: &mut PgConnection,
    e: &MessagePosted,
    stream_version: i32,
    auto_reply: bool,
    wait: Wait,
) -> Result<(), ProjectionError> {
    // One statement: its parts see the same rows and touch different ones (each
    // `inbox_conversations` expression reads only columns no other sets), so it does what
    // running them one after another would.
    sqlx::query(
        "with message as (
             insert into thread_messages
                 (message_id, conversation_id, stream_version, sender_kind, sender_id, channel,
                  body, posted_at, attachments, auto_reply)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ),
         -- PROJ-2: a contact's message is unread for every operator who has read the
         -- conversation before (the others count all of `inbound_count`).
         markers as (
             update operator_read_markers set unread = unread + 1
             where $11 and conversation_id = $2 and position < $3
         )
         update inbox_conversations
         set last_message_id = $1, last_message_body = $7, last_message_sender = $4,
             last_activity_at = greatest(last_activity_at, $8),
             message_count = message_count + 1,
             auto_replied = auto_replied or $10,
             inbound_count = inbound_count + case when $11 then 1 else 0 end,
             contact_unread = contact_unread + case when $11 then 0 else 1 end,
             has_inbound = has_inbound or $12,
             has_outbound = has_outbound or $13,
             wait_raises = case when $12 and waiting_since is null then 0
                                when $13 then 0
                                else wait_raises end,
             waiting_since = case when $12 then coalesce(waiting_since, $8)
                                  when $13 then null
                                  else waiting_since end,
             waiting_since_position = case when $12 then coalesce(waiting_since_position, $3)
                                           when $13 then null
                                           else waiting_since_position end
         where conversation_id = $2",
    )
    .bind(e.message_id)
    .bind(e.conversation_id)
    .bind(stream_version)
    .bind(e.sender.kind.as_str())
    .bind(e.sender.id)
    .bind(e.channel.as_str())
    .bind(&e.body)
    .bind(e.posted_at)
    .bind(sqlx::types::Json(&e.attachments))
    .bind(auto_reply)
    .bind(e.sender.kind == SenderKind::Contact)
    .bind(wait == Wait::Starts)
    .bind(wait == Wait::Ends)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn posted(
    tx: &mut PgConnection,
    e: &MessagePosted,
    stream_version: i32,
) -> Result<Change, ProjectionError> {
    let wait = match e.sender.kind {
        SenderKind::Contact => Wait::Starts,
        SenderKind::Operator => Wait::Ends,
        SenderKind::System | SenderKind::Bot => Wait::Unchanged,
    };
    add_to_thread(tx, e, stream_version, false, wait).await?;
    Ok(Change::MessagePosted {
        conversation_id: e.conversation_id,
        message_id: e.message_id,
        stream_version,
        internal: false,
    })
}

/// INBOX-5: the auto-reply joins the thread as the assignee's message, marked as automatic;
/// it is the last message the inbox shows but answers no wait.
async fn auto_reply_sent(
    tx: &mut PgConnection,
    e: &AutoReplySent,
    stream_version: i32,
) -> Result<Change, ProjectionError> {
    let message = MessagePosted {
        conversation_id: e.conversation_id,
        message_id: e.message_id,
        sender: Sender {
            kind: SenderKind::Operator,
            id: Some(e.operator_id),
        },
        channel: Channel::Web,
        body: e.body.clone(),
        posted_at: e.sent_at,
        attachments: Vec::new(),
    };
    add_to_thread(tx, &message, stream_version, true, Wait::Unchanged).await?;
    Ok(Change::MessagePosted {
        conversation_id: e.conversation_id,
        message_id: e.message_id,
        stream_version,
        internal: false,
    })
}

/// Queries over the conversations projection's tables.
pub mod read {
    use super::*;
    use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
    use switchboard_domain::event::{Priority, Source};
    use uuid::Uuid;

    /// One row of the inbox list.
    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct InboxRow {
        pub conversation_id: Uuid,
        pub inbox_id: Uuid,
        pub source: String,
        pub status: String,
        pub subject: Option<String>,
        pub contact_id: Uuid,
        pub contact_name: Option<String>,
        pub contact_email: Option<String>,
        pub contact_phone: Option<String>,
        pub started_at: DateTime<Utc>,
        pub last_message_id: Option<Uuid>,
        pub last_message_body: Option<String>,
        pub last_message_sender: Option<String>,
        pub last_activity_at: DateTime<Utc>,
        pub message_count: i32,
        pub priority: String,
        pub tags: Vec<String>,
        pub resolved_at: Option<DateTime<Utc>>,
        pub closed_at: Option<DateTime<Utc>>,
        pub reopen_count: i32,
        pub assignee_id: Option<Uuid>,
        pub rating_scale: Option<String>,
        pub rating_score: Option<i16>,
        pub rating_comment: Option<String>,
        pub rated_at: Option<DateTime<Utc>>,
        pub branch_id: Option<Uuid>,
        pub transferable: bool,
        pub assigned_at: Option<DateTime<Utc>>,
        pub opened_at: Option<DateTime<Utc>>,
        /// The contact's messages in all (PROJ-2).
        pub inbound_count: i32,
        /// Messages sent to the contact since their last-read marker (PROJ-2).
        pub contact_unread: i32,
    }

    /// One message of a thread.
    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct MessageRow {
        pub message_id: Uuid,
        pub conversation_id: Uuid,
        pub stream_version: i32,
        pub sender_kind: String,
        pub sender_id: Option<Uuid>,
        pub channel: String,
        pub body: String,
        pub posted_at: DateTime<Utc>,
        /// An operator's internal note (CONV-4): never shown to the contact.
        pub internal: bool,
        /// When the other side first read it (CONV-5).
        pub read_at: Option<DateTime<Utc>>,
        /// The inbox's auto-reply, sent in the assignee's name (INBOX-5).
        pub auto_reply: bool,
        /// Files attached to it (CONV-7).
        pub attachments: sqlx::types::Json<Vec<switchboard_domain::event::AttachmentRef>>,
    }

    /// Who reads a thread: the contact never sees internal notes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Audience {
        Operators,
        Contact,
    }

    /// Where an inbox page starts: after this row in (last activity desc, id desc) order.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct InboxCursor {
        pub last_activity_at: DateTime<Utc>,
        pub conversation_id: Uuid,
    }

    const INBOX_COLUMNS: &str = "c.conversation_id, c.inbox_id, c.source, c.status, c.subject, \
        c.contact_id, c.contact_name, c.contact_email, c.contact_phone, c.started_at, \
        c.last_message_id, c.last_message_body, c.last_message_sender, c.last_activity_at, \
        c.message_count, c.priority, c.tags, c.resolved_at, c.closed_at, c.reopen_count, \
        c.assignee_id, c.rating_scale, c.rating_score, c.rating_comment, c.rated_at, c.branch_id, \
        c.transferable, c.assigned_at, c.opened_at, c.inbound_count, c.contact_unread";

    /// The inbox's tabs (PROJ-1).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum InboxTab {
        /// Everything the viewer may see.
        All,
        /// Assigned to the viewer.
        Mine,
        /// The unassigned queue: nobody's, not closed.
        Open,
        Closed,
    }

    /// Which conversations an inbox list shows (PROJ-1). Every filter that is not empty must
    /// hold; within one filter any of the values will do (tags: all of them).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct InboxFilter {
        pub statuses: Vec<ConversationStatus>,
        pub priorities: Vec<Priority>,
        pub inbox_ids: Vec<Uuid>,
        /// Branches; `None` stands for head office.
        pub branches: Vec<Option<Uuid>>,
        pub assignee_ids: Vec<Uuid>,
        pub sources: Vec<Source>,
        /// Conversations that carry every one of these tags.
        pub tags: Vec<String>,
        pub search: Option<SearchText>,
    }

    /// A search over the contact's name, e-mail and phone and the thread's text (PROJ-1): the
    /// words of what the operator typed, each matched as a word prefix somewhere in the
    /// conversation (the contact's details or any message), all of them required; a word of
    /// three or more digits also matches anywhere in the contact's phone number. Text that
    /// looks like a phone number (digits, spaces, `+ - ( ) .` only) also matches by all its
    /// digits together.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SearchText {
        /// `to_tsquery` expressions built only from letters and digits: `word:*`.
        words: Vec<String>,
        /// For each word: itself when it is three or more digits, else empty.
        word_digits: Vec<String>,
        /// The digits of a phone-like text (three or more), or empty.
        digits: String,
    }

    impl SearchText {
        /// The longest search text accepted, in characters.
        pub const MAX_CHARS: usize = 200;
        /// Words beyond this many are ignored.
        const MAX_WORDS: usize = 8;

        /// `None` when `text` has no letters or digits to search for.
        pub fn parse(text: &str) -> Option<Self> {
            let raw: Vec<&str> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .take(Self::MAX_WORDS)
                .collect();
            if raw.is_empty() {
                return None;
            }
            let numeric = |w: &str| w.len() >= 3 && w.chars().all(|c| c.is_ascii_digit());
            let phone_like = text
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            Some(Self {
                words: raw
                    .iter()
                    .map(|w| format!("{}:*", w.to_lowercase()))
                    .collect(),
                word_digits: raw
                    .iter()
                    .map(|w| {
                        if numeric(w) {
                            w.to_string()
                        } else {
                            String::new()
                        }
                    })
                    .collect(),
                digits: if phone_like && digits.len() >= 3 {
                    digits
                } else {
                    String::new()
                },
            })
        }

        /// The query texts handed to `to_tsquery`, one per word.
        pub fn words(&self) -> &[String] {
            &self.words
        }

        /// The digits of a phone-like search, matched within phone numbers; empty otherwise.
        pub fn phone_digits(&self) -> &str {
            &self.digits
        }
    }

    /// Which inbox rows to list, for whom.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct InboxQuery {
        pub tab: InboxTab,
        pub viewer: Uuid,
        /// Moderators see only what is assigned to them (OPS-1).
        pub assigned_only: bool,
        pub filter: InboxFilter,
    }

    /// An inbox row with what is unread in it for the viewer (PROJ-2).
    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct InboxEntry {
        #[sqlx(flatten)]
        pub row: InboxRow,
        /// The contact's messages since the viewer's last-read marker (all of them if they
        /// never read the conversation).
        pub viewer_unread: i32,
    }

    /// The select of an inbox list for `query`, up to its `where` conditions.
    fn inbox_select(query: &InboxQuery) -> QueryBuilder<'_, Postgres> {
        let mut sql = QueryBuilder::new(format!("select {INBOX_COLUMNS}, {VIEWER_UNREAD}"));
        push_from(&mut sql, query.viewer);
        push_scope(&mut sql, query);
        push_tab(&mut sql, query.tab, query.viewer);
        push_filter(&mut sql, &query.filter);
        sql
    }

    /// [`InboxEntry::viewer_unread`], from the viewer's read marker `r`.
    const VIEWER_UNREAD: &str = "coalesce(r.unread, c.inbound_count) as viewer_unread";

    /// ` from … where true`: the inbox rows, each with `viewer`'s read marker.
    fn push_from(sql: &mut QueryBuilder<'_, Postgres>, viewer: Uuid) {
        sql.push(
            " from inbox_conversations c
             left join operator_read_markers r
               on r.conversation_id = c.conversation_id and r.operator_id = ",
        )
        .push_bind(viewer)
        .push(" where true");
    }

    /// ` and …`: the conversations the viewer may see at all (OPS-1).
    fn push_scope(sql: &mut QueryBuilder<'_, Postgres>, query: &InboxQuery) {
        if query.assigned_only {
            sql.push(" and c.assignee_id = ").push_bind(query.viewer);
        }
    }

    /// ` and …`: the conversations of one tab.
    fn push_tab(sql: &mut QueryBuilder<'_, Postgres>, tab: InboxTab, viewer: Uuid) {
        match tab {
            InboxTab::All => {}
            InboxTab::Mine => {
                sql.push(" and c.assignee_id = ").push_bind(viewer);
            }
            InboxTab::Open => {
                sql.push(" and c.assignee_id is null and c.status <> ")
                    .push_bind(ConversationStatus::Closed.as_str());
            }
            InboxTab::Closed => {
                sql.push(" and c.status = ")
                    .push_bind(ConversationStatus::Closed.as_str());
            }
        }
    }

    /// ` and …`: the conversations `f` lets through.
    fn push_filter<'a>(sql: &mut QueryBuilder<'a, Postgres>, f: &'a InboxFilter) {
        if !f.statuses.is_empty() {
            let statuses: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
            sql.push(" and c.status = any(")
                .push_bind(statuses)
                .push(")");
        }
        if !f.priorities.is_empty() {
            let priorities: Vec<&str> = f.priorities.iter().map(|p| p.as_str()).collect();
            sql.push(" and c.priority = any(")
                .push_bind(priorities)
                .push(")");
        }
        if !f.inbox_ids.is_empty() {
            sql.push(" and c.inbox_id = any(")
                .push_bind(&f.inbox_ids)
                .push(")");
        }
        if !f.branches.is_empty() {
            let ids: Vec<Uuid> = f.branches.iter().flatten().copied().collect();
            let head_office = f.branches.contains(&None);
            sql.push(" and (c.branch_id = any(").push_bind(ids);
            sql.push(") or (").push_bind(head_office);
            sql.push(" and c.branch_id is null))");
        }
        if !f.assignee_ids.is_empty() {
            sql.push(" and c.assignee_id = any(")
                .push_bind(&f.assignee_ids)
                .push(")");
        }
        if !f.sources.is_empty() {
            let sources: Vec<&str> = f.sources.iter().map(|s| s.as_str()).collect();
            sql.push(" and c.source = any(")
                .push_bind(sources)
                .push(")");
        }
        if !f.tags.is_empty() {
            sql.push(" and c.tags @> ").push_bind(&f.tags);
        }
        if let Some(search) = &f.search {
            // Under each configuration the word is normalised as the vectors were.
            let tsquery = |sql: &mut QueryBuilder<'_, Postgres>, word: &String| {
                sql.push("(to_tsquery('simple', ")
                    .push_bind(word.clone())
                    .push(") || to_tsquery('russian', ")
                    .push_bind(word.clone())
                    .push(") || to_tsquery('english', ")
                    .push_bind(word.clone())
                    .push("))");
            };
            sql.push(" and ((true");
            for (word, digits) in search.words.iter().zip(&search.word_digits) {
                sql.push(" and (c.contact_search @@ ");
                tsquery(sql, word);
                sql.push(
                    " or exists (select 1 from thread_messages m
                                 where m.conversation_id = c.conversation_id and m.search @@ ",
                );
                tsquery(sql, word);
                sql.push(")");
                if !digits.is_empty() {
                    sql.push(" or strpos(c.contact_phone_digits, ")
                        .push_bind(digits.clone())
                        .push(") > 0");
                }
                sql.push(")");
            }
            sql.push(")");
            if !search.digits.is_empty() {
                sql.push(" or strpos(c.contact_phone_digits, ")
                    .push_bind(search.digits.clone())
                    .push(") > 0");
            }
            sql.push(")");
        }
    }

    /// Up to `limit` conversations, most recently active first, after `after`.
    pub async fn inbox_page(
        pool: &PgPool,
        query: &InboxQuery,
        after: Option<InboxCursor>,
        limit: i64,
    ) -> Result<Vec<InboxEntry>, sqlx::Error> {
        let mut sql = inbox_select(query);
        if let Some(after) = after {
            sql.push(" and (c.last_activity_at, c.conversation_id) < (")
                .push_bind(after.last_activity_at)
                .push(", ")
                .push_bind(after.conversation_id)
                .push(")");
        }
        sql.push(" order by c.last_activity_at desc, c.conversation_id desc limit ")
            .push_bind(limit);
        sql.build_query_as().fetch_all(pool).await
    }

    /// One conversation, if `query` lists it: what a live inbox pushes after a change.
    pub async fn inbox_entry(
        pool: &PgPool,
        query: &InboxQuery,
        conversation_id: Uuid,
    ) -> Result<Option<InboxEntry>, sqlx::Error> {
        let mut sql = inbox_select(query);
        sql.push(" and c.conversation_id = ")
            .push_bind(conversation_id);
        sql.build_query_as().fetch_optional(pool).await
    }

    /// Where a conversation stands for an inbox list: shown in it, or within the viewer's scope
    /// but not in this list. (A conversation outside the scope has no standing at all.)
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum InboxStanding {
        Listed(Box<InboxEntry>),
        InScopeOnly,
    }

    #[derive(FromRow)]
    struct StandingRow {
        #[sqlx(flatten)]
        entry: InboxEntry,
        listed: bool,
    }

    /// How each of `conversation_ids` stands for `query`'s list; the ids missing from the
    /// answer are outside the viewer's scope (or unknown). One statement, whatever the number
    /// of ids: what a live inbox reads after a burst of changes.
    pub async fn inbox_standings(
        pool: &PgPool,
        query: &InboxQuery,
        conversation_ids: &[Uuid],
    ) -> Result<Vec<(Uuid, InboxStanding)>, sqlx::Error> {
        // `is true`: a condition on a null column (no assignee, say) is null, not false.
        let mut sql = QueryBuilder::new(format!("select {INBOX_COLUMNS}, {VIEWER_UNREAD}, ((true"));
        push_tab(&mut sql, query.tab, query.viewer);
        push_filter(&mut sql, &query.filter);
        sql.push(") is true) as listed");
        push_from(&mut sql, query.viewer);
        push_scope(&mut sql, query);
        sql.push(" and c.conversation_id = any(")
            .push_bind(conversation_ids)
            .push(")");
        let rows: Vec<StandingRow> = sql.build_query_as().fetch_all(pool).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let id = row.entry.row.conversation_id;
                let standing = if row.listed {
                    InboxStanding::Listed(Box::new(row.entry))
                } else {
                    InboxStanding::InScopeOnly
                };
                (id, standing)
            })
            .collect())
    }

    /// How many conversations each tab lists (PROJ-1).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromRow)]
    pub struct InboxCounts {
        pub mine: i64,
        pub open: i64,
        pub closed: i64,
        pub all: i64,
    }

    /// The number of conversations of every tab, for `query`'s viewer and filter (its tab
    /// does not matter): the lists' own conditions, counted in one pass over the viewer's
    /// scope. For a moderator that is the assignee index's entries of their own; for an admin
    /// or a manager, whatever the filter narrows it to (the inbox, status or assignee index),
    /// else the whole table.
    pub async fn inbox_counts(
        pool: &PgPool,
        query: &InboxQuery,
    ) -> Result<InboxCounts, sqlx::Error> {
        let mut sql = QueryBuilder::new("select");
        for (tab, column) in [
            (InboxTab::Mine, "mine"),
            (InboxTab::Open, "open"),
            (InboxTab::Closed, "closed"),
            (InboxTab::All, "all"),
        ] {
            if tab != InboxTab::Mine {
                sql.push(",");
            }
            sql.push(" count(*) filter (where true");
            push_tab(&mut sql, tab, query.viewer);
            sql.push(format!(") as \"{column}\""));
        }
        sql.push(" from inbox_conversations c where true");
        push_scope(&mut sql, query);
        push_filter(&mut sql, &query.filter);
        sql.build_query_as().fetch_one(pool).await
    }

    /// The conversations assigned to `operator`, whatever their status: all a moderator's
    /// inbox lists can show (OPS-1).
    pub async fn assigned_to(pool: &PgPool, operator: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
        sqlx::query_scalar("select conversation_id from inbox_conversations where assignee_id = $1")
            .bind(operator)
            .fetch_all(pool)
            .await
    }

    /// What `operator` has not read (PROJ-2): per conversation assigned to them and not
    /// closed, the contact's messages since their last-read marker; only conversations with
    /// something unread, most recently active first.
    pub async fn unread_of_assignee(
        pool: &PgPool,
        operator: Uuid,
    ) -> Result<Vec<(Uuid, i32)>, sqlx::Error> {
        sqlx::query_as(
            "select c.conversation_id, coalesce(r.unread, c.inbound_count)
             from inbox_conversations c
             left join operator_read_markers r
               on r.conversation_id = c.conversation_id and r.operator_id = $1
             where c.assignee_id = $1 and c.status <> $2
               and coalesce(r.unread, c.inbound_count) > 0
             order by c.last_activity_at desc, c.conversation_id desc",
        )
        .bind(operator)
        .bind(ConversationStatus::Closed.as_str())
        .fetch_all(pool)
        .await
    }

    /// Whose unread count of one conversation is asked for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum UnreadScope {
        /// Whatever the conversation's assignee or status.
        Any,
        /// 0 unless it is assigned to the operator and not closed: one entry of
        /// [`unread_of_assignee`], the badge.
        Badge,
    }

    /// The contact's messages in `conversation_id` that `operator` has not read (PROJ-2),
    /// within `scope`; 0 for a conversation the projection does not have.
    pub async fn unread_for_operator(
        pool: &PgPool,
        operator: Uuid,
        conversation_id: Uuid,
        scope: UnreadScope,
    ) -> Result<i32, sqlx::Error> {
        let unread: Option<i32> = sqlx::query_scalar(
            "select coalesce(r.unread, c.inbound_count)
             from inbox_conversations c
             left join operator_read_markers r
               on r.conversation_id = c.conversation_id and r.operator_id = $1
             where c.conversation_id = $2
               and (not $3 or (c.assignee_id = $1 and c.status <> $4))",
        )
        .bind(operator)
        .bind(conversation_id)
        .bind(scope == UnreadScope::Badge)
        .bind(ConversationStatus::Closed.as_str())
        .fetch_optional(pool)
        .await?;
        Ok(unread.unwrap_or(0))
    }

    pub async fn conversation(
        pool: &PgPool,
        conversation_id: Uuid,
    ) -> Result<Option<InboxRow>, sqlx::Error> {
        let sql =
            format!("select {INBOX_COLUMNS} from inbox_conversations c where conversation_id = $1");
        sqlx::query_as(&sql)
            .bind(conversation_id)
            .fetch_optional(pool)
            .await
    }

    /// A contact's latest conversation in any inbox: what is known of them (name, e-mail,
    /// phone) as they last told it.
    pub async fn of_contact_anywhere(
        pool: &PgPool,
        contact_id: Uuid,
    ) -> Result<Option<InboxRow>, sqlx::Error> {
        let sql = format!(
            "select {INBOX_COLUMNS} from inbox_conversations c
             where c.contact_id = $1
             order by c.started_at desc, c.conversation_id desc
             limit 1"
        );
        sqlx::query_as(&sql)
            .bind(contact_id)
            .fetch_optional(pool)
            .await
    }

    /// A contact's conversations in one inbox, most recently active first, up to `limit`
    /// (what a returning visitor lists: SEC-1).
    pub async fn of_contact(
        pool: &PgPool,
        contact_id: Uuid,
        inbox_id: Uuid,
        limit: i64,
    ) -> Result<Vec<InboxRow>, sqlx::Error> {
        let sql = format!(
            "select {INBOX_COLUMNS} from inbox_conversations c
             where c.contact_id = $1 and c.inbox_id = $2
             order by c.last_activity_at desc, c.conversation_id desc
             limit $3"
        );
        sqlx::query_as(&sql)
            .bind(contact_id)
            .bind(inbox_id)
            .bind(limit)
            .fetch_all(pool)
            .await
    }

    /// Up to `limit` messages of a conversation after stream version `after_version`, oldest
    /// first.
    pub async fn messages(
        pool: &PgPool,
        conversation_id: Uuid,
        audience: Audience,
        after_version: i32,
        limit: i64,
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        sqlx::query_as(
            "select message_id, conversation_id, stream_version, sender_kind, sender_id, channel,
                    body, posted_at, internal, read_at, auto_reply, attachments
             from thread_messages
             where conversation_id = $1 and stream_version > $2 and (not internal or $4)
             order by stream_version
             limit $3",
        )
        .bind(conversation_id)
        .bind(after_version)
        .bind(limit)
        .bind(audience == Audience::Operators)
        .fetch_all(pool)
        .await
    }

    /// The position of the newest message of a conversation in the thread; 0 when none.
    pub async fn latest_message_position(
        pool: &PgPool,
        conversation_id: Uuid,
    ) -> Result<i32, sqlx::Error> {
        sqlx::query_scalar(
            "select coalesce(max(stream_version), 0) from thread_messages
             where conversation_id = $1",
        )
        .bind(conversation_id)
        .fetch_one(pool)
        .await
    }

    /// A per-inbox timeout: the inbox's own setting if it has one, else the service's.
    /// `shortest` (the smallest of all of them) bounds the scan by the indexed column.
    #[derive(Debug, Clone, Copy)]
    pub struct Timeout {
        pub default_secs: f64,
        pub shortest_secs: f64,
    }

    /// Conversations idle for longer than their inbox's inactivity timeout that are neither
    /// resolved nor closed and that its inbox's rule lets close (TIME-1), with the position
    /// of their last message (0 for none) and the rule they were chosen by. By default
    /// (`waiting_on_contact`) only those waiting on the contact: `waiting_for_user`, or
    /// answered by an operator since the contact last wrote (`waiting_since` is null), and
    /// never `pending_callback`. `any_idle` takes every idle one.
    pub async fn due_for_inactivity(
        pool: &PgPool,
        now: DateTime<Utc>,
        timeout: Timeout,
        limit: i64,
    ) -> Result<Vec<(Uuid, i32, switchboard_domain::inbox::InactivityRule)>, sqlx::Error> {
        use switchboard_domain::inbox::InactivityRule;
        let rows: Vec<(Uuid, i32, String)> = sqlx::query_as(
            "select c.conversation_id,
                    coalesce((select max(m.stream_version) from thread_messages m
                              where m.conversation_id = c.conversation_id and not m.internal), 0),
                    coalesce(i.settings ->> 'inactivity_closes', $7)
             from inbox_conversations c
             left join inboxes i on i.inbox_id = c.inbox_id
             where c.last_activity_at < $1 - make_interval(secs => $5)
               and c.last_activity_at < $1 - make_interval(secs =>
                     coalesce((i.settings ->> 'inactivity_timeout_secs')::float8, $4))
               and c.status not in ($2, $3)
               and (coalesce(i.settings ->> 'inactivity_closes', $7) = $8
                    or c.status = $9
                    or (c.status <> $10 and c.waiting_since is null and c.has_outbound
                        and not exists (select 1 from callbacks b
                                        where b.conversation_id = c.conversation_id
                                          and b.status in ('requested', 'scheduled'))))
             order by c.last_activity_at
             limit $6",
        )
        .bind(now)
        .bind(ConversationStatus::Resolved.as_str())
        .bind(ConversationStatus::Closed.as_str())
        .bind(timeout.default_secs)
        .bind(timeout.shortest_secs)
        .bind(limit)
        .bind(InactivityRule::default().as_str())
        .bind(InactivityRule::AnyIdle.as_str())
        .bind(ConversationStatus::WaitingForUser.as_str())
        .bind(ConversationStatus::PendingCallback.as_str())
        .fetch_all(pool)
        .await?;
        // A rule this build does not know (a newer node wrote it) is read as the default,
        // which closes the fewest.
        Ok(rows
            .into_iter()
            .map(|(id, position, rule)| {
                (
                    id,
                    position,
                    InactivityRule::parse(&rule).unwrap_or_default(),
                )
            })
            .collect())
    }

    /// Conversations resolved for longer than their inbox's retention period (TIME-2).
    pub async fn due_for_retention(
        pool: &PgPool,
        now: DateTime<Utc>,
        timeout: Timeout,
        limit: i64,
    ) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
        sqlx::query_as(
            "select c.conversation_id, c.resolved_at from inbox_conversations c
             left join inboxes i on i.inbox_id = c.inbox_id
             where c.status = $1
               and c.resolved_at < $2 - make_interval(secs => $4)
               and c.resolved_at < $2 - make_interval(secs =>
                     coalesce((i.settings ->> 'retention_secs')::float8, $3))
             order by c.resolved_at
             limit $5",
        )
        .bind(ConversationStatus::Resolved.as_str())
        .bind(now)
        .bind(timeout.default_secs)
        .bind(timeout.shortest_secs)
        .bind(limit)
        .fetch_all(pool)
        .await
    }

    /// One call-back request and where it stands (CALL-2).
    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct CallbackRow {
        pub callback_id: Uuid,
        pub conversation_id: Uuid,
        pub phone: String,
        pub window_from: Option<DateTime<Utc>>,
        pub window_to: Option<DateTime<Utc>>,
        pub consent_text_version: String,
        pub consent_given_at: DateTime<Utc>,
        pub consent_ip: Option<String>,
        /// `requested`, `scheduled`, `completed`, `no_answer` or `cancelled`.
        pub status: String,
        pub scheduled_for: Option<DateTime<Utc>>,
        pub outcome_note: Option<String>,
        pub requested_at: DateTime<Utc>,
        pub settled_at: Option<DateTime<Utc>>,
    }

    /// Call-backs, oldest request first; only those in `status` when given.
    pub async fn callbacks(
        pool: &PgPool,
        status: Option<&str>,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<Vec<CallbackRow>, sqlx::Error> {
        sqlx::query_as(
            "select callback_id, conversation_id, phone, window_from, window_to,
                    consent_text_version, consent_given_at, consent_ip, status, scheduled_for,
                    outcome_note, requested_at, settled_at
             from callbacks
             where ($1::text is null or status = $1)
               and ($2::timestamptz is null or (requested_at, callback_id) > ($2, $3))
             order by requested_at, callback_id
             limit $4",
        )
        .bind(status)
        .bind(after.map(|(at, _)| at))
        .bind(after.map(|(_, id)| id))
        .bind(limit)
        .fetch_all(pool)
        .await
    }

    /// Conversations whose contact has waited for an answer longer than `interval` times
    /// (raises so far + 1), not yet urgent, resolved or closed (CONV-9): with the wait's
    /// position and the step the next raise would be.
    pub async fn due_for_priority_raise(
        pool: &PgPool,
        now: DateTime<Utc>,
        interval: chrono::TimeDelta,
        limit: i64,
    ) -> Result<Vec<(Uuid, i32, i16)>, sqlx::Error> {
        sqlx::query_as(
            "select conversation_id, waiting_since_position, (wait_raises + 1)::smallint
             from inbox_conversations
             where waiting_since is not null and waiting_since_position is not null
               and status not in ($3, $4) and priority <> $5
               and waiting_since < $1 - $2 * (wait_raises + 1)
             order by waiting_since
             limit $6",
        )
        .bind(now)
        .bind(interval)
        .bind(ConversationStatus::Resolved.as_str())
        .bind(ConversationStatus::Closed.as_str())
        .bind(switchboard_domain::event::Priority::Urgent.as_str())
        .bind(limit)
        .fetch_all(pool)
        .await
    }

    /// A conversation waiting in the unassigned queue (OPS-2).
    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct QueuedRow {
        pub conversation_id: Uuid,
        pub inbox_id: Uuid,
        pub branch_id: Option<Uuid>,
        pub queued_since_position: i32,
    }

    /// The unassigned queue of these branches (`None`: head office's), oldest entry first:
    /// conversations without an assignee that are neither resolved nor closed (OPS-2).
    pub async fn queue(
        pool: &PgPool,
        branches: &[Option<Uuid>],
        limit: i64,
    ) -> Result<Vec<QueuedRow>, sqlx::Error> {
        let (ids, head_office) = branch_filter(branches);
        sqlx::query_as(
            "select conversation_id, inbox_id, branch_id, queued_since_position
             from inbox_conversations
             where assignee_id is null and status not in ($1, $2)
               and queued_since_position is not null
               and (branch_id = any($4) or (branch_id is null and $5))
             order by queued_at, conversation_id
             limit $3",
        )
        .bind(ConversationStatus::Resolved.as_str())
        .bind(ConversationStatus::Closed.as_str())
        .bind(limit)
        .bind(ids)
        .bind(head_office)
        .fetch_all(pool)
        .await
    }

    /// A branch list as SQL parameters: the ids, and whether head office (`None`) is in.
    fn branch_filter(branches: &[Option<Uuid>]) -> (Vec<Uuid>, bool) {
        (
            branches.iter().flatten().copied().collect(),
            branches.contains(&None),
        )
    }

    /// An assignment its assignee has not opened yet (OPS-3).
    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct UnopenedRow {
        pub conversation_id: Uuid,
        pub inbox_id: Uuid,
        pub branch_id: Option<Uuid>,
        pub assignee_id: Uuid,
        pub assignment_position: i32,
        pub assigned_at: DateTime<Utc>,
    }

    /// Assignments not opened yet, made before `assigned_before`, oldest first (OPS-3).
    pub async fn unopened_assignments(
        pool: &PgPool,
        assigned_before: DateTime<Utc>,
        branches: &[Option<Uuid>],
        limit: i64,
    ) -> Result<Vec<UnopenedRow>, sqlx::Error> {
        let (ids, head_office) = branch_filter(branches);
        sqlx::query_as(
            "select conversation_id, inbox_id, branch_id, assignee_id, assignment_position,
                    assigned_at
             from inbox_conversations
             where assignee_id is not null and opened_at is null and assigned_at < $1
               and assignment_position is not null and status not in ($2, $3)
               and (branch_id = any($5) or (branch_id is null and $6))
             order by assigned_at
             limit $4",
        )
        .bind(assigned_before)
        .bind(ConversationStatus::Resolved.as_str())
        .bind(ConversationStatus::Closed.as_str())
        .bind(limit)
        .bind(ids)
        .bind(head_office)
        .fetch_all(pool)
        .await
    }

    /// How far this projection has applied each of these conversations' streams: the
    /// dispatcher forgets its own writes once they are in.
    pub async fn projected_versions(
        pool: &PgPool,
        conversation_ids: &[Uuid],
    ) -> Result<Vec<(Uuid, i32)>, sqlx::Error> {
        sqlx::query_as(
            "select stream_id, version from projection_stream_positions
             where projection = 'conversations' and stream_id = any($1)",
        )
        .bind(conversation_ids)
        .fetch_all(pool)
        .await
    }

    /// Conversations due an auto-reply (INBOX-5): their inbox has one, and they are open,
    /// assigned, the contact wrote, nobody answered, none sent yet. With their inbox.
    pub async fn due_for_auto_reply(
        pool: &PgPool,
        limit: i64,
    ) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
        sqlx::query_as(
            "select c.conversation_id, c.inbox_id
             from inbox_conversations c
             join inboxes i on i.inbox_id = c.inbox_id
             where c.status = $1 and c.assignee_id is not null and c.has_inbound
               and not c.has_outbound and not c.auto_replied
               and i.settings ->> 'auto_reply' is not null
             order by c.last_activity_at
             limit $2",
        )
        .bind(ConversationStatus::Open.as_str())
        .bind(limit)
        .fetch_all(pool)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::read::SearchText;

    #[test]
    fn search_text_keeps_words_as_prefixes_and_drops_everything_else() {
        let search = SearchText::parse("  Иван  O'Brien & (x) | !  ").expect("has words");
        assert_eq!(search.words(), ["иван:*", "o:*", "brien:*", "x:*"]);
    }

    #[test]
    fn search_text_without_words_is_nothing_to_search() {
        assert_eq!(SearchText::parse(""), None);
        assert_eq!(SearchText::parse(" &|!():*' "), None);
    }

    #[test]
    fn search_text_keeps_at_most_eight_words() {
        let search = SearchText::parse("a b c d e f g h i j").expect("has words");
        assert_eq!(
            search.words(),
            ["a:*", "b:*", "c:*", "d:*", "e:*", "f:*", "g:*", "h:*"]
        );
    }

    #[test]
    fn digits_of_a_phone_number_are_searched_together() {
        let search = SearchText::parse("+380 (44) 123").expect("has words");
        assert_eq!(search.words(), ["380:*", "44:*", "123:*"]);
        assert_eq!(search.phone_digits(), "38044123");
    }

    #[test]
    fn words_with_digits_are_no_phone_number() {
        let search = SearchText::parse("Иван 380").expect("has words");
        assert_eq!(search.phone_digits(), "");
        assert_eq!(search.words(), ["иван:*", "380:*"]);
    }
}

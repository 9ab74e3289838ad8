//! The notifications projection (TG-2, TG-4, CALL-2, INT-3): which events are told to whom,
//! over Telegram or e-mail. It keeps `notification_conversations` (each conversation's inbox,
//! branch, assignee and contact) and inserts rows into `notifications`, the outbox the
//! notifier (`switchboard_workers::notifier`) sends from. This module only decides *what* is sent.
//!
//! # Who is told what
//! - A contact's message ([`MessagePosted`] from the contact): the assignee's Telegram, or,
//!   while nobody is assigned, the Telegram of every admin of the conversation's branch (head
//!   office's admins for a conversation without one). Prefixed `[WEB]` (or `[TG]` when the
//!   contact wrote from Telegram), with the conversation id to `/open` it by. Also the
//!   contact's own linked Telegram chats, when they wrote on the web: both channels carry
//!   the whole conversation (TG-4).
//! - An operator's message or an auto-reply: the contact's linked Telegram chats.
//! - A call-back request ([`CallbackRequested`]): the responsible manager, by Telegram and by
//!   e-mail, with the consent record. The responsible manager is the assignee if they are an
//!   admin or a manager (moderators do not handle call-backs); otherwise the managers of the
//!   conversation's branch, or its admins if it has no manager.
//! - An operator's reply to a visitor who left: their e-mail, see below.
//!
//! # A visitor who left (seed 000)
//! "Left" is decided from the log alone, so it holds across API nodes and needs no sockets:
//! the contact has not read an operator's reply (no [`ConversationReadByContact`] covering
//! it) within a delay of its posting (`SWITCHBOARD_VISITOR_EMAIL_DELAY_SECS`, for which the
//! notifier holds the e-mail). The first such reply inserts one e-mail to the address the
//! contact gave, from the inbox's title; replies while it waits join it, so the contact gets
//! one e-mail per batch of unread replies. A read covering the batch cancels the e-mail if it
//! is still waiting and ends the batch either way: the next reply starts a new one. A reply
//! after the e-mail went out, before any read, sends nothing more (the e-mail's link shows
//! the whole thread). The notifier adds the link back into the conversation as it sends. Not
//! e-mailed: contacts without an address, erased ones, and those whose Telegram chat carries
//! the conversation (they got the reply there).
//!
//! Telegram accounts and chats are read from `telegram_operators` and `telegram_visitors` when
//! the event is applied: an operator who links their account later is not sent what came
//! before.
//!
//! # Exactly once
//! A notification's id is UUID v5 of the event id and the recipient (`telegram:<chat>` or
//! `email:<address>`); rows are inserted with `on conflict do nothing` in the transaction that
//! records the projection's progress. A redelivered event, or a projection restarted at any
//! point, inserts nothing twice and skips nothing. The notifier then sends each row once (see
//! its docs for the one crash window it cannot close).
//!
//! # Erasure
//! On [`ContactErased`] the notifications sent to the contact's own Telegram chats are deleted,
//! the bodies of those sent to operators become `[erased]`, those not sent yet are given up,
//! and the contact's Telegram chats are unlinked.

use serde_json::json;
use sqlx::PgConnection;
use switchboard_domain::contact::ERASED;
use switchboard_domain::envelope::RecordedEvent;
use switchboard_domain::event::{
    CallbackRequested, Channel, ConversationReadByContact, MessagePosted, SenderKind,
};
use switchboard_domain::DomainEvent;
use uuid::Uuid;

use crate::{Applied, LogReader, Projection, ProjectionError};

pub struct NotificationsProjection;

/// The PostgreSQL channel on which the projection wakes the notifier after inserting rows.
pub const NOTIFICATIONS_CHANNEL: &str = "switchboard_notifications";

/// The event types [`NotificationsProjection`] applies.
pub(crate) const HANDLED: &[&str] = &[
    "ConversationStarted",
    "MessagePosted",
    "AutoReplySent",
    "ConversationAssigned",
    "ConversationUnassigned",
    "ConversationTransferred",
    "CallbackRequested",
    "ConversationReadByContact",
    "ContactErased",
    "OperatorInvited",
    "OperatorPasswordResetRequested",
];

/// Where a notification goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A Telegram chat: an operator's (with their id) or a visitor's.
    Telegram {
        chat_id: i64,
        operator_id: Option<Uuid>,
    },
    /// An operator's e-mail address.
    Email { address: String, operator_id: Uuid },
    /// A contact's e-mail address.
    ContactEmail { address: String },
}

impl Recipient {
    fn key(&self) -> String {
        match self {
            Recipient::Telegram { chat_id, .. } => format!("telegram:{chat_id}"),
            Recipient::Email { address, .. } | Recipient::ContactEmail { address } => {
                format!("email:{address}")
            }
        }
    }
}

/// The id of the notification of `event_id` to `recipient`.
pub fn notification_id(event_id: Uuid, recipient: &Recipient) -> Uuid {
    Uuid::new_v5(&event_id, recipient.key().as_bytes())
}

/// A conversation as this projection keeps it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct ConversationRow {
    branch_id: Option<Uuid>,
    assignee_id: Option<Uuid>,
    contact_name: Option<String>,
}

/// The text an operator's Telegram shows for a contact's message: `[WEB] Name · #id`, then
/// the body and the names of any files.
pub fn operator_text(
    channel: Channel,
    contact_name: Option<&str>,
    conversation_id: Uuid,
    body: &str,
    file_names: &[&str],
) -> String {
    let tag = match channel {
        Channel::Telegram => "[TG]",
        Channel::Web | Channel::Api => "[WEB]",
    };
    // The first line names the conversation (the bot reads it back from replies): a name
    // with a line break must not end it early.
    let name: String = contact_name
        .unwrap_or("Visitor")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    with_files(
        format!("{tag} {name} · #{conversation_id}\n{body}"),
        file_names,
    )
}

/// The conversation an [`operator_text`] names in its first line (`… · #<id>`), if `text` is
/// one. The bot reads it from a replied-to message whose notification was already swept.
pub fn conversation_of_operator_text(text: &str) -> Option<Uuid> {
    let first_line = text.lines().next()?;
    if !(first_line.starts_with("[WEB] ") || first_line.starts_with("[TG] ")) {
        return None;
    }
    let (_, id) = first_line.rsplit_once(" · #")?;
    Uuid::parse_str(id).ok()
}

/// The text a visitor's Telegram shows for a message of their conversation written elsewhere.
pub fn visitor_text(from: &str, body: &str, file_names: &[&str]) -> String {
    with_files(format!("{from}: {body}"), file_names)
}

/// Files are named, not sent: one `📎 name` line each.
fn with_files(mut text: String, file_names: &[&str]) -> String {
    for name in file_names {
        text.push_str(&format!("\n📎 {name}"));
    }
    text
}

/// A call-back's preferred time as people read it: `any time`, or `from – to` (RFC 3339,
/// `…` for an open end).
pub fn callback_window(
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    match (from, to) {
        (None, None) => "any time".to_owned(),
        (from, to) => format!(
            "{} – {}",
            from.map_or("…".to_owned(), |t| t.to_rfc3339()),
            to.map_or("…".to_owned(), |t| t.to_rfc3339())
        ),
    }
}

impl Projection for NotificationsProjection {
    fn name(&self) -> &'static str {
        "notifications"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["notification_conversations", "notifications"]
    }

    fn handles(&self, event_type: &str) -> bool {
        HANDLED.contains(&event_type)
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
        let inserted = match decoded {
            Ok(DomainEvent::ConversationStarted(e)) => {
                sqlx::query(
                    "insert into notification_conversations
                         (conversation_id, inbox_id, branch_id, contact_id, contact_name,
                          contact_email)
                     values ($1, $2, $3, $4, $5, $6)
                     on conflict (conversation_id) do nothing",
                )
                .bind(e.conversation_id)
                .bind(e.inbox_id)
                .bind(e.branch_id)
                .bind(e.contact.id)
                .bind(&e.contact.name)
                // An erased contact's events are applied as erased: no address to write to.
                .bind(e.contact.email.as_deref().filter(|email| *email != ERASED))
                .execute(&mut *tx)
                .await?;
                0
            }
            Ok(DomainEvent::ConversationAssigned(e)) => {
                set_assignee(tx, e.conversation_id, Some(e.operator_id)).await?;
                0
            }
            Ok(DomainEvent::ConversationUnassigned(e)) => {
                set_assignee(tx, e.conversation_id, None).await?;
                0
            }
            Ok(DomainEvent::ConversationTransferred(e)) => {
                sqlx::query(
                    "update notification_conversations set branch_id = $2
                     where conversation_id = $1",
                )
                .bind(e.conversation_id)
                .bind(e.to_branch_id)
                .execute(&mut *tx)
                .await?;
                0
            }
            Ok(DomainEvent::MessagePosted(e)) => message_posted(tx, event, &e).await?,
            Ok(DomainEvent::ConversationReadByContact(e)) => {
                read_by_contact(tx, &e).await?;
                0
            }
            Ok(DomainEvent::AutoReplySent(e)) => {
                let chats = visitor_chats(tx, e.conversation_id).await?;
                let from = match chats.is_empty() {
                    true => String::new(),
                    false => operator_name(tx, e.operator_id).await?,
                };
                let text = visitor_text(&from, &e.body, &[]);
                let mut inserted = 0;
                for chat_id in chats {
                    let to = Recipient::Telegram {
                        chat_id,
                        operator_id: None,
                    };
                    inserted +=
                        insert(tx, event, e.conversation_id, &to, None, &text, None).await?;
                }
                inserted
            }
            Ok(DomainEvent::CallbackRequested(e)) => callback_requested(tx, event, &e).await?,
            Ok(DomainEvent::OperatorInvited(e)) => {
                let body = format!(
                    "You are invited to answer chats in Switchboard. Set your password with \
                     the link below; it works until {} (UTC) and only once.",
                    e.expires_at.format("%Y-%m-%d %H:%M")
                );
                let link = OperatorLink::Invitation(e.invitation_id);
                operator_link_email(tx, event, e.operator_id, &e.email, link, &body).await?
            }
            Ok(DomainEvent::OperatorPasswordResetRequested(e)) => {
                let body = format!(
                    "Someone (we hope you) asked to reset your Switchboard password. Set a new \
                     one with the link below; it works until {} (UTC) and only once. If it was \
                     not you, ignore this e-mail: your password stays as it is.",
                    e.expires_at.format("%H:%M")
                );
                let link = OperatorLink::PasswordReset(e.reset_id);
                operator_link_email(tx, event, e.operator_id, &e.email, link, &body).await?
            }
            Ok(DomainEvent::ContactErased(e)) => {
                // The rows first, then their attempts: the notifier's sweep takes them in
                // that order too, so the two cannot deadlock.
                sqlx::query(
                    "select 1 from notifications where conversation_id = any($1)
                     order by notification_id for update",
                )
                .bind(&e.conversation_ids)
                .execute(&mut *tx)
                .await?;
                // What went to the contact's own Telegram chats goes entirely: the chat id is
                // theirs too.
                sqlx::query(
                    "delete from notification_attempts where notification_id in
                         (select notification_id from notifications
                          where conversation_id = any($1) and operator_id is null)",
                )
                .bind(&e.conversation_ids)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "delete from notifications where conversation_id = any($1)
                                                and operator_id is null",
                )
                .bind(&e.conversation_ids)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "update notifications
                     set body = $2, subject = null, attachment = null, updated_at = now(),
                         status = case when status = 'pending' then 'failed' else status end,
                         last_error = case when status = 'pending' then 'the contact was erased'
                                           else last_error end
                     where conversation_id = any($1)",
                )
                .bind(&e.conversation_ids)
                .bind(ERASED)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "update notification_conversations
                     set contact_name = null, contact_email = null, unread_email_id = null,
                         unread_email_position = null
                     where contact_id = $1",
                )
                .bind(e.contact_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("delete from telegram_visitors where contact_id = $1")
                    .bind(e.contact_id)
                    .execute(&mut *tx)
                    .await?;
                0
            }
            Ok(_) => return Ok(Applied::Ignored),
            Err(err) => return Ok(Applied::Unreadable(err.to_string())),
        };
        if inserted > 0 {
            sqlx::query("select pg_notify($1, '')")
                .bind(NOTIFICATIONS_CHANNEL)
                .execute(&mut *tx)
                .await?;
        }
        // The read models of the API do not show notifications: nothing to announce.
        Ok(Applied::Ignored)
    }
}

async fn set_assignee(
    tx: &mut PgConnection,
    conversation_id: Uuid,
    assignee: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update notification_conversations set assignee_id = $2 where conversation_id = $1",
    )
    .bind(conversation_id)
    .bind(assignee)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn conversation(
    tx: &mut PgConnection,
    conversation_id: Uuid,
) -> Result<Option<ConversationRow>, sqlx::Error> {
    sqlx::query_as(
        "select branch_id, assignee_id, contact_name from notification_conversations
         where conversation_id = $1",
    )
    .bind(conversation_id)
    .fetch_optional(&mut *tx)
    .await
}

/// The Telegram chats of the conversation's contact (TG-4).
async fn visitor_chats(
    tx: &mut PgConnection,
    conversation_id: Uuid,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select chat_id from telegram_visitors where conversation_id = $1 order by chat_id",
    )
    .bind(conversation_id)
    .fetch_all(&mut *tx)
    .await
}

/// The operators with `role` of the branch (head office's when `None`), by id.
async fn branch_operators(
    tx: &mut PgConnection,
    branch_id: Option<Uuid>,
    role: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "select operator_id from operators
         where branch_id is not distinct from $1 and $2 = any(roles)
         order by operator_id",
    )
    .bind(branch_id)
    .bind(role)
    .fetch_all(&mut *tx)
    .await
}

/// The Telegram chats of those of `operators` who linked their account, with their ids.
async fn operator_chats(
    tx: &mut PgConnection,
    operators: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select operator_id, chat_id from telegram_operators
         where operator_id = any($1) order by operator_id",
    )
    .bind(operators)
    .fetch_all(&mut *tx)
    .await
}

/// How an operator signs their messages to a visitor: their name, or "Operator".
async fn operator_name(tx: &mut PgConnection, operator_id: Uuid) -> Result<String, sqlx::Error> {
    let name: Option<String> =
        sqlx::query_scalar("select name from operators where operator_id = $1")
            .bind(operator_id)
            .fetch_optional(&mut *tx)
            .await?;
    Ok(name.unwrap_or_else(|| "Operator".to_owned()))
}

async fn message_posted(
    tx: &mut PgConnection,
    event: &RecordedEvent,
    e: &MessagePosted,
) -> Result<u64, sqlx::Error> {
    let files: Vec<&str> = e.attachments.iter().map(|a| a.name.as_str()).collect();
    let mut inserted = 0;
    match e.sender.kind {
        SenderKind::Contact => {
            // One statement finds everyone to tell: the hot path of this projection.
            let Some(audience) = contact_message_audience(tx, e.conversation_id).await? else {
                return Ok(0);
            };
            let text = operator_text(
                e.channel,
                audience.contact_name.as_deref(),
                e.conversation_id,
                &e.body,
                &files,
            );
            for (operator_id, chat_id) in audience.operators.iter().zip(&audience.chats) {
                let to = Recipient::Telegram {
                    chat_id: *chat_id,
                    operator_id: Some(*operator_id),
                };
                inserted += insert(tx, event, e.conversation_id, &to, None, &text, None).await?;
            }
            if e.channel != Channel::Telegram {
                let text = visitor_text("[WEB] You", &e.body, &files);
                for chat_id in &audience.visitor_chats {
                    let to = Recipient::Telegram {
                        chat_id: *chat_id,
                        operator_id: None,
                    };
                    inserted +=
                        insert(tx, event, e.conversation_id, &to, None, &text, None).await?;
                }
            }
        }
        SenderKind::Operator | SenderKind::System | SenderKind::Bot => {
            // Most conversations are not linked to Telegram: then this is the one statement,
            // but for an operator's reply, which may be e-mailed instead.
            let chats = visitor_chats(tx, e.conversation_id).await?;
            if chats.is_empty() {
                return match e.sender.kind {
                    SenderKind::Operator => reply_by_email(tx, event, e, &files).await,
                    SenderKind::Contact | SenderKind::System | SenderKind::Bot => Ok(0),
                };
            }
            let from = match (e.sender.kind, e.sender.id) {
                (SenderKind::Operator, Some(id)) => operator_name(tx, id).await?,
                (SenderKind::Operator, None) => "Operator".to_owned(),
                _ => "Support".to_owned(),
            };
            let text = visitor_text(&from, &e.body, &files);
            for chat_id in chats {
                let to = Recipient::Telegram {
                    chat_id,
                    operator_id: None,
                };
                inserted += insert(tx, event, e.conversation_id, &to, None, &text, None).await?;
            }
        }
    }
    Ok(inserted)
}

/// An operator's reply for a visitor who may have left: it starts a batch (an e-mail that
/// the notifier holds for the delay after the reply) or joins the one waiting. See the
/// module's docs.
async fn reply_by_email(
    tx: &mut PgConnection,
    event: &RecordedEvent,
    e: &MessagePosted,
    files: &[&str],
) -> Result<u64, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Visitor {
        inbox_id: Uuid,
        contact_id: Uuid,
        contact_email: Option<String>,
        unread_email_id: Option<Uuid>,
        title: Option<String>,
    }
    let visitor: Option<Visitor> = sqlx::query_as(
        "select c.inbox_id, c.contact_id, c.contact_email, c.unread_email_id, i.title
         from notification_conversations c
         left join inboxes i on i.inbox_id = c.inbox_id
         where c.conversation_id = $1",
    )
    .bind(e.conversation_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(Visitor {
        inbox_id,
        contact_id,
        contact_email: Some(address),
        unread_email_id: batch,
        title,
    }) = visitor
    else {
        return Ok(0);
    };
    let from = match e.sender.id {
        Some(id) => operator_name(tx, id).await?,
        None => "Operator".to_owned(),
    };
    let reply = visitor_text(&from, &e.body, files);
    let (batch, inserted) = match batch {
        Some(batch) => {
            // Joins the e-mail while it waits; one being sent or sent already stays as it is.
            sqlx::query(
                "update notifications set body = body || $2, updated_at = now()
                 where notification_id = $1 and status = 'pending' and claim_id is null",
            )
            .bind(batch)
            .bind(format!("\n\n{reply}"))
            .execute(&mut *tx)
            .await?;
            (batch, 0)
        }
        None => {
            let title = title.unwrap_or_else(|| "Support".to_owned());
            let id = notification_id(
                event.event_id,
                &Recipient::ContactEmail {
                    address: address.clone(),
                },
            );
            // Due at the reply's time: the notifier adds the delay.
            let inserted = sqlx::query(
                "insert into notifications (notification_id, event_id, global_position,
                     conversation_id, channel, email, subject, body, sender_name, contact_id,
                     inbox_id, status, next_attempt_at, created_at, updated_at)
                 values ($1, $2, $3, $4, 'email', $5, $6, $7, $8, $9, $10, 'pending', $11,
                         now(), now())
                 on conflict (notification_id) do nothing",
            )
            .bind(id)
            .bind(event.event_id)
            .bind(event.global_position)
            .bind(e.conversation_id)
            .bind(&address)
            .bind(format!("New reply from {title}"))
            .bind(format!(
                "You have a reply in your conversation with {title}:\n\n{reply}"
            ))
            .bind(&title)
            .bind(contact_id)
            .bind(inbox_id)
            .bind(e.posted_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            (id, inserted)
        }
    };
    sqlx::query(
        "update notification_conversations
         set unread_email_id = $2, unread_email_position = $3
         where conversation_id = $1",
    )
    .bind(e.conversation_id)
    .bind(batch)
    .bind(event.stream_version)
    .execute(&mut *tx)
    .await?;
    Ok(inserted)
}

/// The contact read up to a position: a batch of replies it covers is over, and its e-mail,
/// if still waiting, is cancelled. One statement, as every read by a contact passes here.
async fn read_by_contact(
    tx: &mut PgConnection,
    e: &ConversationReadByContact,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "with batch as (
             select unread_email_id from notification_conversations
             where conversation_id = $1 and unread_email_position <= $2
         ),
         cancelled as (
             update notifications
             set status = 'cancelled', last_error = 'the contact read the replies in time',
                 updated_at = now()
             where notification_id = (select unread_email_id from batch) and status = 'pending'
         )
         update notification_conversations
         set unread_email_id = null, unread_email_position = null
         where conversation_id = $1 and unread_email_position <= $2",
    )
    .bind(e.conversation_id)
    .bind(e.up_to_position)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Who hears of a contact's message: the linked operators (the assignee, or the branch's
/// admins while nobody is assigned) with their chats, and the contact's linked chats.
#[derive(Debug, sqlx::FromRow)]
struct Audience {
    contact_name: Option<String>,
    operators: Vec<Uuid>,
    chats: Vec<i64>,
    visitor_chats: Vec<i64>,
}

async fn contact_message_audience(
    tx: &mut PgConnection,
    conversation_id: Uuid,
) -> Result<Option<Audience>, sqlx::Error> {
    sqlx::query_as(
        "with c as (select branch_id, assignee_id, contact_name
                    from notification_conversations where conversation_id = $1),
              linked as (select t.operator_id, t.chat_id
                         from telegram_operators t, c
                         where t.operator_id = c.assignee_id
                            or (c.assignee_id is null and t.operator_id in
                                  (select o.operator_id from operators o
                                   where o.branch_id is not distinct from c.branch_id
                                     and 'admin' = any(o.roles))))
         select c.contact_name,
                array(select operator_id from linked order by operator_id) as operators,
                array(select chat_id from linked order by operator_id) as chats,
                array(select chat_id from telegram_visitors
                      where conversation_id = $1 order by chat_id) as visitor_chats
         from c",
    )
    .bind(conversation_id)
    .fetch_optional(&mut *tx)
    .await
}

/// The call-back's text, for Telegram and as the e-mail's body.
pub fn callback_text(contact_name: Option<&str>, e: &CallbackRequested) -> String {
    let window = callback_window(e.window_from, e.window_to);
    format!(
        "Call-back requested · #{conversation}\n\
         Name: {name}\n\
         Phone: {phone}\n\
         Preferred time: {window}\n\
         Requested at: {at}\n\
         Consent: text version {version}, given {given} from {ip}",
        conversation = e.conversation_id,
        name = contact_name.unwrap_or("(not given)"),
        phone = e.phone,
        at = e.requested_at.to_rfc3339(),
        version = e.consent.text_version,
        given = e.consent.given_at.to_rfc3339(),
        ip = e.consent.ip.as_deref().unwrap_or("an unknown address"),
    )
}

async fn callback_requested(
    tx: &mut PgConnection,
    event: &RecordedEvent,
    e: &CallbackRequested,
) -> Result<u64, sqlx::Error> {
    let Some(conversation) = conversation(tx, e.conversation_id).await? else {
        return Ok(0);
    };
    // Call-backs are admins' and managers' work (a moderator does not see them).
    let assignee_manages = match conversation.assignee_id {
        Some(assignee) => sqlx::query_scalar(
            "select roles && array['admin', 'manager'] from operators where operator_id = $1",
        )
        .bind(assignee)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(false),
        None => false,
    };
    let managers = match conversation.assignee_id {
        Some(assignee) if assignee_manages => vec![assignee],
        _ => {
            let managers = branch_operators(tx, conversation.branch_id, "manager").await?;
            if managers.is_empty() {
                branch_operators(tx, conversation.branch_id, "admin").await?
            } else {
                managers
            }
        }
    };
    let text = callback_text(conversation.contact_name.as_deref(), e);
    let mut inserted = 0;
    for (operator_id, chat_id) in operator_chats(tx, &managers).await? {
        let to = Recipient::Telegram {
            chat_id,
            operator_id: Some(operator_id),
        };
        inserted += insert(tx, event, e.conversation_id, &to, None, &text, None).await?;
    }
    let addresses: Vec<(Uuid, String)> = sqlx::query_as(
        "select operator_id, email from operators
         where operator_id = any($1) and email is not null order by operator_id",
    )
    .bind(&managers)
    .fetch_all(&mut *tx)
    .await?;
    let subject = format!("Call-back requested: {}", e.phone);
    let consent = json!({
        "callbackId": e.callback_id,
        "conversationId": e.conversation_id,
        "phone": e.phone,
        "consent": {
            "textVersion": e.consent.text_version,
            "givenAt": e.consent.given_at,
            "ip": e.consent.ip,
        },
        "requestedAt": e.requested_at,
    });
    for (operator_id, address) in addresses {
        let to = Recipient::Email {
            address,
            operator_id,
        };
        inserted += insert(
            tx,
            event,
            e.conversation_id,
            &to,
            Some(&subject),
            &text,
            Some(&consent),
        )
        .await?;
    }
    Ok(inserted)
}

/// The one-time link an operator's e-mail carries (the notifier mints its token as it sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorLink {
    Invitation(Uuid),
    PasswordReset(Uuid),
}

impl OperatorLink {
    /// The `link_kind` column's text.
    pub fn kind(self) -> &'static str {
        match self {
            OperatorLink::Invitation(_) => "invitation",
            OperatorLink::PasswordReset(_) => "password_reset",
        }
    }

    pub fn id(self) -> Uuid {
        match self {
            OperatorLink::Invitation(id) | OperatorLink::PasswordReset(id) => id,
        }
    }

    /// Back from the columns.
    pub fn from_columns(kind: &str, id: Uuid) -> Option<Self> {
        match kind {
            "invitation" => Some(OperatorLink::Invitation(id)),
            "password_reset" => Some(OperatorLink::PasswordReset(id)),
            _ => None,
        }
    }
}

/// An invitation or reset e-mail to an operator, once per event.
async fn operator_link_email(
    tx: &mut PgConnection,
    event: &RecordedEvent,
    operator_id: Uuid,
    address: &str,
    link: OperatorLink,
    body: &str,
) -> Result<u64, sqlx::Error> {
    let to = Recipient::Email {
        address: address.to_owned(),
        operator_id,
    };
    let subject = match link {
        OperatorLink::Invitation(_) => "Your invitation to Switchboard",
        OperatorLink::PasswordReset(_) => "Reset your Switchboard password",
    };
    let done = sqlx::query(
        "insert into notifications (notification_id, event_id, global_position, channel,
             operator_id, email, subject, body, link_kind, link_id, status, next_attempt_at,
             created_at, updated_at)
         values ($1, $2, $3, 'email', $4, $5, $6, $7, $8, $9, 'pending', now(), now(), now())
         on conflict (notification_id) do nothing",
    )
    .bind(notification_id(event.event_id, &to))
    .bind(event.event_id)
    .bind(event.global_position)
    .bind(operator_id)
    .bind(address)
    .bind(subject)
    .bind(body)
    .bind(link.kind())
    .bind(link.id())
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected())
}

/// Inserts one notification, once: 1 if it was new.
async fn insert(
    tx: &mut PgConnection,
    event: &RecordedEvent,
    conversation_id: Uuid,
    to: &Recipient,
    subject: Option<&str>,
    body: &str,
    attachment: Option<&serde_json::Value>,
) -> Result<u64, sqlx::Error> {
    let (channel, operator_id, chat_id, email) = match to {
        Recipient::Telegram {
            chat_id,
            operator_id,
        } => ("telegram", *operator_id, Some(*chat_id), None),
        Recipient::Email {
            address,
            operator_id,
        } => ("email", Some(*operator_id), None, Some(address.as_str())),
        Recipient::ContactEmail { address } => ("email", None, None, Some(address.as_str())),
    };
    let done = sqlx::query(
        "insert into notifications (notification_id, event_id, global_position, conversation_id,
             channel, operator_id, telegram_chat_id, email, subject, body, attachment, status,
             next_attempt_at, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', now(), now(), now())
         on conflict (notification_id) do nothing",
    )
    .bind(notification_id(event.event_id, to))
    .bind(event.event_id)
    .bind(event.global_position)
    .bind(conversation_id)
    .bind(channel)
    .bind(operator_id)
    .bind(chat_id)
    .bind(email)
    .bind(subject)
    .bind(body)
    .bind(attachment)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_name_the_channel_the_contact_and_the_conversation() {
        let id = Uuid::from_u128(1);
        assert_eq!(
            operator_text(Channel::Web, Some("Olena"), id, "Hello", &["a.pdf"]),
            "[WEB] Olena · #00000000-0000-0000-0000-000000000001\nHello\n📎 a.pdf"
        );
        assert_eq!(
            operator_text(Channel::Telegram, None, id, "Hi", &[]),
            "[TG] Visitor · #00000000-0000-0000-0000-000000000001\nHi"
        );
        assert_eq!(visitor_text("Anna", "Sure", &[]), "Anna: Sure");
    }

    #[test]
    fn the_conversation_is_read_back_from_an_operator_text() {
        let id = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0042);
        for channel in [Channel::Web, Channel::Telegram] {
            let text = operator_text(channel, Some("Olena · #x"), id, "hi\n[WEB] a · #b", &[]);
            assert_eq!(conversation_of_operator_text(&text), Some(id));
        }
        assert_eq!(conversation_of_operator_text("Call-back requested"), None);
        assert_eq!(
            conversation_of_operator_text(&format!("[WEB] Olena · #{id}x")),
            None
        );
        assert_eq!(
            conversation_of_operator_text(&format!("Olena · #{id}")),
            None
        );
        assert_eq!(conversation_of_operator_text(""), None);
        // A name cannot end the first line early and name another conversation.
        let other = Uuid::from_u128(7);
        let text = operator_text(
            Channel::Web,
            Some(&format!("Eve · #{other}\nX")),
            id,
            "hi",
            &[],
        );
        assert_eq!(
            text.lines().next(),
            Some(format!("[WEB] Eve · #{other} X · #{id}").as_str())
        );
        assert_eq!(conversation_of_operator_text(&text), Some(id));
    }

    #[test]
    fn one_id_per_event_and_recipient() {
        let event = Uuid::from_u128(9);
        let chat = |chat_id| Recipient::Telegram {
            chat_id,
            operator_id: None,
        };
        assert_eq!(
            notification_id(event, &chat(5)),
            notification_id(event, &chat(5))
        );
        assert_ne!(
            notification_id(event, &chat(5)),
            notification_id(event, &chat(6))
        );
        assert_ne!(
            notification_id(event, &chat(5)),
            notification_id(Uuid::from_u128(10), &chat(5))
        );
    }
}

//! Object types shared by the users' parts of the schema (conversations, messages, ratings,
//! the outcome of a change), and their conversion from the projections' rows and from freshly
//! recorded events. A conversation's SLA figures are in [`sla`].

use async_graphql::connection::{Connection, Edge};
use async_graphql::{ComplexObject, Context, Enum, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_commands::handler::Handled;
use switchboard_domain as domain;
use switchboard_domain::event::{DomainEvent, InternalNoteAdded, MessagePosted};
use switchboard_projections::conversations::read::{self, InboxEntry, InboxRow, MessageRow};
use uuid::Uuid;

use crate::auth::{Authentication, CONVERSATION_ROLES};
use crate::error::{ApiError, ResultExt};
use crate::graphql::AppContext;

pub mod sla;

// The GraphQL enums mirror the domain's; `remote` makes the compiler keep them in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::conversation::ConversationStatus")]
pub enum ConversationStatus {
    Open,
    InProgress,
    WaitingForUser,
    PendingCallback,
    Resolved,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::event::Source")]
pub enum Source {
    Web,
    Telegram,
    Callback,
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::event::SenderKind")]
pub enum SenderKind {
    Contact,
    Operator,
    System,
    Bot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::event::Priority")]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::event::Channel")]
pub enum Channel {
    Web,
    Telegram,
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::inbox::RatingScale")]
pub enum RatingScale {
    None,
    Csat,
    Nps,
}

/// A detail the pre-chat form asks for (INBOX-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::inbox::VisitorField")]
pub enum VisitorField {
    Name,
    Email,
    Phone,
}

/// Whether only verified users of the site may chat (SEC-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::inbox::VisitorIdentity")]
pub enum VisitorIdentity {
    /// Anonymous visitors chat; a visitor who claims to be a user must prove it.
    Optional,
    /// Only users the site vouches for (`identityHash`) chat.
    Required,
}

/// A text column written by a projection from a domain enum. Anything else is a bug in the
/// projection; it is logged and shown as `fallback` rather than failing the whole page.
fn stored<D, G: From<D>>(text: &str, parse: fn(&str) -> Option<D>, fallback: D) -> G {
    G::from(parse(text).unwrap_or_else(|| {
        tracing::error!(value = text, "unknown enum text in a read table");
        fallback
    }))
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Sender {
    pub kind: SenderKind,
    /// The contact's or operator's id; null for system and bot messages, and for an
    /// operator's message read by a widget session (contacts are not told which operator).
    pub id: Option<Uuid>,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Message {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// The message's place in its conversation's history; increases with every event.
    pub position: i32,
    pub sender: Sender,
    pub channel: Channel,
    pub body: String,
    pub posted_at: DateTime<Utc>,
    /// An operator's internal note (CONV-4). Only operators ever see these.
    pub internal: bool,
    /// When the other side first read it (CONV-5): the contact for outbound messages, any
    /// operator for the contact's. Null while unread.
    pub read_at: Option<DateTime<Utc>>,
    /// The inbox's automatic first answer, sent in the assignee's name (INBOX-5).
    pub auto_reply: bool,
    /// Files attached to it (CONV-7); download each from its `url` with the same token.
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Attachment {
    pub id: Uuid,
    pub name: String,
    /// Read from the file's bytes when it was uploaded.
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// `/attachments/<id>`, relative to the API's origin.
    pub url: String,
}

impl From<&domain::event::AttachmentRef> for Attachment {
    fn from(a: &domain::event::AttachmentRef) -> Self {
        Self {
            id: a.attachment_id,
            name: a.name.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            sha256: a.sha256.clone(),
            url: format!("/attachments/{}", a.attachment_id),
        }
    }
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.message_id,
            conversation_id: row.conversation_id,
            position: row.stream_version,
            sender: Sender {
                kind: stored(
                    &row.sender_kind,
                    domain::event::SenderKind::parse,
                    domain::event::SenderKind::Contact,
                ),
                id: row.sender_id,
            },
            channel: stored(
                &row.channel,
                domain::event::Channel::parse,
                domain::event::Channel::Web,
            ),
            body: row.body,
            posted_at: row.posted_at,
            internal: row.internal,
            read_at: row.read_at,
            auto_reply: row.auto_reply,
            attachments: row.attachments.0.iter().map(Attachment::from).collect(),
        }
    }
}

impl Message {
    /// The message as `audience` may see it: a contact is told an operator wrote, never which
    /// operator (their id is the company's; the name is `assigneeName`'s).
    pub fn for_audience(mut self, audience: read::Audience) -> Self {
        if audience == read::Audience::Contact && self.sender.kind == SenderKind::Operator {
            self.sender.id = None;
        }
        self
    }

    pub fn from_event(event: &MessagePosted, stream_version: i32) -> Self {
        Self {
            id: event.message_id,
            conversation_id: event.conversation_id,
            position: stream_version,
            sender: Sender {
                kind: event.sender.kind.into(),
                id: event.sender.id,
            },
            channel: event.channel.into(),
            body: event.body.clone(),
            posted_at: event.posted_at,
            internal: false,
            read_at: None,
            auto_reply: false,
            attachments: event.attachments.iter().map(Attachment::from).collect(),
        }
    }

    /// The message or note a handled command recorded, if it recorded one.
    pub fn recorded_in(handled: &Handled) -> Option<Self> {
        handled
            .events
            .iter()
            .zip(&handled.recorded)
            .find_map(|(event, recorded)| match event {
                DomainEvent::MessagePosted(e) => {
                    Some(Message::from_event(e, recorded.stream_version))
                }
                DomainEvent::InternalNoteAdded(e) => {
                    Some(Message::from_note(e, recorded.stream_version))
                }
                _ => None,
            })
    }

    pub fn from_note(note: &InternalNoteAdded, stream_version: i32) -> Self {
        Self {
            id: note.note_id,
            conversation_id: note.conversation_id,
            position: stream_version,
            sender: Sender {
                kind: SenderKind::Operator,
                id: Some(note.author_id),
            },
            channel: Channel::Api,
            body: note.body.clone(),
            posted_at: note.added_at,
            internal: true,
            read_at: None,
            auto_reply: false,
            attachments: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Contact {
    pub id: Uuid,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The latest message of a conversation, as the inbox list shows it.
#[derive(Debug, Clone, SimpleObject)]
pub struct MessagePreview {
    pub id: Uuid,
    pub body: String,
    pub sender_kind: SenderKind,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Conversation {
    pub id: Uuid,
    pub inbox_id: Uuid,
    pub status: ConversationStatus,
    pub source: Source,
    pub subject: Option<String>,
    pub contact: Contact,
    pub started_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub last_message: Option<MessagePreview>,
    pub message_count: i32,
    pub priority: Priority,
    /// Lower-case, sorted; empty for a widget session.
    pub tags: Vec<String>,
    /// When it was last resolved; kept when it reopens.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When it was last closed; kept when it reopens.
    pub closed_at: Option<DateTime<Utc>>,
    /// How often the contact reopened it by writing after resolve or close.
    pub reopen_count: i32,
    /// The operator working it; null while it waits in the Open queue, and always for a
    /// widget session (contacts see `assigneeName` only).
    pub assignee_id: Option<Uuid>,
    /// The assignee, for `assigneeName` whoever asks.
    #[graphql(skip)]
    pub assignee: Option<Uuid>,
    /// The contact's rating (CONV-8), once given.
    pub rating: Option<Rating>,
    /// The branch that works it; null: head office (INBOX-2, OPS-4), and for a widget session.
    pub branch_id: Option<Uuid>,
    /// Started in a global inbox: it may move to another branch (OPS-4).
    pub transferable: bool,
    /// When the current assignee got it; null for a widget session.
    pub assigned_at: Option<DateTime<Utc>>,
    /// When the current assignee first opened it (OPS-3); null while unopened, and for a
    /// widget session.
    pub opened_at: Option<DateTime<Utc>>,
    /// The viewing operator's unread count, when the query that loaded the row computed it.
    #[graphql(skip)]
    pub viewer_unread: Option<i32>,
    /// Messages sent to the contact that they have not read (PROJ-2).
    #[graphql(skip)]
    pub contact_unread: i32,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Rating {
    pub scale: RatingScale,
    /// CSAT 1–5, NPS 0–10.
    pub score: i32,
    pub comment: Option<String>,
    pub rated_at: DateTime<Utc>,
}

/// The outcome of a change an operator asked for.
#[derive(Debug, SimpleObject)]
pub struct ConversationChange {
    pub conversation_id: Uuid,
    /// False when the conversation already was as asked (nothing was recorded).
    pub changed: bool,
}

impl From<InboxRow> for Conversation {
    fn from(row: InboxRow) -> Self {
        let last_message = match (row.last_message_id, row.last_message_body) {
            (Some(id), Some(body)) => Some(MessagePreview {
                id,
                body,
                sender_kind: stored(
                    row.last_message_sender.as_deref().unwrap_or_default(),
                    domain::event::SenderKind::parse,
                    domain::event::SenderKind::Contact,
                ),
            }),
            _ => None,
        };
        Self {
            id: row.conversation_id,
            inbox_id: row.inbox_id,
            status: stored(
                &row.status,
                domain::conversation::ConversationStatus::parse,
                domain::conversation::ConversationStatus::Open,
            ),
            source: stored(
                &row.source,
                domain::event::Source::parse,
                domain::event::Source::Web,
            ),
            subject: row.subject,
            contact: Contact {
                id: row.contact_id,
                name: row.contact_name,
                email: row.contact_email,
                phone: row.contact_phone,
            },
            started_at: row.started_at,
            last_activity_at: row.last_activity_at,
            last_message,
            message_count: row.message_count,
            priority: stored(
                &row.priority,
                domain::event::Priority::parse,
                domain::event::Priority::Medium,
            ),
            tags: row.tags,
            resolved_at: row.resolved_at,
            closed_at: row.closed_at,
            reopen_count: row.reopen_count,
            assignee_id: row.assignee_id,
            assignee: row.assignee_id,
            branch_id: row.branch_id,
            transferable: row.transferable,
            assigned_at: row.assigned_at,
            opened_at: row.opened_at,
            viewer_unread: None,
            contact_unread: row.contact_unread,
            rating: match (row.rating_scale, row.rating_score, row.rated_at) {
                (Some(scale), Some(score), Some(rated_at)) => Some(Rating {
                    scale: stored(
                        &scale,
                        domain::inbox::RatingScale::parse,
                        domain::inbox::RatingScale::Csat,
                    ),
                    score: i32::from(score),
                    comment: row.rating_comment,
                    rated_at,
                }),
                _ => None,
            },
        }
    }
}

impl From<InboxEntry> for Conversation {
    fn from(entry: InboxEntry) -> Self {
        Self {
            viewer_unread: Some(entry.viewer_unread),
            ..Conversation::from(entry.row)
        }
    }
}

impl Conversation {
    /// The conversation as its contact may see it: no assignee id, branch, tags or when it
    /// was assigned and opened (the company's own working notes), the assignee's name being
    /// what the widget shows.
    pub fn for_contact(mut self) -> Self {
        self.assignee_id = None;
        self.branch_id = None;
        self.tags = Vec::new();
        self.assigned_at = None;
        self.opened_at = None;
        self
    }
}

/// The largest page any list returns.
pub const MAX_PAGE: i32 = 200;

/// Checks a `first` argument.
pub fn page_size(first: Option<i32>, default: i32) -> Result<i64, ApiError> {
    match first.unwrap_or(default) {
        n @ 1..=MAX_PAGE => Ok(n as i64),
        n => Err(ApiError::InvalidArgument {
            argument: "first",
            reason: format!("must be between 1 and {MAX_PAGE}, not {n}"),
        }),
    }
}

#[ComplexObject]
impl Conversation {
    /// Its SLA figures (PROJ-3): due times, responses, resolutions and breaches. Operators
    /// only; null until the SLA projection has the conversation.
    async fn sla(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<sla::ConversationSla>> {
        sla::conversation_sla(ctx, self.id).await.gql()
    }

    /// What is unread in it for whoever asks (PROJ-2). For an operator: the contact's
    /// messages after their last-read marker (all of them if they never read it). For the
    /// contact: the messages sent to them (operators', system, bot) after theirs.
    async fn unread_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let auth = ctx.data::<Authentication>()?;
        match auth.require_conversation_reader(self.id).gql()? {
            read::Audience::Contact => Ok(self.contact_unread),
            read::Audience::Operators => match self.viewer_unread {
                Some(unread) => Ok(unread),
                None => {
                    let (viewer, _) = auth.require_operator(CONVERSATION_ROLES).gql()?;
                    let app = ctx.data::<AppContext>()?;
                    Ok(read::unread_for_operator(
                        &app.pool,
                        viewer,
                        self.id,
                        read::UnreadScope::Any,
                    )
                    .await
                    .gql()?)
                }
            },
        }
    }

    /// The assignee's name, as contacts see it (the widget's "Ann is answering"); null while
    /// it waits in the Open queue.
    async fn assignee_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let Some(assignee) = self.assignee else {
            return Ok(None);
        };
        let app = ctx.data::<AppContext>()?;
        switchboard_projections::operators::read::display_name(&app.pool, assignee)
            .await
            .gql()
    }

    /// The thread, oldest first. `after` is the cursor (position) of the last message seen.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Message>> {
        let app = ctx.data::<AppContext>()?;
        let audience = ctx
            .data::<Authentication>()?
            .require_conversation_reader(self.id)
            .gql()?;
        let limit = page_size(first, 50).gql()?;
        let after_version = match after {
            None => 0,
            Some(cursor) => cursor
                .parse::<i32>()
                .map_err(|_| ApiError::InvalidArgument {
                    argument: "after",
                    reason: "not a message cursor".into(),
                })
                .gql()?,
        };
        let mut rows = read::messages(&app.pool, self.id, audience, after_version, limit + 1)
            .await
            .gql()?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::new(after_version > 0, has_next);
        connection.edges.extend(rows.into_iter().map(|row| {
            Edge::new(
                row.stream_version.to_string(),
                Message::from(row).for_audience(audience),
            )
        }));
        Ok(connection)
    }
}

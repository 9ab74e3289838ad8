//! The API's one error type. Every variant maps to a stable `extensions.code` that clients
//! switch on (snapshot-tested: these are a contract). Storage and internal failures become
//! `INTERNAL` without leaking their text; the details go to the log.

use async_graphql::ErrorExtensions;
use axum::http::StatusCode;
use switchboard_commands::handler::CommandError;
use switchboard_domain::attachment::AttachmentRefused;
use switchboard_domain::conversation::ConversationStatus;
use switchboard_domain::values::InvalidInput;
use switchboard_domain::DomainError;
use thiserror::Error;
use uuid::Uuid;

#[derive(Debug, Error)]
pub enum ApiError {
    /// No valid token where one is needed.
    #[error("not authenticated: {0}")]
    Unauthenticated(String),
    /// A valid token that does not allow this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A field failed validation.
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// An argument is malformed (cursor, id, limit).
    #[error("invalid argument `{argument}`: {reason}")]
    InvalidArgument {
        argument: &'static str,
        reason: String,
    },
    #[error("conversation {0} does not exist")]
    ConversationNotFound(Uuid),
    #[error("conversation {0} already exists")]
    ConversationAlreadyExists(Uuid),
    /// The status machine does not allow this move (CONV-2).
    #[error("a conversation cannot go from {} to {} by hand", from.as_str(), to.as_str())]
    IllegalTransition {
        from: ConversationStatus,
        to: ConversationStatus,
    },
    /// A moderator acted on (or asked for) a conversation not assigned to them.
    #[error("conversation {conversation_id} is not assigned to you")]
    NotAssignee { conversation_id: Uuid },
    /// The conversation is closed; reopen it first.
    #[error("conversation {0} is closed; reopen it to reply")]
    ConversationClosed(Uuid),
    #[error("the conversation has no message {0}")]
    MessageNotFound(Uuid),
    #[error("a call-back ({0}) is already awaited in this conversation")]
    CallbackAlreadyPending(Uuid),
    #[error("no call-back {0} is awaited in this conversation")]
    NoSuchCallback(Uuid),
    #[error("the call-back window ends before it starts")]
    InvalidCallbackWindow,
    /// A call-back needs the contact's consent to process their personal data (CALL-1).
    #[error("the contact must accept the personal-data consent text to be called back")]
    ConsentRequired,
    #[error("this inbox does not take ratings")]
    RatingDisabled,
    #[error("a conversation can be rated once it is resolved or closed, not while {}", .0.as_str())]
    RatingTooEarly(ConversationStatus),
    #[error("conversation {0} was already rated")]
    AlreadyRated(Uuid),
    #[error("a score on this scale is {min}–{max}, not {score}")]
    ScoreOutOfRange { score: i64, min: u8, max: u8 },
    /// No inbox has this widget token (never had, or it was rotated).
    #[error("the widget token is not valid; get the current one from the inbox settings")]
    InvalidWidgetToken,
    /// The inbox is switched off and accepts no new conversations.
    #[error("inbox {0} is not active")]
    InboxInactive(Uuid),
    #[error("inbox {0} does not exist")]
    InboxNotFound(Uuid),
    #[error("inbox {0} already exists")]
    InboxAlreadyExists(Uuid),
    /// No operator is registered with this id (OPS-2).
    #[error("operator {0} is not registered; an admin registers operators first")]
    OperatorNotFound(Uuid),
    #[error("operator {0} is already registered")]
    OperatorAlreadyExists(Uuid),
    /// The operator works another branch than the conversation's (OPS-2, OPS-4).
    #[error("operator {0} does not work this conversation's branch; transfer it first")]
    OutsideBranch(Uuid),
    /// Only a global inbox's conversations move between branches (OPS-4).
    #[error("conversation {0} belongs to a branch inbox and cannot be transferred")]
    NotTransferable(Uuid),
    /// The file cannot be attached: its type, its size, or it is empty (CONV-7).
    #[error(transparent)]
    AttachmentRefused(#[from] AttachmentRefused),
    /// No attachment with this id was uploaded to this conversation.
    #[error("attachment {0} was not uploaded to this conversation")]
    AttachmentNotFound(Uuid),
    #[error("a message carries at most {max} attachments, not {count}")]
    TooManyAttachments { count: usize, max: usize },
    /// No webhook endpoint has this id (PROJ-4).
    #[error("webhook endpoint {0} does not exist")]
    WebhookEndpointNotFound(Uuid),
    #[error("webhook endpoint {0} already exists")]
    WebhookEndpointAlreadyExists(Uuid),
    /// No webhook delivery has this id.
    #[error("webhook delivery {0} does not exist")]
    WebhookDeliveryNotFound(Uuid),
    /// Only delivered or dead-lettered deliveries are redelivered; a pending one is still
    /// being tried.
    #[error(
        "webhook delivery {0} is still pending; it is redelivered only once delivered or dead"
    )]
    WebhookDeliveryPending(Uuid),
    /// The id the client supplied for idempotency was used for another command.
    #[error("the id {0} was already used for a different request")]
    IdempotencyKeyReused(Uuid),
    /// Too many requests from this address or for this widget token (SEC-2).
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A browser used the widget from a site the inbox does not list (SEC-1).
    #[error("the widget of this inbox may not be used from {0}")]
    OriginNotAllowed(String),
    /// The widget API is switched off (`SWITCHBOARD_WIDGET_API_ENABLED=false`, seed 001).
    #[error("Messenger disabled")]
    MessengerDisabled,
    /// The form's hidden honeypot field was filled in: a bot, not a visitor (SEC-2).
    #[error("this request looks automated and was not accepted")]
    SpamSuspected,
    /// Too many concurrent writers on one conversation; retrying is safe.
    #[error("the conversation is busy; retry the request")]
    Contended,
    /// No contact with this id has anything recorded (GDPR-1, GDPR-2).
    #[error("contact {0} is not known")]
    ContactNotFound(Uuid),
    /// The contact was erased (GDPR-2): nothing more of theirs is recorded.
    #[error("contact {0} was erased")]
    ContactErased(Uuid),
    /// Telegram is not set up on this service (no bot token).
    #[error("Telegram is not set up on this service")]
    TelegramDisabled,
    /// The Telegram Bot API did not answer as it should; try again later.
    #[error("Telegram is not reachable right now; try again later")]
    TelegramUnavailable,
    /// The service is saturated: no database connection came free within the pool's
    /// acquire timeout. Transient; the client retries after `retry_after_secs` (with the same
    /// id where the operation takes one, so a retry never records twice).
    #[error("the service is busy; retry in {retry_after_secs} s")]
    Unavailable { retry_after_secs: u64 },
    /// Something failed on our side. The message is deliberately vague.
    #[error("internal error")]
    Internal,
}

/// What a client is told to wait before retrying when the service is saturated.
const BUSY_RETRY_AFTER_SECS: u64 = 1;

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::InvalidInput(InvalidInput::EmptyBody) => "EMPTY_BODY",
            ApiError::InvalidInput(InvalidInput::Empty { .. }) => "EMPTY_FIELD",
            ApiError::InvalidInput(InvalidInput::Malformed { .. }) => "MALFORMED_FIELD",
            ApiError::InvalidWidgetToken => "INVALID_WIDGET_TOKEN",
            ApiError::RatingDisabled => "RATING_DISABLED",
            ApiError::CallbackAlreadyPending(_) => "CALLBACK_ALREADY_PENDING",
            ApiError::NoSuchCallback(_) => "NO_SUCH_CALLBACK",
            ApiError::InvalidCallbackWindow => "INVALID_CALLBACK_WINDOW",
            ApiError::ConsentRequired => "CONSENT_REQUIRED",
            ApiError::MessageNotFound(_) => "MESSAGE_NOT_FOUND",
            ApiError::RatingTooEarly(_) => "RATING_TOO_EARLY",
            ApiError::AlreadyRated(_) => "ALREADY_RATED",
            ApiError::ScoreOutOfRange { .. } => "SCORE_OUT_OF_RANGE",
            ApiError::InboxInactive(_) => "INBOX_INACTIVE",
            ApiError::InboxNotFound(_) => "INBOX_NOT_FOUND",
            ApiError::InboxAlreadyExists(_) => "INBOX_ALREADY_EXISTS",
            ApiError::OperatorNotFound(_) => "OPERATOR_NOT_FOUND",
            ApiError::OperatorAlreadyExists(_) => "OPERATOR_ALREADY_EXISTS",
            ApiError::OutsideBranch(_) => "OUTSIDE_BRANCH",
            ApiError::NotTransferable(_) => "NOT_TRANSFERABLE",
            ApiError::AttachmentRefused(AttachmentRefused::TooLarge { .. }) => {
                "ATTACHMENT_TOO_LARGE"
            }
            ApiError::AttachmentRefused(
                AttachmentRefused::UnknownType | AttachmentRefused::TypeNotAllowed(_),
            ) => "UNSUPPORTED_ATTACHMENT_TYPE",
            ApiError::AttachmentRefused(AttachmentRefused::Empty) => "EMPTY_FILE",
            ApiError::AttachmentNotFound(_) => "ATTACHMENT_NOT_FOUND",
            ApiError::TooManyAttachments { .. } => "TOO_MANY_ATTACHMENTS",
            ApiError::InvalidInput(InvalidInput::BodyTooLong { .. }) => "BODY_TOO_LONG",
            ApiError::InvalidInput(InvalidInput::TooLong { .. }) => "FIELD_TOO_LONG",
            ApiError::InvalidInput(InvalidInput::ControlCharacter { .. }) => "INVALID_CHARACTER",
            ApiError::InvalidArgument { .. } => "INVALID_ARGUMENT",
            ApiError::ConversationNotFound(_) => "CONVERSATION_NOT_FOUND",
            ApiError::ConversationAlreadyExists(_) => "CONVERSATION_ALREADY_EXISTS",
            ApiError::IllegalTransition { .. } => "ILLEGAL_TRANSITION",
            ApiError::ConversationClosed(_) => "CONVERSATION_CLOSED",
            ApiError::NotAssignee { .. } => "NOT_ASSIGNEE",
            ApiError::WebhookEndpointNotFound(_) => "WEBHOOK_ENDPOINT_NOT_FOUND",
            ApiError::WebhookEndpointAlreadyExists(_) => "WEBHOOK_ENDPOINT_ALREADY_EXISTS",
            ApiError::WebhookDeliveryNotFound(_) => "WEBHOOK_DELIVERY_NOT_FOUND",
            ApiError::WebhookDeliveryPending(_) => "WEBHOOK_DELIVERY_PENDING",
            ApiError::IdempotencyKeyReused(_) => "IDEMPOTENCY_KEY_REUSED",
            ApiError::Contended => "CONFLICT",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::SpamSuspected => "SPAM_SUSPECTED",
            ApiError::MessengerDisabled => "MESSENGER_DISABLED",
            ApiError::OriginNotAllowed(_) => "ORIGIN_NOT_ALLOWED",
            ApiError::ContactNotFound(_) => "CONTACT_NOT_FOUND",
            ApiError::ContactErased(_) => "CONTACT_ERASED",
            ApiError::TelegramDisabled => "TELEGRAM_DISABLED",
            ApiError::TelegramUnavailable => "TELEGRAM_UNAVAILABLE",
            ApiError::Unavailable { .. } => "UNAVAILABLE",
            ApiError::Internal => "INTERNAL",
        }
    }

    /// The HTTP status of the error where it is answered outside GraphQL (attachment transfers,
    /// refusals before a GraphQL request runs). GraphQL itself answers 200 with the code, or
    /// 429/503 when nothing in the request was done (`http.rs`).
    pub fn http_status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_)
            | ApiError::NotAssignee { .. }
            | ApiError::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            ApiError::ConversationNotFound(_) | ApiError::AttachmentNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            ApiError::ContactErased(_) => StatusCode::GONE,
            ApiError::AttachmentRefused(AttachmentRefused::TooLarge { .. }) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::AttachmentRefused(
                AttachmentRefused::UnknownType | AttachmentRefused::TypeNotAllowed(_),
            ) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// How long to wait before retrying, for the errors that say so (`RATE_LIMITED`,
    /// `UNAVAILABLE`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after_secs }
            | ApiError::Unavailable { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Logs what must not reach the client and maps the rest.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        ApiError::Internal
    }
}

impl From<CommandError> for ApiError {
    fn from(err: CommandError) -> Self {
        match err {
            CommandError::Domain(DomainError::ConversationNotFound(id)) => {
                ApiError::ConversationNotFound(id)
            }
            CommandError::Domain(DomainError::ConversationAlreadyExists(id)) => {
                ApiError::ConversationAlreadyExists(id)
            }
            CommandError::Domain(
                e @ (DomainError::NotTheContact { .. } | DomainError::MissingSenderId { .. }),
            ) => ApiError::Forbidden(e.to_string()),
            CommandError::Domain(DomainError::DuplicateMessageId { message_id, .. }) => {
                ApiError::IdempotencyKeyReused(message_id)
            }
            CommandError::Domain(DomainError::IllegalTransition { from, to }) => {
                ApiError::IllegalTransition { from, to }
            }
            CommandError::Domain(DomainError::ConversationClosed(id)) => {
                ApiError::ConversationClosed(id)
            }
            CommandError::Domain(DomainError::NotAssignee {
                conversation_id, ..
            }) => ApiError::NotAssignee { conversation_id },
            CommandError::Domain(e @ DomainError::NotPermitted(_)) => {
                ApiError::Forbidden(e.to_string())
            }
            CommandError::Domain(DomainError::InboxNotFound(id)) => ApiError::InboxNotFound(id),
            CommandError::Domain(DomainError::RatingDisabled) => ApiError::RatingDisabled,
            CommandError::Domain(DomainError::CallbackAlreadyPending(id)) => {
                ApiError::CallbackAlreadyPending(id)
            }
            CommandError::Domain(DomainError::NoSuchCallback(id)) => ApiError::NoSuchCallback(id),
            CommandError::Domain(DomainError::InvalidCallbackWindow) => {
                ApiError::InvalidCallbackWindow
            }
            CommandError::Domain(DomainError::MessageNotFound { message_id, .. }) => {
                ApiError::MessageNotFound(message_id)
            }
            CommandError::Domain(DomainError::RatingTooEarly(status)) => {
                ApiError::RatingTooEarly(status)
            }
            CommandError::Domain(DomainError::AlreadyRated(id)) => ApiError::AlreadyRated(id),
            CommandError::Domain(DomainError::ScoreOutOfRange {
                score, min, max, ..
            }) => ApiError::ScoreOutOfRange {
                score: i64::from(score),
                min,
                max,
            },
            CommandError::Domain(DomainError::InboxAlreadyExists(id)) => {
                ApiError::InboxAlreadyExists(id)
            }
            CommandError::Domain(DomainError::OperatorNotFound(id)) => {
                ApiError::OperatorNotFound(id)
            }
            CommandError::Domain(DomainError::OperatorAlreadyExists(id)) => {
                ApiError::OperatorAlreadyExists(id)
            }
            CommandError::Domain(DomainError::OutsideBranch { operator_id }) => {
                ApiError::OutsideBranch(operator_id)
            }
            CommandError::Domain(DomainError::NotTransferable(id)) => ApiError::NotTransferable(id),
            CommandError::Domain(DomainError::EmptyMessage) => {
                ApiError::InvalidInput(InvalidInput::EmptyBody)
            }
            CommandError::Domain(DomainError::TooManyAttachments { count, max }) => {
                ApiError::TooManyAttachments { count, max }
            }
            CommandError::Domain(DomainError::WebhookEndpointNotFound(id)) => {
                ApiError::WebhookEndpointNotFound(id)
            }
            CommandError::Domain(DomainError::WebhookEndpointAlreadyExists(id)) => {
                ApiError::WebhookEndpointAlreadyExists(id)
            }
            CommandError::Contended { .. } => ApiError::Contended,
            CommandError::CommandIdReused(id) => ApiError::IdempotencyKeyReused(id),
            CommandError::ContactErased(id) => ApiError::ContactErased(id),
            CommandError::Storage(err) => ApiError::from(err),
            other @ CommandError::Corrupt(_) => ApiError::internal(other),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            // Saturation, not a fault: every connection was busy for the acquire timeout.
            sqlx::Error::PoolTimedOut => {
                tracing::warn!("no database connection came free in time; answering UNAVAILABLE");
                ApiError::Unavailable {
                    retry_after_secs: BUSY_RETRY_AFTER_SECS,
                }
            }
            other => ApiError::internal(other),
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                ApiError::InvalidInput(InvalidInput::BodyTooLong { actual, limit }) => {
                    ext.set("limit", *limit as u64);
                    ext.set("actual", *actual as u64);
                }
                ApiError::InvalidInput(InvalidInput::TooLong {
                    field,
                    actual,
                    limit,
                }) => {
                    ext.set("field", *field);
                    ext.set("limit", *limit as u64);
                    ext.set("actual", *actual as u64);
                }
                ApiError::InvalidInput(InvalidInput::ControlCharacter { field }) => {
                    ext.set("field", *field);
                }
                ApiError::InvalidInput(InvalidInput::Empty { field }) => ext.set("field", *field),
                ApiError::InvalidInput(InvalidInput::Malformed { field, expected }) => {
                    ext.set("field", *field);
                    ext.set("expected", *expected);
                }
                ApiError::InvalidArgument { argument, .. } => ext.set("argument", *argument),
                ApiError::ScoreOutOfRange { min, max, .. } => {
                    ext.set("min", *min);
                    ext.set("max", *max);
                }
                ApiError::RatingTooEarly(status) => ext.set("status", status.as_str()),
                ApiError::RateLimited { retry_after_secs }
                | ApiError::Unavailable { retry_after_secs } => {
                    ext.set("retryAfter", *retry_after_secs)
                }
                ApiError::IllegalTransition { from, to } => {
                    ext.set("from", from.as_str());
                    ext.set("to", to.as_str());
                }
                _ => {}
            }
        })
    }
}

/// `?` for resolvers: keeps the code that a plain `Display` conversion would lose.
pub trait ResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T, E: Into<ApiError>> ResultExt<T> for Result<T, E> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.into().extend())
    }
}

/// Gives every error that reaches a client a code: errors raised by async-graphql itself (a
/// malformed query, an argument of the wrong type, a depth or complexity limit) carry none, and
/// clients switch on `extensions.code`. Installed on the schema, so it covers HTTP and
/// WebSocket alike.
pub struct ErrorCodes;

impl async_graphql::extensions::ExtensionFactory for ErrorCodes {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(ErrorCodes)
    }
}

/// The code of errors that name no code of their own.
pub const INVALID_REQUEST: &str = "INVALID_REQUEST";

fn label(mut response: async_graphql::Response) -> async_graphql::Response {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", INVALID_REQUEST);
        }
    }
    response
}

#[async_graphql::async_trait::async_trait]
impl async_graphql::extensions::Extension for ErrorCodes {
    async fn request(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        next: async_graphql::extensions::NextRequest<'_>,
    ) -> async_graphql::Response {
        label(next.run(ctx).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        stream: futures::stream::BoxStream<'s, async_graphql::Response>,
        next: async_graphql::extensions::NextSubscribe<'_>,
    ) -> futures::stream::BoxStream<'s, async_graphql::Response> {
        use futures::StreamExt;
        next.run(ctx, stream).map(label).boxed()
    }
}

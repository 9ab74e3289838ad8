//! The API's one error type. Every variant maps to a stable `extensions.code` that clients
//! switch on (snapshot-tested: these are a contract). Storage and internal failures become
//! `INTERNAL` without leaking their text; the details go to the log.

use async_graphql::ErrorExtensions;
use axum::http::StatusCode;
use switchboard_commands::handler::CommandError;
use switchboard_domain::attachment::AttachmentRefused;
use switchboard_domain::values::InvalidInput;
use switchboard_domain::DomainError;
use thiserror::Error;
use uuid::Uuid;

#[derive(Debug, Error)]
pub enum ApiError {
    /// A decider refused the command, or the API found what a decider would (an inbox,
    /// operator or conversation that does not exist): its code and message are the domain
    /// error's ([`domain_code`]), so each refusal is declared once, in `switchboard_domain`.
    /// Built with `ApiError::from(DomainError::…)`, never directly: a few refusals are told
    /// otherwise (see `From<DomainError>`).
    #[error(transparent)]
    Domain(DomainError),
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
    /// A call-back needs the contact's consent to process their personal data (CALL-1).
    #[error("the contact must accept the personal-data consent text to be called back")]
    ConsentRequired,
    /// No inbox has this widget token (never had, or it was rotated).
    #[error("the widget token is not valid; get the current one from the inbox settings")]
    InvalidWidgetToken,
    /// The inbox is switched off and accepts no new conversations.
    #[error("inbox {0} is not active")]
    InboxInactive(Uuid),
    /// The file cannot be attached: its type, its size, or it is empty (CONV-7).
    #[error(transparent)]
    AttachmentRefused(#[from] AttachmentRefused),
    /// No attachment with this id was uploaded to this conversation.
    #[error("attachment {0} was not uploaded to this conversation")]
    AttachmentNotFound(Uuid),
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
    /// The visitor claimed to be a user of the site, and the identity hash does not prove it
    /// (SEC-1): wrong, missing, or made with a secret that was rotated since.
    #[error("the user's identity could not be verified; the site must sign the user id with the inbox's current identity secret")]
    IdentityNotVerified,
    /// The inbox takes only verified users of its site (SEC-1), and the visitor is none.
    #[error("this chat is for signed-in users of the site only; sign in on the site first")]
    IdentityRequired,
    /// A visitor claimed to be a user, but the inbox has no identity secret to check it with.
    #[error("this inbox does not verify users; an admin must issue its identity secret first")]
    IdentityNotConfigured,
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
    /// Sign-in (the console): the e-mail or the password is wrong (which one is not said).
    #[error("the e-mail address or the password is wrong")]
    InvalidCredentials,
    /// Too many wrong passwords in a row: the account is locked for `retry_after_secs`, or
    /// until its password is reset by e-mail.
    #[error("too many failed sign-ins; the account is locked for {retry_after_secs} s, or reset the password")]
    AccountLocked { retry_after_secs: u64 },
    /// The console's session is over (signed out, expired, ended elsewhere, the operator
    /// deactivated), or there is none: sign in again.
    #[error("the session has ended; sign in again")]
    SessionEnded,
    /// A refresh token was used after it had been replaced: the session was ended, since
    /// someone else may hold it. Sign in again.
    #[error("this session was ended because an old refresh token was used again; sign in again")]
    RefreshTokenReused,
    /// A request the session cookie authorises came without the CSRF token (the
    /// `X-Switchboard-CSRF` header equal to the `sb_csrf` cookie) or from another site.
    #[error("the request did not prove it comes from the console (CSRF token missing or wrong)")]
    CsrfRejected,
    /// The new password is too short (or too long).
    #[error("a password has {min_length} to {max_length} characters")]
    PasswordTooWeak { min_length: u64, max_length: u64 },
    /// Another operator signs in with this e-mail address.
    #[error("another operator already uses the e-mail address {0}")]
    EmailTaken(String),
    /// Something failed on our side. The message is deliberately vague.
    #[error("internal error")]
    Internal,
}

/// What a client is told to wait before retrying when the service is saturated.
const BUSY_RETRY_AFTER_SECS: u64 = 1;

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Domain(err) => domain_code(err),
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::InvalidInput(InvalidInput::EmptyBody) => "EMPTY_BODY",
            ApiError::InvalidInput(InvalidInput::Empty { .. }) => "EMPTY_FIELD",
            ApiError::InvalidInput(InvalidInput::Malformed { .. }) => "MALFORMED_FIELD",
            ApiError::InvalidWidgetToken => "INVALID_WIDGET_TOKEN",
            ApiError::ConsentRequired => "CONSENT_REQUIRED",
            ApiError::InboxInactive(_) => "INBOX_INACTIVE",
            ApiError::AttachmentRefused(AttachmentRefused::TooLarge { .. }) => {
                "ATTACHMENT_TOO_LARGE"
            }
            ApiError::AttachmentRefused(
                AttachmentRefused::UnknownType | AttachmentRefused::TypeNotAllowed(_),
            ) => "UNSUPPORTED_ATTACHMENT_TYPE",
            ApiError::AttachmentRefused(AttachmentRefused::Empty) => "EMPTY_FILE",
            ApiError::AttachmentNotFound(_) => "ATTACHMENT_NOT_FOUND",
            ApiError::InvalidInput(InvalidInput::BodyTooLong { .. }) => "BODY_TOO_LONG",
            ApiError::InvalidInput(InvalidInput::TooLong { .. }) => "FIELD_TOO_LONG",
            ApiError::InvalidInput(InvalidInput::ControlCharacter { .. }) => "INVALID_CHARACTER",
            ApiError::InvalidArgument { .. } => "INVALID_ARGUMENT",
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
            ApiError::IdentityNotVerified => "IDENTITY_NOT_VERIFIED",
            ApiError::IdentityRequired => "IDENTITY_REQUIRED",
            ApiError::IdentityNotConfigured => "IDENTITY_NOT_CONFIGURED",
            ApiError::TelegramDisabled => "TELEGRAM_DISABLED",
            ApiError::TelegramUnavailable => "TELEGRAM_UNAVAILABLE",
            ApiError::Unavailable { .. } => "UNAVAILABLE",
            ApiError::InvalidCredentials => "INVALID_CREDENTIALS",
            ApiError::AccountLocked { .. } => "ACCOUNT_LOCKED",
            ApiError::SessionEnded => "SESSION_ENDED",
            ApiError::RefreshTokenReused => "REFRESH_TOKEN_REUSED",
            ApiError::CsrfRejected => "CSRF_REJECTED",
            ApiError::PasswordTooWeak { .. } => "PASSWORD_TOO_WEAK",
            ApiError::EmailTaken(_) => "EMAIL_TAKEN",
            ApiError::Internal => "INTERNAL",
        }
    }

    /// The HTTP status of the error where it is answered outside GraphQL (attachment transfers,
    /// refusals before a GraphQL request runs). GraphQL itself answers 200 with the code, or
    /// 429/503 when nothing in the request was done (`http.rs`).
    pub fn http_status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_)
            | ApiError::IdentityNotVerified
            | ApiError::IdentityRequired
            | ApiError::InvalidCredentials
            | ApiError::SessionEnded
            | ApiError::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            ApiError::CsrfRejected => StatusCode::FORBIDDEN,
            ApiError::AccountLocked { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden(_)
            | ApiError::Domain(DomainError::NotAssignee { .. })
            | ApiError::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            ApiError::Domain(DomainError::ConversationNotFound(_))
            | ApiError::AttachmentNotFound(_) => StatusCode::NOT_FOUND,
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
            | ApiError::Unavailable { retry_after_secs }
            | ApiError::AccountLocked { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Logs what must not reach the client and maps the rest.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        ApiError::Internal
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            // Who may do what, told as FORBIDDEN whatever the aggregate.
            e @ (DomainError::NotTheContact { .. }
            | DomainError::MissingSenderId { .. }
            | DomainError::NotPermitted(_)) => ApiError::Forbidden(e.to_string()),
            DomainError::DuplicateMessageId { message_id, .. } => {
                ApiError::IdempotencyKeyReused(message_id)
            }
            DomainError::EmptyMessage => ApiError::InvalidInput(InvalidInput::EmptyBody),
            other => ApiError::Domain(other),
        }
    }
}

/// The stable code of every domain refusal that reaches a client as itself (the others become
/// FORBIDDEN, IDEMPOTENCY_KEY_REUSED or EMPTY_BODY: see `From<DomainError>`). A match over
/// every variant, so a new refusal cannot reach a client without a code.
pub fn domain_code(err: &DomainError) -> &'static str {
    match err {
        DomainError::ConversationNotFound(_) => "CONVERSATION_NOT_FOUND",
        DomainError::ConversationAlreadyExists(_) => "CONVERSATION_ALREADY_EXISTS",
        DomainError::NotTheContact { .. }
        | DomainError::MissingSenderId { .. }
        | DomainError::NotPermitted(_) => "FORBIDDEN",
        DomainError::DuplicateMessageId { .. } => "IDEMPOTENCY_KEY_REUSED",
        DomainError::IllegalTransition { .. } => "ILLEGAL_TRANSITION",
        DomainError::ConversationClosed(_) => "CONVERSATION_CLOSED",
        DomainError::NotAssignee { .. } => "NOT_ASSIGNEE",
        DomainError::RatingDisabled => "RATING_DISABLED",
        DomainError::RatingTooEarly(_) => "RATING_TOO_EARLY",
        DomainError::AlreadyRated(_) => "ALREADY_RATED",
        DomainError::ScoreOutOfRange { .. } => "SCORE_OUT_OF_RANGE",
        DomainError::MessageNotFound { .. } => "MESSAGE_NOT_FOUND",
        DomainError::CallbackAlreadyPending(_) => "CALLBACK_ALREADY_PENDING",
        DomainError::NoSuchCallback(_) => "NO_SUCH_CALLBACK",
        DomainError::InvalidCallbackWindow => "INVALID_CALLBACK_WINDOW",
        DomainError::OutsideBranch { .. } => "OUTSIDE_BRANCH",
        DomainError::EmptyMessage => "EMPTY_BODY",
        DomainError::TooManyAttachments { .. } => "TOO_MANY_ATTACHMENTS",
        DomainError::NotTransferable(_) => "NOT_TRANSFERABLE",
        DomainError::InboxNotFound(_) => "INBOX_NOT_FOUND",
        DomainError::InboxAlreadyExists(_) => "INBOX_ALREADY_EXISTS",
        DomainError::OperatorNotFound(_) => "OPERATOR_NOT_FOUND",
        DomainError::OperatorAlreadyExists(_) => "OPERATOR_ALREADY_EXISTS",
        DomainError::OperatorDeactivated(_) => "OPERATOR_DEACTIVATED",
        DomainError::OperatorAlreadySignedUp(_) => "OPERATOR_ALREADY_SIGNED_UP",
        DomainError::InvitationNeedsEmail => "INVITATION_NEEDS_EMAIL",
        DomainError::InvitationInvalid => "INVITATION_INVALID",
        DomainError::ResetLinkInvalid => "RESET_LINK_INVALID",
        DomainError::WebhookEndpointNotFound(_) => "WEBHOOK_ENDPOINT_NOT_FOUND",
        DomainError::WebhookEndpointAlreadyExists(_) => "WEBHOOK_ENDPOINT_ALREADY_EXISTS",
    }
}

impl From<CommandError> for ApiError {
    fn from(err: CommandError) -> Self {
        match err {
            CommandError::Domain(err) => ApiError::from(err),
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
                ApiError::Domain(DomainError::ScoreOutOfRange { min, max, .. }) => {
                    ext.set("min", *min);
                    ext.set("max", *max);
                }
                ApiError::Domain(DomainError::RatingTooEarly(status)) => {
                    ext.set("status", status.as_str())
                }
                ApiError::RateLimited { retry_after_secs }
                | ApiError::Unavailable { retry_after_secs }
                | ApiError::AccountLocked { retry_after_secs } => {
                    ext.set("retryAfter", *retry_after_secs)
                }
                ApiError::PasswordTooWeak {
                    min_length,
                    max_length,
                } => {
                    ext.set("minLength", *min_length);
                    ext.set("maxLength", *max_length);
                }
                ApiError::Domain(DomainError::IllegalTransition { from, to }) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusals_told_otherwise_never_reach_a_client_as_domain_errors() {
        let id = Uuid::nil();
        let told_otherwise = [
            (
                DomainError::NotTheContact {
                    conversation_id: id,
                    contact_id: id,
                },
                "FORBIDDEN",
            ),
            (
                DomainError::MissingSenderId { kind: "contact" },
                "FORBIDDEN",
            ),
            (DomainError::NotPermitted("only an admin"), "FORBIDDEN"),
            (
                DomainError::DuplicateMessageId {
                    conversation_id: id,
                    message_id: id,
                },
                "IDEMPOTENCY_KEY_REUSED",
            ),
            (DomainError::EmptyMessage, "EMPTY_BODY"),
        ];
        for (err, code) in told_otherwise {
            let api = ApiError::from(err.clone());
            assert!(!matches!(api, ApiError::Domain(_)), "{err:?}");
            assert_eq!(api.code(), code);
            assert_eq!(domain_code(&err), code, "the same code either way");
        }
        let passed_through = ApiError::from(DomainError::NotAssignee {
            conversation_id: id,
            operator_id: id,
        });
        assert_eq!(passed_through.code(), "NOT_ASSIGNEE");
        assert_eq!(passed_through.http_status(), StatusCode::FORBIDDEN);
        assert_eq!(
            passed_through.to_string(),
            format!("conversation {id} is not assigned to you")
        );
    }
}

//! Who is asking: operator tokens and widget session tokens, both HS256 JWTs signed with the
//! service's secret, and the checks every resolver asks for. No resolver decodes a token or
//! compares roles itself.
//!
//! - An operator token carries the operator's id and roles (SPEC OPS-1): for service accounts
//!   and scripts, issued by `switchboard token operator`.
//! - A console session's access token (`operator_session`) names the operator and the session
//!   and no roles; `crate::sign_in` checks the session and reads the roles from the profile.
//! - A widget session token is issued by `startConversation` and names the one conversation
//!   (and contact) it may read and write (SEC-1).

use std::time::Duration;
use switchboard_domain::DomainError;

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use switchboard_projections::conversations::read::Audience;

pub use switchboard_domain::operator::Role;
use switchboard_domain::operator::{conversation_scope, ConversationScope};

use crate::error::ApiError;

const ISSUER: &str = "switchboard";

/// Who may do what is decided by these role sets (SEC-1); `ACCESS.md` has the whole table,
/// which `tests/tests/access.rs` checks operation by operation.
///
/// The roles that read and work conversations: the inbox, threads, replies, notes, status,
/// priority, tags, unread counters (OPS-1). Moderators only those assigned to them.
pub const CONVERSATION_ROLES: &[Role] = &[Role::Admin, Role::Moderator, Role::Manager];
/// The roles that read the SLA reports (PROJ-3): read-only for analysts.
pub const REPORT_ROLES: &[Role] = &[Role::Admin, Role::Manager, Role::Analyst];
/// The roles that see the list of inboxes: those who work conversations and those who report
/// on them.
pub const INBOX_LIST_ROLES: &[Role] = &[Role::Admin, Role::Moderator, Role::Manager, Role::Analyst];
/// The roles that run the team and the call-back queue.
pub const MANAGER_ROLES: &[Role] = &[Role::Admin, Role::Manager];
/// Inboxes, operators' profiles and webhooks.
pub const ADMIN_ROLES: &[Role] = &[Role::Admin];
/// The log itself, every inbox's history (AUD-3): auditors only.
pub const AUDIT_ROLES: &[Role] = &[Role::Auditor];
/// Every role: only for what concerns the caller alone (`me`).
pub const ANY_ROLE: &[Role] = &[
    Role::Admin,
    Role::Moderator,
    Role::Manager,
    Role::Analyst,
    Role::Auditor,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TokenKind {
    Operator,
    WidgetSession,
    /// A console session's access token: its roles are the operator's profile's, read when it
    /// is used, and it is good only while its session is (`crate::sign_in`).
    OperatorSession,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// Operator id, or the contact id of a widget session.
    sub: Uuid,
    kind: TokenKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conversation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inbox_id: Option<Uuid>,
    /// The console session an operator-session token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<Uuid>,
    iat: i64,
    exp: i64,
}

/// The caller of a request or a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// No token: may only start a conversation.
    Anonymous,
    Operator {
        id: Uuid,
        roles: Vec<Role>,
    },
    WidgetSession {
        contact_id: Uuid,
        conversation_id: Uuid,
        inbox_id: Uuid,
    },
}

/// What a valid token says: a viewer, or a console session still to be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    Viewer(Viewer),
    Session { operator_id: Uuid, session_id: Uuid },
}

/// A token was presented and refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("the authorization header must be `Bearer <token>`")]
    MalformedHeader,
    #[error("the token has expired; sign in again or start a new widget session")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(String),
    /// A console session token whose session is over (signed out, deactivated, expired).
    #[error("the session has ended; sign in again")]
    SessionEnded,
    /// The session could not be checked just now (the database did not answer): try again.
    #[error("the session could not be checked; try again")]
    Unavailable,
}

#[derive(Debug, Error)]
#[error("SWITCHBOARD_JWT_SECRET must be at least 32 bytes (it has {0})")]
pub struct WeakSecret(usize);

/// Issues and verifies tokens. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    widget_session_ttl: Duration,
}

impl Auth {
    pub fn new(secret: &str, widget_session_ttl: Duration) -> Result<Self, WeakSecret> {
        if secret.len() < 32 {
            return Err(WeakSecret(secret.len()));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            widget_session_ttl,
        })
    }

    fn sign(&self, claims: &Claims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }

    pub fn issue_operator(&self, operator_id: Uuid, roles: Vec<Role>, ttl: Duration) -> String {
        let now = Utc::now().timestamp();
        self.sign(&Claims {
            iss: ISSUER.into(),
            sub: operator_id,
            kind: TokenKind::Operator,
            roles,
            conversation_id: None,
            inbox_id: None,
            sid: None,
            iat: now,
            exp: now + ttl.as_secs() as i64,
        })
    }

    /// A console session's access token, good for `ttl`; with when it expires.
    pub fn issue_operator_session(
        &self,
        operator_id: Uuid,
        session_id: Uuid,
        ttl: Duration,
    ) -> (String, chrono::DateTime<Utc>) {
        let now = Utc::now().timestamp();
        let exp = now + ttl.as_secs() as i64;
        let token = self.sign(&Claims {
            iss: ISSUER.into(),
            sub: operator_id,
            kind: TokenKind::OperatorSession,
            roles: Vec::new(),
            conversation_id: None,
            inbox_id: None,
            sid: Some(session_id),
            iat: now,
            exp,
        });
        let expires_at = chrono::DateTime::from_timestamp(exp, 0).unwrap_or_else(Utc::now);
        (token, expires_at)
    }

    pub fn issue_widget_session(
        &self,
        contact_id: Uuid,
        conversation_id: Uuid,
        inbox_id: Uuid,
    ) -> String {
        let now = Utc::now().timestamp();
        self.sign(&Claims {
            iss: ISSUER.into(),
            sub: contact_id,
            kind: TokenKind::WidgetSession,
            roles: Vec::new(),
            conversation_id: Some(conversation_id),
            inbox_id: Some(inbox_id),
            sid: None,
            iat: now,
            exp: now + self.widget_session_ttl.as_secs() as i64,
        })
    }

    /// The viewer a token stands for; a console session's token is refused here: it needs its
    /// session checked ([`Auth::verify_any`], `crate::sign_in::authenticate`).
    pub fn verify(&self, token: &str) -> Result<Viewer, AuthError> {
        match self.verify_any(token)? {
            Verified::Viewer(viewer) => Ok(viewer),
            Verified::Session { .. } => Err(AuthError::Invalid(
                "a console session token needs its session checked".into(),
            )),
        }
    }

    /// What a token says, console sessions included.
    pub fn verify_any(&self, token: &str) -> Result<Verified, AuthError> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid(e.to_string()),
            })?
            .claims;
        match (claims.kind, claims.conversation_id, claims.inbox_id) {
            (TokenKind::Operator, _, _) => Ok(Verified::Viewer(Viewer::Operator {
                id: claims.sub,
                roles: claims.roles,
            })),
            (TokenKind::OperatorSession, _, _) => match claims.sid {
                Some(session_id) => Ok(Verified::Session {
                    operator_id: claims.sub,
                    session_id,
                }),
                None => Err(AuthError::Invalid(
                    "a console session token must name its session".into(),
                )),
            },
            (TokenKind::WidgetSession, Some(conversation_id), Some(inbox_id)) => {
                Ok(Verified::Viewer(Viewer::WidgetSession {
                    contact_id: claims.sub,
                    conversation_id,
                    inbox_id,
                }))
            }
            (TokenKind::WidgetSession, _, _) => Err(AuthError::Invalid(
                "a widget session token must name its conversation".into(),
            )),
        }
    }

    /// The viewer of an `Authorization` header value; no header is [`Viewer::Anonymous`].
    /// Console session tokens are refused: see [`Auth::verified_from_header`].
    pub fn viewer_from_header(&self, header: Option<&str>) -> Result<Viewer, AuthError> {
        match self.verified_from_header(header)? {
            Verified::Viewer(viewer) => Ok(viewer),
            Verified::Session { .. } => Err(AuthError::Invalid(
                "a console session token needs its session checked".into(),
            )),
        }
    }

    /// What an `Authorization` header value says, console sessions included.
    pub fn verified_from_header(&self, header: Option<&str>) -> Result<Verified, AuthError> {
        let Some(value) = header.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Verified::Viewer(Viewer::Anonymous));
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthError::MalformedHeader)?;
        self.verify_any(token.trim())
    }
}

/// The authentication outcome of one request or WebSocket connection, as resolvers see it.
#[derive(Debug, Clone)]
pub struct Authentication(pub Result<Viewer, AuthError>);

impl Authentication {
    fn viewer(&self) -> Result<&Viewer, ApiError> {
        self.0
            .as_ref()
            .map_err(|e| ApiError::Unauthenticated(e.to_string()))
    }

    /// An operator with any of `roles` (one of the role sets above).
    pub fn require_operator(&self, roles: &[Role]) -> Result<(Uuid, &[Role]), ApiError> {
        match self.viewer()? {
            Viewer::Operator { id, roles: held } => {
                if held.iter().any(|r| roles.contains(r)) {
                    Ok((*id, held))
                } else {
                    Err(ApiError::Forbidden(format!(
                        "this needs one of the roles: {}",
                        roles
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
            }
            Viewer::Anonymous => Err(ApiError::Unauthenticated(
                "an operator token is required".into(),
            )),
            Viewer::WidgetSession { .. } => Err(ApiError::Forbidden(
                "a widget session cannot do this".into(),
            )),
        }
    }

    /// An operator who may work conversations, with the scope their roles give (OPS-1).
    pub fn require_conversation_worker(&self) -> Result<(Uuid, ConversationScope), ApiError> {
        let (id, roles) = self.require_operator(CONVERSATION_ROLES)?;
        Ok((id, conversation_scope(roles)))
    }

    /// The widget session, which must be for `conversation_id`.
    pub fn require_widget_session(&self, conversation_id: Uuid) -> Result<(Uuid, Uuid), ApiError> {
        match self.viewer()? {
            Viewer::WidgetSession {
                contact_id,
                conversation_id: own,
                inbox_id,
            } if *own == conversation_id => Ok((*contact_id, *inbox_id)),
            Viewer::WidgetSession { .. } => Err(ApiError::Forbidden(
                "this widget session belongs to another conversation".into(),
            )),
            Viewer::Anonymous => Err(ApiError::Unauthenticated(
                "a widget session token is required".into(),
            )),
            Viewer::Operator { .. } => Err(ApiError::Forbidden(
                "operators cannot write as the contact".into(),
            )),
        }
    }

    /// The conversation of the caller's widget session, whichever it is.
    pub fn require_any_widget_session(&self) -> Result<Uuid, ApiError> {
        match self.viewer()? {
            Viewer::WidgetSession {
                conversation_id, ..
            } => Ok(*conversation_id),
            Viewer::Anonymous => Err(ApiError::Unauthenticated(
                "a widget session token is required".into(),
            )),
            Viewer::Operator { .. } => Err(ApiError::Forbidden(
                "operators have no widget session; use conversation(id)".into(),
            )),
        }
    }

    /// Moderators reach only the conversations assigned to them (OPS-1); anyone else passes
    /// (what else they may do is checked elsewhere). `assignee` as the caller's source knows it.
    pub fn require_assigned_if_moderator(
        &self,
        conversation_id: Uuid,
        assignee: Option<Uuid>,
    ) -> Result<(), ApiError> {
        if let Ok(Viewer::Operator { id, roles }) = &self.0 {
            if conversation_scope(roles) == ConversationScope::AssignedOnly && assignee != Some(*id)
            {
                return Err(ApiError::from(DomainError::NotAssignee {
                    conversation_id,
                    operator_id: *id,
                }));
            }
        }
        Ok(())
    }

    /// May the viewer read this conversation, and as whom? Operators who work conversations
    /// may (moderators are further held to their assignments by
    /// [`Authentication::require_assigned_if_moderator`]) and see internal notes; a widget
    /// session reads only its own conversation, as the contact. Analysts and auditors read
    /// reports and the log, not threads.
    pub fn require_conversation_reader(&self, conversation_id: Uuid) -> Result<Audience, ApiError> {
        match self.viewer()? {
            Viewer::Operator { .. } => {
                self.require_operator(CONVERSATION_ROLES)?;
                Ok(Audience::Operators)
            }
            Viewer::WidgetSession {
                conversation_id: own,
                ..
            } if *own == conversation_id => Ok(Audience::Contact),
            Viewer::WidgetSession { .. } => Err(ApiError::Forbidden(
                "this widget session belongs to another conversation".into(),
            )),
            Viewer::Anonymous => Err(ApiError::Unauthenticated(
                "an operator or widget session token is required".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth::new(&"s".repeat(32), Duration::from_secs(3600)).unwrap()
    }

    #[test]
    fn tokens_round_trip_and_tampering_is_refused() {
        let auth = auth();
        let id = Uuid::from_u128(1);
        let token = auth.issue_operator(id, vec![Role::Admin], Duration::from_secs(60));
        assert_eq!(
            auth.viewer_from_header(Some(&format!("Bearer {token}"))),
            Ok(Viewer::Operator {
                id,
                roles: vec![Role::Admin]
            })
        );
        let other = Auth::new(&"t".repeat(32), Duration::from_secs(1)).unwrap();
        assert!(matches!(other.verify(&token), Err(AuthError::Invalid(_))));
        assert_eq!(
            auth.viewer_from_header(Some(&token)),
            Err(AuthError::MalformedHeader)
        );
        assert_eq!(auth.viewer_from_header(None), Ok(Viewer::Anonymous));
    }

    #[test]
    fn expired_tokens_say_so() {
        let auth = auth();
        // Sign one that expired a minute ago (beyond the 5 s leeway).
        let now = Utc::now().timestamp();
        let claims_token = auth.sign(&Claims {
            iss: ISSUER.into(),
            sub: Uuid::nil(),
            kind: TokenKind::Operator,
            roles: vec![],
            conversation_id: None,
            inbox_id: None,
            sid: None,
            iat: now - 100,
            exp: now - 60,
        });
        assert_eq!(auth.verify(&claims_token), Err(AuthError::Expired));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Auth::new("short", Duration::from_secs(1)).is_err());
    }
}

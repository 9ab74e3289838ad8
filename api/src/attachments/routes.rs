//! The two attachment endpoints, `POST /attachments` and `GET /attachments/{id}` (see the
//! [module](super) for what they answer).

use std::net::IpAddr;
use switchboard_domain::DomainError;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use switchboard_commands::handler::{system_clock, ConversationHandler};
use switchboard_commands::log::EventLog;
use switchboard_domain::attachment::{AttachmentRefused, AttachmentType};
use switchboard_domain::conversation::{Conversation, ConversationState};
use switchboard_domain::event::AttachmentRef;
use switchboard_domain::values::short_text;
use switchboard_projections::inboxes::read as inboxes;
use uuid::Uuid;

use super::store::attachment;
use crate::auth::{Authentication, Viewer, CONVERSATION_ROLES};
use crate::error::ApiError;
use crate::request::ClientAddr;
use crate::state::{check_session_origin, gatekeep, messenger_disabled, Gate, HttpState};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadQuery {
    conversation_id: Uuid,
    name: Option<String>,
}

/// An uploaded file, as `POST /attachments` answers.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Uploaded {
    id: Uuid,
    name: String,
    content_type: &'static str,
    size: u64,
    sha256: String,
}

/// The body is read only after the caller and the conversation check out, and never past
/// the inbox's limit: an anonymous or oversized upload costs no memory.
pub async fn upload(
    State(state): State<HttpState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    request: Request,
) -> Response {
    if let Some(turned_away) = gate(&state, client, request.headers()).await {
        return turned_away;
    }
    let Ok(Query(query)) = query else {
        return refusal(ApiError::InvalidArgument {
            argument: "conversationId",
            reason: "POST /attachments?conversationId=<uuid>&name=<file name>".into(),
        });
    };
    match store_upload(&state, &query, request).await {
        Ok(uploaded) => (StatusCode::CREATED, Json(uploaded)).into_response(),
        Err(err) => refusal(err),
    }
}

async fn store_upload(
    state: &HttpState,
    query: &UploadQuery,
    request: Request,
) -> Result<Uploaded, ApiError> {
    let auth = authentication(state, request.headers()).await;
    let conversation_id = query.conversation_id;
    // Operators who work conversations and the conversation's own widget session.
    auth.require_conversation_reader(conversation_id)?;
    let conversation = from_log(state, conversation_id)
        .await?
        .ok_or(ApiError::from(DomainError::ConversationNotFound(
            conversation_id,
        )))?;
    auth.require_assigned_if_moderator(conversation.id, conversation.assignee)?;
    // GDPR-2: nothing more of an erased contact's is kept, files included.
    if let Ok(Viewer::WidgetSession { contact_id, .. }) = &auth.0 {
        if switchboard_commands::seal::is_erased(&state.pool, *contact_id).await? {
            return Err(ApiError::ContactErased(*contact_id));
        }
    }
    let policy = inboxes::settings(&state.pool, conversation.inbox_id)
        .await?
        .map(|settings| settings.attachments)
        .unwrap_or_default();
    let limit = policy.max_bytes.min(state.max_upload_bytes as u64);
    let body = axum::body::to_bytes(request.into_body(), limit as usize)
        .await
        .map_err(|_| {
            ApiError::AttachmentRefused(AttachmentRefused::TooLarge {
                size: limit + 1,
                limit,
            })
        })?;
    if body.is_empty() {
        return Err(ApiError::AttachmentRefused(AttachmentRefused::Empty));
    }
    let kind = AttachmentType::sniff(&body)
        .ok_or(ApiError::AttachmentRefused(AttachmentRefused::UnknownType))?;
    let size = body.len() as u64;
    policy
        .check(kind, size)
        .map_err(ApiError::AttachmentRefused)?;
    let name = file_name(query.name.as_deref(), kind)?;
    let sha256 = hex::encode(Sha256::digest(&body));
    let id = Uuid::now_v7();
    let (uploader_kind, uploader_id) = match &auth.0 {
        Ok(Viewer::Operator { id, .. }) => ("operator", Some(*id)),
        Ok(Viewer::WidgetSession { contact_id, .. }) => ("contact", Some(*contact_id)),
        _ => ("unknown", None),
    };
    state
        .attachments
        .put(id, body)
        .await
        .map_err(ApiError::internal)?;
    sqlx::query(
        "insert into attachments (attachment_id, conversation_id, uploader_kind, uploader_id,
                                  name, content_type, size, sha256, uploaded_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, now())",
    )
    .bind(id)
    .bind(conversation_id)
    .bind(uploader_kind)
    .bind(uploader_id)
    .bind(&name)
    .bind(kind.as_str())
    .bind(size as i64)
    .bind(&sha256)
    .execute(&state.pool)
    .await?;
    Ok(Uploaded {
        id,
        name,
        content_type: kind.as_str(),
        size,
        sha256,
    })
}

/// A file name safe to store and to put in a header: the last path segment, no quotes or
/// control characters; `attachment.<ext>` when none is given.
fn file_name(raw: Option<&str>, kind: AttachmentType) -> Result<String, ApiError> {
    let last = raw
        .map(|r| r.rsplit(['/', '\\']).next().unwrap_or(r))
        .map(|r| r.replace(['"', ';'], "_"));
    let name = short_text("name", last.as_deref())?;
    Ok(name.unwrap_or_else(|| {
        let ext = match kind {
            AttachmentType::Jpeg => "jpg",
            AttachmentType::Png => "png",
            AttachmentType::Gif => "gif",
            AttachmentType::Webp => "webp",
            AttachmentType::Pdf => "pdf",
        };
        format!("attachment.{ext}")
    }))
}

pub async fn download(
    State(state): State<HttpState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    if let Some(turned_away) = gate(&state, client, &headers).await {
        return turned_away;
    }
    match find_download(&state, id, &headers).await {
        Ok((attachment, bytes)) => {
            let ascii: String = attachment
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let encoded: String = attachment
                .name
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let disposition =
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
            let mut response = bytes.into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&attachment.content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                h.insert(header::CONTENT_DISPOSITION, value);
            }
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            );
            response
        }
        Err(err) => refusal(err),
    }
}

async fn find_download(
    state: &HttpState,
    id: Uuid,
    headers: &HeaderMap,
) -> Result<(AttachmentRef, Bytes), ApiError> {
    let auth = authentication(state, headers).await;
    // Anonymous callers learn nothing, not even whether the id exists.
    if matches!(auth.0, Ok(Viewer::Anonymous)) {
        return Err(ApiError::Unauthenticated(
            "an operator or widget session token is required".into(),
        ));
    }
    // Operators who work conversations; analysts and auditors do not read their files.
    if let Ok(Viewer::Operator { .. }) = &auth.0 {
        auth.require_operator(CONVERSATION_ROLES)?;
    }
    let found = attachment(&state.pool, id)
        .await?
        .ok_or(ApiError::AttachmentNotFound(id))?;
    let (conversation_id, attachment) = found;
    // Another conversation's session gets "not found", not "forbidden": ids are not probes.
    auth.require_conversation_reader(conversation_id)
        .map_err(|err| match err {
            ApiError::Forbidden(_) => ApiError::AttachmentNotFound(id),
            other => other,
        })?;
    let conversation = from_log(state, conversation_id)
        .await?
        .ok_or(ApiError::AttachmentNotFound(id))?;
    auth.require_assigned_if_moderator(conversation.id, conversation.assignee)?;
    let bytes = state
        .attachments
        .get(id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal(format!("attachment {id} is missing from the store")))?;
    Ok((attachment, bytes))
}

/// The conversation as the log has it now: a visitor who just started it can attach at once,
/// before the projections have it.
async fn from_log(
    state: &HttpState,
    conversation_id: Uuid,
) -> Result<Option<ConversationState>, ApiError> {
    let handler = ConversationHandler::new(EventLog::new(state.pool.clone()), system_clock());
    match handler.state(conversation_id).await? {
        Conversation::Started(started) => Ok(Some(started)),
        Conversation::NotStarted => Ok(None),
    }
}

/// The widget-API switch, the rate limits (a transfer is one request) and the inbox's
/// allowed origins, as for GraphQL requests.
async fn gate(state: &HttpState, client: IpAddr, headers: &HeaderMap) -> Option<Response> {
    let authentication = authentication(state, headers).await;
    match gatekeep(state, client, &authentication, true) {
        Some(Gate::MessengerDisabled) => return Some(messenger_disabled()),
        Some(Gate::Refused(err)) => return Some(refusal(err)),
        None => {}
    }
    let origin = crate::request::foreign_origin(headers, state.public_origin.as_deref());
    check_session_origin(&state.pool, &authentication, origin.as_deref())
        .await
        .err()
        .map(refusal)
}

async fn authentication(state: &HttpState, headers: &HeaderMap) -> Authentication {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Authentication(state.authenticate(header).await)
}

/// An [`ApiError`] as an HTTP response: its status and `{"code", "message"}`.
pub fn refusal(err: ApiError) -> Response {
    let status = err.http_status();
    let mut body = serde_json::json!({ "code": err.code(), "message": err.to_string() });
    let Some(retry_after_secs) = err.retry_after_secs() else {
        return (status, Json(body)).into_response();
    };
    body["retryAfter"] = retry_after_secs.into();
    (
        status,
        [(header::RETRY_AFTER, retry_after_secs.to_string())],
        Json(body),
    )
        .into_response()
}

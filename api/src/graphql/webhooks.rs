//! Webhook endpoints and deliveries as admins manage them (PROJ-4, INT-2): register, change,
//! enable, disable, rotate the secret; list an inbox's endpoints; page through an endpoint's
//! deliveries with their attempts; redeliver one. Endpoints are inbox configuration, so, like
//! inboxes, they are the admins'.
//!
//! The secret is generated here, stored outside the log (`switchboard_workers::webhooks::store`) and shown
//! once: in the answer to `registerWebhookEndpoint` and to `rotateWebhookSecret`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_domain::inbox::Inbox;
use switchboard_domain::webhook::{WebhookEndpointCommand, WebhookEndpointConfig};
use switchboard_domain::Actor;
use switchboard_domain::DomainError;
use switchboard_projections::webhooks::read::{self, EndpointRow};
use uuid::Uuid;

use crate::auth::{Authentication, Role};
use crate::error::{ApiError, ResultExt};
use crate::graphql::command_meta;
use crate::graphql::types::page_size;
use crate::graphql::AppContext;
use switchboard_workers::webhooks::{generate_secret, store};

/// What an endpoint can subscribe to; sent as `conversation.created`, `message.in`, … in the
/// body's `event` and the `X-Messenger-Event` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "switchboard_domain::webhook::WebhookEventType")]
pub enum WebhookEventType {
    /// `conversation.created`
    ConversationCreated,
    /// `conversation.closed`
    ConversationClosed,
    /// `message.in`: the contact wrote.
    MessageIn,
    /// `message.out`: an operator, bot, the system or the auto-reply wrote (never notes).
    MessageOut,
    /// `conversation.status_changed` (a close is sent as `conversation.closed` to endpoints
    /// that chose both).
    ConversationStatusChanged,
    /// `conversation.assigned`
    ConversationAssigned,
    /// `conversation.rated`
    ConversationRated,
    /// `callback.requested`
    CallbackRequested,
    /// `conversation.sla_breached`: an SLA deadline passed with the wait still running.
    SlaBreached,
}

/// Why an endpoint is switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "switchboard_domain::webhook::DisableReason")]
pub enum WebhookDisableReason {
    /// An admin switched it off.
    Manual,
    /// Its deliveries kept being dead-lettered.
    Failing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum WebhookDeliveryStatus {
    /// Waiting for its next attempt (or for its endpoint to be enabled).
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; `redeliverWebhook` tries again.
    Dead,
}

impl WebhookDeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            WebhookDeliveryStatus::Pending => "pending",
            WebhookDeliveryStatus::Delivered => "delivered",
            WebhookDeliveryStatus::Dead => "dead",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "delivered" => WebhookDeliveryStatus::Delivered,
            "dead" => WebhookDeliveryStatus::Dead,
            _ => WebhookDeliveryStatus::Pending,
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub inbox_id: Uuid,
    pub url: String,
    pub event_types: Vec<WebhookEventType>,
    /// Disabled endpoints get no new deliveries; their pending ones wait.
    pub enabled: bool,
    pub disabled_reason: Option<WebhookDisableReason>,
    pub disabled_detail: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub registered_at: DateTime<Utc>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<EndpointRow> for WebhookEndpoint {
    fn from(row: EndpointRow) -> Self {
        use switchboard_domain::webhook as domain;
        Self {
            id: row.endpoint_id,
            inbox_id: row.inbox_id,
            url: row.url,
            event_types: row
                .event_types
                .iter()
                .filter_map(|t| domain::WebhookEventType::parse(t))
                .map(WebhookEventType::from)
                .collect(),
            enabled: row.enabled,
            disabled_reason: row
                .disabled_reason
                .as_deref()
                .and_then(domain::DisableReason::parse)
                .map(WebhookDisableReason::from),
            disabled_detail: row.disabled_detail,
            disabled_at: row.disabled_at,
            registered_at: row.registered_at,
            secret_rotated_at: row.secret_rotated_at,
            updated_at: row.updated_at,
        }
    }
}

/// One try at sending a delivery.
#[derive(Debug, Clone, SimpleObject)]
pub struct WebhookAttempt {
    /// 1, 2, … counted across redeliveries.
    pub number: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// The receiver's HTTP status; null when none came (timeout, connection error).
    pub status_code: Option<i32>,
    /// What went wrong when no status came.
    pub error: Option<String>,
    /// The first KiB of the receiver's answer.
    pub response_body: Option<String>,
    pub succeeded: bool,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct WebhookDelivery {
    /// The `webhook-id` header: the same on every attempt.
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub inbox_id: Uuid,
    /// The event it announces (`event_id` in the body).
    pub event_id: Uuid,
    pub conversation_id: Uuid,
    /// As sent: `message.in`, `conversation.closed`, …
    pub event_type: String,
    /// The exact JSON body that is signed and sent.
    pub body: String,
    pub status: WebhookDeliveryStatus,
    /// Attempts made, across redeliveries.
    pub attempt_count: i32,
    /// When it is tried next; null unless pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub dead_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    pub attempts: Vec<WebhookAttempt>,
}

impl WebhookDelivery {
    fn new(row: store::DeliveryRow, attempts: Vec<WebhookAttempt>) -> Self {
        let status = WebhookDeliveryStatus::parse(&row.status);
        Self {
            id: row.delivery_id,
            endpoint_id: row.endpoint_id,
            inbox_id: row.inbox_id,
            event_id: row.event_id,
            conversation_id: row.conversation_id,
            event_type: row.event_type,
            body: row.body,
            status,
            attempt_count: row.total_attempts,
            next_attempt_at: (status == WebhookDeliveryStatus::Pending)
                .then_some(row.next_attempt_at),
            created_at: row.created_at,
            delivered_at: row.delivered_at,
            dead_at: row.dead_at,
            attempts,
        }
    }
}

/// Deliveries with their attempts, read in one query for the lot.
async fn with_attempts(
    app: &AppContext,
    rows: Vec<store::DeliveryRow>,
) -> Result<Vec<WebhookDelivery>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.delivery_id).collect();
    let mut attempts = store::attempts(&app.pool, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mine = attempts
                .iter()
                .filter(|a| a.delivery_id == row.delivery_id)
                .map(|a| WebhookAttempt {
                    number: a.attempt,
                    started_at: a.started_at,
                    duration_ms: a.duration_ms,
                    status_code: a.status_code,
                    error: a.error.clone(),
                    response_body: a.response_body.clone(),
                    succeeded: a.succeeded,
                })
                .collect();
            attempts.retain(|a| a.delivery_id != row.delivery_id);
            WebhookDelivery::new(row, mine)
        })
        .collect())
}

/// Delivery cursors are `<global position of the event>.<delivery id>`.
fn encode_cursor(row: &store::DeliveryRow) -> String {
    format!("{}.{}", row.global_position, row.delivery_id)
}

fn decode_cursor(cursor: &str) -> Result<(i64, Uuid), ApiError> {
    let invalid = || ApiError::InvalidArgument {
        argument: "after",
        reason: "not a delivery cursor".into(),
    };
    let (position, id) = cursor.split_once('.').ok_or_else(invalid)?;
    Ok((
        position.parse().map_err(|_| invalid())?,
        id.parse().map_err(|_| invalid())?,
    ))
}

#[derive(Debug, InputObject)]
pub struct WebhookEndpointInput {
    /// An absolute http:// or https:// URL.
    pub url: String,
    /// At least one.
    pub event_types: Vec<WebhookEventType>,
}

impl WebhookEndpointInput {
    fn validate(&self) -> Result<WebhookEndpointConfig, ApiError> {
        let types: Vec<_> = self.event_types.iter().map(|&t| t.into()).collect();
        Ok(WebhookEndpointConfig::new(&self.url, &types)?)
    }
}

#[derive(Debug, InputObject)]
pub struct RegisterWebhookEndpointInput {
    pub inbox_id: Uuid,
    pub url: String,
    pub event_types: Vec<WebhookEventType>,
}

/// An endpoint's signing secret, shown only here: keep it, it cannot be read back.
#[derive(Debug, SimpleObject)]
pub struct WebhookEndpointSecret {
    pub endpoint_id: Uuid,
    /// `whsec_` + base64 of 24 random bytes. Verify `webhook-signature` with the bytes after
    /// `whsec_` (base64-decoded) as the HMAC key, and `X-Messenger-Signature` with this whole
    /// string as the key.
    pub secret: String,
}

#[derive(Debug, SimpleObject)]
pub struct WebhookEndpointChange {
    pub endpoint_id: Uuid,
    /// False when the endpoint already was as asked.
    pub changed: bool,
}

/// Checks the caller is an admin, then records `command`.
async fn handle(
    ctx: &Context<'_>,
    command: WebhookEndpointCommand,
) -> Result<WebhookEndpointChange, ApiError> {
    let (caller, roles) = ctx
        .data::<Authentication>()
        .map_err(|_| ApiError::Internal)?
        .require_operator(&[Role::Admin])?;
    let app = ctx.data::<AppContext>().map_err(|_| ApiError::Internal)?;
    let meta = command_meta(ctx, Uuid::now_v7(), Actor::operator(caller, roles.to_vec()));
    let handled = app.webhook_handler.handle(&meta, &command).await?;
    Ok(WebhookEndpointChange {
        endpoint_id: command.endpoint_id(),
        changed: !handled.events.is_empty(),
    })
}

fn require_admin(ctx: &Context<'_>) -> async_graphql::Result<Uuid> {
    let (caller, _) = ctx
        .data::<Authentication>()?
        .require_operator(&[Role::Admin])
        .gql()?;
    Ok(caller)
}

#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// An inbox's webhook endpoints, oldest first (admins).
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        inbox_id: Uuid,
    ) -> async_graphql::Result<Vec<WebhookEndpoint>> {
        require_admin(ctx)?;
        let app = ctx.data::<AppContext>()?;
        let rows = read::endpoints(&app.pool, inbox_id).await.gql()?;
        Ok(rows.into_iter().map(WebhookEndpoint::from).collect())
    }

    /// An endpoint's deliveries, newest event first, with every attempt (admins). `status`
    /// narrows to one status; `after` is the `endCursor` of the previous page.
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: Uuid,
        status: Option<WebhookDeliveryStatus>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, WebhookDelivery>> {
        require_admin(ctx)?;
        let app = ctx.data::<AppContext>()?;
        let limit = page_size(first, 20).gql()?;
        let cursor = after.as_deref().map(decode_cursor).transpose().gql()?;
        let mut rows = store::deliveries(
            &app.pool,
            endpoint_id,
            status.map(WebhookDeliveryStatus::as_str),
            cursor,
            limit + 1,
        )
        .await
        .gql()?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let cursors: Vec<String> = rows.iter().map(encode_cursor).collect();
        let deliveries = with_attempts(app, rows).await.gql()?;
        let mut connection = Connection::new(cursor.is_some(), has_next);
        connection.edges.extend(
            cursors
                .into_iter()
                .zip(deliveries)
                .map(|(cursor, node)| Edge::new(cursor, node)),
        );
        Ok(connection)
    }
}

#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Registers a webhook endpoint for an inbox (admins); it is enabled at once and gets the
    /// events recorded after this. The answer carries the signing secret, shown only now.
    async fn register_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: RegisterWebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointSecret> {
        require_admin(ctx)?;
        let app = ctx.data::<AppContext>()?;
        let config = WebhookEndpointInput {
            url: input.url,
            event_types: input.event_types,
        }
        .validate()
        .gql()?;
        if matches!(
            app.inbox_handler.state(input.inbox_id).await.gql()?,
            Inbox::NotCreated
        ) {
            return Err(ApiError::from(DomainError::InboxNotFound(input.inbox_id))).gql();
        }
        let endpoint_id = Uuid::now_v7();
        let secret = generate_secret();
        // The secret is in place before the endpoint exists, so no delivery is ever unsigned.
        store::put_secret(&app.pool, endpoint_id, &secret)
            .await
            .gql()?;
        let command = WebhookEndpointCommand::Register {
            endpoint_id,
            inbox_id: input.inbox_id,
            config,
            at: Utc::now(),
        };
        if let Err(err) = handle(ctx, command).await {
            if let Err(cleanup) = store::delete_secret(&app.pool, endpoint_id).await {
                tracing::warn!(error = %cleanup, %endpoint_id, "could not forget the secret of a refused endpoint");
            }
            return Err(err).gql();
        }
        Ok(WebhookEndpointSecret {
            endpoint_id,
            secret,
        })
    }

    /// Replaces an endpoint's URL and event types (admins).
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        endpoint_id: Uuid,
        input: WebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointChange> {
        require_admin(ctx)?;
        let config = input.validate().gql()?;
        handle(
            ctx,
            WebhookEndpointCommand::Change {
                endpoint_id,
                config,
                at: Utc::now(),
            },
        )
        .await
        .gql()
    }

    /// Switches an endpoint off (admins): no new deliveries; pending ones wait.
    async fn disable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        endpoint_id: Uuid,
        reason: Option<String>,
    ) -> async_graphql::Result<WebhookEndpointChange> {
        require_admin(ctx)?;
        let detail = switchboard_domain::values::short_text("reason", reason.as_deref())?;
        handle(
            ctx,
            WebhookEndpointCommand::Disable {
                endpoint_id,
                reason: switchboard_domain::webhook::DisableReason::Manual,
                detail,
                at: Utc::now(),
            },
        )
        .await
        .gql()
    }

    /// Switches an endpoint on again (admins); its waiting deliveries are sent.
    async fn enable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        endpoint_id: Uuid,
    ) -> async_graphql::Result<WebhookEndpointChange> {
        require_admin(ctx)?;
        handle(
            ctx,
            WebhookEndpointCommand::Enable {
                endpoint_id,
                at: Utc::now(),
            },
        )
        .await
        .gql()
    }

    /// Replaces an endpoint's signing secret (admins); the old one stops at once. The answer
    /// carries the new secret, shown only now.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        endpoint_id: Uuid,
    ) -> async_graphql::Result<WebhookEndpointSecret> {
        require_admin(ctx)?;
        let app = ctx.data::<AppContext>()?;
        // The log first: if storing the secret then fails, the admin retries and the log shows
        // one rotation too many, never a rotation it does not know of.
        handle(
            ctx,
            WebhookEndpointCommand::RotateSecret {
                endpoint_id,
                at: Utc::now(),
            },
        )
        .await
        .gql()?;
        let secret = generate_secret();
        store::put_secret(&app.pool, endpoint_id, &secret)
            .await
            .gql()?;
        Ok(WebhookEndpointSecret {
            endpoint_id,
            secret,
        })
    }

    /// Sends a delivered or dead-lettered delivery again, with a fresh budget of attempts
    /// (admins). Who asked, and when, is recorded.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        delivery_id: Uuid,
    ) -> async_graphql::Result<WebhookDelivery> {
        let caller = require_admin(ctx)?;
        let app = ctx.data::<AppContext>()?;
        match store::redeliver(&app.pool, delivery_id, caller)
            .await
            .gql()?
        {
            Ok(_) => {}
            Err(store::RedeliverRefused::NotFound) => {
                return Err(ApiError::WebhookDeliveryNotFound(delivery_id)).gql()
            }
            Err(store::RedeliverRefused::StillPending) => {
                return Err(ApiError::WebhookDeliveryPending(delivery_id)).gql()
            }
        }
        let row = store::delivery(&app.pool, delivery_id)
            .await
            .gql()?
            .ok_or(ApiError::WebhookDeliveryNotFound(delivery_id))
            .gql()?;
        Ok(with_attempts(app, vec![row])
            .await
            .gql()?
            .pop()
            .expect("one delivery in, one out"))
    }
}

//! The webhooks projection (PROJ-4): which events become webhook deliveries. It keeps
//! `webhook_endpoints` (every endpoint as its stream says) and `webhook_conversations` (each
//! conversation's inbox, branch and status), and inserts a row into `webhook_deliveries` for
//! every event that an enabled endpoint of the event's inbox subscribed to. Sending is the
//! delivery worker's (`switchboard_workers::webhooks`); this module only decides *what* is sent.
//!
//! # A delivery
//! One per (event, endpoint): its id is UUID v5 of the event id and the endpoint id (the
//! `webhook-id` integrators deduplicate on), so a redelivered Kafka message, or the same event
//! found twice (see below), inserts nothing (`on conflict do nothing`). Its body is fixed when
//! it is inserted ([`switchboard_domain::webhook::webhook_body`]): retries send the same bytes.
//! The conversation in the body is as it was right after the event.
//!
//! # Ordering rule
//! An endpoint gets exactly the matching events whose `global_position` is greater than that
//! of its `WebhookEndpointRegistered`, whatever order Kafka brings them in. Endpoint and
//! conversation streams travel on different partitions, so a conversation's event recorded
//! after the registration can be applied here before it. Therefore:
//! - an event applied after the registration is delivered if its position is greater than the
//!   registration's (an older event arriving late is not);
//! - when the registration is applied, the events after its position that this projection
//!   *already* applied (conversations of the inbox with a deliverable event after that
//!   position, up to each stream's applied version in `projection_stream_positions`) are read
//!   from the `events` table in the same transaction and get their deliveries then. Events not
//!   applied yet will come through Kafka and take the first path.
//!
//! The catch-up reads the log through [`LogReader::read_streams_on`], on this transaction's
//! connection, because it must see exactly what this transaction sees of the projection's
//! progress. It is bounded by the conversations of the inbox that were active since the
//! registration.
//!
//! Changes of the URL or the event types, and disabling and enabling, apply from the moment
//! this projection applies them (not by position): an event recorded just before a change may
//! be delivered under the old or the new types. A disabled endpoint gets no new deliveries; its
//! pending ones wait (the worker does not send them) until it is enabled again.

use sqlx::{PgConnection, Row};
use switchboard_domain::contact::erase_sealed;
use switchboard_domain::conversation::{self, ConversationStatus};
use switchboard_domain::envelope::RecordedEvent;
use switchboard_domain::event::ContactErased;
use switchboard_domain::webhook::{
    delivered_as, webhook_body, webhook_event_types, ConversationSnapshot, WebhookEventType,
};
use switchboard_domain::DomainEvent;
use uuid::Uuid;

use crate::{Applied, LogReader, Projection, ProjectionError};

/// The PostgreSQL channel notified (after commit) when deliveries were inserted, so the worker
/// does not wait for its next poll.
pub const WEBHOOKS_CHANNEL: &str = "switchboard_webhooks";

/// The events that move a conversation's snapshot (see [`ConversationSnapshot::evolve`]).
pub(crate) const SNAPSHOT_EVENTS: &[&str] = &[
    "ConversationStarted",
    "ConversationStatusChanged",
    "ConversationTransferred",
];

/// The event types [`WebhooksProjection`] applies: the endpoints' own, the snapshot events,
/// and every type [`webhook_event_types`] can deliver. `apply` ignores the others.
pub(crate) const HANDLED: &[&str] = &[
    "WebhookEndpointRegistered",
    "WebhookEndpointChanged",
    "WebhookEndpointDisabled",
    "WebhookEndpointEnabled",
    "WebhookSecretRotated",
    "ConversationStarted",
    "ConversationStatusChanged",
    "ConversationTransferred",
    "MessagePosted",
    "AutoReplySent",
    "ConversationAssigned",
    "ConversationRated",
    "CallbackRequested",
    "SlaBreached",
    "ContactErased",
];

pub struct WebhooksProjection;

impl Projection for WebhooksProjection {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    /// `webhook_deliveries` is not among them: it is an outbox the delivery worker advances,
    /// not a view of the log. Its deterministic ids keep a rebuild from inserting a delivery
    /// twice.
    fn tables(&self) -> &'static [&'static str] {
        &["webhook_endpoints", "webhook_conversations"]
    }

    fn handles(&self, event_type: &str) -> bool {
        HANDLED.contains(&event_type)
    }

    /// A registration's catch-up reads how far each conversation was applied.
    fn reads_progress(&self, event_type: &str) -> bool {
        event_type == "WebhookEndpointRegistered"
    }

    async fn apply(
        &self,
        tx: &mut PgConnection,
        log: &dyn LogReader,
        event: &RecordedEvent,
    ) -> Result<Applied, ProjectionError> {
        let decoded = DomainEvent::decode(
            &event.event_type,
            event.schema_version,
            event.payload.clone(),
        );
        match decoded {
            Ok(DomainEvent::WebhookEndpointRegistered(e)) => {
                // See `conversation_event`: exclusive, so the catch-up below sees every
                // conversation event of the inbox committed before it.
                sqlx::query(
                    "select pg_advisory_xact_lock(hashtext('switchboard webhooks ' || $1::text))",
                )
                .bind(e.inbox_id)
                .execute(&mut *tx)
                .await?;
                let types: Vec<&str> = e.event_types.iter().map(|t| t.as_str()).collect();
                sqlx::query(
                    "insert into webhook_endpoints (endpoint_id, inbox_id, url, event_types,
                         enabled, registered_position, registered_at, updated_at)
                     values ($1, $2, $3, $4, true, $5, $6, $6)
                     on conflict (endpoint_id) do nothing",
                )
                .bind(e.endpoint_id)
                .bind(e.inbox_id)
                .bind(&e.url)
                .bind(&types)
                .bind(event.global_position)
                .bind(e.registered_at)
                .execute(&mut *tx)
                .await?;
                let inserted = catch_up(
                    tx,
                    log,
                    self.name(),
                    e.endpoint_id,
                    e.inbox_id,
                    &e.event_types,
                    event.global_position,
                )
                .await?;
                notify_if(tx, inserted).await?;
            }
            Ok(DomainEvent::WebhookEndpointChanged(e)) => {
                let types: Vec<&str> = e.event_types.iter().map(|t| t.as_str()).collect();
                sqlx::query(
                    "update webhook_endpoints set url = $2, event_types = $3, updated_at = $4
                     where endpoint_id = $1",
                )
                .bind(e.endpoint_id)
                .bind(&e.url)
                .bind(&types)
                .bind(e.changed_at)
                .execute(&mut *tx)
                .await?;
            }
            Ok(DomainEvent::WebhookEndpointDisabled(e)) => {
                sqlx::query(
                    "update webhook_endpoints
                     set enabled = false, disabled_reason = $2, disabled_detail = $3,
                         disabled_at = $4, updated_at = $4
                     where endpoint_id = $1",
                )
                .bind(e.endpoint_id)
                .bind(e.reason.as_str())
                .bind(&e.detail)
                .bind(e.disabled_at)
                .execute(&mut *tx)
                .await?;
            }
            Ok(DomainEvent::WebhookEndpointEnabled(e)) => {
                sqlx::query(
                    "update webhook_endpoints
                     set enabled = true, disabled_reason = null, disabled_detail = null,
                         disabled_at = null, updated_at = $2
                     where endpoint_id = $1",
                )
                .bind(e.endpoint_id)
                .bind(e.enabled_at)
                .execute(&mut *tx)
                .await?;
                // Its waiting deliveries are due again.
                notify_if(tx, 1).await?;
            }
            Ok(DomainEvent::WebhookSecretRotated(e)) => {
                sqlx::query(
                    "update webhook_endpoints set secret_rotated_at = $2, updated_at = $2
                     where endpoint_id = $1",
                )
                .bind(e.endpoint_id)
                .bind(e.rotated_at)
                .execute(&mut *tx)
                .await?;
            }
            Ok(DomainEvent::ContactErased(e)) => erase_deliveries(tx, &e).await?,
            Ok(domain_event) if event.stream_type == conversation::STREAM_TYPE => {
                let inserted = conversation_event(tx, event, &domain_event).await?;
                notify_if(tx, inserted).await?;
            }
            Ok(_) => {}
            Err(err) => return Ok(Applied::Unreadable(err.to_string())),
        }
        // Nothing a subscription shows changed; the worker is told on its own channel.
        Ok(Applied::Ignored)
    }
}

/// GDPR-2: the bodies of the erased contact's deliveries, sent or waiting, are rendered again
/// from their events as they now read (personal data erased), for the same conversation
/// snapshot. A waiting delivery then sends the erased body.
async fn erase_deliveries(
    tx: &mut PgConnection,
    erased: &ContactErased,
) -> Result<(), ProjectionError> {
    // The conversations the event names, and any the contact started that it does not.
    let rows = sqlx::query(
        "select d.delivery_id, d.event_type as kind, d.body, e.event_id, e.event_type,
                e.schema_version, e.payload, e.metadata, e.recorded_at
         from webhook_deliveries d join events e on e.event_id = d.event_id
         where e.metadata ? 'sealed'
           and (d.conversation_id = any($1)
                or d.conversation_id in (
                    select stream_id from events
                    where event_type = 'ConversationStarted' and stream_version = 1
                      and payload->'contact'->>'id' = $2))",
    )
    .bind(&erased.conversation_ids)
    .bind(erased.contact_id.to_string())
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        let mut event = RecordedEvent {
            global_position: 0,
            stream_id: Uuid::nil(),
            stream_type: conversation::STREAM_TYPE.into(),
            stream_version: 0,
            event_id: row.try_get("event_id")?,
            event_type: row.try_get("event_type")?,
            schema_version: row.try_get("schema_version")?,
            payload: row.try_get("payload")?,
            metadata: row.try_get("metadata")?,
            recorded_at: row.try_get("recorded_at")?,
        };
        erase_sealed(&mut event);
        let kind: String = row.try_get("kind")?;
        let old: String = row.try_get("body")?;
        let snapshot = serde_json::from_str::<serde_json::Value>(&old)
            .ok()
            .and_then(|body| snapshot_from_body(&body["conversation"]));
        let decoded = DomainEvent::decode(&event.event_type, event.schema_version, event.payload);
        let (Some(kind), Some(snapshot), Ok(domain_event)) =
            (WebhookEventType::parse(&kind), snapshot, decoded)
        else {
            // Not one this build rendered: nothing of it can be rendered again, so none of it
            // is kept.
            sqlx::query("update webhook_deliveries set body = '{}' where delivery_id = $1")
                .bind(row.try_get::<Uuid, _>("delivery_id")?)
                .execute(&mut *tx)
                .await?;
            continue;
        };
        let body = webhook_body(
            kind,
            &domain_event,
            event.event_id,
            event.recorded_at,
            &snapshot,
        );
        sqlx::query("update webhook_deliveries set body = $2 where delivery_id = $1")
            .bind(row.try_get::<Uuid, _>("delivery_id")?)
            .bind(body.to_string())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

fn snapshot_from_body(conversation: &serde_json::Value) -> Option<ConversationSnapshot> {
    Some(ConversationSnapshot {
        id: conversation["id"].as_str()?.parse().ok()?,
        inbox_id: conversation["inbox_id"].as_str()?.parse().ok()?,
        branch_id: conversation["branch_id"]
            .as_str()
            .and_then(|b| b.parse().ok()),
        status: ConversationStatus::parse(conversation["status"].as_str()?)?,
    })
}

async fn notify_if(tx: &mut PgConnection, inserted: u64) -> Result<(), sqlx::Error> {
    if inserted > 0 {
        sqlx::query("select pg_notify($1, '')")
            .bind(WEBHOOKS_CHANNEL)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Moves the conversation's snapshot and inserts the deliveries of `domain_event` for the
/// enabled endpoints registered before it. Returns how many were inserted.
async fn conversation_event(
    tx: &mut PgConnection,
    event: &RecordedEvent,
    domain_event: &DomainEvent,
) -> Result<u64, ProjectionError> {
    let deliverable = !webhook_event_types(domain_event).is_empty();
    if !deliverable && !SNAPSHOT_EVENTS.contains(&event.event_type.as_str()) {
        return Ok(0);
    }
    let before = sqlx::query(
        "select inbox_id, branch_id, status from webhook_conversations
         where conversation_id = $1",
    )
    .bind(event.stream_id)
    .fetch_optional(&mut *tx)
    .await?
    .map(|row| snapshot_from_row(event.stream_id, &row))
    .transpose()?
    .flatten();
    let Some(snapshot) = ConversationSnapshot::evolve(before, domain_event) else {
        return Ok(0); // not started: nothing to say about it
    };
    sqlx::query(
        "insert into webhook_conversations (conversation_id, inbox_id, branch_id, status,
                                            last_position)
         values ($1, $2, $3, $4, $5)
         on conflict (conversation_id) do update
         set branch_id = excluded.branch_id, status = excluded.status,
             last_position = case when $6 then excluded.last_position
                                  else webhook_conversations.last_position end",
    )
    .bind(snapshot.id)
    .bind(snapshot.inbox_id)
    .bind(snapshot.branch_id)
    .bind(snapshot.status.as_str())
    .bind(event.global_position)
    .bind(deliverable)
    .execute(&mut *tx)
    .await?;
    if !deliverable {
        return Ok(0);
    }
    // Shared with other conversation events, exclusive against a registration in the same
    // inbox: two consumers on different partitions (two processes, or a rebalance) cannot
    // each miss the other's uncommitted half, since the later one reads after the earlier
    // one's commit.
    sqlx::query(
        "select pg_advisory_xact_lock_shared(hashtext('switchboard webhooks ' || $1::text))",
    )
    .bind(snapshot.inbox_id)
    .execute(&mut *tx)
    .await?;
    let endpoints = sqlx::query(
        "select endpoint_id, event_types from webhook_endpoints
         where inbox_id = $1 and enabled and registered_position < $2",
    )
    .bind(snapshot.inbox_id)
    .bind(event.global_position)
    .fetch_all(&mut *tx)
    .await?;
    let mut inserted = 0;
    for row in endpoints {
        let endpoint_id: Uuid = row.try_get("endpoint_id")?;
        let types = parse_types(row.try_get("event_types")?);
        inserted +=
            insert_delivery(tx, endpoint_id, &types, event, domain_event, &snapshot).await?;
    }
    Ok(inserted)
}

fn snapshot_from_row(
    conversation_id: Uuid,
    row: &sqlx::postgres::PgRow,
) -> Result<Option<ConversationSnapshot>, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(
        ConversationStatus::parse(&status).map(|status| ConversationSnapshot {
            id: conversation_id,
            inbox_id: row.get("inbox_id"),
            branch_id: row.get("branch_id"),
            status,
        }),
    )
}

fn parse_types(texts: Vec<String>) -> Vec<WebhookEventType> {
    texts
        .iter()
        .filter_map(|t| WebhookEventType::parse(t))
        .collect()
}

/// Inserts the delivery of `event` to one endpoint, if it subscribed to it. 1 if inserted.
async fn insert_delivery(
    tx: &mut PgConnection,
    endpoint_id: Uuid,
    chosen: &[WebhookEventType],
    event: &RecordedEvent,
    domain_event: &DomainEvent,
    snapshot: &ConversationSnapshot,
) -> Result<u64, sqlx::Error> {
    let Some(kind) = delivered_as(domain_event, chosen) else {
        return Ok(0);
    };
    let body = webhook_body(
        kind,
        domain_event,
        event.event_id,
        event.recorded_at,
        snapshot,
    );
    let result = sqlx::query(
        "insert into webhook_deliveries (delivery_id, endpoint_id, inbox_id, event_id,
             global_position, conversation_id, event_type, body, status, next_attempt_at,
             created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', now(), now(), now())
         on conflict do nothing",
    )
    .bind(delivery_id(event.event_id, endpoint_id))
    .bind(endpoint_id)
    .bind(snapshot.inbox_id)
    .bind(event.event_id)
    .bind(event.global_position)
    .bind(snapshot.id)
    .bind(kind.as_str())
    .bind(body.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(result.rows_affected())
}

/// The delivery id (and `webhook-id`) of `event_id` for `endpoint_id`: UUID v5, so every
/// node and every replay computes the same one.
pub fn delivery_id(event_id: Uuid, endpoint_id: Uuid) -> Uuid {
    Uuid::new_v5(&event_id, endpoint_id.as_bytes())
}

/// The deliveries a new endpoint is owed for events this projection applied before its
/// registration (see the module docs). Returns how many were inserted.
async fn catch_up(
    tx: &mut PgConnection,
    log: &dyn LogReader,
    projection: &str,
    endpoint_id: Uuid,
    inbox_id: Uuid,
    chosen: &[WebhookEventType],
    registered_position: i64,
) -> Result<u64, ProjectionError> {
    // The inbox's conversations active since the registration, up to what this projection
    // applied of each.
    let streams: Vec<(Uuid, i32)> = sqlx::query_as(
        "select c.conversation_id, p.version
         from webhook_conversations c
         join projection_stream_positions p
           on p.projection = $3 and p.stream_id = c.conversation_id
         where c.inbox_id = $1 and c.last_position > $2",
    )
    .bind(inbox_id)
    .bind(registered_position)
    .bind(projection)
    .fetch_all(&mut *tx)
    .await?;
    if streams.is_empty() {
        return Ok(0);
    }
    // The snapshot events from each stream's start are read too, to know the conversation as
    // it was right after each event delivered.
    let events = log
        .read_streams_on(tx, &streams, registered_position, SNAPSHOT_EVENTS)
        .await?;
    let mut inserted = 0;
    let mut stream: Option<Uuid> = None;
    let mut snapshot: Option<ConversationSnapshot> = None;
    for event in events {
        if stream != Some(event.stream_id) {
            stream = Some(event.stream_id);
            snapshot = None;
        }
        let Ok(domain_event) = DomainEvent::decode(
            &event.event_type,
            event.schema_version,
            event.payload.clone(),
        ) else {
            continue; // dead-lettered when it was applied
        };
        snapshot = ConversationSnapshot::evolve(snapshot, &domain_event);
        if event.global_position <= registered_position {
            continue;
        }
        if let Some(snapshot) = &snapshot {
            inserted +=
                insert_delivery(tx, endpoint_id, chosen, &event, &domain_event, snapshot).await?;
        }
    }
    Ok(inserted)
}

/// Queries over the webhooks projection.
pub mod read {
    use chrono::{DateTime, Utc};
    use sqlx::{FromRow, PgPool};
    use uuid::Uuid;

    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct EndpointRow {
        pub endpoint_id: Uuid,
        pub inbox_id: Uuid,
        pub url: String,
        pub event_types: Vec<String>,
        pub enabled: bool,
        pub registered_at: DateTime<Utc>,
        pub disabled_reason: Option<String>,
        pub disabled_detail: Option<String>,
        pub disabled_at: Option<DateTime<Utc>>,
        pub secret_rotated_at: Option<DateTime<Utc>>,
        pub updated_at: DateTime<Utc>,
    }

    const SELECT: &str = "select endpoint_id, inbox_id, url, event_types, enabled, registered_at,
                                 disabled_reason, disabled_detail, disabled_at, secret_rotated_at,
                                 updated_at
                          from webhook_endpoints";

    /// An inbox's endpoints, oldest first.
    pub async fn endpoints(pool: &PgPool, inbox_id: Uuid) -> Result<Vec<EndpointRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "{SELECT} where inbox_id = $1 order by registered_at, endpoint_id"
        ))
        .bind(inbox_id)
        .fetch_all(pool)
        .await
    }

    pub async fn endpoint(
        pool: &PgPool,
        endpoint_id: Uuid,
    ) -> Result<Option<EndpointRow>, sqlx::Error> {
        sqlx::query_as(&format!("{SELECT} where endpoint_id = $1"))
            .bind(endpoint_id)
            .fetch_optional(pool)
            .await
    }
}

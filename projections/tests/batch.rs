//! A batch's bookkeeping against a real PostgreSQL: the runner reads and writes each stream's
//! progress once per batch, and skips the event types a projection does not handle; each
//! event still applies exactly once, and a registration's catch-up still sees every event the
//! batch applied before it.

use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;
use switchboard_domain::envelope::RecordedEvent;
use switchboard_domain::event::{
    Channel, Contact, ConversationStarted, MessagePosted, Sender, SenderKind, Source,
    WebhookEndpointRegistered,
};
use switchboard_domain::webhook::WebhookEventType;
use switchboard_domain::DomainEvent;
use switchboard_projections::conversations::{read, ConversationsProjection};
use switchboard_projections::inboxes::InboxesProjection;
use switchboard_projections::runner::apply_batch;
use switchboard_projections::webhooks::WebhooksProjection;
use switchboard_projections::ProjectionError;
use uuid::Uuid;

mod common;
use common::FixedLog;

fn started(conversation: Uuid, inbox: Uuid) -> DomainEvent {
    DomainEvent::ConversationStarted(ConversationStarted {
        conversation_id: conversation,
        inbox_id: inbox,
        source: Source::Web,
        contact: Contact {
            id: Uuid::from_u128(3),
            name: Some("Ann".into()),
            email: None,
            phone: None,
        },
        subject: None,
        started_at: Utc::now(),
        branch_id: None,
        routing: None,
        sla: None,
    })
}

fn message(conversation: Uuid, body: &str) -> DomainEvent {
    DomainEvent::MessagePosted(MessagePosted {
        conversation_id: conversation,
        message_id: Uuid::now_v7(),
        sender: Sender {
            kind: SenderKind::Contact,
            id: Some(Uuid::from_u128(3)),
        },
        channel: Channel::Web,
        body: body.into(),
        posted_at: Utc::now(),
        attachments: vec![],
    })
}

fn recorded(
    position: i64,
    stream: Uuid,
    stream_type: &str,
    version: i32,
    event: &DomainEvent,
) -> RecordedEvent {
    RecordedEvent {
        global_position: position,
        stream_id: stream,
        stream_type: stream_type.into(),
        stream_version: version,
        event_id: Uuid::now_v7(),
        event_type: event.event_type().into(),
        schema_version: event.schema_version(),
        payload: event.payload(),
        metadata: json!({}),
        recorded_at: Utc::now(),
    }
}

/// Two conversations of one inbox, their events interleaved as two partitions might bring
/// them, in the order of their global positions.
fn two_conversations() -> (Vec<RecordedEvent>, [Uuid; 2]) {
    let inbox = Uuid::now_v7();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let script = [
        (a, 1, started(a, inbox)),
        (b, 1, started(b, inbox)),
        (a, 2, message(a, "a2")),
        (b, 2, message(b, "b2")),
        (a, 3, message(a, "a3")),
        (a, 4, message(a, "a4")),
        (b, 3, message(b, "b3")),
    ];
    let events = script
        .iter()
        .enumerate()
        .map(|(i, (stream, version, event))| {
            recorded(i as i64 + 1, *stream, "conversation", *version, event)
        })
        .collect();
    (events, [a, b])
}

async fn bodies(pool: &PgPool, conversation: Uuid) -> Vec<String> {
    read::messages(pool, conversation, read::Audience::Operators, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect()
}

async fn positions(pool: &PgPool, projection: &str) -> Vec<(Uuid, i32)> {
    sqlx::query_as(
        "select stream_id, version from projection_stream_positions
         where projection = $1 order by stream_id",
    )
    .bind(projection)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_batch_of_many_streams_applies_each_event_once(pool: PgPool) {
    let (events, [a, b]) = two_conversations();
    let log = FixedLog(events.clone());
    let projection = ConversationsProjection;
    // A first batch that stops midway; then everything again, with repeats inside the batch
    // and `a`'s 3 missing (filled from the log before 4).
    apply_batch(&pool, &projection, &log, &events[..3])
        .await
        .unwrap();
    let again: Vec<RecordedEvent> = [0, 1, 2, 3, 3, 5, 6, 6, 2]
        .iter()
        .map(|&i| events[i].clone())
        .collect();
    apply_batch(&pool, &projection, &log, &again).await.unwrap();
    // A whole redelivery changes nothing.
    apply_batch(&pool, &projection, &log, &events)
        .await
        .unwrap();

    assert_eq!(bodies(&pool, a).await, ["a2", "a3", "a4"]);
    assert_eq!(bodies(&pool, b).await, ["b2", "b3"]);
    for (conversation, count) in [(a, 3), (b, 2)] {
        let row = read::conversation(&pool, conversation)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((row.message_count, row.inbound_count), (count, count));
    }
    let mut expected = vec![(a, 4), (b, 3)];
    expected.sort();
    assert_eq!(positions(&pool, "conversations").await, expected);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_gap_the_log_cannot_fill_fails_the_whole_batch(pool: PgPool) {
    let (events, [a, b]) = two_conversations();
    // The log lacks `a`'s 3.
    let log = FixedLog(
        events
            .iter()
            .filter(|e| !(e.stream_id == a && e.stream_version == 3))
            .cloned()
            .collect(),
    );
    let batch: Vec<RecordedEvent> = [0, 1, 2, 3, 5, 6]
        .iter()
        .map(|&i| events[i].clone())
        .collect();
    let err = apply_batch(&pool, &ConversationsProjection, &log, &batch)
        .await
        .unwrap_err();
    assert_missing(&err, a, 3);
    assert_eq!(read::conversation(&pool, b).await.unwrap(), None);
    assert_eq!(positions(&pool, "conversations").await, []);
}

#[sqlx::test(migrations = "../migrations")]
async fn ignored_types_move_the_position_and_unreadable_ones_are_still_dead_lettered(pool: PgPool) {
    let (mut events, [a, b]) = two_conversations();
    events[3].payload = json!({ "not": "a message" }); // b's 2
    let log = FixedLog(events.clone());
    apply_batch(&pool, &InboxesProjection, &log, &events)
        .await
        .unwrap();
    let mut expected = vec![(a, 4), (b, 3)];
    expected.sort();
    assert_eq!(positions(&pool, "inboxes").await, expected);
    let dead: Vec<(Uuid, i32, String)> =
        sqlx::query_as("select stream_id, stream_version, projection from projection_dead_letters")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(dead, [(b, 2, "inboxes".to_string())]);
}

/// Appends `event` to the `events` table (with a placeholder hash: nothing here checks the
/// chain) and returns it as recorded.
async fn append(
    pool: &PgPool,
    stream: Uuid,
    stream_type: &str,
    version: i32,
    event: &DomainEvent,
) -> RecordedEvent {
    let mut recorded = recorded(0, stream, stream_type, version, event);
    recorded.global_position = sqlx::query_scalar(
        "insert into events (stream_id, stream_type, stream_version, event_id, event_type,
                             schema_version, payload, metadata, recorded_at, prev_hash, hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                 case when $3 = 1 then null else '\\x00'::bytea end, '\\x00'::bytea)
         returning global_position",
    )
    .bind(recorded.stream_id)
    .bind(&recorded.stream_type)
    .bind(recorded.stream_version)
    .bind(recorded.event_id)
    .bind(&recorded.event_type)
    .bind(recorded.schema_version)
    .bind(&recorded.payload)
    .bind(&recorded.metadata)
    .bind(recorded.recorded_at)
    .fetch_one(pool)
    .await
    .unwrap();
    recorded
}

#[sqlx::test(migrations = "../migrations")]
async fn a_registration_catches_up_on_what_its_own_batch_applied_before_it(pool: PgPool) {
    let (conversation, inbox, endpoint) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let registration = DomainEvent::WebhookEndpointRegistered(WebhookEndpointRegistered {
        endpoint_id: endpoint,
        inbox_id: inbox,
        url: "https://crm.example.com/hooks".into(),
        event_types: vec![WebhookEventType::MessageIn],
        registered_at: Utc::now(),
    });
    let started = append(
        &pool,
        conversation,
        "conversation",
        1,
        &started(conversation, inbox),
    )
    .await;
    let before = append(
        &pool,
        conversation,
        "conversation",
        2,
        &message(conversation, "before"),
    )
    .await;
    let registered = append(&pool, endpoint, "webhook_endpoint", 1, &registration).await;
    let after_1 = append(
        &pool,
        conversation,
        "conversation",
        3,
        &message(conversation, "after 1"),
    )
    .await;
    let after_2 = append(
        &pool,
        conversation,
        "conversation",
        4,
        &message(conversation, "after 2"),
    )
    .await;
    // The conversation's partition ahead of the endpoint's, all in one batch: `after 1` is
    // delivered by the registration's catch-up, `after 2` when it is applied.
    let batch = [
        started,
        before,
        after_1.clone(),
        registered,
        after_2.clone(),
    ];
    // The catch-up reads the log through the reader, up to the versions this batch's
    // transaction has applied: `after 2` is in the log but not applied yet when it runs.
    let log = FixedLog(batch.to_vec());
    apply_batch(&pool, &WebhooksProjection, &log, &batch)
        .await
        .unwrap();
    let delivered: Vec<Uuid> =
        sqlx::query_scalar("select event_id from webhook_deliveries order by global_position")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(delivered, [after_1.event_id, after_2.event_id]);
}

/// Asserts `err` says that `stream`'s event `version` is missing from the log.
fn assert_missing(err: &ProjectionError, stream: Uuid, version: i32) {
    assert!(
        matches!(err, ProjectionError::MissingEvents { stream_id, from, to }
                 if *stream_id == stream && *from == version && *to == version),
        "{err}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_batch_the_projection_ignores_moves_each_stream_it_continues(pool: PgPool) {
    // Inboxes ignore conversations' events: such batches only move positions.
    let (events, [a, b]) = two_conversations();
    let log = FixedLog(events.clone());
    apply_batch(&pool, &InboxesProjection, &log, &events[..4])
        .await
        .unwrap();
    let mut expected = vec![(a, 2), (b, 2)];
    expected.sort();
    assert_eq!(positions(&pool, "inboxes").await, expected);
    // A redelivery and a continuation in one batch.
    apply_batch(&pool, &InboxesProjection, &log, &events[2..6])
        .await
        .unwrap();
    let mut expected = vec![(a, 4), (b, 2)];
    expected.sort();
    assert_eq!(positions(&pool, "inboxes").await, expected);

    // A gap inside the batch (`a`'s 6 is missing between 5 and 7): nothing moves without the
    // log, which could hold a handled event there.
    let inside = [
        recorded(10, a, "conversation", 5, &message(a, "a5")),
        recorded(11, a, "conversation", 7, &message(a, "a7")),
    ];
    let err = apply_batch(&pool, &InboxesProjection, &FixedLog(vec![]), &inside)
        .await
        .unwrap_err();
    assert_missing(&err, a, 6);
    // A new stream, and `b` with a gap the log cannot fill (its 3 is missing): the new
    // stream moves, `b` does not, and the batch fails as any batch with such a gap does.
    let c = Uuid::now_v7();
    let batch = [
        recorded(8, c, "conversation", 1, &started(c, Uuid::now_v7())),
        recorded(9, b, "conversation", 4, &message(b, "b4")),
    ];
    let err = apply_batch(&pool, &InboxesProjection, &FixedLog(vec![]), &batch)
        .await
        .unwrap_err();
    assert_missing(&err, b, 3);
    let mut expected = vec![(a, 4), (b, 2), (c, 1)];
    expected.sort();
    assert_eq!(positions(&pool, "inboxes").await, expected);
    // Once the log has it, the gap is filled and `b` moves on.
    let mut complete = events.clone();
    complete.push(batch[1].clone());
    apply_batch(&pool, &InboxesProjection, &FixedLog(complete), &batch)
        .await
        .unwrap();
    let mut expected = vec![(a, 4), (b, 4), (c, 1)];
    expected.sort();
    assert_eq!(positions(&pool, "inboxes").await, expected);
}

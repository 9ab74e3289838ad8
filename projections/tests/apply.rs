//! The projection's apply step against a real PostgreSQL: redeliveries change nothing, gaps are
//! filled from the log, unreadable events are dead-lettered instead of stalling the stream.

use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;
use switchboard_domain::envelope::RecordedEvent;
use switchboard_projections::conversations::read;
use switchboard_projections::conversations::ConversationsProjection;
use switchboard_projections::runner::apply_event;
use uuid::Uuid;

mod common;
use common::FixedLog;

fn recorded(
    stream: Uuid,
    version: i32,
    event_type: &str,
    payload: serde_json::Value,
) -> RecordedEvent {
    RecordedEvent {
        global_position: version as i64,
        stream_id: stream,
        stream_type: "conversation".into(),
        stream_version: version,
        event_id: Uuid::now_v7(),
        event_type: event_type.into(),
        schema_version: 1,
        payload,
        metadata: json!({}),
        recorded_at: Utc::now(),
    }
}

fn conversation(stream: Uuid) -> Vec<RecordedEvent> {
    let contact = Uuid::now_v7();
    let started = json!({
        "conversation_id": stream, "inbox_id": Uuid::now_v7(), "source": "web",
        "contact": { "id": contact, "name": "Ann", "email": null, "phone": null },
        "subject": null, "started_at": Utc::now(),
    });
    let message = |n: i32| {
        json!({
            "conversation_id": stream, "message_id": Uuid::now_v7(),
            "sender": { "kind": "contact", "id": contact }, "channel": "web",
            "body": format!("message {n}"), "posted_at": Utc::now(),
        })
    };
    let mut events = vec![recorded(stream, 1, "ConversationStarted", started)];
    events.extend((2..=4).map(|v| recorded(stream, v, "MessagePosted", message(v))));
    events
}

#[sqlx::test(migrations = "../migrations")]
async fn redelivery_changes_nothing_and_gaps_are_filled_from_the_log(pool: PgPool) {
    let stream = Uuid::now_v7();
    let events = conversation(stream);
    let log = FixedLog(events.clone());
    let projection = ConversationsProjection;

    apply_event(&pool, &projection, &log, &events[0])
        .await
        .unwrap();
    apply_event(&pool, &projection, &log, &events[1])
        .await
        .unwrap();
    apply_event(&pool, &projection, &log, &events[1])
        .await
        .unwrap(); // redelivered
    apply_event(&pool, &projection, &log, &events[3])
        .await
        .unwrap(); // 3 never arrived
    apply_event(&pool, &projection, &log, &events[2])
        .await
        .unwrap(); // late, already filled

    let bodies: Vec<String> = read::messages(&pool, stream, read::Audience::Operators, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["message 2", "message 3", "message 4"]);
    let row = read::conversation(&pool, stream).await.unwrap().unwrap();
    assert_eq!(row.message_count, 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_unreadable_event_is_dead_lettered_and_the_stream_goes_on(pool: PgPool) {
    let stream = Uuid::now_v7();
    let mut events = conversation(stream);
    events[1] = recorded(stream, 2, "EventFromTheFuture", json!({ "x": 1 }));
    events[2].payload = json!({ "not": "a message" });
    let log = FixedLog(events.clone());
    let projection = ConversationsProjection;
    for event in &events {
        apply_event(&pool, &projection, &log, event).await.unwrap();
    }
    let dead: Vec<(i32, String, String)> = sqlx::query_as(
        "select stream_version, event_type, reason from projection_dead_letters order by stream_version",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(dead.len(), 2);
    assert_eq!((dead[0].0, dead[0].1.as_str()), (2, "EventFromTheFuture"));
    assert_eq!(
        dead[0].2,
        "unknown event type `EventFromTheFuture` (schema version 1)"
    );
    assert_eq!((dead[1].0, dead[1].1.as_str()), (3, "MessagePosted"));
    assert!(
        dead[1]
            .2
            .starts_with("payload of `MessagePosted` v1 does not match"),
        "{}",
        dead[1].2
    );
    let bodies: Vec<String> = read::messages(&pool, stream, read::Audience::Operators, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["message 4"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_batch_applies_in_one_transaction_and_skips_repeats_within_it(pool: PgPool) {
    use switchboard_projections::runner::apply_batch;
    let stream = Uuid::now_v7();
    let events = conversation(stream);
    let log = FixedLog(events.clone());
    let projection = ConversationsProjection;
    // A redelivery inside the batch, and one event out of order (filled from the log).
    let batch = [
        events[0].clone(),
        events[1].clone(),
        events[1].clone(),
        events[3].clone(),
        events[2].clone(),
    ];
    apply_batch(&pool, &projection, &log, &batch).await.unwrap();
    let bodies: Vec<String> = read::messages(&pool, stream, read::Audience::Operators, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["message 2", "message 3", "message 4"]);

    // A batch that fails changes nothing: here, an event whose row already exists.
    let other = Uuid::now_v7();
    let mut broken = conversation(other);
    broken[1].payload["message_id"] = events[1].payload["message_id"].clone();
    let err = apply_batch(&pool, &projection, &FixedLog(broken.clone()), &broken).await;
    assert!(err.unwrap_err().is_permanent());
    assert_eq!(
        read::conversation(&pool, other).await.unwrap(),
        None,
        "all or nothing"
    );
}

//! `replay verify` against a real PostgreSQL: an untouched log verifies; a tampered event is
//! named, even when the tamperer got past the append-only trigger.

use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;
use switchboard_commands::log::{EventLog, NewEvent, StreamHead};
use switchboard_replay::{verify_chains, BrokenLink};
use uuid::Uuid;

async fn append_stream(log: &EventLog, events: usize) -> Uuid {
    let stream = Uuid::now_v7();
    let mut head = StreamHead::default();
    for n in 0..events {
        let event = NewEvent {
            event_id: Uuid::now_v7(),
            event_type: "TestEvent".into(),
            schema_version: 1,
            payload: json!({ "n": n, "text": "ünïcode ✓" }),
            metadata: json!({ "actor": { "kind": "system" } }),
        };
        head = log
            .append(stream, "test", &head, vec![event], Utc::now())
            .await
            .unwrap()[0]
            .head();
    }
    stream
}

#[sqlx::test(migrations = "../migrations")]
async fn verify_passes_an_untouched_log_and_names_the_first_tampered_event(pool: PgPool) {
    let log = EventLog::new(pool.clone());
    let intact = append_stream(&log, 3).await;
    let tampered = append_stream(&log, 4).await;
    let report = verify_chains(&pool).await.unwrap();
    assert_eq!(
        (report.events, report.streams, report.broken.len()),
        (7, 2, 0)
    );

    // Someone with the table owner's rights switches the trigger off and edits history.
    sqlx::query("alter table events disable trigger events_no_update_or_delete")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "update events set payload = jsonb_set(payload, '{text}', '\"edited\"')
         where stream_id = $1 and stream_version = 3",
    )
    .bind(tampered)
    .execute(&pool)
    .await
    .unwrap();
    let position: i64 = sqlx::query_scalar(
        "select global_position from events where stream_id = $1 and stream_version = 3",
    )
    .bind(tampered)
    .fetch_one(&pool)
    .await
    .unwrap();

    let report = verify_chains(&pool).await.unwrap();
    assert_eq!(
        report.broken,
        [BrokenLink {
            stream_id: tampered,
            stream_version: 3,
            global_position: position,
            reason: "hash does not match the event's content",
        }]
    );
    assert!(report.broken.iter().all(|b| b.stream_id != intact));
}

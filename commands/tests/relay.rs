//! The relay against a real PostgreSQL and a real Kafka broker (SWITCHBOARD_KAFKA_BROKERS,
//! default 127.0.0.1:9092; `make test` starts one): what it publishes, and that it publishes
//! the whole log again when its topic turns out empty.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;
use serde_json::json;
use sqlx::PgPool;
use switchboard_commands::kafka::KafkaSettings;
use switchboard_commands::log::{EventLog, NewEvent, StreamHead};
use switchboard_commands::relay::{load_checkpoint, run_relay, RelayConfig};
use switchboard_commands::tail::{TailConfig, TailPosition};
use switchboard_domain::envelope::RecordedEvent;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn brokers() -> String {
    std::env::var("SWITCHBOARD_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn relay_config(name: &str, topic: &str) -> RelayConfig {
    RelayConfig {
        name: name.into(),
        kafka: KafkaSettings {
            brokers: brokers(),
            topic: topic.into(),
            partitions: 3,
        },
        tail: TailConfig {
            batch_size: 50,
            poll_interval: Duration::from_millis(100),
        },
    }
}

/// Appends `per_stream` events to each of `streams` new streams; returns them as recorded.
async fn append(log: &EventLog, streams: usize, per_stream: usize) -> Vec<RecordedEvent> {
    let mut recorded = Vec::new();
    for _ in 0..streams {
        let stream = Uuid::now_v7();
        let mut head = StreamHead::default();
        for n in 0..per_stream {
            let event = NewEvent {
                event_id: Uuid::now_v7(),
                event_type: "MessagePosted".into(),
                schema_version: 1,
                payload: json!({ "n": n }),
                metadata: json!({}),
            };
            let logged = log
                .append(stream, "conversation", &head, vec![event], Utc::now())
                .await
                .unwrap();
            head = logged[0].head();
            recorded.push(logged[0].event.clone());
        }
    }
    recorded
}

/// Reads `expected` messages from the start of `topic`, with their headers.
async fn consume(
    topic: &str,
    expected: usize,
) -> Vec<(String, RecordedEvent, HashMap<String, String>)> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", format!("relay-test-{}", Uuid::now_v7()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut received = Vec::new();
    while received.len() < expected {
        let message = match tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .expect("messages within a minute")
        {
            Ok(message) => message,
            // The relay may not have created the topic yet.
            Err(err) => {
                eprintln!("consumer: {err}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let key = String::from_utf8(message.key().unwrap().to_vec()).unwrap();
        let event: RecordedEvent = serde_json::from_slice(message.payload().unwrap()).unwrap();
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|header| {
                        (
                            header.key.to_owned(),
                            String::from_utf8(header.value.unwrap().to_vec()).unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        received.push((key, event, headers));
    }
    received
}

#[sqlx::test(migrations = "../migrations")]
async fn the_relay_publishes_every_event_keyed_ordered_and_with_cloudevents_headers(pool: PgPool) {
    let log = EventLog::new(pool.clone());
    let appended = append(&log, 3, 20).await;
    let topic = format!("relay-test-{}", Uuid::now_v7());
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(run_relay(
        pool.clone(),
        relay_config("test", &topic),
        shutdown.clone(),
    ));

    let received = consume(&topic, appended.len()).await;
    let by_id: HashMap<Uuid, &RecordedEvent> = appended.iter().map(|e| (e.event_id, e)).collect();
    let mut versions: HashMap<Uuid, i32> = HashMap::new();
    for (key, event, headers) in &received {
        assert_eq!(
            by_id[&event.event_id], event,
            "the value is the recorded event"
        );
        assert_eq!(key, &event.stream_id.to_string());
        let previous = versions
            .insert(event.stream_id, event.stream_version)
            .unwrap_or(0);
        assert_eq!(event.stream_version, previous + 1, "per-stream order");
        let expected: HashMap<String, String> = [
            ("ce_specversion", "1.0".to_owned()),
            ("ce_id", event.event_id.to_string()),
            ("ce_type", "switchboard.MessagePosted.v1".to_owned()),
            ("ce_source", "/switchboard/conversation".to_owned()),
            (
                "ce_time",
                event
                    .recorded_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
            ("ce_subject", event.stream_id.to_string()),
            ("content-type", "application/json".to_owned()),
            (
                "switchboard_global_position",
                event.global_position.to_string(),
            ),
            (
                "switchboard_stream_version",
                event.stream_version.to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(headers, &expected);
    }
    assert_eq!(received.len(), 60);

    // The checkpoint reached the end once the broker acknowledged everything.
    let last = appended.iter().map(|e| e.global_position).max().unwrap();
    let mut checkpoint = TailPosition::START;
    for _ in 0..100 {
        checkpoint = load_checkpoint(&pool, "test").await.unwrap();
        if checkpoint.global_position == last {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(checkpoint.global_position, last);
    shutdown.cancel();
    relay.await.unwrap().unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn a_relay_whose_topic_lost_its_data_publishes_the_log_again(pool: PgPool) {
    let log = EventLog::new(pool.clone());
    let appended = append(&log, 2, 10).await;
    let first_topic = format!("relay-test-{}", Uuid::now_v7());
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(run_relay(
        pool.clone(),
        relay_config("lossy", &first_topic),
        shutdown.clone(),
    ));
    consume(&first_topic, appended.len()).await;
    shutdown.cancel();
    relay.await.unwrap().unwrap();
    assert_ne!(
        load_checkpoint(&pool, "lossy").await.unwrap(),
        TailPosition::START
    );

    // Same relay, same checkpoint, but its topic is now empty (as after a broker that kept
    // its data in memory restarted): everything is published again, then the new events.
    let second_topic = format!("relay-test-{}", Uuid::now_v7());
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(run_relay(
        pool.clone(),
        relay_config("lossy", &second_topic),
        shutdown.clone(),
    ));
    let later = append(&log, 1, 5).await;
    let received = consume(&second_topic, appended.len() + later.len()).await;
    let mut ids: Vec<Uuid> = received.iter().map(|(_, e, _)| e.event_id).collect();
    let mut expected: Vec<Uuid> = appended.iter().chain(&later).map(|e| e.event_id).collect();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected);
    shutdown.cancel();
    relay.await.unwrap().unwrap();
}

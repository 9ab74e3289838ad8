//! The event log against a real PostgreSQL: optimistic concurrency, append-only, hash chain,
//! and the commit-order tail under concurrent and late-committing writers.
//!
//! Each `#[sqlx::test]` gets a fresh database with the migrations applied (DATABASE_URL names
//! the server; `make test` sets it).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use switchboard_commands::log::{
    append_on, AppendError, EventLog, LoggedEvent, NewEvent, StreamHead,
};
use switchboard_commands::tail::{LogTail, TailConfig, TailPosition};
use uuid::Uuid;

fn new_event(n: u64) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "TestEvent".into(),
        schema_version: 1,
        payload: json!({ "n": n }),
        metadata: json!({}),
    }
}

/// A pool of our own on the test's database: the pool `#[sqlx::test]` hands out is capped by
/// its parent, and these tests want a writer per connection.
async fn big_pool(_capped: PgPoolOptions, connect: PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        .max_connections(24)
        .connect_with(connect)
        .await
        .expect("test pool")
}

/// Appends `events` as the first of a new stream `stream`.
async fn append_new(log: &EventLog, stream: Uuid, events: Vec<NewEvent>) -> Vec<LoggedEvent> {
    log.append(stream, "test", &StreamHead::default(), events, Utc::now())
        .await
        .unwrap()
}

/// Follows the log until `expected` events arrived (or a deadline passed) and returns them.
async fn tail_until(pool: PgPool, expected: usize, deadline: Duration) -> Vec<LoggedEvent> {
    let config = TailConfig {
        batch_size: 1000,
        poll_interval: Duration::from_millis(100),
    };
    let mut tail = LogTail::start(pool, TailPosition::START, config)
        .await
        .unwrap();
    let mut seen = Vec::with_capacity(expected);
    let until = tokio::time::Instant::now() + deadline;
    while seen.len() < expected {
        match tokio::time::timeout_at(until, tail.next_batch()).await {
            Ok(batch) => seen.extend(batch.unwrap()),
            Err(_) => break,
        }
    }
    // Anything more would be a duplicate: give it a moment to show up.
    if let Ok(extra) = tokio::time::timeout(Duration::from_millis(300), tail.next_batch()).await {
        seen.extend(extra.unwrap());
    }
    seen
}

/// Asserts exactly-once delivery and per-stream version order.
fn assert_exactly_once_in_stream_order(seen: &[LoggedEvent], appended: &HashSet<Uuid>) {
    let mut ids = HashSet::new();
    for e in seen {
        assert!(
            ids.insert(e.event.event_id),
            "event {} delivered twice",
            e.event.event_id
        );
    }
    assert_eq!(
        ids.len(),
        appended.len(),
        "delivered {} of {} events",
        ids.len(),
        appended.len()
    );
    assert_eq!(&ids, appended, "delivered a different set of events");
    let mut last: HashMap<Uuid, i32> = HashMap::new();
    for e in seen {
        let prev = last
            .insert(e.event.stream_id, e.event.stream_version)
            .unwrap_or(0);
        assert_eq!(
            e.event.stream_version,
            prev + 1,
            "stream {} out of order",
            e.event.stream_id
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn thirty_two_writers_at_one_version_exactly_one_wins(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let log = EventLog::new(big_pool(options, connect).await);
    let stream = Uuid::now_v7();
    let first = append_new(&log, stream, vec![new_event(0)]).await;
    let head = first[0].head();

    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let (log, head, barrier) = (log.clone(), head.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                log.append(stream, "test", &head, vec![new_event(i)], Utc::now())
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(events) => {
                assert_eq!(events.len(), 1);
                assert_eq!(events[0].event.stream_version, 2);
                wins += 1;
            }
            Err(AppendError::VersionConflict {
                stream_id,
                expected,
            }) => {
                assert_eq!((stream_id, expected), (stream, 1));
                conflicts += 1;
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!((wins, conflicts), (1, 31));
    assert_eq!(log.read_stream(stream, 0).await.unwrap().len(), 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn stale_head_and_duplicate_event_ids_are_typed_errors(pool: PgPool) {
    let log = EventLog::new(pool);
    let stream = Uuid::now_v7();
    let e = new_event(1);
    let recorded = log
        .append(
            stream,
            "test",
            &StreamHead::default(),
            vec![e.clone()],
            Utc::now(),
        )
        .await
        .unwrap();

    // A head whose hash is not the stream's: refused, even though the version matches.
    let forged = StreamHead {
        version: 1,
        hash: Some(vec![0; 32]),
    };
    let err = log
        .append(stream, "test", &forged, vec![new_event(2)], Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppendError::VersionConflict { expected: 1, .. }),
        "{err:?}"
    );

    // The same event id again, on the right head: a duplicate.
    let err = log
        .append(
            stream,
            "test",
            &recorded[0].head(),
            vec![e.clone()],
            Utc::now(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppendError::DuplicateEvent(id) if id == e.event_id),
        "{err:?}"
    );
    assert_eq!(log.read_stream(stream, 0).await.unwrap().len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_log_refuses_update_delete_and_truncate(pool: PgPool) {
    let log = EventLog::new(pool.clone());
    let stream = Uuid::now_v7();
    log.append(
        stream,
        "test",
        &StreamHead::default(),
        vec![new_event(1)],
        Utc::now(),
    )
    .await
    .unwrap();
    for statement in [
        "update events set payload = '{}'",
        "delete from events",
        "truncate events",
    ] {
        let err = sqlx::query(statement).execute(&pool).await.unwrap_err();
        let message = err
            .as_database_error()
            .expect("a database error")
            .message()
            .to_owned();
        assert!(
            message.starts_with("the event log is append-only"),
            "{statement}: {message}"
        );
    }
    assert_eq!(log.read_stream(stream, 0).await.unwrap().len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn each_hash_links_to_its_predecessor(pool: PgPool) {
    let log = EventLog::new(pool);
    let stream = Uuid::now_v7();
    let mut head = StreamHead::default();
    for batch in [1, 3, 2] {
        let events = (0..batch).map(new_event).collect();
        let recorded = log
            .append(stream, "test", &head, events, Utc::now())
            .await
            .unwrap();
        head = recorded.last().unwrap().head();
    }
    let stored = log.read_stream(stream, 0).await.unwrap();
    assert_eq!(stored.len(), 6);
    assert_eq!(stored[0].prev_hash, None);
    for pair in stored.windows(2) {
        assert_eq!(pair[1].prev_hash.as_ref(), Some(&pair[0].hash));
        assert_ne!(pair[1].hash, pair[0].hash);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn tail_waits_for_a_late_commit_and_delivers_each_event_once(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = big_pool(options, connect).await;
    let log = EventLog::new(pool.clone());
    let tailer = tokio::spawn(tail_until(
        pool.clone(),
        1 + 8 * 20,
        Duration::from_secs(30),
    ));

    // The late transaction takes its global position first and commits last.
    let mut late = pool.begin().await.unwrap();
    let late_stream = Uuid::now_v7();
    let late_events = append_on(
        &mut late,
        late_stream,
        "test",
        &StreamHead::default(),
        vec![new_event(0)],
        Utc::now(),
    )
    .await
    .unwrap();
    let mut appended: HashSet<Uuid> = late_events.iter().map(|e| e.event.event_id).collect();

    let writers: Vec<_> = (0..8)
        .map(|_| {
            let log = log.clone();
            tokio::spawn(async move {
                let stream = Uuid::now_v7();
                let mut head = StreamHead::default();
                let mut ids = Vec::new();
                for n in 0..20 {
                    let e = new_event(n);
                    ids.push(e.event_id);
                    head = log
                        .append(stream, "test", &head, vec![e], Utc::now())
                        .await
                        .unwrap()[0]
                        .head();
                }
                ids
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Events with later positions committed while the late one was open: a reader following
    // global_position would have passed the late position by now and never come back.
    let late_position = late_events[0].event.global_position;
    let overtaking: i64 =
        sqlx::query_scalar("select count(*) from events where global_position > $1")
            .bind(late_position)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        overtaking > 0,
        "no writer committed while the late transaction was open"
    );
    late.commit().await.unwrap();
    for writer in writers {
        appended.extend(writer.await.unwrap());
    }

    let seen = tailer.await.unwrap();
    assert_exactly_once_in_stream_order(&seen, &appended);
    // In commit-safe order the oldest transaction comes first, however late it committed.
    assert_eq!(seen[0].event.event_id, late_events[0].event.event_id);
}

#[sqlx::test(migrations = "../migrations")]
async fn sixteen_writers_append_100k_events_and_the_tail_delivers_each_once_in_order(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    const WRITERS: usize = 16;
    const PER_WRITER: usize = 6_250; // 16 × 6,250 = 100,000
    const STREAMS_PER_WRITER: usize = 25;
    let pool = big_pool(options, connect).await;
    let log = EventLog::new(pool.clone());
    let tailer = tokio::spawn(tail_until(
        pool.clone(),
        WRITERS * PER_WRITER,
        Duration::from_secs(300),
    ));

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                let streams: Vec<Uuid> = (0..STREAMS_PER_WRITER).map(|_| Uuid::now_v7()).collect();
                let mut heads = vec![StreamHead::default(); STREAMS_PER_WRITER];
                let mut ids = Vec::with_capacity(PER_WRITER);
                let mut written = 0;
                let mut turn = 0;
                while written < PER_WRITER {
                    // Batches of 1 to 4 events, spread over this writer's streams.
                    let size = (1 + (w + turn) % 4).min(PER_WRITER - written);
                    let s = turn % STREAMS_PER_WRITER;
                    let events: Vec<NewEvent> =
                        (0..size).map(|i| new_event((written + i) as u64)).collect();
                    ids.extend(events.iter().map(|e| e.event_id));
                    let recorded = log
                        .append(streams[s], "test", &heads[s], events, Utc::now())
                        .await
                        .unwrap();
                    heads[s] = recorded.last().unwrap().head();
                    written += size;
                    turn += 1;
                }
                ids
            })
        })
        .collect();
    let mut appended = HashSet::with_capacity(WRITERS * PER_WRITER);
    for writer in writers {
        appended.extend(writer.await.unwrap());
    }
    assert_eq!(appended.len(), 100_000);
    let seen = tailer.await.unwrap();
    assert_exactly_once_in_stream_order(&seen, &appended);
}

/// Starts every append (stream, head, events) at the same moment and returns their outcomes
/// in the same order.
async fn append_together(
    log: &EventLog,
    appends: Vec<(Uuid, StreamHead, Vec<NewEvent>)>,
) -> Vec<Result<Vec<LoggedEvent>, AppendError>> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(appends.len()));
    let tasks: Vec<_> = appends
        .into_iter()
        .map(|(stream, head, events)| {
            let (log, barrier) = (log.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                log.append(stream, "test", &head, events, Utc::now()).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

#[sqlx::test(migrations = "../migrations")]
async fn appends_waiting_together_share_commits_and_a_stale_head_fails_only_its_own(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let log = EventLog::new(big_pool(options, connect).await);
    // Two streams with history: one appended at its true head, one at a stale head.
    let mut heads = Vec::new();
    for _ in 0..2 {
        let stream = Uuid::now_v7();
        let recorded = append_new(&log, stream, vec![new_event(0), new_event(1)]).await;
        heads.push((stream, recorded[0].head(), recorded[1].head()));
    }
    let (current, _, current_head) = heads[0].clone();
    let (stale, stale_head, _) = heads[1].clone();
    // And the stale one again, appended as if it were new.
    let taken = heads[1].0;

    let mut appends: Vec<(Uuid, StreamHead, Vec<NewEvent>)> = (0..40)
        .map(|i| {
            (
                Uuid::now_v7(),
                StreamHead::default(),
                vec![new_event(i), new_event(i + 100)],
            )
        })
        .collect();
    appends.push((current, current_head.clone(), vec![new_event(2)]));
    appends.push((stale, stale_head.clone(), vec![new_event(2)]));
    appends.push((taken, StreamHead::default(), vec![new_event(2)]));
    let outcomes = append_together(&log, appends.clone()).await;

    let mut transactions = HashSet::new();
    for ((stream, head, events), outcome) in appends.iter().zip(&outcomes).take(41) {
        let recorded = outcome.as_ref().expect("a good append succeeds");
        let versions: Vec<i32> = recorded.iter().map(|e| e.event.stream_version).collect();
        let expected: Vec<i32> = (1..=events.len() as i32)
            .map(|v| v + head.version)
            .collect();
        assert_eq!(versions, expected, "stream {stream}");
        let ids: Vec<Uuid> = recorded.iter().map(|e| e.event.event_id).collect();
        let sent: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        assert_eq!(ids, sent);
        assert_eq!(recorded[0].prev_hash, head.hash, "chained to its own head");
        transactions.extend(recorded.iter().map(|e| e.transaction_id));
        // What the append answered is what the log holds.
        assert_eq!(
            log.read_stream(*stream, head.version).await.unwrap(),
            *recorded
        );
    }
    assert!(
        transactions.len() < 41,
        "41 appends waiting together took {} commits",
        transactions.len()
    );
    assert!(matches!(
        outcomes[41],
        Err(AppendError::VersionConflict { stream_id, expected: 1 }) if stream_id == stale
    ));
    assert!(matches!(
        outcomes[42],
        Err(AppendError::VersionConflict { stream_id, expected: 0 }) if stream_id == taken
    ));
    assert_eq!(log.head(stale).await.unwrap().version, 2, "nothing written");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_repeated_event_id_in_a_group_fails_only_its_own_append(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let log = EventLog::new(big_pool(options, connect).await);
    let recorded = append_new(&log, Uuid::now_v7(), vec![new_event(0)]).await;
    let used = recorded[0].event.event_id;
    let mut appends: Vec<(Uuid, StreamHead, Vec<NewEvent>)> = (0..20)
        .map(|i| (Uuid::now_v7(), StreamHead::default(), vec![new_event(i)]))
        .collect();
    let mut repeated = new_event(99);
    repeated.event_id = used;
    appends.push((
        Uuid::now_v7(),
        StreamHead::default(),
        vec![new_event(98), repeated],
    ));
    let outcomes = append_together(&log, appends.clone()).await;
    for ((stream, _, events), outcome) in appends.iter().zip(&outcomes).take(20) {
        let recorded = outcome.as_ref().expect("a good append succeeds");
        assert_eq!(recorded[0].event.event_id, events[0].event_id);
        assert_eq!(log.head(*stream).await.unwrap().version, 1);
    }
    assert!(matches!(outcomes[20], Err(AppendError::DuplicateEvent(id)) if id == used));
    assert_eq!(
        log.head(appends[20].0).await.unwrap().version,
        0,
        "nothing written"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_commit_order_read_takes_the_first_events_from_the_index_without_sorting_the_log(
    pool: PgPool,
) {
    // Many small transactions, as appends make them.
    for _ in 0..200 {
        sqlx::query(
            "insert into events (stream_id, stream_type, stream_version, event_id, event_type,
                                 schema_version, payload, metadata, recorded_at, prev_hash, hash)
             select gen_random_uuid(), 'test', 1, gen_random_uuid(), 'TestEvent', 1,
                    jsonb_build_object('n', n), '{}', now(), null, '\\x00'
             from generate_series(1, 50) as n",
        )
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query("analyze events").execute(&pool).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for mode in ["force_custom_plan", "force_generic_plan"] {
        sqlx::query(&format!("set plan_cache_mode = {mode}"))
            .execute(&mut *conn)
            .await
            .unwrap();
        let explain = format!(
            "explain (format json) {}",
            switchboard_commands::tail::committed_after_sql()
        );
        let plan: serde_json::Value = sqlx::query_scalar(&explain)
            .bind(0i64)
            .bind(0i64)
            .bind(500i64)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let top = &plan[0]["Plan"];
        assert_eq!(top["Node Type"], "Limit", "{mode}: {plan:#}");
        let scan = &top["Plans"][0];
        assert_eq!(scan["Node Type"], "Index Scan", "{mode}: {plan:#}");
        assert_eq!(
            scan["Index Name"], "events_commit_order_idx",
            "{mode}: {plan:#}"
        );
    }
}

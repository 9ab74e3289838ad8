//! Scenario 2, end to end: widgets send over HTTP, an operator's graphql-transport-ws
//! subscriptions receive, with the relay, Kafka and the projections all real, at fixed rates.
//!
//! Open loop: message `i` is due at `start + i / rate` whatever happened to the ones before,
//! and its latency counts from that due time (so a server that falls behind is not excused by
//! a client that waited for it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use switchboard_tests::WsClient;
use tokio::time::Instant;

use crate::report::{latency_summary, summary, table};
use crate::server::Server;
use crate::{db, Options};

/// From the first message on: subscribing races the first sends, and a subscription without
/// `afterPosition` starts at whatever the thread holds when it registers.
const SUBSCRIBE: &str = "subscription($id: UUID!, $after: Int) {
  messagePosted(conversationId: $id, afterPosition: $after) { id body }
}";

pub async fn run(options: &Options) -> anyhow::Result<()> {
    let (rates, seconds, conversations): (&[u64], u64, usize) = if options.quick {
        (&[50], 1, 4)
    } else if !options.rates.is_empty() {
        (&options.rates, options.seconds, 50)
    } else {
        (&[100, 500, 1000], options.seconds, 50)
    };
    let name = "switchboard_bench_e2e";
    let url = db::fresh(&options.database_url, name).await?;
    let server = Arc::new(Server::start(options, &url).await?);
    let widget = server.inbox().await?;
    let mut sessions = Vec::new();
    for i in 0..conversations {
        sessions.push(server.conversation(&widget, i).await?);
    }
    let mut client = WsClient::connect(&server.ws_url, Some(&server.admin)).await?;
    let sessions = Arc::new(sessions);
    for started in sessions.iter() {
        client
            .subscribe(
                SUBSCRIBE,
                json!({ "id": started.conversation_id, "after": started.first_position }),
            )
            .await?;
    }
    // Received bodies with when they arrived, from one reader task.
    let received: Arc<Mutex<HashMap<String, Instant>>> = Default::default();
    let reader = {
        let received = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok(message) = client.receive(Duration::from_secs(3600)).await else {
                    return;
                };
                let now = Instant::now();
                if let Some(body) = message["payload"]["data"]["messagePosted"]["body"].as_str() {
                    received.lock().unwrap().insert(body.to_owned(), now);
                }
            }
        })
    };
    // Warm-up: every subscription delivers before anything is measured.
    for (i, started) in sessions.iter().enumerate() {
        server
            .send(
                &started.session,
                &started.conversation_id,
                &format!("warm-up {i}"),
            )
            .await?;
    }
    wait_for(
        &received,
        (0..conversations).map(|i| format!("warm-up {i}")),
        Duration::from_secs(60),
    )
    .await
    .context("the warm-up messages never arrived")?;

    let mut rows = Vec::new();
    let mut results = Vec::new();
    for &rate in rates {
        let total = rate * seconds;
        let start = Instant::now() + Duration::from_millis(200);
        let mut sends = tokio::task::JoinSet::new();
        for i in 0..total {
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            let (server, sessions) = (server.clone(), sessions.clone());
            sends.spawn(async move {
                tokio::time::sleep_until(due).await;
                let started = &sessions[i as usize % sessions.len()];
                let (conversation_id, session) = (&started.conversation_id, &started.session);
                let body = format!("rate {rate} message {i}");
                server.send(session, conversation_id, &body).await?;
                anyhow::Ok((body, due, Instant::now()))
            });
        }
        let mut due_of = HashMap::new();
        // Due → acknowledged: the HTTP request, the command and its append (the first hop).
        let mut acked_after = Vec::with_capacity(total as usize);
        let mut failed = 0u64;
        while let Some(joined) = sends.join_next().await {
            match joined? {
                Ok((body, due, acked)) => {
                    acked_after.push((acked - due).as_secs_f64() * 1e3);
                    due_of.insert(body, (due, acked));
                }
                Err(err) => {
                    failed += 1;
                    if failed == 1 {
                        eprintln!("a send failed: {err:#}");
                    }
                }
            }
        }
        let _ = wait_for(&received, due_of.keys().cloned(), Duration::from_secs(30)).await;
        let arrivals = received.lock().unwrap();
        // Due → on the operator's socket, and acknowledged → on the socket (the relay, Kafka,
        // the projection, the change notification and the subscription's read and write).
        let (mut latencies, mut after_ack): (Vec<f64>, Vec<f64>) = due_of
            .iter()
            .filter_map(|(body, (due, acked))| {
                arrivals.get(body).map(|at| {
                    (
                        (*at - *due).as_secs_f64() * 1e3,
                        at.saturating_duration_since(*acked).as_secs_f64() * 1e3,
                    )
                })
            })
            .unzip();
        drop(arrivals);
        let lost = due_of.len() - latencies.len();
        let figures = latency_summary(&mut latencies);
        let acked = latency_summary(&mut acked_after);
        let delivered = latency_summary(&mut after_ack);
        rows.push(vec![
            rate.to_string(),
            total.to_string(),
            failed.to_string(),
            lost.to_string(),
            figures["p50_ms"].to_string(),
            figures["p90_ms"].to_string(),
            figures["p99_ms"].to_string(),
            figures["max_ms"].to_string(),
            acked["p50_ms"].to_string(),
            acked["p99_ms"].to_string(),
            delivered["p50_ms"].to_string(),
            delivered["p99_ms"].to_string(),
        ]);
        let mut result = figures;
        result["acknowledged"] = acked;
        result["acknowledged_to_delivered"] = delivered;
        result["rate_per_s"] = json!(rate);
        result["sent"] = json!(total);
        result["failed"] = json!(failed);
        result["lost"] = json!(lost);
        results.push(result);
    }
    reader.abort();
    table(
        &format!("end to end: widget HTTP send → operator subscription, {seconds}s per rate, {conversations} conversations"),
        &[
            "msg/s", "sent", "failed", "lost", "p50 ms", "p90 ms", "p99 ms", "max ms",
            "ack p50", "ack p99", "ack→sub p50", "ack→sub p99",
        ],
        &rows,
    );
    summary(
        "e2e",
        json!({ "seconds": seconds, "conversations": conversations, "results": results }),
    );
    let troubled = results
        .iter()
        .any(|r| r["failed"] != json!(0) || r["lost"] != json!(0));
    Arc::into_inner(server)
        .context("a send still holds the server")?
        .stop(troubled)
        .await?;
    db::drop(&options.database_url, name).await?;
    Ok(())
}

/// Waits until every body in `bodies` has arrived, or `within` has passed.
async fn wait_for(
    received: &Mutex<HashMap<String, Instant>>,
    bodies: impl Iterator<Item = String>,
    within: Duration,
) -> anyhow::Result<()> {
    let bodies: Vec<String> = bodies.collect();
    let deadline = Instant::now() + within;
    loop {
        let missing = {
            let arrived = received.lock().unwrap();
            bodies.iter().filter(|b| !arrived.contains_key(*b)).count()
        };
        if missing == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("{missing} of {} messages never arrived", bodies.len());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

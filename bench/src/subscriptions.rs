//! Scenarios 4 and 5: how many graphql-transport-ws subscriptions one node holds and what
//! each costs in resident memory; how fast one change fans out to a thousand operators; and
//! what an idle `switchboard serve` occupies.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use switchboard_tests::WsClient;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;

use crate::report::{latency_summary, round, summary, table};
use crate::server::Server;
use crate::{db, Options};

const SUBSCRIBE: &str =
    "subscription($id: UUID!) { messagePosted(conversationId: $id) { id body } }";

/// Scenario 5: resident memory of a fresh `switchboard serve`, every component running, a
/// few seconds after it became ready.
pub async fn idle(options: &Options) -> anyhow::Result<()> {
    let name = "switchboard_bench_idle";
    let url = db::fresh(&options.database_url, name).await?;
    let mut samples = Vec::new();
    let repeats = if options.quick { 1 } else { options.repeats };
    for _ in 0..repeats {
        let server = Server::start(options, &url).await?;
        tokio::time::sleep(Duration::from_secs(if options.quick { 1 } else { 5 })).await;
        samples.push(server.rss_kib()? as f64 / 1024.0);
        server.stop(false).await?;
    }
    let median = crate::report::median(&samples);
    table(
        "idle: resident memory of switchboard serve after start-up",
        &["runs", "median MiB", "target MiB"],
        &[vec![
            repeats.to_string(),
            format!("{median:.1}"),
            "< 60".into(),
        ]],
    );
    summary(
        "idle",
        json!({ "rss_mib": round(median), "runs_mib": samples.iter().map(|v| round(*v)).collect::<Vec<_>>() }),
    );
    db::drop(&options.database_url, name).await?;
    Ok(())
}

/// Scenario 4: `total` subscriptions (one connection each, as browsers hold them), the first
/// `fan_out` of them on one conversation; then messages to that conversation, each received
/// by all `fan_out`.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let (total, fan_out, rounds) = if options.quick {
        (200, 50, 1)
    } else {
        (options.subscriptions, 1000.min(options.subscriptions), 5)
    };
    raise_file_limit();
    let name = "switchboard_bench_subscriptions";
    let url = db::fresh(&options.database_url, name).await?;
    let server = Server::start(options, &url).await?;
    let widget = server.inbox().await?;
    // One conversation every thousand subscriptions; the first is the fan-out's.
    let mut conversations = Vec::new();
    for i in 0..total.div_ceil(1000).max(1) {
        conversations.push(server.conversation(&widget, i).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_kib = server.rss_kib()?;

    // Opens them, a hundred handshakes at a time; each connection lives in a task of its own.
    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel::<(String, Instant)>();
    let gate = Arc::new(Semaphore::new(100));
    let (ready_tx, mut ready) = mpsc::unbounded_channel::<anyhow::Result<()>>();
    let opening = Instant::now();
    let mut holders = tokio::task::JoinSet::new();
    for i in 0..total {
        let target = if i < fan_out || conversations.len() == 1 {
            0
        } else {
            1 + i % (conversations.len() - 1)
        };
        let conversation_id = conversations[target].conversation_id.clone();
        let (ws_url, token) = (server.ws_url.clone(), server.admin.clone());
        let (gate, ready_tx, arrivals_tx) = (gate.clone(), ready_tx.clone(), arrivals_tx.clone());
        holders.spawn(async move {
            let permit = gate.acquire_owned().await.expect("the gate stays open");
            let opened = async {
                let mut client = WsClient::connect(&ws_url, Some(&token)).await?;
                let id = client
                    .subscribe(SUBSCRIBE, json!({ "id": conversation_id }))
                    .await?;
                anyhow::Ok((client, id))
            }
            .await;
            drop(permit);
            let (mut client, id) = match opened {
                Ok(opened) => {
                    let _ = ready_tx.send(Ok(()));
                    opened
                }
                Err(err) => {
                    let _ = ready_tx.send(Err(err));
                    return;
                }
            };
            while let Ok(data) = client.next_data(&id, Duration::from_secs(3600)).await {
                if i < fan_out {
                    let body = data["messagePosted"]["body"].as_str().unwrap_or_default();
                    let _ = arrivals_tx.send((body.to_owned(), Instant::now()));
                }
            }
        });
    }
    drop(ready_tx);
    let mut failed = 0;
    for _ in 0..total {
        match ready.recv().await.context("a subscriber vanished")? {
            Ok(()) => {}
            Err(err) => {
                failed += 1;
                if failed == 1 {
                    eprintln!("a subscription failed to open: {err:#}");
                }
            }
        }
    }
    let open_seconds = opening.elapsed().as_secs_f64();
    // Let the server settle (subscriptions register after the handshake), then weigh it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_kib = server.rss_kib()?;
    let opened = total - failed;
    let per_subscription_kib = (after_kib.saturating_sub(before_kib)) as f64 / opened.max(1) as f64;

    // Fan-out: each message reaches every one of the first `fan_out` subscriptions.
    let (conversation_id, session) = (
        conversations[0].conversation_id.clone(),
        conversations[0].session.clone(),
    );
    let mut latencies = Vec::new();
    let mut missing = 0;
    for round_no in 0..rounds {
        let body = format!("fan-out {round_no}");
        let sent = Instant::now();
        server.send(&session, &conversation_id, &body).await?;
        let deadline = sent + Duration::from_secs(30);
        let mut got = 0;
        while got < fan_out {
            match tokio::time::timeout_at(deadline, arrivals.recv()).await {
                Ok(Some((b, at))) if b == body => {
                    got += 1;
                    latencies.push((at - sent).as_secs_f64() * 1e3);
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        missing += fan_out - got;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let fan = latency_summary(&mut latencies);
    table(
        &format!("subscriptions: {total} connections with one subscription each; fan-out of {rounds} message(s) to {fan_out}"),
        &["open", "failed", "open s", "RSS before MiB", "RSS after MiB", "KiB/sub", "fan p50 ms", "fan p99 ms", "fan max ms", "missing"],
        &[vec![
            opened.to_string(),
            failed.to_string(),
            format!("{open_seconds:.1}"),
            format!("{:.1}", before_kib as f64 / 1024.0),
            format!("{:.1}", after_kib as f64 / 1024.0),
            format!("{per_subscription_kib:.1}"),
            fan["p50_ms"].to_string(),
            fan["p99_ms"].to_string(),
            fan["max_ms"].to_string(),
            missing.to_string(),
        ]],
    );
    summary(
        "subscriptions",
        json!({
            "subscriptions": opened,
            "failed": failed,
            "open_seconds": round(open_seconds),
            "rss_before_mib": round(before_kib as f64 / 1024.0),
            "rss_after_mib": round(after_kib as f64 / 1024.0),
            "kib_per_subscription": round(per_subscription_kib),
            "fan_out": fan_out,
            "fan_out_rounds": rounds,
            "fan_out_missing": missing,
            "fan_out_latency": fan,
        }),
    );
    holders.abort_all();
    server.stop(failed > 0 || missing > 0).await?;
    db::drop(&options.database_url, name).await?;
    Ok(())
}

/// Ten thousand sockets need more descriptors than the usual soft limit of 1,024: raise it
/// to the hard limit (the server, our child, inherits it).
fn raise_file_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

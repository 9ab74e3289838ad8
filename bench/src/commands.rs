//! Scenario 1, commands: writers starting conversations and posting messages through the
//! command handlers, side by side with the raw ceiling (`pgbench` inserting the same rows into
//! a table of the same shape, one row per commit) and the peer (cqrs-es + postgres-es doing the
//! same aggregate work, see [`crate::peer`]), all on the same PostgreSQL server in one run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;
use switchboard_commands::handler::{system_clock, CommandMeta, ConversationHandler};
use switchboard_commands::log::EventLog;
use switchboard_domain::conversation::{
    ConversationCommand, FirstMessage, PostMessage, StartConversation,
};
use switchboard_domain::envelope::Actor;
use switchboard_domain::event::{Channel, Contact, Sender, SenderKind, Source};
use switchboard_domain::operator::Role;
use switchboard_domain::values::MessageBody;
use uuid::Uuid;

use crate::report::{median, round, summary, table};
use crate::{db, peer, Options};

/// Messages per conversation after the first (the workload's shape, the same for the peer).
pub const FOLLOW_UPS: usize = 9;

/// A message body of about the length chat messages have.
pub fn body(i: usize) -> MessageBody {
    MessageBody::parse(
        &format!("Hello, I ordered a kettle last week and it has not arrived yet ({i})"),
        4000,
    )
    .expect("a valid body")
}

/// A visitor starts conversation `conversation_id` in `inbox_id` with a first message: the
/// command both the commands and the rebuild scenarios begin a conversation with.
pub fn start(
    conversation_id: Uuid,
    contact_id: Uuid,
    inbox_id: Uuid,
    phone: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
) -> ConversationCommand {
    ConversationCommand::Start(StartConversation {
        conversation_id,
        inbox_id,
        source: Source::Web,
        contact: Contact {
            id: contact_id,
            name: Some("Olena Kovalenko".into()),
            email: Some("olena@example.com".into()),
            phone,
        },
        subject: None,
        first_message: Some(FirstMessage {
            message_id: Uuid::now_v7(),
            channel: Channel::Web,
            body: body(0),
            attachments: Vec::new(),
        }),
        callback: None,
        branch_id: None,
        routing: None,
        sla: None,
        at,
    })
}

/// What one run of one implementation did.
#[derive(Debug, Clone, Copy)]
struct Run {
    events: u64,
    commands: u64,
    elapsed: Duration,
}

impl Run {
    fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// Our own: `writers` tasks through [`ConversationHandler`], for `duration`.
async fn ours(url: &str, writers: usize, lanes: usize, duration: Duration) -> anyhow::Result<Run> {
    let pool = db::pool(url, writers as u32 + 2).await?;
    let handler =
        ConversationHandler::new(EventLog::with_lanes(pool.clone(), lanes), system_clock());
    let inbox_id = Uuid::now_v7();
    let operator = Uuid::now_v7();
    let (events, commands) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..writers {
        let (handler, events, commands) = (handler.clone(), events.clone(), commands.clone());
        tasks.spawn(async move {
            while Instant::now() < deadline {
                let conversation_id = Uuid::now_v7();
                let contact_id = Uuid::now_v7();
                let start = start(
                    conversation_id,
                    contact_id,
                    inbox_id,
                    None,
                    chrono::Utc::now(),
                );
                let meta = meta_of(Actor::contact(contact_id));
                let handled = handler.handle(&meta, &start).await?;
                events.fetch_add(handled.recorded.len() as u64, Ordering::Relaxed);
                commands.fetch_add(1, Ordering::Relaxed);
                for i in 1..=FOLLOW_UPS {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let (sender, actor) = if i % 2 == 1 {
                        (
                            Sender {
                                kind: SenderKind::Operator,
                                id: Some(operator),
                            },
                            Actor::operator(operator, vec![Role::Admin]),
                        )
                    } else {
                        (
                            Sender {
                                kind: SenderKind::Contact,
                                id: Some(contact_id),
                            },
                            Actor::contact(contact_id),
                        )
                    };
                    let post = ConversationCommand::PostMessage(PostMessage {
                        conversation_id,
                        message_id: Uuid::now_v7(),
                        sender,
                        channel: Channel::Web,
                        body: body(i),
                        attachments: Vec::new(),
                        at: chrono::Utc::now(),
                    });
                    let handled = handler.handle(&meta_of(actor), &post).await?;
                    events.fetch_add(handled.recorded.len() as u64, Ordering::Relaxed);
                    commands.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a writer panicked")??;
    }
    let elapsed = started.elapsed();
    pool.close().await;
    Ok(Run {
        events: events.load(Ordering::Relaxed),
        commands: commands.load(Ordering::Relaxed),
        elapsed,
    })
}

fn meta_of(actor: Actor) -> CommandMeta {
    CommandMeta {
        command_id: Uuid::now_v7(),
        actor,
        correlation_id: None,
        ip: Some("203.0.113.7".into()),
    }
}

/// JSON text for a pgbench script: pgbench reads `:name` as a variable, and sealed values
/// (`sealed:v1:…`, GDPR-2) are full of those. Key–value colons are written `": "` (pretty
/// printing, folded onto one line) and any other colon as `\u003a`, which jsonb reads back
/// as the same character: the row stored is the same.
fn pgbench_literal(value: &serde_json::Value) -> String {
    let pretty = serde_json::to_string_pretty(value).expect("JSON values serialize");
    let mut out = String::with_capacity(pretty.len());
    let mut chars = pretty.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push(' '),
            ':' if chars.peek() != Some(&' ') => out.push_str("\\u003a"),
            c => out.push(c),
        }
    }
    out
}

/// The raw ceiling: `pgbench` with `writers` clients inserting one event row per commit into
/// `raw_events`, made `LIKE events INCLUDING ALL` (same columns, defaults, identity, checks,
/// indexes; no triggers), with a payload and metadata copied from a real event of ours.
async fn raw(url: &str, writers: usize, duration: Duration) -> anyhow::Result<Run> {
    let pool = db::pool(url, 1).await?;
    sqlx::query("drop table if exists raw_events")
        .execute(&pool)
        .await?;
    sqlx::query("create table raw_events (like events including all)")
        .execute(&pool)
        .await?;
    let sample: Option<(serde_json::Value, serde_json::Value)> = sqlx::query_as(
        "select payload, metadata from events where event_type = 'MessagePosted' limit 1",
    )
    .fetch_optional(&pool)
    .await?;
    pool.close().await;
    let (payload, metadata) =
        sample.context("the raw ceiling copies a real event: run ours first")?;
    let quote = |v: &serde_json::Value| pgbench_literal(v).replace('\'', "''");
    let script = format!(
        "insert into raw_events (stream_id, stream_type, stream_version, event_id, event_type, \
         schema_version, payload, metadata, recorded_at, prev_hash, hash) values \
         (gen_random_uuid(), 'conversation', 1, gen_random_uuid(), 'MessagePosted', 1, \
         '{}'::jsonb, '{}'::jsonb, now(), null, \
         sha256(convert_to(gen_random_uuid()::text, 'UTF8')));\n",
        quote(&payload),
        quote(&metadata)
    );
    let path =
        std::env::temp_dir().join(format!("switchboard-bench-raw-{}.sql", std::process::id()));
    std::fs::write(&path, script)?;
    let output = tokio::process::Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-c"])
        .arg(writers.to_string())
        .arg("-j")
        .arg(writers.min(2).to_string())
        .arg("-T")
        .arg(duration.as_secs().max(1).to_string())
        .arg("-f")
        .arg(&path)
        .arg(url)
        .output()
        .await
        .context("running pgbench (Debian: postgresql-contrib or postgresql-client)")?;
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let transactions = stdout
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|n| n.split('/').next())
        .and_then(|n| n.trim().parse::<u64>().ok())
        .context("pgbench printed no transaction count")?;
    let tps = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse::<f64>().ok())
        .context("pgbench printed no tps")?;
    Ok(Run {
        events: transactions,
        commands: transactions,
        elapsed: Duration::from_secs_f64(transactions as f64 / tps),
    })
}

/// Runs the scenario and prints its summary.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let (writer_counts, duration, repeats): (&[usize], _, _) = if options.quick {
        (&[1, 4], Duration::from_secs(1), 1)
    } else if !options.writers.is_empty() {
        (
            &options.writers,
            Duration::from_secs(options.seconds),
            options.repeats,
        )
    } else {
        (
            &[1, 16, 64],
            Duration::from_secs(options.seconds),
            options.repeats,
        )
    };
    let name = "switchboard_bench_commands";
    let url = db::fresh(&options.database_url, name).await?;
    let mut rows = Vec::new();
    let mut results = Vec::new();
    for &writers in writer_counts {
        let (mut our_rates, mut raw_rates, mut peer_rates) = (Vec::new(), Vec::new(), Vec::new());
        let mut commands_per_second = Vec::new();
        for _ in 0..repeats {
            let run = ours(&url, writers, options.append_lanes, duration).await?;
            our_rates.push(run.events_per_second());
            commands_per_second.push(run.commands as f64 / run.elapsed.as_secs_f64());
            raw_rates.push(raw(&url, writers, duration).await?.events_per_second());
            let peer_run = peer::run(&url, "bench_peer", writers, duration).await?;
            peer_rates.push(peer_run.events as f64 / peer_run.elapsed.as_secs_f64());
        }
        let (ours_eps, raw_eps, peer_eps) =
            (median(&our_rates), median(&raw_rates), median(&peer_rates));
        let to_raw = ours_eps / raw_eps;
        let to_peer = ours_eps / peer_eps;
        rows.push(vec![
            writers.to_string(),
            format!("{ours_eps:.0}"),
            format!("{:.0}", median(&commands_per_second)),
            format!("{raw_eps:.0}"),
            format!("{peer_eps:.0}"),
            format!("{:.0} %", to_raw * 100.0),
            format!("{to_peer:.2}×"),
        ]);
        results.push(json!({
            "writers": writers,
            "ours_events_per_s": round(ours_eps),
            "ours_commands_per_s": round(median(&commands_per_second)),
            "raw_events_per_s": round(raw_eps),
            "peer_events_per_s": round(peer_eps),
            "ratio_to_raw": round(to_raw),
            "ratio_to_peer": round(to_peer),
            "runs": { "ours": our_rates, "raw": raw_rates, "peer": peer_rates },
        }));
    }
    table(
        &format!(
            "commands: events/s, median of {repeats} run(s) of {}s each, {} group-commit lane(s)",
            duration.as_secs(),
            options.append_lanes
        ),
        &[
            "writers",
            "ours ev/s",
            "ours cmd/s",
            "raw ev/s",
            "peer ev/s",
            "ours/raw",
            "ours/peer",
        ],
        &rows,
    );
    summary(
        "commands",
        json!({
            "seconds": duration.as_secs(),
            "repeats": repeats,
            "append_lanes": options.append_lanes,
            "results": results,
        }),
    );
    db::drop(&options.database_url, name).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn pgbench_literals_have_no_variables_and_read_back_the_same() {
        let value = serde_json::json!({
            "body": "sealed:v1:QmFzZTY0OnRleHQ=",
            "at": "2026-11-30T10:00:00Z",
            "note": "a: b",
            "flag": true,
            "n": [1, null]
        });
        let literal = super::pgbench_literal(&value);
        let chars: Vec<char> = literal.chars().collect();
        for pair in chars.windows(2) {
            assert!(
                !(pair[0] == ':' && (pair[1].is_ascii_alphanumeric() || pair[1] == '_')),
                "{literal}"
            );
        }
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&literal).unwrap(),
            value
        );
    }
}

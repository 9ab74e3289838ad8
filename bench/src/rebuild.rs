//! Scenario 3, rebuild: a log of a million events (conversations as they really go: started,
//! assigned, seven messages each way, read, resolved), then every rebuildable projection
//! rebuilt from it with `switchboard replay rebuild`'s own code; events/s for each.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use switchboard_commands::handler::event_id_for;
use switchboard_commands::log::{append_on, NewEvent, StreamHead};
use switchboard_domain::conversation::{
    decide, evolve, initial_state, AssignConversation, ChangeStatus, ConversationCommand,
    ConversationStatus, MarkRead, PostMessage,
};
use switchboard_domain::envelope::{Actor, EventMetadata};
use switchboard_domain::event::{Channel, Sender, SenderKind};
use switchboard_domain::operator::Role;
use switchboard_projections::Catalogue;
use uuid::Uuid;

use crate::report::{median, round, summary, table};
use crate::{db, Options};

/// Messages each way after the first (so about 20 events a conversation).
const EXCHANGES: usize = 7;

/// The events of one conversation's life, decided by the domain as the service would, with
/// the operator `operator` and times from `at` on.
pub fn conversation_history(
    operator: Uuid,
    inbox_id: Uuid,
    at: DateTime<Utc>,
) -> (Uuid, Vec<NewEvent>) {
    let conversation_id = Uuid::now_v7();
    let contact_id = Uuid::now_v7();
    let contact = Actor::contact(contact_id);
    let admin = Actor::operator(operator, vec![Role::Admin]);
    let body = crate::commands::body;
    let minute = |n: usize| at + TimeDelta::minutes(n as i64);
    let mut script = vec![
        (
            contact.clone(),
            crate::commands::start(
                conversation_id,
                contact_id,
                inbox_id,
                Some("+380441234567".into()),
                at,
            ),
        ),
        (
            admin.clone(),
            ConversationCommand::Assign(AssignConversation {
                conversation_id,
                operator_id: operator,
                operator_branch_id: None,
                at: minute(1),
            }),
        ),
    ];
    for i in 0..EXCHANGES * 2 {
        let (actor, sender) = if i % 2 == 0 {
            (
                admin.clone(),
                Sender {
                    kind: SenderKind::Operator,
                    id: Some(operator),
                },
            )
        } else {
            (
                contact.clone(),
                Sender {
                    kind: SenderKind::Contact,
                    id: Some(contact_id),
                },
            )
        };
        script.push((
            actor,
            ConversationCommand::PostMessage(PostMessage {
                conversation_id,
                message_id: Uuid::now_v7(),
                sender,
                channel: Channel::Web,
                body: body(i + 1),
                attachments: Vec::new(),
                at: minute(2 + i),
            }),
        ));
    }
    script.push((
        admin.clone(),
        ConversationCommand::MarkRead(MarkRead {
            conversation_id,
            up_to_message_id: None,
            at: minute(3 + EXCHANGES * 2),
        }),
    ));
    script.push((
        admin,
        ConversationCommand::ChangeStatus(ChangeStatus {
            conversation_id,
            to: ConversationStatus::Resolved,
            at: minute(4 + EXCHANGES * 2),
        }),
    ));
    let mut state = initial_state();
    let mut events = Vec::new();
    for (actor, command) in script {
        let command_id = Uuid::now_v7();
        let decided = decide(&state, &command, &actor).expect("the scripted history is valid");
        let metadata = serde_json::to_value(EventMetadata {
            actor,
            command_id,
            correlation_id: command_id,
            causation_id: None,
            ip: Some("203.0.113.7".into()),
            data_subject: None,
            sealed: Vec::new(),
        })
        .expect("metadata serializes");
        for (i, event) in decided.into_iter().enumerate() {
            state = evolve(state, &event);
            events.push(NewEvent {
                event_id: event_id_for(command_id, i),
                event_type: event.event_type().to_owned(),
                schema_version: event.schema_version(),
                payload: event.payload(),
                metadata: metadata.clone(),
            });
        }
    }
    (conversation_id, events)
}

/// Fills the log with at least `target` events, four writers appending a whole
/// conversation per statement. The number written.
async fn fill(url: &str, target: u64) -> anyhow::Result<u64> {
    let pool = db::pool(url, 4).await?;
    let written = Arc::new(AtomicU64::new(0));
    let operator = Uuid::now_v7();
    let inbox_id = Uuid::now_v7();
    let origin = Utc::now() - TimeDelta::days(30);
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..4u64 {
        let (pool, written) = (pool.clone(), written.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while written.load(Ordering::Relaxed) < target {
                let at = origin + TimeDelta::seconds((n * 4 + writer) as i64 * 30);
                n += 1;
                let (stream_id, events) = conversation_history(operator, inbox_id, at);
                let count = events.len() as u64;
                let mut conn = pool.acquire().await?;
                append_on(
                    &mut conn,
                    stream_id,
                    "conversation",
                    &StreamHead::default(),
                    events,
                    at,
                )
                .await
                .context("appending a history")?;
                written.fetch_add(count, Ordering::Relaxed);
            }
            anyhow::Ok(())
        });
    }
    let started = Instant::now();
    let mut last_report = Instant::now();
    while !tasks.is_empty() {
        if let Ok(Some(joined)) =
            tokio::time::timeout(Duration::from_secs(1), tasks.join_next()).await
        {
            joined.context("a writer panicked")??;
        }
        if last_report.elapsed() >= Duration::from_secs(5) {
            eprintln!(
                "filling the log: {} events, {:.0}/s",
                written.load(Ordering::Relaxed),
                written.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    pool.close().await;
    Ok(written.load(Ordering::Relaxed))
}

pub async fn run(options: &Options) -> anyhow::Result<()> {
    let (target, repeats) = if options.quick {
        (5_000, 1)
    } else {
        (options.rebuild_events, options.repeats)
    };
    let name = "switchboard_bench_rebuild";
    let url = db::fresh(&options.database_url, name).await?;
    let events = fill(&url, target).await?;
    let pool = db::pool(&url, 4).await?;
    let mut rows = Vec::new();
    let mut results = Vec::new();
    let mut all_seconds = Vec::new();
    for _ in 0..repeats {
        let mut seconds = 0.0;
        for name in Catalogue::rebuildable_names() {
            let started = Instant::now();
            let report = switchboard_server::runtime::rebuild_projection(&pool, name, |_| {})
                .await
                .context("a rebuildable projection")?
                .with_context(|| format!("rebuilding {name}"))?;
            let elapsed = started.elapsed().as_secs_f64();
            seconds += elapsed;
            results.push(json!({
                "projection": name,
                "events": report.events,
                "seconds": round(elapsed),
                "events_per_s": round(report.events as f64 / elapsed),
            }));
        }
        all_seconds.push(seconds);
    }
    // One row per projection: the median over the repeats.
    for name in Catalogue::rebuildable_names() {
        let rates: Vec<f64> = results
            .iter()
            .filter(|r| r["projection"] == name)
            .filter_map(|r| r["events_per_s"].as_f64())
            .collect();
        rows.push(vec![
            name.to_string(),
            events.to_string(),
            format!("{:.0}", median(&rates)),
        ]);
    }
    let all = median(&all_seconds);
    let every_rate = events as f64 * Catalogue::rebuildable_names().count() as f64 / all;
    rows.push(vec![
        "all four, one after another".into(),
        (events * Catalogue::rebuildable_names().count() as u64).to_string(),
        format!("{every_rate:.0}"),
    ]);
    table(
        &format!("rebuild: {events} events in the log, median of {repeats} run(s)"),
        &["projection", "events", "events/s"],
        &rows,
    );
    summary(
        "rebuild",
        json!({ "log_events": events, "repeats": repeats, "all_seconds": round(all), "all_events_per_s": round(every_rate), "runs": results }),
    );
    pool.close().await;
    db::drop(&options.database_url, name).await?;
    Ok(())
}

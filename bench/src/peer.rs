//! The peer of the commands benchmark (issue 5): the same conversation workload run through
//! `cqrs-es` and its PostgreSQL store `postgres-es`.
//!
//! `cqrs-es` is the best-known Rust CQRS/event-sourcing framework, and `postgres-es` is its
//! PostgreSQL event repository; together they are what a Rust team reaching for an
//! off-the-shelf event store over PostgreSQL would most likely pick, so they are the fairest
//! yardstick for our own command path.
//!
//! What it measures: commands and events per second through `CqrsFramework::execute` with a
//! `PersistedEventStore` over a `PostgresEventRepository` (no snapshots, no queries), with
//! `writers` concurrent tasks each doing the workload our own benchmark does through our
//! command handlers: start a conversation (two events), post nine messages to it (one event
//! each, alternating contact and operator), then start the next one. Each command loads the
//! aggregate's events, checks the invariants in `handle`, and appends in one transaction, the
//! way `cqrs-es` always does. The pool has `writers + 2` connections, like ours.
//!
//! The peer's tables live in their own schema (`events` and `snapshots` as `postgres-es`
//! expects, qualified with the schema through its `with_tables` option), so they never clash
//! with our own `public.events`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, CqrsFramework, DomainEvent};
use postgres_es::PostgresEventRepository;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor as _, PgPool};
use tokio::task::JoinSet;
use uuid::Uuid;

/// What one peer run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerRun {
    pub commands: u64,
    pub events: u64,
    pub elapsed: Duration,
}

/// Creates the peer's tables (if missing) in `schema` of the database at `database_url`,
/// truncates them, then runs `writers` concurrent tasks for `duration`, each repeatedly doing
/// the conversation workload through `CqrsFramework::execute`, and returns the totals.
///
/// Any failed command aborts the run. After the run, the events counted are checked against
/// the rows in the peer's events table.
pub async fn run(
    database_url: &str,
    schema: &str,
    writers: usize,
    duration: Duration,
) -> anyhow::Result<PeerRun> {
    if writers == 0 {
        bail!("the peer needs at least one writer");
    }
    let schema_ident = quote_ident(schema);
    let events_table = format!("{schema_ident}.events");
    let snapshots_table = format!("{schema_ident}.snapshots");

    let set_search_path: Arc<str> = format!("SET search_path TO {schema_ident}").into();
    let pool = PgPoolOptions::new()
        .max_connections(writers as u32 + 2)
        .after_connect(move |conn, _meta| {
            let set_search_path = set_search_path.clone();
            Box::pin(async move {
                conn.execute(&*set_search_path).await?;
                Ok(())
            })
        })
        .connect(database_url)
        .await
        .with_context(|| format!("connecting the peer to {database_url}"))?;

    prepare_tables(&pool, &schema_ident, &events_table, &snapshots_table)
        .await
        .with_context(|| format!("preparing the peer's tables in schema {schema}"))?;

    let repo =
        PostgresEventRepository::new(pool.clone()).with_tables(&events_table, &snapshots_table);
    let store = PersistedEventStore::new_event_store(repo);
    let cqrs: Arc<PeerCqrs> = Arc::new(CqrsFramework::new(store, vec![], ()));

    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for writer in 0..writers {
        let cqrs = cqrs.clone();
        tasks.spawn(async move {
            writer_loop(&cqrs, writer, deadline)
                .await
                .with_context(|| format!("peer writer {writer}"))
        });
    }
    let mut commands = 0;
    let mut events = 0;
    while let Some(joined) = tasks.join_next().await {
        // On the first error the JoinSet is dropped, which aborts the other writers.
        let counts = joined.context("a peer writer panicked or was cancelled")??;
        commands += counts.commands;
        events += counts.events;
    }
    let elapsed = started.elapsed();

    let stored: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {events_table}"))
        .fetch_one(&pool)
        .await
        .context("counting the peer's stored events")?;
    if stored as u64 != events {
        bail!("the peer counted {events} events but its table holds {stored}");
    }
    pool.close().await;

    Ok(PeerRun {
        commands,
        events,
        elapsed,
    })
}

/// The framework as `postgres-es` builds it (`postgres_es::PostgresCqrs`), spelled out.
type PeerCqrs =
    CqrsFramework<Conversation, PersistedEventStore<PostgresEventRepository, Conversation>>;

/// The tables of `postgres-es`'s `db/init.sql`, in the peer's schema, emptied.
async fn prepare_tables(
    pool: &PgPool,
    schema_ident: &str,
    events_table: &str,
    snapshots_table: &str,
) -> anyhow::Result<()> {
    pool.execute(&*format!("CREATE SCHEMA IF NOT EXISTS {schema_ident}"))
        .await?;
    pool.execute(&*format!(
        "CREATE TABLE IF NOT EXISTS {events_table} (
             aggregate_type text                         NOT NULL,
             aggregate_id   text                         NOT NULL,
             sequence       bigint CHECK (sequence >= 0) NOT NULL,
             event_type     text                         NOT NULL,
             event_version  text                         NOT NULL,
             payload        json                         NOT NULL,
             metadata       json                         NOT NULL,
             PRIMARY KEY (aggregate_type, aggregate_id, sequence)
         )"
    ))
    .await?;
    // Only used with snapshots, which the peer does not take; created as its schema has it.
    pool.execute(&*format!(
        "CREATE TABLE IF NOT EXISTS {snapshots_table} (
             aggregate_type   text                                 NOT NULL,
             aggregate_id     text                                 NOT NULL,
             last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
             current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
             payload          json                                 NOT NULL,
             PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
         )"
    ))
    .await?;
    pool.execute(&*format!("TRUNCATE {events_table}, {snapshots_table}"))
        .await?;
    Ok(())
}

/// A double-quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What one writer did.
struct Counts {
    commands: u64,
    events: u64,
}

/// Messages posted after the start, per conversation.
const POSTS_PER_CONVERSATION: usize = 9;

/// One writer: a conversation started, nine messages posted to it, the next one, until the
/// deadline (checked before each command).
async fn writer_loop(cqrs: &PeerCqrs, writer: usize, deadline: Instant) -> anyhow::Result<Counts> {
    let mut counts = Counts {
        commands: 0,
        events: 0,
    };
    let inbox_id = Uuid::now_v7();
    let mut conversation_no = 0u64;
    'conversations: loop {
        if Instant::now() >= deadline {
            break;
        }
        conversation_no += 1;
        let conversation_id = Uuid::now_v7().to_string();
        let start = ConversationCommand::Start {
            inbox_id,
            contact_name: format!("Contact {writer}-{conversation_no}"),
            contact_email: format!("contact-{writer}-{conversation_no}@example.com"),
            first_message_body: body(writer, conversation_no, 0),
        };
        cqrs.execute_with_metadata(&conversation_id, start, metadata())
            .await
            .with_context(|| format!("Start of conversation {conversation_id}"))?;
        counts.commands += 1;
        counts.events += 2;

        for post in 1..=POSTS_PER_CONVERSATION {
            if Instant::now() >= deadline {
                break 'conversations;
            }
            let sender_kind = if post % 2 == 0 {
                SenderKind::Contact
            } else {
                SenderKind::Operator
            };
            let command = ConversationCommand::PostMessage {
                message_id: Uuid::now_v7(),
                sender_kind,
                body: body(writer, conversation_no, post),
            };
            cqrs.execute_with_metadata(&conversation_id, command, metadata())
                .await
                .with_context(|| format!("PostMessage {post} to conversation {conversation_id}"))?;
            counts.commands += 1;
            counts.events += 1;
        }
    }
    Ok(counts)
}

/// A message body of about 60 characters.
fn body(writer: usize, conversation_no: u64, post: usize) -> String {
    format!(
        "Hello, a question about order {writer:03}-{conversation_no:06}-{post}: has it shipped?"
    )
}

/// What our log keeps beside each event, in small.
fn metadata() -> HashMap<String, String> {
    let command_id = Uuid::now_v7().to_string();
    HashMap::from([
        ("correlation_id".to_owned(), command_id.clone()),
        ("command_id".to_owned(), command_id),
    ])
}

/// The longest message body accepted, in characters.
const MAX_BODY_CHARS: usize = 4000;

/// The peer's conversation aggregate: what `handle` needs to check the invariants.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Conversation {
    started: bool,
    /// No command of the workload closes a conversation; the flag is kept and checked so the
    /// peer does the work ours does.
    closed: bool,
    message_count: u64,
    last_message_id: Option<Uuid>,
}

#[derive(Debug)]
enum ConversationCommand {
    Start {
        inbox_id: Uuid,
        contact_name: String,
        contact_email: String,
        first_message_body: String,
    },
    PostMessage {
        message_id: Uuid,
        sender_kind: SenderKind,
        body: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SenderKind {
    Contact,
    Operator,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Contact {
    name: String,
    email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Sender {
    kind: SenderKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum ConversationEvent {
    ConversationStarted {
        inbox_id: Uuid,
        contact: Contact,
        source: String,
        at: DateTime<Utc>,
    },
    MessagePosted {
        message_id: Uuid,
        sender: Sender,
        channel: String,
        body: String,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for ConversationEvent {
    fn event_type(&self) -> String {
        match self {
            Self::ConversationStarted { .. } => "ConversationStarted",
            Self::MessagePosted { .. } => "MessagePosted",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

#[derive(Debug, thiserror::Error)]
enum ConversationError {
    #[error("the conversation has already started")]
    AlreadyStarted,
    #[error("the conversation has not started")]
    NotStarted,
    #[error("the conversation is closed")]
    Closed,
    #[error("a message body cannot be empty")]
    EmptyBody,
    #[error("a message body has {0} characters, over the limit of {MAX_BODY_CHARS}")]
    BodyTooLong(usize),
}

fn check_body(body: &str) -> Result<(), ConversationError> {
    if body.trim().is_empty() {
        return Err(ConversationError::EmptyBody);
    }
    let chars = body.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(ConversationError::BodyTooLong(chars));
    }
    Ok(())
}

impl Aggregate for Conversation {
    const TYPE: &'static str = "conversation";
    type Command = ConversationCommand;
    type Event = ConversationEvent;
    type Error = ConversationError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        // `sink.write` applies each event to `self` as it records it, so every check comes
        // before the first write.
        match command {
            ConversationCommand::Start {
                inbox_id,
                contact_name,
                contact_email,
                first_message_body,
            } => {
                if self.started {
                    return Err(ConversationError::AlreadyStarted);
                }
                check_body(&first_message_body)?;
                let at = Utc::now();
                let started = ConversationEvent::ConversationStarted {
                    inbox_id,
                    contact: Contact {
                        name: contact_name,
                        email: contact_email,
                    },
                    source: "widget".to_owned(),
                    at,
                };
                let posted = ConversationEvent::MessagePosted {
                    message_id: Uuid::now_v7(),
                    sender: Sender {
                        kind: SenderKind::Contact,
                    },
                    channel: "web".to_owned(),
                    body: first_message_body,
                    at,
                };
                sink.write(started, self).await;
                sink.write(posted, self).await;
            }
            ConversationCommand::PostMessage {
                message_id,
                sender_kind,
                body,
            } => {
                if !self.started {
                    return Err(ConversationError::NotStarted);
                }
                if self.closed {
                    return Err(ConversationError::Closed);
                }
                check_body(&body)?;
                let posted = ConversationEvent::MessagePosted {
                    message_id,
                    sender: Sender { kind: sender_kind },
                    channel: "web".to_owned(),
                    body,
                    at: Utc::now(),
                };
                sink.write(posted, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ConversationEvent::ConversationStarted { .. } => self.started = true,
            ConversationEvent::MessagePosted { message_id, .. } => {
                self.message_count += 1;
                self.last_message_id = Some(message_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the peer briefly against the local database:
    /// `cargo test -p switchboard-bench -- --ignored --nocapture`. `PEER_DATABASE_URL` and
    /// `PEER_WRITERS` override the defaults.
    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "needs a PostgreSQL server"]
    async fn peer_runs_against_postgres() {
        let url = std::env::var("PEER_DATABASE_URL").unwrap_or_else(|_| {
            "postgres://switchboard:switchboard@127.0.0.1:5432/switchboard".to_owned()
        });
        let writers = std::env::var("PEER_WRITERS")
            .ok()
            .map(|w| w.parse().expect("PEER_WRITERS is a number"))
            .unwrap_or(2);
        let peer = run(&url, "bench_peer", writers, Duration::from_secs(2))
            .await
            .expect("the peer runs");
        let secs = peer.elapsed.as_secs_f64();
        println!(
            "peer (cqrs-es + postgres-es), {writers} writers: {} commands, {} events in {:.2} s: {:.0} commands/s, {:.0} events/s",
            peer.commands,
            peer.events,
            secs,
            peer.commands as f64 / secs,
            peer.events as f64 / secs,
        );
        assert!(peer.commands > 0);
        assert!(peer.events > peer.commands);
    }

    #[tokio::test]
    async fn handle_checks_the_invariants() {
        let sink = EventSink::default();
        let mut conversation = Conversation::default();
        let post = |body: &str| ConversationCommand::PostMessage {
            message_id: Uuid::now_v7(),
            sender_kind: SenderKind::Operator,
            body: body.to_owned(),
        };
        assert!(matches!(
            conversation.handle(post("hi"), &(), &sink).await,
            Err(ConversationError::NotStarted)
        ));
        let start = || ConversationCommand::Start {
            inbox_id: Uuid::now_v7(),
            contact_name: "Ada".to_owned(),
            contact_email: "ada@example.com".to_owned(),
            first_message_body: "hello".to_owned(),
        };
        conversation.handle(start(), &(), &sink).await.unwrap();
        assert!(conversation.started);
        assert_eq!(conversation.message_count, 1);
        assert!(matches!(
            conversation.handle(start(), &(), &sink).await,
            Err(ConversationError::AlreadyStarted)
        ));
        assert!(matches!(
            conversation.handle(post(" "), &(), &sink).await,
            Err(ConversationError::EmptyBody)
        ));
        assert!(matches!(
            conversation
                .handle(post(&"x".repeat(4001)), &(), &sink)
                .await,
            Err(ConversationError::BodyTooLong(4001))
        ));
        conversation
            .handle(post(&"x".repeat(4000)), &(), &sink)
            .await
            .unwrap();
        assert_eq!(conversation.message_count, 2);
        assert_eq!(sink.collect().await.len(), 3);
    }
}

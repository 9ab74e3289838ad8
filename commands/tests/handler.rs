//! Command handlers against a real PostgreSQL: idempotency by command id, invariants that
//! write nothing when they refuse, retries under contention.

use std::collections::HashSet;

use chrono::Utc;
use sqlx::PgPool;
use switchboard_commands::handler::{system_clock, CommandError, CommandMeta, ConversationHandler};
use switchboard_commands::log::EventLog;
use switchboard_domain::conversation::{ConversationCommand, PostMessage, StartConversation};
use switchboard_domain::event::{Channel, Contact, Sender, SenderKind, Source};
use switchboard_domain::values::MessageBody;
use switchboard_domain::{Actor, DomainError};
use uuid::Uuid;

fn meta(command_id: Uuid, contact: Uuid) -> CommandMeta {
    CommandMeta {
        command_id,
        actor: Actor::contact(contact),
        correlation_id: None,
        ip: Some("127.0.0.1".into()),
    }
}

fn start(conversation_id: Uuid, contact: Uuid) -> ConversationCommand {
    ConversationCommand::Start(StartConversation {
        conversation_id,
        inbox_id: Uuid::now_v7(),
        source: Source::Web,
        contact: Contact {
            id: contact,
            name: Some("Ann".into()),
            email: None,
            phone: None,
        },
        subject: None,
        first_message: None,
        callback: None,
        branch_id: None,
        routing: None,
        sla: None,
        at: Utc::now(),
    })
}

fn post(conversation_id: Uuid, contact: Uuid, message_id: Uuid, body: &str) -> ConversationCommand {
    ConversationCommand::PostMessage(PostMessage {
        conversation_id,
        message_id,
        sender: Sender {
            kind: SenderKind::Contact,
            id: Some(contact),
        },
        channel: Channel::Web,
        body: MessageBody::parse(body, 4000).unwrap(),
        attachments: Vec::new(),
        at: Utc::now(),
    })
}

async fn count_events(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from events")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The versions a stream has in the log, in order.
async fn stream_versions(pool: &PgPool, stream_id: Uuid) -> Vec<i32> {
    sqlx::query_scalar(
        "select stream_version from events where stream_id = $1 order by stream_version",
    )
    .bind(stream_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_same_command_id_twice_records_one_set_of_events(pool: PgPool) {
    let handler = ConversationHandler::new(EventLog::new(pool.clone()), system_clock());
    let (conversation, contact) = (Uuid::now_v7(), Uuid::now_v7());
    handler
        .handle(
            &meta(Uuid::now_v7(), contact),
            &start(conversation, contact),
        )
        .await
        .unwrap();

    let command_id = Uuid::now_v7();
    let first = handler
        .handle(
            &meta(command_id, contact),
            &post(conversation, contact, command_id, "once"),
        )
        .await
        .unwrap();
    let second = handler
        .handle(
            &meta(command_id, contact),
            &post(conversation, contact, command_id, "once"),
        )
        .await
        .unwrap();
    assert!(!first.duplicate);
    assert!(second.duplicate);
    assert_eq!(
        first.recorded, second.recorded,
        "the repeat answers with the first outcome"
    );
    assert_eq!(count_events(&pool).await, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_refused_command_writes_nothing(pool: PgPool) {
    let handler = ConversationHandler::new(EventLog::new(pool.clone()), system_clock());
    let (conversation, contact) = (Uuid::now_v7(), Uuid::now_v7());
    let err = handler
        .handle(
            &meta(Uuid::now_v7(), contact),
            &post(conversation, contact, Uuid::now_v7(), "hi"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Domain(DomainError::ConversationNotFound(id)) if id == conversation),
        "{err:?}"
    );
    assert_eq!(count_events(&pool).await, 0);

    // A command id reused on another stream is refused, not mistaken for a repeat.
    let command_id = Uuid::now_v7();
    handler
        .handle(&meta(command_id, contact), &start(conversation, contact))
        .await
        .unwrap();
    let err = handler
        .handle(&meta(command_id, contact), &start(Uuid::now_v7(), contact))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::CommandIdReused(id) if id == command_id),
        "{err:?}"
    );
    assert_eq!(count_events(&pool).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_posts_to_one_conversation_all_land_after_retries(pool: PgPool) {
    let handler = ConversationHandler::new(EventLog::new(pool.clone()), system_clock());
    let (conversation, contact) = (Uuid::now_v7(), Uuid::now_v7());
    handler
        .handle(
            &meta(Uuid::now_v7(), contact),
            &start(conversation, contact),
        )
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let handler = handler.clone();
            tokio::spawn(async move {
                let id = Uuid::now_v7();
                handler
                    .handle(
                        &meta(id, contact),
                        &post(conversation, contact, id, &format!("m{n}")),
                    )
                    .await
                    .map(|_| id)
            })
        })
        .collect();
    let mut posted = HashSet::new();
    for task in tasks {
        posted.insert(task.await.unwrap().unwrap());
    }
    let versions = stream_versions(&pool, conversation).await;
    assert_eq!(versions, (1..=9).collect::<Vec<_>>());
    assert_eq!(posted.len(), 8);
}

/// The stream cache (one per handler, as on two nodes) never decides on a stale state: the
/// other node's append makes the cached head a conflict, and the command is decided again on
/// the log. A repeat of an earlier command is still recognised, though the cached state, which
/// has moved on, would refuse it.
#[sqlx::test(migrations = "../migrations")]
async fn two_nodes_caching_one_stream_stay_in_version_order(pool: PgPool) {
    let node_a = ConversationHandler::new(EventLog::new(pool.clone()), system_clock());
    let node_b = ConversationHandler::new(EventLog::new(pool.clone()), system_clock());
    let (conversation, contact) = (Uuid::now_v7(), Uuid::now_v7());
    let start_id = Uuid::now_v7();
    let started = node_a
        .handle(&meta(start_id, contact), &start(conversation, contact))
        .await
        .unwrap();
    for n in 0..6 {
        let node = if n % 2 == 0 { &node_b } else { &node_a };
        let id = Uuid::now_v7();
        let posted = node
            .handle(
                &meta(id, contact),
                &post(conversation, contact, id, &format!("m{n}")),
            )
            .await
            .unwrap();
        assert!(!posted.duplicate);
        assert_eq!(posted.recorded[0].stream_version, n + 2);
    }
    let repeat = node_a
        .handle(&meta(start_id, contact), &start(conversation, contact))
        .await
        .unwrap();
    assert!(repeat.duplicate);
    assert_eq!(repeat.recorded, started.recorded);
    let versions = stream_versions(&pool, conversation).await;
    assert_eq!(versions, (1..=7).collect::<Vec<_>>());
}

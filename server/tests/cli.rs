//! The auditor's commands as an auditor runs them: the `switchboard` binary against a real
//! PostgreSQL. `replay export`, `replay state` (over an event of an older schema version,
//! read through its upcaster) and `replay verify`, before and after someone with superuser
//! rights edits an event behind the append-only trigger's back.

use std::process::{Command, Output};

use chrono::{TimeZone, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use switchboard_commands::log::{EventLog, NewEvent, StreamHead};
use switchboard_domain::event::{
    Channel, Contact, ConversationStarted, MessagePosted, Sender, SenderKind, Source,
};
use switchboard_domain::DomainEvent;
use uuid::Uuid;

fn database_url(connect: &PgConnectOptions) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for sqlx tests");
    let (server, _) = base.rsplit_once('/').expect("a URL with a database name");
    format!("{server}/{}", connect.get_database().unwrap())
}

fn switchboard(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("SWITCHBOARD_DATABASE_URL", url)
        .env("SWITCHBOARD_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

async fn seed(pool: &PgPool) -> Uuid {
    let conversation = Uuid::now_v7();
    let contact = Uuid::now_v7();
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap();
    let events = [
        DomainEvent::ConversationStarted(ConversationStarted {
            conversation_id: conversation,
            inbox_id: Uuid::now_v7(),
            source: Source::Web,
            contact: Contact {
                id: contact,
                name: Some("Petro".into()),
                email: None,
                phone: None,
            },
            subject: None,
            started_at: at,
            branch_id: None,
            routing: None,
            sla: None,
        }),
        DomainEvent::MessagePosted(MessagePosted {
            conversation_id: conversation,
            message_id: Uuid::now_v7(),
            sender: Sender {
                kind: SenderKind::Contact,
                id: Some(contact),
            },
            channel: Channel::Web,
            body: "Hello".into(),
            posted_at: at,
            attachments: Vec::new(),
        }),
    ];
    let mut new_events: Vec<NewEvent> = events
        .iter()
        .map(|e| NewEvent {
            event_id: Uuid::now_v7(),
            event_type: e.event_type().into(),
            schema_version: e.schema_version(),
            payload: e.payload(),
            metadata: serde_json::json!({ "actor": { "kind": "contact", "id": contact } }),
        })
        .collect();
    // The message as an older build recorded it: version 1, before attachments existed.
    new_events[1].schema_version = 1;
    new_events[1]
        .payload
        .as_object_mut()
        .unwrap()
        .remove("attachments");
    EventLog::new(pool.clone())
        .append(
            conversation,
            "conversation",
            &StreamHead::default(),
            new_events,
            at,
        )
        .await
        .unwrap();
    conversation
}

#[sqlx::test(migrations = "../migrations")]
async fn export_state_and_verify_from_the_command_line(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = options.connect_with(connect.clone()).await.unwrap();
    let url = database_url(&connect);
    let conversation = seed(&pool).await;
    let id = conversation.to_string();

    let exported = switchboard(&url, &["replay", "export", "--conversation", &id]);
    assert!(exported.status.success(), "{exported:?}");
    let lines: Vec<serde_json::Value> = stdout(&exported)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["event_type"], "ConversationStarted");
    assert_eq!(lines[1]["payload"]["body"], "Hello");
    // Exported as stored: version 1, no attachments field.
    assert_eq!(lines[1]["schema_version"], 1);
    assert_eq!(lines[1]["payload"].get("attachments"), None);

    let state = switchboard(
        &url,
        &[
            "replay",
            "state",
            "--conversation",
            &id,
            "--at",
            "2026-11-02T10:00:00Z",
        ],
    );
    assert!(state.status.success(), "{state:?}");
    let state: serde_json::Value = serde_json::from_str(&stdout(&state)).unwrap();
    assert_eq!(state["status"], "open");
    assert_eq!(state["contact"]["name"], "Petro");
    assert_eq!(state["messages"][0]["body"], "Hello");
    // Folded through the upcaster: read as version 2, with no attachments.
    assert_eq!(state["messages"][0]["attachments"], serde_json::json!([]));
    let before = switchboard(
        &url,
        &[
            "replay",
            "state",
            "--conversation",
            &id,
            "--at",
            "2026-11-02T09:59:59Z",
        ],
    );
    assert_eq!(before.status.code(), Some(2), "{before:?}");

    let verified = switchboard(&url, &["replay", "verify"]);
    assert!(verified.status.success(), "{verified:?}");
    assert_eq!(
        stdout(&verified),
        "verified 2 events in 1 streams: 0 broken\n"
    );

    // A superuser edits the message behind the trigger's back.
    sqlx::query("alter table events disable trigger events_no_update_or_delete")
        .execute(&pool)
        .await
        .unwrap();
    let position: i64 = sqlx::query_scalar(
        "update events set payload = jsonb_set(payload, '{body}', '\"Goodbye\"')
         where stream_id = $1 and stream_version = 2 returning global_position",
    )
    .bind(conversation)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("alter table events enable trigger events_no_update_or_delete")
        .execute(&pool)
        .await
        .unwrap();

    let verified = switchboard(&url, &["replay", "verify"]);
    assert_eq!(verified.status.code(), Some(1), "{verified:?}");
    assert_eq!(
        stdout(&verified),
        format!(
            "verified 2 events in 1 streams: 1 broken\n\
             stream {conversation} broken at version 2 (global position {position}): \
             hash does not match the event's content\n"
        )
    );

    // Bad arguments: a clear message and a failing exit, nothing read.
    let neither = switchboard(&url, &["replay", "export"]);
    assert_eq!(neither.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&neither.stderr)
        .contains("name one of --conversation, --contact, or --from with --to"));
}

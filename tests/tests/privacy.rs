//! SPEC's GDPR features end to end, on real PostgreSQL and Kafka: a contact's personal data
//! is sealed in the log, exported on request, and erased by destroying their key; afterwards
//! no table holds any of it in the clear, the log still verifies, and replay and rebuild
//! still work.

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use switchboard_replay::export::{export, ExportScope};
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{create_inbox, error_extensions, SEND};
use switchboard_tests::{eventually, pool_for, test_settings, TestServer};
use uuid::Uuid;

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01";

/// The contact's personal data, each value distinctive enough that finding it anywhere is a
/// leak. The name is searched for in lower case too: text-search vectors hold lexemes.
const NAME: &str = "Zinaida Kvitkovska";
const EMAIL: &str = "zinaida.kvit@example.org";
const PHONE: &str = "+380501234567";
const SUBJECT: &str = "Zkv-subject-7781";
const BODY: &str = "My card ends zkvbody9921";
const FILE: &str = "zkv-passport.png";
const IP: &str = "203.0.113.77";
const MARKERS: &[&str] = &[
    "Kvitkovska",
    "kvitkovsk",
    "zinaida.kvit",
    "380501234567",
    "zkv-subject",
    "zkvbody9921",
    "zkv-passport",
    "203.0.113.77",
];

const START: &str = "mutation($input: StartConversationInput!) {
  startConversation(input: $input) { conversationId contactId sessionToken } }";
const CALLBACK: &str = "mutation($input: RequestCallbackInput!) {
  requestCallback(input: $input) { callbackId } }";
const REGISTER: &str = "mutation($input: RegisterWebhookEndpointInput!) {
  registerWebhookEndpoint(input: $input) { endpointId } }";
const CONTACT_DATA: &str = "query($c: UUID!) { contactData(contactId: $c) }";
const ERASE: &str = "mutation($c: UUID!) {
  eraseContact(contactId: $c) { contactId conversationIds newlyErased filesDeleted } }";

/// Every text, JSON and text-search value of every table, as text, with where it is:
/// `table.column: value`, for the values containing any of the markers.
async fn plaintext_hits(pool: &PgPool) -> Vec<String> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "select c.table_name::text, c.column_name::text
         from information_schema.columns c
         join information_schema.tables t
           on t.table_schema = c.table_schema and t.table_name = c.table_name
         where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
           and (c.data_type in ('text', 'character varying', 'json', 'jsonb', 'tsvector', 'ARRAY')
                or c.udt_name in ('_text', 'tsvector'))",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(columns.len() > 20, "the scan sees the schema: {columns:?}");
    let patterns: Vec<String> = MARKERS
        .iter()
        .map(|m| format!("%{}%", m.to_lowercase()))
        .collect();
    let mut hits = Vec::new();
    for (table, column) in columns {
        let found: Vec<String> = sqlx::query_scalar(&format!(
            "select \"{column}\"::text from \"{table}\"
             where lower(\"{column}\"::text) like any($1)"
        ))
        .bind(&patterns)
        .fetch_all(pool)
        .await
        .unwrap();
        hits.extend(found.into_iter().map(|v| format!("{table}.{column}: {v}")));
    }
    hits
}

#[sqlx::test(migrations = "../migrations")]
async fn gdpr_1_2_export_then_erase_leaves_no_plaintext_and_the_log_verifies(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let mut settings = test_settings();
    settings.client_ip_header = Some("x-forwarded-for".into());
    let attachments_dir = settings.attachments_dir.clone();
    let server = TestServer::start(&settings, pool.clone(), ALL).await;
    let admin = server.operator_token();
    let from_contact = [("x-forwarded-for", IP)];
    let (inbox, widget_token) = create_inbox(&server, &admin, "Privacy").await;
    // A webhook endpoint nobody answers: its deliveries keep bodies with the contact's data.
    server
        .graphql_ok(
            REGISTER,
            json!({ "input": { "inboxId": inbox, "url": "http://127.0.0.1:9/hooks",
                               "eventTypes": ["CONVERSATION_CREATED", "MESSAGE_IN"] } }),
            Some(&admin),
        )
        .await;
    // Registered before the conversation starts, so its deliveries are made as events come.
    eventually(std::time::Duration::from_secs(60), || async {
        let n: i64 = sqlx::query_scalar("select count(*) from webhook_endpoints")
            .fetch_one(&pool)
            .await
            .unwrap();
        (n == 1).then_some(())
    })
    .await;

    let started = server
        .graphql_with_headers(
            START,
            json!({ "input": { "widgetToken": widget_token, "name": NAME, "email": EMAIL,
                               "phone": PHONE, "subject": SUBJECT, "message": BODY } }),
            None,
            &from_contact,
        )
        .await;
    let started = &started["data"]["startConversation"];
    let conversation = started["conversationId"].as_str().unwrap().to_owned();
    let contact: Uuid = started["contactId"].as_str().unwrap().parse().unwrap();
    let session = started["sessionToken"].as_str().unwrap().to_owned();

    let uploaded: Value = server
        .http
        .post(format!("{}/attachments", server.base))
        .query(&[("conversationId", conversation.as_str()), ("name", FILE)])
        .bearer_auth(&session)
        .header("x-forwarded-for", IP)
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attachment = uploaded["id"].as_str().unwrap().to_owned();
    let sent = server
        .graphql_with_headers(
            SEND,
            json!({ "input": { "conversationId": conversation, "body": "see file",
                               "attachmentIds": [attachment] } }),
            Some(&session),
            &from_contact,
        )
        .await;
    assert!(sent["errors"].is_null(), "{sent}");
    let callback = server
        .graphql_with_headers(
            CALLBACK,
            json!({ "input": { "conversationId": conversation, "phone": PHONE,
                               "consent": { "textVersion": "privacy-2026-01", "accepted": true } } }),
            Some(&session),
            &from_contact,
        )
        .await;
    assert!(callback["errors"].is_null(), "{callback}");

    // Everything reached the read models (the projection, the call-backs, the webhooks).
    eventually(std::time::Duration::from_secs(60), || async {
        let (messages, callbacks, deliveries): (i64, i64, i64) = sqlx::query_as(
            "select (select count(*) from thread_messages where sender_kind = 'contact'),
                    (select count(*) from callbacks),
                    (select count(*) from webhook_deliveries)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        (messages == 2 && callbacks == 1 && deliveries == 3).then_some(())
    })
    .await;

    // Sealed: the log itself never held any of it in the clear ...
    let logged: Vec<String> =
        sqlx::query_scalar("select payload::text || metadata::text from events")
            .fetch_all(&pool)
            .await
            .unwrap();
    for marker in MARKERS {
        assert!(
            !logged
                .iter()
                .any(|e| e.to_lowercase().contains(&marker.to_lowercase())),
            "{marker} is in the log in the clear"
        );
    }
    // ... while the read models do, which is what the scan below must be able to see.
    let before = plaintext_hits(&pool).await;
    for table in [
        "inbox_conversations",
        "thread_messages",
        "callbacks",
        "attachments",
        "webhook_deliveries",
    ] {
        assert!(
            before
                .iter()
                .any(|hit| hit.starts_with(&format!("{table}."))),
            "{table} not seen by the scan: {before:#?}"
        );
    }

    // GDPR-1: the export has it all.
    let data = server
        .graphql_ok(CONTACT_DATA, json!({ "c": contact }), Some(&admin))
        .await["contactData"]
        .clone();
    assert_eq!(data["contact_id"], json!(contact));
    assert_eq!(data["erased_at"], Value::Null);
    assert_eq!(data["addresses"], json!([IP]));
    let exported = &data["conversations"][0];
    assert_eq!(
        exported["contact"],
        json!({ "id": contact, "name": NAME, "email": EMAIL, "phone": PHONE })
    );
    assert_eq!(exported["subject"], SUBJECT);
    assert_eq!(exported["messages"][0]["body"], BODY);
    assert_eq!(exported["messages"][1]["attachments"][0]["name"], FILE);
    assert_eq!(exported["callbacks"][0]["phone"], PHONE);
    assert_eq!(data["uploads"][0]["name"], FILE);
    assert_eq!(data["uploads"][0]["attachment_id"], json!(attachment));

    // GDPR-2: erase.
    let erased = server
        .graphql_ok(ERASE, json!({ "c": contact }), Some(&admin))
        .await["eraseContact"]
        .clone();
    assert_eq!(
        erased,
        json!({ "contactId": contact, "conversationIds": [conversation], "newlyErased": true,
                "filesDeleted": 1 })
    );
    eventually(std::time::Duration::from_secs(60), || async {
        let name: Option<String> =
            sqlx::query_scalar("select contact_name from inbox_conversations")
                .fetch_one(&pool)
                .await
                .unwrap();
        (name.as_deref() == Some("[erased]")).then_some(())
    })
    .await;
    let webhooks_purged = || async {
        let bodies: Vec<String> = sqlx::query_scalar("select body from webhook_deliveries")
            .fetch_all(&pool)
            .await
            .unwrap();
        (!bodies.iter().any(|b| b.contains("zkvbody9921"))).then_some(())
    };
    eventually(std::time::Duration::from_secs(60), webhooks_purged).await;

    let after = plaintext_hits(&pool).await;
    assert!(after.is_empty(), "plaintext left after erasure: {after:#?}");
    let stored = attachments_dir
        .join(&attachment.replace('-', "")[..2])
        .join(attachment.replace('-', ""));
    assert!(!stored.exists(), "{} still exists", stored.display());

    // The log is unchanged and verifies; it reads as erased everywhere.
    let report = switchboard_replay::verify_chains(&pool).await.unwrap();
    assert!(report.broken.is_empty(), "{report:?}");
    let mut out = Vec::new();
    export(&pool, &ExportScope::Contact(contact), &mut out)
        .await
        .unwrap();
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["payload"]["contact"]["name"], "[erased]");
    assert_eq!(lines[0]["payload"]["contact"]["id"], json!(contact));
    assert_eq!(lines[0]["metadata"]["ip"], "[erased]");
    assert_eq!(lines.last().unwrap()["event_type"], "ContactErased");
    let data = server
        .graphql_ok(CONTACT_DATA, json!({ "c": contact }), Some(&admin))
        .await["contactData"]
        .clone();
    assert!(data["erased_at"].is_string(), "{data}");
    assert_eq!(data["conversations"][0]["messages"][0]["body"], "[erased]");
    assert_eq!(data["addresses"], json!(["[erased]"]));

    // Nothing more of theirs is recorded; erasing again changes nothing.
    let refused = server
        .graphql(
            SEND,
            json!({ "input": { "conversationId": conversation, "body": "still here?" } }),
            Some(&session),
        )
        .await;
    assert_eq!(error_extensions(&refused)["code"], "CONTACT_ERASED");
    let again = server
        .graphql_ok(ERASE, json!({ "c": contact }), Some(&admin))
        .await;
    assert_eq!(again["eraseContact"]["newlyErased"], false);
    assert_eq!(again["eraseContact"]["filesDeleted"], 0);

    // A rebuild from the log reproduces the erased read model, with nothing in the clear.
    switchboard_server::runtime::rebuild_projection(&pool, "conversations", |_| {})
        .await
        .expect("a known projection")
        .expect("the rebuild succeeds");
    let after_rebuild = plaintext_hits(&pool).await;
    assert!(
        after_rebuild.is_empty(),
        "plaintext after rebuild: {after_rebuild:#?}"
    );
    let (name, subject, phone): (Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("select contact_name, subject, contact_phone from inbox_conversations")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (name.as_deref(), subject.as_deref(), phone.as_deref()),
        (Some("[erased]"), Some("[erased]"), Some("[erased]"))
    );
    let unknown = server
        .graphql(CONTACT_DATA, json!({ "c": Uuid::now_v7() }), Some(&admin))
        .await;
    assert_eq!(error_extensions(&unknown)["code"], "CONTACT_NOT_FOUND");
    server.stop().await;
}

//! What the widget needs from the backend, end to end on real PostgreSQL and Kafka: visitor
//! identity (SEC-1), the widget's settings and required details (INBOX-1), the visitor ending
//! a chat and starting another, their conversations, the live status of theirs, and an
//! operator starting a conversation with a known contact.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{
    conversation_when, create_inbox, error_extensions, CREATE_INBOX, REPLY, START,
};
use switchboard_tests::{
    eventually, operator_with_roles, pool_for, test_settings, TestServer, WsClient,
};

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];

const UPDATE_INBOX: &str = "mutation($id: UUID!, $settings: InboxSettingsInput!) {
  updateInbox(inboxId: $id, settings: $settings) { changed }
}";

const MY_CONVERSATIONS: &str = "query($token: String, $user: VisitorUserInput) {
  myConversations(widgetToken: $token, user: $user) {
    sessionToken conversation { id status assigneeId assigneeName tags }
  }
}";

fn identity_hash(secret: &str, user_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(user_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn events_recorded(server: &TestServer) -> i64 {
    sqlx::query_scalar("select count(*) from events")
        .fetch_one(&server.pool)
        .await
        .unwrap()
}

async fn start(server: &TestServer, input: Value, session: Option<&str>) -> Value {
    server
        .graphql(START, json!({ "input": input }), session)
        .await
}

/// Until the inbox projection has `settings` applied (the widget reads it from there).
async fn settings_applied(
    server: &TestServer,
    token: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    eventually(Duration::from_secs(60), || async {
        // Refused as an unknown token until the inbox is projected.
        let data = server
            .graphql(
                "query($t: String!) { widgetSettings(widgetToken: $t) {
                   title greeting color requiredFields visitorIdentity rating maxMessageChars
                   maxAttachmentBytes attachmentTypes telegramAvailable offlineMessage
                   availability { state message } } }",
                json!({ "t": token }),
                None,
            )
            .await;
        let settings = data["data"]["widgetSettings"].clone();
        (!settings.is_null() && ready(&settings)).then_some(settings)
    })
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn sec_1_a_verified_user_is_one_contact_across_devices(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let (_, admin) = operator_with_roles(vec![Role::Admin]);
    let (inbox, token) = create_inbox(&server, &admin, "Shop").await;

    // Before a secret is issued, no claim can be checked.
    let before = events_recorded(&server).await;
    let claim = json!({ "id": "user-42", "identityHash": identity_hash("guess", "user-42") });
    let refused = start(
        &server,
        json!({ "widgetToken": token, "user": claim }),
        None,
    )
    .await;
    assert_eq!(
        error_extensions(&refused)["code"],
        "IDENTITY_NOT_CONFIGURED"
    );

    // The secret is shown once; only admins issue it.
    let rotate = "mutation($id: UUID!) { rotateIdentitySecret(inboxId: $id) { inboxId secret } }";
    let (_, manager) = operator_with_roles(vec![Role::Manager]);
    let forbidden = server
        .graphql(rotate, json!({ "id": inbox }), Some(&manager))
        .await;
    assert_eq!(error_extensions(&forbidden)["code"], "FORBIDDEN");
    let secret = server
        .graphql_ok(rotate, json!({ "id": inbox }), Some(&admin))
        .await["rotateIdentitySecret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("sbi_") && secret.len() > 60, "{secret}");

    // A wrong hash, or another user's, proves nothing and records nothing.
    let before_refusals = events_recorded(&server).await;
    assert_eq!(
        before_refusals,
        before + 1,
        "only IdentitySecretRotated was recorded"
    );
    for user in [
        json!({ "id": "user-42", "identityHash": identity_hash("guess", "user-42") }),
        json!({ "id": "user-42", "identityHash": identity_hash(&secret, "user-43") }),
        json!({ "id": "user-42", "identityHash": "" }),
    ] {
        let refused = start(&server, json!({ "widgetToken": token, "user": user }), None).await;
        assert_eq!(error_extensions(&refused)["code"], "IDENTITY_NOT_VERIFIED");
    }
    assert_eq!(events_recorded(&server).await, before_refusals);

    // Two devices, one user: one contact.
    let user = json!({ "id": "user-42", "identityHash": identity_hash(&secret, "user-42") });
    let laptop = server
        .graphql_ok(START, json!({ "input": { "widgetToken": token, "user": user, "message": "from the laptop" } }), None)
        .await["startConversation"]
        .clone();
    let phone = server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": token, "user": user, "message": "from the phone" } }),
            None,
        )
        .await["startConversation"]
        .clone();
    assert_eq!(laptop["contactId"], phone["contactId"]);
    assert_ne!(laptop["conversationId"], phone["conversationId"]);
    // An anonymous visitor is someone else.
    let anonymous = server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": token, "message": "hi" } }),
            None,
        )
        .await["startConversation"]
        .clone();
    assert_ne!(anonymous["contactId"], laptop["contactId"]);

    // On a third device the user lists both and opens either with its token.
    let listed = eventually(Duration::from_secs(60), || async {
        let data = server
            .graphql_ok(
                MY_CONVERSATIONS,
                json!({ "token": token, "user": user }),
                None,
            )
            .await;
        let list = data["myConversations"].as_array().unwrap().clone();
        (list.len() == 2).then_some(list)
    })
    .await;
    let mut ids: Vec<&Value> = listed.iter().map(|c| &c["conversation"]["id"]).collect();
    ids.sort_by_key(|v| v.as_str().unwrap().to_owned());
    let mut expected = vec![&laptop["conversationId"], &phone["conversationId"]];
    expected.sort_by_key(|v| v.as_str().unwrap().to_owned());
    assert_eq!(ids, expected);
    for entry in &listed {
        let own = server
            .graphql_ok(
                "{ myConversation { id messages { nodes { body } } } }",
                json!({}),
                Some(entry["sessionToken"].as_str().unwrap()),
            )
            .await;
        assert_eq!(own["myConversation"]["id"], entry["conversation"]["id"]);
    }
    // A widget session lists its own contact's, and a hash for another user lists nothing.
    let by_session = server
        .graphql_ok(
            MY_CONVERSATIONS,
            json!({}),
            Some(phone["sessionToken"].as_str().unwrap()),
        )
        .await;
    assert_eq!(by_session["myConversations"].as_array().unwrap().len(), 2);
    let wrong = server
        .graphql(
            MY_CONVERSATIONS,
            json!({ "token": token, "user": { "id": "user-43", "identityHash": identity_hash(&secret, "user-42") } }),
            None,
        )
        .await;
    assert_eq!(error_extensions(&wrong)["code"], "IDENTITY_NOT_VERIFIED");

    // Required: anonymous visitors cannot chat at all; verified users still can.
    server
        .graphql_ok(
            UPDATE_INBOX,
            json!({ "id": inbox, "settings": { "title": "Shop", "visitorIdentity": "REQUIRED" } }),
            Some(&admin),
        )
        .await;
    settings_applied(&server, &token, |s| s["visitorIdentity"] == "REQUIRED").await;
    let before = events_recorded(&server).await;
    let refused = start(
        &server,
        json!({ "widgetToken": token, "message": "hi" }),
        None,
    )
    .await;
    assert_eq!(error_extensions(&refused)["code"], "IDENTITY_REQUIRED");
    // Nor as a guest asking for a call-back.
    let guest = server
        .graphql(
            r#"mutation($t: String!) { requestCallback(input: {widgetToken: $t, phone: "+380441234567",
               consent: {textVersion: "privacy-1", accepted: true}}) { callbackId } }"#,
            json!({ "t": token }),
            None,
        )
        .await;
    assert_eq!(error_extensions(&guest)["code"], "IDENTITY_REQUIRED");
    assert_eq!(events_recorded(&server).await, before);
    let again = server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": token, "user": user } }),
            None,
        )
        .await;
    assert_eq!(again["startConversation"]["contactId"], laptop["contactId"]);

    // A rotation ends the old hashes.
    server
        .graphql_ok(rotate, json!({ "id": inbox }), Some(&admin))
        .await;
    let stale = start(&server, json!({ "widgetToken": token, "user": user }), None).await;
    assert_eq!(error_extensions(&stale)["code"], "IDENTITY_NOT_VERIFIED");
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn inbox_1_the_widget_settings_and_the_details_a_visitor_must_give(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let (_, admin) = operator_with_roles(vec![Role::Admin]);
    let created = server
        .graphql_ok(
            CREATE_INBOX,
            json!({ "input": { "settings": {
                "title": "Support", "greeting": "Hello!", "color": "#AA3300", "rating": "CSAT",
                "offlineMessage": "We are away", "requiredFields": ["EMAIL", "NAME", "EMAIL"],
                "maxAttachmentBytes": 1048576, "attachmentTypes": ["PNG", "PDF"]
            } } }),
            Some(&admin),
        )
        .await;
    let token = created["createInbox"]["widgetToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let settings = settings_applied(&server, &token, |s| !s.is_null()).await;
    assert_eq!(
        settings,
        json!({
            "title": "Support", "greeting": "Hello!", "color": "#aa3300",
            "requiredFields": ["NAME", "EMAIL"], "visitorIdentity": "OPTIONAL", "rating": "CSAT",
            "maxMessageChars": 4000, "maxAttachmentBytes": 1048576,
            "attachmentTypes": ["PNG", "PDF"], "telegramAvailable": false,
            "offlineMessage": "We are away",
            "availability": { "state": "OFFLINE", "message": "We are away" }
        })
    );

    // Missing or malformed details are refused, each by name, and nothing is recorded.
    let before = events_recorded(&server).await;
    for (input, code, field) in [
        (json!({ "email": "ann@example.com" }), "EMPTY_FIELD", "name"),
        (
            json!({ "name": "Ann", "email": "  " }),
            "EMPTY_FIELD",
            "email",
        ),
        (
            json!({ "name": "Ann", "email": "ann@example" }),
            "MALFORMED_FIELD",
            "email",
        ),
        (
            json!({ "name": "Ann", "email": "ann@example.com", "phone": "12" }),
            "MALFORMED_FIELD",
            "phone",
        ),
    ] {
        let mut input = input;
        input["widgetToken"] = json!(token);
        let refused = start(&server, input.clone(), None).await;
        let extensions = error_extensions(&refused);
        assert_eq!(extensions["code"], code, "{input}");
        assert_eq!(extensions["field"], field, "{input}: {extensions}");
    }
    assert_eq!(events_recorded(&server).await, before);

    // Given, they are kept: the phone in E.164.
    let started = server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": token, "name": "Ann", "email": "Ann@Example.COM",
                               "phone": "+380 44 123 4567" } }),
            None,
        )
        .await;
    let id = started["startConversation"]["conversationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let conversation = eventually(Duration::from_secs(60), || async {
        let data = server
            .graphql_ok(
                "query($id: UUID!) { conversation(id: $id) { contact { name email phone } } }",
                json!({ "id": id }),
                Some(&admin),
            )
            .await;
        (!data["conversation"].is_null()).then(|| data["conversation"].clone())
    })
    .await;
    assert_eq!(
        conversation["contact"],
        json!({ "name": "Ann", "email": "Ann@Example.COM", "phone": "+380441234567" })
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_2_the_visitor_ends_the_chat_follows_its_status_and_starts_another(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let (_, admin) = server
        .register_operator("Olena", vec![Role::Admin], None, None)
        .await;
    let (_, token) = create_inbox(&server, &admin, "Support").await;
    let started = server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": token, "message": "hello" } }),
            None,
        )
        .await["startConversation"]
        .clone();
    let id = started["conversationId"].as_str().unwrap().to_owned();
    let session = started["sessionToken"].as_str().unwrap().to_owned();

    // The widget follows its conversation live: first how it stands, then each change.
    let mut socket = WsClient::connect(&server.ws_url(), Some(&session))
        .await
        .unwrap();
    let live = socket
        .subscribe(
            "subscription { myConversationChanged { id status assigneeId assigneeName tags assignedAt } }",
            json!({}),
        )
        .await
        .unwrap();
    conversation_when(&server, &admin, &id, |_| true).await;
    server
        .graphql_ok(
            "mutation($id: UUID!) { takeConversation(conversationId: $id) { changed } }",
            json!({ "id": id }),
            Some(&admin),
        )
        .await;
    server
        .graphql_ok(
            "mutation($id: UUID!, $t: String!) { tagConversation(conversationId: $id, tag: $t) { changed } }",
            json!({ "id": id, "t": "vip" }),
            Some(&admin),
        )
        .await;
    // The name, never the id, nor the company's tags, nor when it was assigned: in every
    // frame, up to the end.
    let contact_view = |frame: &Value| {
        assert_eq!(frame["assigneeId"], Value::Null, "{frame}");
        assert_eq!(frame["tags"], json!([]), "{frame}");
        assert_eq!(frame["assignedAt"], Value::Null, "{frame}");
    };
    loop {
        let data = socket
            .next_data(&live, Duration::from_secs(60))
            .await
            .unwrap();
        contact_view(&data["myConversationChanged"]);
        if data["myConversationChanged"]["assigneeName"] == "Olena" {
            break;
        }
    }
    // An operator's reply names no operator to the contact.
    server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": id, "body": "On it" } }),
            Some(&admin),
        )
        .await;
    let thread = eventually(Duration::from_secs(60), || async {
        let data = server
            .graphql_ok(
                "{ myConversation { messages { nodes { body sender { kind id } } } } }",
                json!({}),
                Some(&session),
            )
            .await;
        let nodes = data["myConversation"]["messages"]["nodes"]
            .as_array()
            .unwrap()
            .clone();
        (nodes.len() == 2).then_some(nodes)
    })
    .await;
    assert_eq!(
        thread[1]["sender"],
        json!({ "kind": "OPERATOR", "id": null })
    );
    // Asked by id, the session's own conversation reads the same.
    let by_id = server
        .graphql_ok(
            "query($id: UUID!) { conversation(id: $id) { assigneeId assigneeName tags assignedAt } }",
            json!({ "id": id }),
            Some(&session),
        )
        .await;
    contact_view(&by_id["conversation"]);
    assert_eq!(by_id["conversation"]["assigneeName"], "Olena");

    let end = "mutation($id: UUID!) { endConversation(conversationId: $id) { changed } }";
    let others = server.graphql(end, json!({ "id": id }), Some(&admin)).await;
    assert_eq!(error_extensions(&others)["code"], "FORBIDDEN");
    let ended = server
        .graphql_ok(end, json!({ "id": id }), Some(&session))
        .await;
    assert_eq!(ended["endConversation"]["changed"], true);
    loop {
        let data = socket
            .next_data(&live, Duration::from_secs(60))
            .await
            .unwrap();
        if data["myConversationChanged"]["status"] == "RESOLVED" {
            break;
        }
    }
    let again = server
        .graphql_ok(end, json!({ "id": id }), Some(&session))
        .await;
    assert_eq!(again["endConversation"]["changed"], false);
    conversation_when(&server, &admin, &id, |c| c["status"] == "RESOLVED").await;

    // A new chat of the same visitor: same contact, and both listed.
    let next = server
        .graphql_ok(
            START,
            json!({ "input": { "widgetToken": token, "message": "one more thing" } }),
            Some(&session),
        )
        .await["startConversation"]
        .clone();
    assert_eq!(next["contactId"], started["contactId"]);
    assert_ne!(next["conversationId"], started["conversationId"]);
    eventually(Duration::from_secs(60), || async {
        let data = server
            .graphql_ok(
                MY_CONVERSATIONS,
                json!({}),
                Some(next["sessionToken"].as_str().unwrap()),
            )
            .await;
        (data["myConversations"].as_array().unwrap().len() == 2).then_some(())
    })
    .await;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_1_an_operator_starts_a_conversation_with_a_known_contact(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let (operator_id, admin) = server
        .register_operator("Olena", vec![Role::Admin], None, None)
        .await;
    let (inbox, token) = create_inbox(&server, &admin, "Support").await;
    let first = server
        .graphql_ok(START, json!({ "input": { "widgetToken": token, "name": "Ann", "email": "ann@example.com", "message": "hi" } }), None)
        .await["startConversation"]
        .clone();
    let first_id = first["conversationId"].as_str().unwrap().to_owned();
    conversation_when(&server, &admin, &first_id, |_| true).await;

    let outreach = "mutation($input: StartConversationWithContactInput!) {
      startConversationWithContact(input: $input) { conversationId message { body sender { kind id } } }
    }";
    let before = events_recorded(&server).await;
    let unknown = server
        .graphql(outreach, json!({ "input": { "contactId": uuid::Uuid::now_v7(), "inboxId": inbox, "body": "Hello" } }), Some(&admin))
        .await;
    assert_eq!(error_extensions(&unknown)["code"], "CONTACT_NOT_FOUND");
    let (_, analyst) = operator_with_roles(vec![Role::Analyst]);
    let forbidden = server
        .graphql(outreach, json!({ "input": { "contactId": first["contactId"], "inboxId": inbox, "body": "Hello" } }), Some(&analyst))
        .await;
    assert_eq!(error_extensions(&forbidden)["code"], "FORBIDDEN");
    assert_eq!(events_recorded(&server).await, before);

    let request = uuid::Uuid::now_v7();
    let input = json!({ "input": { "contactId": first["contactId"], "inboxId": inbox,
                                   "subject": "Your order", "body": "Your order has shipped",
                                   "clientRequestId": request } });
    let started = server
        .graphql_ok(outreach, input.clone(), Some(&admin))
        .await["startConversationWithContact"]
        .clone();
    assert_eq!(started["message"]["body"], "Your order has shipped");
    assert_eq!(
        started["message"]["sender"],
        json!({ "kind": "OPERATOR", "id": operator_id })
    );
    let recorded = events_recorded(&server).await;
    // A retry records nothing twice.
    let retried = server.graphql_ok(outreach, input, Some(&admin)).await
        ["startConversationWithContact"]
        .clone();
    assert_eq!(retried["conversationId"], started["conversationId"]);
    assert_eq!(events_recorded(&server).await, recorded);

    let id = started["conversationId"].as_str().unwrap().to_owned();
    let conversation = conversation_when(&server, &admin, &id, |c| c["messageCount"] == 1).await;
    assert_eq!(conversation["assigneeId"], json!(operator_id));
    assert_eq!(conversation["status"], "IN_PROGRESS");
    assert_eq!(conversation["subject"], "Your order");
    let contact = server
        .graphql_ok(
            "query($id: UUID!) { conversation(id: $id) { source contact { id name email } } }",
            json!({ "id": id }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        contact["conversation"],
        json!({ "source": "API", "contact": { "id": first["contactId"], "name": "Ann", "email": "ann@example.com" } })
    );
    server.stop().await;
}

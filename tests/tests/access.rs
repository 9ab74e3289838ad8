//! SEC-1, the access matrix: every query, mutation and subscription of the schema, run as every
//! kind of caller (anonymous, the conversation's own widget session, another conversation's,
//! and an operator of each role, moderators assigned and not), has exactly the outcome the
//! table in `ACCESS.md` gives. The table is read from the file, and every root field of the
//! schema must have a row, so the documentation and the code cannot drift apart.
//!
//! Mutations run against a conversation of their own, started and assigned to the assigned
//! moderator just before, so that no call depends on what an earlier one changed.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::conversation_when;
use switchboard_tests::{pool_for, test_settings, TestServer, WsClient};
use uuid::Uuid;

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];

/// The table's columns, in its order.
const CALLERS: [&str; 9] = [
    "anonymous",
    "own session",
    "other session",
    "admin",
    "manager",
    "moderator (assigned)",
    "moderator (not assigned)",
    "analyst",
    "auditor",
];

/// A subscription that is allowed but has nothing to send yet stays quiet this long.
const QUIET: Duration = Duration::from_millis(1500);

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Query,
    Mutation,
    Subscription,
}

/// What an operation runs against.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    /// Nothing in particular, or the standing fixtures (inboxes, endpoint).
    Standing,
    /// The shared conversation, assigned to the assigned moderator and projected.
    Shared,
    /// A new conversation assigned to the assigned moderator.
    Fresh,
    /// Like `Fresh`, with a call-back requested.
    FreshWithCallback,
    /// Like `Fresh`, resolved.
    FreshResolved,
}

/// What the variables of an operation may refer to.
struct Refs {
    conversation: String,
    callback: Option<String>,
    moderator: Uuid,
    analyst: Uuid,
    widget_token: String,
    inbox: String,
    spare_inbox: String,
    endpoint: String,
}

struct Operation {
    name: &'static str,
    kind: Kind,
    target: Target,
    document: &'static str,
    variables: fn(&Refs) -> Value,
}

fn none(_: &Refs) -> Value {
    json!({})
}

fn conversation(r: &Refs) -> Value {
    json!({ "c": r.conversation })
}

fn operations() -> Vec<Operation> {
    use Kind::*;
    use Target::*;
    let op = |name, kind, target, document, variables| Operation {
        name,
        kind,
        target,
        document,
        variables,
    };
    vec![
        op("inbox", Query, Standing, "{ inbox(first: 5) { nodes { id } } }", none),
        op("inboxCounts", Query, Standing, "{ inboxCounts { all } }", none),
        op("unreadCounts", Query, Standing, "{ unreadCounts { total } }", none),
        op("callbacks", Query, Standing, "{ callbacks { nodes { id } } }", none),
        op(
            "conversation",
            Query,
            Shared,
            "query($c: UUID!) { conversation(id: $c) { id } }",
            conversation,
        ),
        op("myConversation", Query, Standing, "{ myConversation { id } }", none),
        op(
            "myConversations",
            Query,
            Standing,
            "{ myConversations { sessionToken } }",
            none,
        ),
        op(
            "widgetSettings",
            Query,
            Standing,
            "query($t: String!) { widgetSettings(widgetToken: $t) { title } }",
            |r| json!({ "t": r.widget_token }),
        ),
        op(
            "availability",
            Query,
            Standing,
            "query($t: String!) { availability(widgetToken: $t) { state } }",
            |r| json!({ "t": r.widget_token }),
        ),
        op("inboxes", Query, Standing, "{ inboxes { id } }", none),
        op("operators", Query, Standing, "{ operators { id } }", none),
        op("me", Query, Standing, "{ me { id } }", none),
        op(
            "slaReport",
            Query,
            Standing,
            r#"{ slaReport(from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z") { conversations } }"#,
            none,
        ),
        op(
            "streamEvents",
            Query,
            Shared,
            "query($c: UUID!) { streamEvents(streamId: $c) { nodes { globalPosition } } }",
            conversation,
        ),
        op(
            "eventsByPosition",
            Query,
            Standing,
            "{ eventsByPosition(from: 1, to: 10) { nodes { eventType } } }",
            none,
        ),
        op(
            "webhookEndpoints",
            Query,
            Standing,
            "query($i: UUID!) { webhookEndpoints(inboxId: $i) { id } }",
            |r| json!({ "i": r.inbox }),
        ),
        op(
            "webhookDeliveries",
            Query,
            Standing,
            "query($e: UUID!) { webhookDeliveries(endpointId: $e) { nodes { id } } }",
            |r| json!({ "e": r.endpoint }),
        ),
        op(
            "startConversation",
            Mutation,
            Standing,
            r#"mutation($t: String!) { startConversation(input: {widgetToken: $t, message: "Hi"}) { conversationId } }"#,
            |r| json!({ "t": r.widget_token }),
        ),
        op(
            "sendMessage",
            Mutation,
            Fresh,
            r#"mutation($c: UUID!) { sendMessage(input: {conversationId: $c, body: "Hello"}) { id } }"#,
            conversation,
        ),
        op(
            "rateConversation",
            Mutation,
            FreshResolved,
            "mutation($c: UUID!) { rateConversation(input: {conversationId: $c, score: 5}) { score } }",
            conversation,
        ),
        op(
            "markRead",
            Mutation,
            Fresh,
            "mutation($c: UUID!) { markRead(input: {conversationId: $c}) { changed } }",
            conversation,
        ),
        op(
            "endConversation",
            Mutation,
            Fresh,
            "mutation($c: UUID!) { endConversation(conversationId: $c) { changed } }",
            conversation,
        ),
        op(
            "requestCallback",
            Mutation,
            Fresh,
            r#"mutation($c: UUID!) { requestCallback(input: {conversationId: $c, phone: "+380441234567",
               consent: {textVersion: "privacy-1", accepted: true}}) { callbackId } }"#,
            conversation,
        ),
        op(
            "setTyping",
            Mutation,
            Shared,
            "mutation($c: UUID!) { setTyping(conversationId: $c, typing: true) }",
            conversation,
        ),
        op(
            "replyToConversation",
            Mutation,
            Fresh,
            r#"mutation($c: UUID!) { replyToConversation(input: {conversationId: $c, body: "On it"}) { id } }"#,
            conversation,
        ),
        op(
            "addInternalNote",
            Mutation,
            Fresh,
            r#"mutation($c: UUID!) { addInternalNote(input: {conversationId: $c, body: "VIP"}) { id } }"#,
            conversation,
        ),
        op(
            "changeConversationStatus",
            Mutation,
            Fresh,
            "mutation($c: UUID!) { changeConversationStatus(conversationId: $c, status: RESOLVED) { changed } }",
            conversation,
        ),
        // Marking it as awaiting a call is the same mutation, and the same row.
        op(
            "changeConversationStatus",
            Mutation,
            Fresh,
            "mutation($c: UUID!) { changeConversationStatus(conversationId: $c, status: PENDING_CALLBACK) { changed } }",
            conversation,
        ),
        op(
            "setConversationPriority",
            Mutation,
            Fresh,
            "mutation($c: UUID!) { setConversationPriority(conversationId: $c, priority: HIGH) { changed } }",
            conversation,
        ),
        op(
            "assignConversation",
            Mutation,
            Fresh,
            "mutation($c: UUID!, $m: UUID!) { assignConversation(conversationId: $c, operatorId: $m) { changed } }",
            |r| json!({ "c": r.conversation, "m": r.moderator }),
        ),
        op(
            "takeConversation",
            Mutation,
            Fresh,
            "mutation($c: UUID!) { takeConversation(conversationId: $c) { changed } }",
            conversation,
        ),
        op(
            "openConversation",
            Mutation,
            Fresh,
            "mutation($c: UUID!) { openConversation(conversationId: $c) { changed } }",
            conversation,
        ),
        op(
            "transferConversation",
            Mutation,
            Fresh,
            "mutation($c: UUID!, $m: UUID!) { transferConversation(conversationId: $c, operatorId: $m) { changed } }",
            |r| json!({ "c": r.conversation, "m": r.moderator }),
        ),
        op(
            "unassignConversation",
            Mutation,
            Fresh,
            "mutation($c: UUID!) { unassignConversation(conversationId: $c) { changed } }",
            conversation,
        ),
        op(
            "markConversationRead",
            Mutation,
            Fresh,
            "mutation($c: UUID!) { markConversationRead(conversationId: $c) { changed } }",
            conversation,
        ),
        op(
            "scheduleCallback",
            Mutation,
            FreshWithCallback,
            r#"mutation($c: UUID!, $cb: UUID!) { scheduleCallback(conversationId: $c, callbackId: $cb,
               scheduledFor: "2030-01-01T10:00:00Z") { changed } }"#,
            |r| json!({ "c": r.conversation, "cb": r.callback }),
        ),
        op(
            "settleCallback",
            Mutation,
            FreshWithCallback,
            "mutation($c: UUID!, $cb: UUID!) { settleCallback(conversationId: $c, callbackId: $cb,
               outcome: CANCELLED) { changed } }",
            |r| json!({ "c": r.conversation, "cb": r.callback }),
        ),
        op(
            "tagConversation",
            Mutation,
            Fresh,
            r#"mutation($c: UUID!) { tagConversation(conversationId: $c, tag: "vip") { changed } }"#,
            conversation,
        ),
        op(
            "untagConversation",
            Mutation,
            Fresh,
            r#"mutation($c: UUID!) { untagConversation(conversationId: $c, tag: "vip") { changed } }"#,
            conversation,
        ),
        op(
            "createInbox",
            Mutation,
            Standing,
            r#"mutation { createInbox(input: {settings: {title: "Another"}}) { inboxId } }"#,
            none,
        ),
        op(
            "updateInbox",
            Mutation,
            Standing,
            r#"mutation($i: UUID!) { updateInbox(inboxId: $i, settings: {title: "Spare"}) { changed } }"#,
            |r| json!({ "i": r.spare_inbox }),
        ),
        op(
            "rotateWidgetToken",
            Mutation,
            Standing,
            "mutation($i: UUID!) { rotateWidgetToken(inboxId: $i) { inboxId } }",
            |r| json!({ "i": r.spare_inbox }),
        ),
        op(
            "rotateIdentitySecret",
            Mutation,
            Standing,
            "mutation($i: UUID!) { rotateIdentitySecret(inboxId: $i) { inboxId } }",
            |r| json!({ "i": r.spare_inbox }),
        ),
        op(
            "setInboxActive",
            Mutation,
            Standing,
            "mutation($i: UUID!) { setInboxActive(inboxId: $i, active: true) { changed } }",
            |r| json!({ "i": r.spare_inbox }),
        ),
        op(
            "registerOperator",
            Mutation,
            Standing,
            r#"mutation { registerOperator(input: {profile: {name: "New", roles: [MODERATOR]}}) { changed } }"#,
            none,
        ),
        op(
            "updateOperator",
            Mutation,
            Standing,
            r#"mutation($o: UUID!) { updateOperator(operatorId: $o, profile: {name: "Analyst", roles: [ANALYST]}) { changed } }"#,
            |r| json!({ "o": r.analyst }),
        ),
        op(
            "setOperatorStatus",
            Mutation,
            Standing,
            "mutation { setOperatorStatus(status: AWAY) { changed } }",
            none,
        ),
        op(
            "signIn",
            Mutation,
            Standing,
            r#"mutation($e: String!) { signIn(email: $e, password: "not the one") { accessToken } }"#,
            // A new unknown address each time: five failures would lock one.
            |_| json!({ "e": format!("{}@example.com", Uuid::now_v7()) }),
        ),
        op(
            "refreshSession",
            Mutation,
            Standing,
            "mutation { refreshSession { accessToken } }",
            none,
        ),
        op("signOut", Mutation, Standing, "mutation { signOut }", none),
        op(
            "acceptInvitation",
            Mutation,
            Standing,
            r#"mutation { acceptInvitation(token: "forged", password: "long enough password") { accessToken } }"#,
            none,
        ),
        op(
            "requestPasswordReset",
            Mutation,
            Standing,
            r#"mutation { requestPasswordReset(email: "nobody@example.com") }"#,
            none,
        ),
        op(
            "resetPassword",
            Mutation,
            Standing,
            r#"mutation { resetPassword(token: "forged", password: "long enough password") { accessToken } }"#,
            none,
        ),
        op(
            "inviteOperator",
            Mutation,
            Standing,
            r#"mutation { inviteOperator(input: {email: "invitee@example.com",
               profile: {name: "Invitee", roles: [MODERATOR]}}) { operatorId } }"#,
            none,
        ),
        op(
            "deactivateOperator",
            Mutation,
            Standing,
            r#"mutation { deactivateOperator(operatorId: "00000000-0000-0000-0000-0000000000aa") { changed } }"#,
            none,
        ),
        op(
            "reactivateOperator",
            Mutation,
            Standing,
            r#"mutation { reactivateOperator(operatorId: "00000000-0000-0000-0000-0000000000aa") { changed } }"#,
            none,
        ),
        op(
            "registerWebhookEndpoint",
            Mutation,
            Standing,
            r#"mutation($i: UUID!) { registerWebhookEndpoint(input: {inboxId: $i,
               url: "https://hooks.example.com/a", eventTypes: [CONVERSATION_CREATED]}) { endpointId } }"#,
            |r| json!({ "i": r.inbox }),
        ),
        op(
            "updateWebhookEndpoint",
            Mutation,
            Standing,
            r#"mutation($e: UUID!) { updateWebhookEndpoint(endpointId: $e, input: {
               url: "https://hooks.example.com/b", eventTypes: [CONVERSATION_CREATED]}) { changed } }"#,
            |r| json!({ "e": r.endpoint }),
        ),
        op(
            "disableWebhookEndpoint",
            Mutation,
            Standing,
            "mutation($e: UUID!) { disableWebhookEndpoint(endpointId: $e) { changed } }",
            |r| json!({ "e": r.endpoint }),
        ),
        op(
            "enableWebhookEndpoint",
            Mutation,
            Standing,
            "mutation($e: UUID!) { enableWebhookEndpoint(endpointId: $e) { changed } }",
            |r| json!({ "e": r.endpoint }),
        ),
        op(
            "rotateWebhookSecret",
            Mutation,
            Standing,
            "mutation($e: UUID!) { rotateWebhookSecret(endpointId: $e) { endpointId } }",
            |r| json!({ "e": r.endpoint }),
        ),
        op(
            "redeliverWebhook",
            Mutation,
            Standing,
            "mutation($d: UUID!) { redeliverWebhook(deliveryId: $d) { id } }",
            |_| json!({ "d": Uuid::now_v7() }),
        ),
        op(
            "contactData",
            Query,
            Standing,
            "query($c: UUID!) { contactData(contactId: $c) }",
            |_| json!({ "c": Uuid::now_v7() }),
        ),
        op(
            "eraseContact",
            Mutation,
            Standing,
            "mutation($c: UUID!) { eraseContact(contactId: $c) { newlyErased } }",
            |_| json!({ "c": Uuid::now_v7() }),
        ),
        op(
            "createTelegramLink",
            Mutation,
            Standing,
            "mutation { createTelegramLink { token } }",
            none,
        ),
        op(
            "unlinkTelegram",
            Mutation,
            Standing,
            "mutation { unlinkTelegram }",
            none,
        ),
        op(
            "linkTelegram",
            Mutation,
            Shared,
            "mutation($c: UUID!) { linkTelegram(conversationId: $c) { token } }",
            conversation,
        ),
        op(
            "inboxListChanged",
            Subscription,
            Standing,
            "subscription { inboxListChanged { kind counts { all } } }",
            none,
        ),
        op(
            "inboxChanged",
            Subscription,
            Standing,
            "subscription { inboxChanged { id } }",
            none,
        ),
        op(
            "unreadChanged",
            Subscription,
            Standing,
            "subscription { unreadChanged { total } }",
            none,
        ),
        op(
            "startConversationWithContact",
            Mutation,
            Standing,
            r#"mutation($i: UUID!) { startConversationWithContact(input: {contactId: "00000000-0000-0000-0000-00000000dead", inboxId: $i, body: "Hello"}) { conversationId } }"#,
            |r| json!({ "i": r.inbox }),
        ),
        op(
            "myConversationChanged",
            Subscription,
            Standing,
            "subscription { myConversationChanged { id } }",
            none,
        ),
        op(
            "messagePosted",
            Subscription,
            Shared,
            "subscription($c: UUID!) { messagePosted(conversationId: $c, afterPosition: 0) { id } }",
            conversation,
        ),
        op(
            "typing",
            Subscription,
            Shared,
            "subscription($c: UUID!) { typing(conversationId: $c) { typing } }",
            conversation,
        ),
    ]
}

/// `ACCESS.md`'s table: operation → caller → expected outcome.
fn documented() -> BTreeMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../ACCESS.md"))
        .expect("ACCESS.md at the workspace root");
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`').to_owned())
            .collect()
    };
    let mut lines = text.lines().skip_while(|l| !l.starts_with("| operation |"));
    let header = cells(lines.next().expect("the table's header"));
    assert_eq!(header[1..], CALLERS, "ACCESS.md's columns");
    lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let row = cells(line);
            assert_eq!(row.len(), header.len(), "ACCESS.md row: {line}");
            let outcomes = header[1..].iter().cloned().zip(row[1..].iter().cloned());
            (row[0].clone(), outcomes.collect())
        })
        .collect()
}

/// The outcome of an HTTP response: `✓`, or the first error's code.
fn outcome(response: &Value) -> String {
    match response.get("errors") {
        None => "✓".into(),
        Some(errors) => errors[0]["extensions"]["code"]
            .as_str()
            .unwrap_or("(no code)")
            .to_owned(),
    }
}

struct Fixture {
    server: TestServer,
    admin: String,
    tokens: BTreeMap<&'static str, Option<String>>,
    moderator: Uuid,
    analyst: Uuid,
    widget_token: String,
    inbox: String,
    spare_inbox: String,
    endpoint: String,
    shared: Started,
    other_session: String,
}

struct Started {
    conversation: String,
    session: String,
}

impl Fixture {
    async fn start(&self) -> Started {
        let data = self
            .server
            .graphql_ok(
                r#"mutation($t: String!) { startConversation(input: {widgetToken: $t, name: "Olena",
                   message: "Where is my order?"}) { conversationId sessionToken } }"#,
                json!({ "t": self.widget_token }),
                None,
            )
            .await;
        Started {
            conversation: data["startConversation"]["conversationId"]
                .as_str()
                .unwrap()
                .to_owned(),
            session: data["startConversation"]["sessionToken"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }

    /// A new conversation assigned to the assigned moderator, set up for `target`.
    async fn fresh(&self, target: Target) -> (Started, Option<String>) {
        let started = self.start().await;
        self.server
            .graphql_ok(
                "mutation($c: UUID!, $m: UUID!) { assignConversation(conversationId: $c, operatorId: $m) { changed } }",
                json!({ "c": started.conversation, "m": self.moderator }),
                Some(&self.admin),
            )
            .await;
        let callback = match target {
            Target::FreshWithCallback => {
                let data = self
                    .server
                    .graphql_ok(
                        r#"mutation($c: UUID!) { requestCallback(input: {conversationId: $c,
                           phone: "+380441234567", consent: {textVersion: "privacy-1", accepted: true}}) { callbackId } }"#,
                        json!({ "c": started.conversation }),
                        Some(&started.session),
                    )
                    .await;
                data["requestCallback"]["callbackId"]
                    .as_str()
                    .map(str::to_owned)
            }
            Target::FreshResolved => {
                self.server
                    .graphql_ok(
                        "mutation($c: UUID!) { changeConversationStatus(conversationId: $c, status: RESOLVED) { changed } }",
                        json!({ "c": started.conversation }),
                        Some(&self.admin),
                    )
                    .await;
                None
            }
            _ => None,
        };
        (started, callback)
    }

    /// Runs `operation` as `caller` and says what came of it.
    async fn run(&self, operation: &Operation, caller: &str) -> String {
        let (target, callback) = match operation.target {
            Target::Fresh | Target::FreshWithCallback | Target::FreshResolved => {
                let (started, callback) = self.fresh(operation.target).await;
                (started, callback)
            }
            _ => (
                Started {
                    conversation: self.shared.conversation.clone(),
                    session: self.shared.session.clone(),
                },
                None,
            ),
        };
        let token = match caller {
            "own session" => Some(target.session.clone()),
            other => self.tokens[other].clone(),
        };
        let refs = Refs {
            conversation: target.conversation.clone(),
            callback,
            moderator: self.moderator,
            analyst: self.analyst,
            widget_token: self.widget_token.clone(),
            inbox: self.inbox.clone(),
            spare_inbox: self.spare_inbox.clone(),
            endpoint: self.endpoint.clone(),
        };
        let variables = (operation.variables)(&refs);
        if operation.kind != Kind::Subscription {
            let response = self
                .server
                .graphql(operation.document, variables, token.as_deref())
                .await;
            return outcome(&response);
        }
        let mut ws = WsClient::connect(&self.server.ws_url(), token.as_deref())
            .await
            .expect("the WebSocket connects");
        let id = ws.subscribe(operation.document, variables).await.unwrap();
        // Give every allowed subscription something to send: a reply (message, inbox row,
        // unread count) and typing on the shared conversation.
        self.server
            .graphql_ok(
                r#"mutation($c: UUID!) { replyToConversation(input: {conversationId: $c, body: "Still there?"}) { id }
                   setTyping(conversationId: $c, typing: true) }"#,
                json!({ "c": self.shared.conversation }),
                Some(&self.admin),
            )
            .await;
        match ws.first_message(&id, QUIET).await.unwrap() {
            None => "✓".into(),
            Some(message) => match message["type"].as_str() {
                Some("next") => outcome(&message["payload"]),
                Some("error") => message["payload"][0]["extensions"]["code"]
                    .as_str()
                    .unwrap_or("(no code)")
                    .to_owned(),
                _ => format!("unexpected {message}"),
            },
        }
    }
}

async fn fixture(connect: PgConnectOptions) -> Fixture {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool, ALL).await;
    let admin = server.operator_token();
    let (_, admin_registered) = server
        .register_operator("Admin", vec![Role::Admin], None, None)
        .await;
    let (_, manager) = server
        .register_operator("Manager", vec![Role::Manager], None, None)
        .await;
    let (moderator, assigned) = server
        .register_operator("Moderator", vec![Role::Moderator], None, None)
        .await;
    let (_, not_assigned) = server
        .register_operator("Other moderator", vec![Role::Moderator], None, None)
        .await;
    let (analyst, analyst_token) = server
        .register_operator("Analyst", vec![Role::Analyst], None, None)
        .await;
    let (_, auditor) = server
        .register_operator("Auditor", vec![Role::Auditor], None, None)
        .await;
    let inbox = server
        .graphql_ok(
            r#"mutation { createInbox(input: {settings: {title: "Support", rating: CSAT}}) { inboxId widgetToken } }"#,
            json!({}),
            Some(&admin),
        )
        .await["createInbox"]
        .clone();
    let spare = server
        .graphql_ok(
            r#"mutation { createInbox(input: {settings: {title: "Spare"}}) { inboxId } }"#,
            json!({}),
            Some(&admin),
        )
        .await["createInbox"]["inboxId"]
        .as_str()
        .unwrap()
        .to_owned();
    let inbox_id = inbox["inboxId"].as_str().unwrap().to_owned();
    let endpoint = server
        .graphql_ok(
            r#"mutation($i: UUID!) { registerWebhookEndpoint(input: {inboxId: $i,
               url: "https://hooks.example.com/standing", eventTypes: [CONVERSATION_CREATED]}) { endpointId } }"#,
            json!({ "i": inbox_id }),
            Some(&admin),
        )
        .await["registerWebhookEndpoint"]["endpointId"]
        .as_str()
        .unwrap()
        .to_owned();
    // The widget token works once the inboxes reach the read side.
    switchboard_tests::eventually(Duration::from_secs(60), || async {
        let listed = server
            .graphql_ok("{ inboxes { id } }", json!({}), Some(&admin))
            .await;
        (listed["inboxes"].as_array().unwrap().len() == 2).then_some(())
    })
    .await;
    let mut fixture = Fixture {
        server,
        admin: admin.clone(),
        tokens: BTreeMap::new(),
        moderator,
        analyst,
        widget_token: inbox["widgetToken"].as_str().unwrap().to_owned(),
        inbox: inbox_id,
        spare_inbox: spare,
        endpoint,
        shared: Started {
            conversation: String::new(),
            session: String::new(),
        },
        other_session: String::new(),
    };
    // The shared conversation, assigned to the moderator and projected as such (the read
    // side decides what a moderator may see); and another visitor's.
    let (shared, _) = fixture.fresh(Target::Fresh).await;
    let assignee = moderator.to_string();
    conversation_when(&fixture.server, &admin, &shared.conversation, |c| {
        c["assigneeId"] == assignee.as_str()
    })
    .await;
    fixture.other_session = fixture.start().await.session;
    fixture.shared = shared;
    fixture.tokens = BTreeMap::from([
        ("anonymous", None),
        ("other session", Some(fixture.other_session.clone())),
        ("admin", Some(admin_registered)),
        ("manager", Some(manager)),
        ("moderator (assigned)", Some(assigned)),
        ("moderator (not assigned)", Some(not_assigned)),
        ("analyst", Some(analyst_token)),
        ("auditor", Some(auditor)),
    ]);
    fixture
}

#[sqlx::test(migrations = "../migrations")]
async fn every_operation_as_every_caller_is_exactly_as_access_md_says(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let fixture = fixture(connect).await;
    let table = documented();
    let operations = operations();

    // Every root field of the schema has a row, and every row an operation here (deprecated
    // fields too: they still answer).
    let schema = fixture
        .server
        .graphql_ok(
            "{ __schema { queryType { fields(includeDeprecated: true) { name } }
               mutationType { fields(includeDeprecated: true) { name } }
               subscriptionType { fields(includeDeprecated: true) { name } } } }",
            json!({}),
            None,
        )
        .await;
    let mut fields: Vec<String> = ["queryType", "mutationType", "subscriptionType"]
        .iter()
        .flat_map(|t| schema["__schema"][t]["fields"].as_array().unwrap().clone())
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    let mut rows: Vec<String> = table.keys().cloned().collect();
    rows.sort();
    assert_eq!(rows, fields, "ACCESS.md's rows against the schema's fields");
    // An operation may be run more than once, in different ways, against its one row.
    let mut tested: Vec<String> = operations.iter().map(|o| o.name.to_owned()).collect();
    tested.sort();
    tested.dedup();
    assert_eq!(tested, fields, "this test's operations against the schema");

    let mut mismatches = Vec::new();
    for operation in &operations {
        for caller in CALLERS {
            let expected = &table[operation.name][caller];
            let actual = fixture.run(operation, caller).await;
            if &actual != expected {
                mismatches.push(format!(
                    "{} as {caller}: ACCESS.md says {expected}, got {actual}",
                    operation.name
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} cells differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    fixture.server.stop().await;
}

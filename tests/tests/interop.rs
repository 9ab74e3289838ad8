//! Third-party WebSocket clients against the real server: the npm `graphql-ws` client (the
//! reference implementation of graphql-transport-ws) and the npm `subscriptions-transport-ws`
//! client (the legacy `graphql-ws` protocol), each run under node, subscribe to
//! `messagePosted` with the token in `connection_init`, as the widget session and as an
//! operator, and receive the conversation's messages in order: the first one replayed from
//! `afterPosition: 0`, the next one live.
//!
//! Needs node and the scripts' packages: `npm ci --prefix tests/interop` (`make test` runs it).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{create_inbox, SEND, START};
use switchboard_tests::{pool_for, test_settings, TestServer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use uuid::Uuid;

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];
/// Longer than the scripts' own 30 s timeout, so a stuck script reports its reason first.
const WAIT: Duration = Duration::from_secs(60);

/// The graphql-transport-ws client, `graphql-ws` on npm.
const GRAPHQL_WS: &str = "subscribe.mjs";
/// The legacy `graphql-ws` protocol's client, `subscriptions-transport-ws` on npm.
const SUBSCRIPTIONS_TRANSPORT_WS: &str = "subscribe-legacy.mjs";

#[sqlx::test(migrations = "../migrations")]
async fn the_graphql_ws_npm_client_receives_messages(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    widget_and_operator_receive_both_messages(GRAPHQL_WS, connect).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn the_subscriptions_transport_ws_npm_client_receives_messages(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    widget_and_operator_receive_both_messages(SUBSCRIPTIONS_TRANSPORT_WS, connect).await;
}

/// Given a conversation started with a first message, when `script` subscribes as the widget
/// session and as an operator and the visitor then sends a second message, then each
/// subscriber prints exactly those two messages, in order, and exits 0.
async fn widget_and_operator_receive_both_messages(script: &str, connect: PgConnectOptions) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool, ALL).await;
    let operator = server.operator_token();
    let (_, widget_token) = create_inbox(&server, &operator, "Support").await;
    let started = server
        .graphql_ok(
            START,
            json!({ "input": {
                "widgetToken": widget_token,
                "name": "Olena",
                "message": "Hello, is anyone there?",
            }}),
            None,
        )
        .await["startConversation"]
        .clone();
    let conversation_id = started["conversationId"].as_str().unwrap();
    let session = started["sessionToken"].as_str().unwrap();
    let first_id = &started["message"]["id"];

    let mut subscribers = Vec::new();
    for (who, token) in [("widget", session), ("operator", operator.as_str())] {
        let subscriber =
            NodeSubscriber::spawn(script, who, &server.ws_url(), token, conversation_id, 2);
        subscribers.push(subscriber);
    }

    // The first message arrives through the replay after position 0, which also shows the
    // subscription is live: the server listens for changes before it reads the replay.
    for subscriber in &mut subscribers {
        assert_eq!(
            subscriber.next_payload().await,
            json!({ "data": { "messagePosted": {
                "id": first_id, "body": "Hello, is anyone there?",
            }}}),
            "{}",
            subscriber.name,
        );
    }

    let sent = server
        .graphql_ok(
            SEND,
            json!({ "input": {
                "conversationId": conversation_id,
                "body": "Where is my order #1042?",
                "clientMessageId": Uuid::now_v7(),
            }}),
            Some(session),
        )
        .await;
    let second_id = &sent["sendMessage"]["id"];
    assert_ne!(second_id, first_id);

    for mut subscriber in subscribers {
        assert_eq!(
            subscriber.next_payload().await,
            json!({ "data": { "messagePosted": {
                "id": second_id, "body": "Where is my order #1042?",
            }}}),
            "{}",
            subscriber.name,
        );
        subscriber.exits_cleanly().await;
    }
    server.stop().await;
}

/// One of tests/interop's scripts, running under node: one JSON line on stdout per `next`
/// payload; exit 0 after the expected count, or 1 with the reason on stderr.
struct NodeSubscriber {
    /// Which script as whom, for failure messages.
    name: String,
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl NodeSubscriber {
    fn spawn(
        script: &str,
        who: &str,
        url: &str,
        token: &str,
        conversation_id: &str,
        count: usize,
    ) -> Self {
        let dir = interop_dir();
        let mut child = Command::new("node")
            .arg(dir.join(script))
            .args([url, token, conversation_id, &count.to_string()])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run `node` ({err}): install Node.js 20 or later"));
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        Self {
            name: format!("{script} as the {who}"),
            child,
            stdout,
        }
    }

    /// The next payload the script printed; panics with the script's stderr if it ended.
    async fn next_payload(&mut self) -> Value {
        let line = tokio::time::timeout(WAIT, self.stdout.next_line())
            .await
            .unwrap_or_else(|_| panic!("{}: no message within {WAIT:?}", self.name))
            .expect("reading the script's stdout");
        match line {
            Some(line) => serde_json::from_str(&line)
                .unwrap_or_else(|err| panic!("{}: not JSON ({err}): {line}", self.name)),
            None => {
                let stderr = self.stderr().await;
                panic!("{} ended early: {stderr}", self.name)
            }
        }
    }

    /// Waits for the script to exit after its last message; panics unless it exits 0.
    async fn exits_cleanly(mut self) {
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{}: did not exit within {WAIT:?}", self.name))
            .expect("waiting for the script");
        if !status.success() {
            let stderr = self.stderr().await;
            panic!("{} exited with {status}: {stderr}", self.name);
        }
        assert_eq!(
            self.stdout.next_line().await.unwrap(),
            None,
            "{}",
            self.name
        );
    }

    async fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut text).await.ok();
        }
        text
    }
}

/// tests/interop, once its packages are installed; fails with how to install them otherwise.
fn interop_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop");
    for package in ["graphql-ws", "subscriptions-transport-ws", "ws"] {
        assert!(
            dir.join("node_modules").join(package).is_dir(),
            "{} has no node_modules/{package}: run `npm ci --prefix tests/interop` \
             from the workspace root (`make test` does)",
            dir.display(),
        );
    }
    dir
}

//! `switchboard serve` as a child process of its own, as production runs it, so its resident
//! memory is its own and the bench's clients compete with it only for the CPU.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use switchboard_domain::operator::Role;
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::Options;

/// The secret the child signs tokens with; the bench issues tokens with the same one.
const SECRET: &str = "bench-secret-bench-secret-bench-secret-0123456789";

/// A conversation a widget started.
#[derive(Debug, Clone)]
pub struct Started {
    pub conversation_id: String,
    /// The widget session's token.
    pub session: String,
    /// The position of its first message: a subscription from there misses nothing.
    pub first_position: i64,
}

pub struct Server {
    child: Child,
    pub base: String,
    pub ws_url: String,
    /// An admin operator's token.
    pub admin: String,
    pub http: reqwest::Client,
    pub log_path: PathBuf,
}

/// The `switchboard` binary next to this one (`cargo build --release` builds both).
fn binary(options: &Options) -> PathBuf {
    options.switchboard_bin.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .expect("the bench knows where it is")
            .with_file_name("switchboard")
    })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Server {
    /// Starts `switchboard serve` on database `url` with a topic of its own and waits until
    /// `/readyz` answers 200.
    pub async fn start(options: &Options, url: &str) -> anyhow::Result<Self> {
        let port = free_port()?;
        let unique = Uuid::now_v7().simple().to_string();
        let log_path = std::env::temp_dir().join(format!("switchboard-bench-{unique}.log"));
        let log = std::fs::File::create(&log_path)?;
        let bin = binary(options);
        let child = Command::new(&bin)
            .arg("serve")
            .env("SWITCHBOARD_DATABASE_URL", url)
            .env("SWITCHBOARD_KAFKA_BROKERS", &options.brokers)
            .env(
                "SWITCHBOARD_KAFKA_TOPIC",
                format!("switchboard-bench-{unique}"),
            )
            .env(
                "SWITCHBOARD_KAFKA_GROUP_PREFIX",
                format!("switchboard-bench-{unique}"),
            )
            .env("SWITCHBOARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("SWITCHBOARD_JWT_SECRET", SECRET)
            // Every request comes from this one address, thousands a second: the abuse limits
            // (SEC-2) would measure themselves, not the service.
            .env("SWITCHBOARD_RATE_LIMIT_PER_IP", "0")
            .env("SWITCHBOARD_RATE_LIMIT_PER_WIDGET", "0")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (build it: cargo build --release)",
                    bin.display()
                )
            })?;
        let auth = switchboard_api::auth::Auth::new(SECRET, Duration::from_secs(3600))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            ws_url: format!("ws://127.0.0.1:{port}/graphql"),
            admin: auth.issue_operator(
                Uuid::now_v7(),
                vec![Role::Admin],
                Duration::from_secs(3600),
            ),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()?,
            log_path,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "switchboard exited with {status}; its log: {}",
                    server.log_path.display()
                );
            }
            let ready = server
                .http
                .get(format!("{}/readyz", server.base))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!(
                    "switchboard was not ready within a minute; its log: {}",
                    server.log_path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The child's resident memory now, in KiB (`VmRSS` of `/proc/<pid>/status`).
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let pid = self.child.id().context("the server has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmRSS in /proc/<pid>/status")
    }

    /// A GraphQL request; its `data`, or an error naming the response's errors.
    pub async fn graphql(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response: Value = request.send().await?.json().await?;
        if let Some(errors) = response.get("errors") {
            bail!("GraphQL errors: {errors}");
        }
        Ok(response["data"].clone())
    }

    /// Creates an inbox and waits until the API knows it; its widget token.
    pub async fn inbox(&self) -> anyhow::Result<String> {
        let data = self
            .graphql(
                "mutation($input: CreateInboxInput!) { createInbox(input: $input) { inboxId widgetToken } }",
                json!({ "input": { "settings": { "title": "Bench" } } }),
                Some(&self.admin),
            )
            .await?;
        let id = data["createInbox"]["inboxId"].clone();
        let token = data["createInbox"]["widgetToken"]
            .as_str()
            .context("no widget token")?
            .to_owned();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let listed = self
                .graphql("{ inboxes { id } }", json!({}), Some(&self.admin))
                .await?;
            if listed["inboxes"]
                .as_array()
                .is_some_and(|a| a.iter().any(|i| i["id"] == id))
            {
                return Ok(token);
            }
            if Instant::now() > deadline {
                bail!("the inbox was never projected");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts a conversation in the inbox of `widget_token`: its id, the session token and the
    /// position of its first message.
    pub async fn conversation(&self, widget_token: &str, i: usize) -> anyhow::Result<Started> {
        let data = self
            .graphql(
                "mutation($input: StartConversationInput!) { startConversation(input: $input) { conversationId sessionToken message { position } } }",
                json!({ "input": {
                    "widgetToken": widget_token,
                    "name": format!("Visitor {i}"),
                    "email": format!("visitor{i}@example.com"),
                    "message": "Hello, I have a question about my order",
                } }),
                None,
            )
            .await?;
        let started = &data["startConversation"];
        Ok(Started {
            conversation_id: started["conversationId"]
                .as_str()
                .context("no conversation id")?
                .to_owned(),
            session: started["sessionToken"]
                .as_str()
                .context("no session token")?
                .to_owned(),
            first_position: started["message"]["position"]
                .as_i64()
                .context("no first message")?,
        })
    }

    /// The widget session `session` sends `body`; the message's id.
    pub async fn send(
        &self,
        session: &str,
        conversation_id: &str,
        body: &str,
    ) -> anyhow::Result<String> {
        let data = self
            .graphql(
                "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
                json!({ "input": { "conversationId": conversation_id, "body": body } }),
                Some(session),
            )
            .await?;
        Ok(data["sendMessage"]["id"]
            .as_str()
            .context("no message id")?
            .to_owned())
    }

    /// Stops the server and deletes its log, unless `keep_log` (a scenario saw failures),
    /// whose path it then prints.
    pub async fn stop(mut self, keep_log: bool) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            // SIGTERM: the service shuts down cleanly, committing its consumers' offsets.
            let _ = Command::new("kill").arg(pid.to_string()).status().await;
        }
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        if keep_log {
            eprintln!("the server's log: {}", self.log_path.display());
        } else {
            let _ = std::fs::remove_file(&self.log_path);
        }
        Ok(())
    }
}

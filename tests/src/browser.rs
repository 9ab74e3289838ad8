//! Browser scenarios (issue 20): a node script in `web/tests/` drives Debian's Chromium with
//! Playwright's library against the service this test started; this side answers what the
//! script asks (`@@{"ask": "restart"}`: the service stops and starts again on the same port;
//! `stop` and `start`: the same in two steps, with the script acting in between)
//! and hands back the scenario's result for the checks of the log.
//!
//! Needs node, `/usr/bin/chromium` (or `SB_CHROMIUM`) and `npm ci --prefix web/tests`; `make
//! test` installs all three. Screenshots go to `target/browser/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use switchboard_server::config::Settings;
use switchboard_server::runtime::Component;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use uuid::Uuid;

use crate::TestServer;

/// The longest a scenario may run.
const SCENARIO_LIMIT: Duration = Duration::from_secs(180);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_owned()
}

/// Runs `web/tests/<script> <scenario>` against `server` (restarting it with `settings` and
/// `components` when asked) and returns the scenario's result; panics with the script's
/// output (and where its screenshots are) if it fails.
pub async fn run(
    server: &mut TestServer,
    settings: &Settings,
    components: &[Component],
    script: &str,
    scenario: &str,
) -> Value {
    let dir = workspace().join("web/tests");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "web/tests has no node_modules/playwright-core: run `npm ci --prefix web/tests` (make test does)"
    );
    let admin_id = Uuid::now_v7();
    let admin = crate::operator_token_for(admin_id);
    let mut child = Command::new("node")
        .arg("--experimental-websocket")
        .arg(dir.join(script))
        .arg(scenario)
        .current_dir(workspace())
        .env("SB_API", &server.base)
        .env("SB_ADMIN_TOKEN", &admin)
        .env("SB_ADMIN_ID", admin_id.to_string())
        .env("SB_SCENARIO", scenario)
        .env("SB_BOT_USERNAME", crate::fakes::BOT_USERNAME)
        .env("SB_ARTIFACTS", workspace().join("target/browser"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (make test installs it)");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut result = None;
    let talk = async {
        while let Some(line) = lines.next_line().await.expect("reading the script") {
            let Some(message) = line.strip_prefix("@@") else {
                println!("{line}");
                continue;
            };
            let message: Value = serde_json::from_str(message).expect("a JSON message");
            if let Some(value) = message.get("result") {
                result = Some(value.clone());
            } else if let Some(ask) = message["ask"].as_str() {
                match ask {
                    "restart" => server.restart(settings, components).await,
                    "stop" => server.pause().await,
                    "start" => server.resume(settings, components).await,
                    _ => panic!("the script asked for something unknown: {message}"),
                }
                let answer = format!("{}\n", json!({ "done": true }));
                stdin.write_all(answer.as_bytes()).await.unwrap();
            } else {
                panic!("the script asked for something unknown: {message}");
            }
        }
    };
    let finished = tokio::time::timeout(SCENARIO_LIMIT, talk).await.is_ok();
    if !finished {
        let _ = child.start_kill();
    }
    let status = child.wait().await.expect("waiting for node");
    let output = errors.await.unwrap_or_default();
    eprintln!("{output}");
    assert!(
        finished && status.success(),
        "browser scenario {scenario} failed ({status}{}); its output is above, its screenshots in target/browser/",
        if finished { "" } else { ", timed out" }
    );
    result.unwrap_or_else(|| panic!("scenario {scenario} gave no result"))
}

//! Scenario 6: the website widget (issue 20), in Debian's Chromium driven by Playwright's
//! library (`web/tests/bench-widget.mjs`; `make test` installs both, `npm ci --prefix
//! web/tests`): its size gzipped, the time from the script's request to the button shown, and
//! an operator's reply from its mutation to its text in the visitor's page, next to the same
//! reply received in the same page (one clock) by two plain graphql-transport-ws clients of the
//! same session: one asking for the body only, one with the widget's query.

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::process::Command;

use crate::report::{round, summary, table};
use crate::server::Server;
use crate::{db, Options};

/// The widget's budget with everything it loads (issue 20).
const GZIP_BUDGET: u64 = 30 * 1024;

pub async fn run(options: &Options) -> anyhow::Result<()> {
    let (replies, loads) = if options.quick { (10, 2) } else { (300, 15) };
    let name = "switchboard_bench_widget";
    let url = db::fresh(&options.database_url, name).await?;
    let server = Server::start(options, &url).await?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../web/tests/bench-widget.mjs")
        .canonicalize()
        .context("web/tests/bench-widget.mjs")?;
    let output = Command::new("node")
        .arg("--experimental-websocket")
        .arg(&script)
        .current_dir(script.parent().unwrap())
        .env("SB_API", &server.base)
        .env("SB_ADMIN_TOKEN", &server.admin)
        .env("SB_REPLIES", replies.to_string())
        .env("SB_LOADS", loads.to_string())
        .env("SB_SCENARIO", "bench-widget")
        .output()
        .await
        .context("running node (make test installs it, and npm ci --prefix web/tests)")?;
    server.stop(false).await?;
    db::drop(&options.database_url, name).await?;
    if !output.status.success() {
        bail!(
            "the widget bench failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let figures: Value = serde_json::from_slice(&output.stdout).context("its JSON line")?;
    let gzip = figures["gzipBytes"].as_u64().unwrap_or(u64::MAX);
    let ms = |path: &str, q: &str| figures[path][q].as_f64().unwrap_or(f64::NAN);
    table(
        "widget: size, script to button, and a reply from the operator's mutation to the page",
        &["measure", "p50 ms", "p99 ms", "n", "target"],
        &[
            vec![
                "widget.js gzipped (KiB)".into(),
                format!("{:.1}", gzip as f64 / 1024.0),
                String::new(),
                "1".into(),
                "<= 30".into(),
            ],
            vec![
                "script request -> button".into(),
                format!("{:.1}", ms("boot", "p50")),
                format!("{:.1}", ms("boot", "p99")),
                figures["boot"]["n"].to_string(),
                "<= 100".into(),
            ],
            vec![
                "reply -> text in the widget".into(),
                format!("{:.1}", ms("widget", "p50")),
                format!("{:.1}", ms("widget", "p99")),
                figures["widget"]["n"].to_string(),
                String::new(),
            ],
            vec![
                "reply -> plain graphql-ws client".into(),
                format!("{:.1}", ms("plain", "p50")),
                format!("{:.1}", ms("plain", "p99")),
                figures["plain"]["n"].to_string(),
                String::new(),
            ],
            vec![
                "widget's query minus body only".into(),
                format!("{:.1}", ms("queryMinusMinimal", "p50")),
                format!("{:.1}", ms("queryMinusMinimal", "p99")),
                figures["queryMinusMinimal"]["n"].to_string(),
                String::new(),
            ],
            vec![
                "widget minus its query, plain".into(),
                format!("{:.1}", ms("widgetMinusPlain", "p50")),
                format!("{:.1}", ms("widgetMinusPlain", "p99")),
                figures["widgetMinusPlain"]["n"].to_string(),
                "a few ms".into(),
            ],
        ],
    );
    summary(
        "widget",
        json!({
            "gzip_bytes": gzip,
            "raw_bytes": figures["rawBytes"],
            "boot_p50_ms": round(ms("boot", "p50")),
            "reply_widget_p50_ms": round(ms("widget", "p50")),
            "reply_widget_p99_ms": round(ms("widget", "p99")),
            "reply_plain_p50_ms": round(ms("plain", "p50")),
            "reply_plain_p99_ms": round(ms("plain", "p99")),
            "widget_minus_plain_p50_ms": round(ms("widgetMinusPlain", "p50")),
            "widget_minus_plain_p99_ms": round(ms("widgetMinusPlain", "p99")),
            "query_minus_minimal_p50_ms": round(ms("queryMinusMinimal", "p50")),
        }),
    );
    if gzip > GZIP_BUDGET {
        bail!("widget.js is {gzip} bytes gzipped, over its budget of {GZIP_BUDGET}");
    }
    Ok(())
}

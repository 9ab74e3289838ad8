//! Scenario 7: the operator console (issue 21). Its first load as a browser gets it (the bytes
//! of `/`, `/console.js` and `/console.css` as served, gzipped) and the time from navigation
//! to the inbox's first row shown, in Debian's Chromium (`web/tests/bench-console.mjs`, after a
//! real sign-in, so each load includes the refresh through the cookie); and the inbox query's
//! server time over `conversations` conversations (100,000 by default), next to the same
//! page's SQL run directly on PostgreSQL in the same run (its floor).
//!
//! The conversations are copies, in the read table, of one conversation started through the
//! API: the inbox reads only that table, and 100,000 starts through the API would measure the
//! write path for minutes instead.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::process::Command;

use crate::report::{median, round, summary, table};
use crate::server::Server;
use crate::{db, Options};

const INBOX: &str = "query($after: String, $search: String) { inbox(first: 50, after: $after, filter: { search: $search }) {
    nodes { id status priority contact { name } lastMessage { body } assigneeId unreadCount }
    pageInfo { endCursor hasNextPage } } }";

pub async fn run(options: &Options) -> anyhow::Result<()> {
    let (conversations, loads, queries) = if options.quick {
        (2_000, 2, 5)
    } else {
        (options.console_conversations, 10, 50)
    };
    let name = "switchboard_bench_console";
    let url = db::fresh(&options.database_url, name).await?;
    let server = Server::start(options, &url).await?;
    let pool = db::pool(&url, 4).await?;
    let widget_token = server.inbox().await?;
    server
        .graphql(
            "mutation($input: StartConversationInput!) { startConversation(input: $input) { conversationId } }",
            json!({ "input": { "widgetToken": widget_token, "name": "Olena Bench", "message": "Where is my order?" } }),
            None,
        )
        .await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while sqlx::query_scalar::<_, i64>("select count(*) from inbox_conversations")
        .fetch_one(&pool)
        .await?
        == 0
    {
        if Instant::now() > deadline {
            bail!("the conversation never reached the inbox");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seed(&pool, conversations - 1).await?;

    // The inbox query: the first page, the next one (keyset), and a search.
    let mut first = Vec::new();
    let mut next = Vec::new();
    let mut search = Vec::new();
    let mut floor = Vec::new();
    for _ in 0..queries {
        let started = Instant::now();
        let page = server
            .graphql(INBOX, json!({}), Some(&server.admin))
            .await?;
        first.push(started.elapsed().as_secs_f64() * 1000.0);
        let cursor = page["inbox"]["pageInfo"]["endCursor"].clone();
        let started = Instant::now();
        server
            .graphql(INBOX, json!({ "after": cursor }), Some(&server.admin))
            .await?;
        next.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        server
            .graphql(INBOX, json!({ "search": "Olena" }), Some(&server.admin))
            .await?;
        search.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        sqlx::query(
            "select * from inbox_conversations
             order by last_activity_at desc, conversation_id desc limit 51",
        )
        .fetch_all(&pool)
        .await?;
        floor.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../web/tests/bench-console.mjs")
        .canonicalize()
        .context("web/tests/bench-console.mjs")?;
    let output = Command::new("node")
        .arg("--experimental-websocket")
        .arg(&script)
        .current_dir(script.parent().unwrap())
        .env("SB_API", &server.base)
        .env("SB_ADMIN_TOKEN", &server.admin)
        .env("SB_LOADS", loads.to_string())
        .env("SB_SCENARIO", "bench-console")
        .output()
        .await
        .context("running node (make test installs it, and npm ci --prefix web/tests)")?;
    server.stop(false).await?;
    pool.close().await;
    db::drop(&options.database_url, name).await?;
    if !output.status.success() {
        bail!(
            "the console bench failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let figures: Value = serde_json::from_slice(&output.stdout).context("its JSON line")?;
    let ms = |path: &str, q: &str| figures[path][q].as_f64().unwrap_or(f64::NAN);
    let (first, next, search, floor) = (
        median(&first),
        median(&next),
        median(&search),
        median(&floor),
    );
    table(
        &format!("console: first load, and the inbox query over {conversations} conversations"),
        &["measure", "p50", "p99", "n"],
        &[
            vec![
                "first load, gzipped (KiB)".into(),
                format!(
                    "{:.1}",
                    figures["gzipBytes"].as_f64().unwrap_or(0.0) / 1024.0
                ),
                String::new(),
                "1".into(),
            ],
            vec![
                "navigation -> inbox row shown (ms)".into(),
                format!("{:.1}", ms("shown", "p50")),
                format!("{:.1}", ms("shown", "p99")),
                figures["shown"]["n"].to_string(),
            ],
            vec![
                "inbox, first page (ms)".into(),
                format!("{first:.1}"),
                String::new(),
                queries.to_string(),
            ],
            vec![
                "inbox, next page by cursor (ms)".into(),
                format!("{next:.1}"),
                String::new(),
                queries.to_string(),
            ],
            vec![
                "inbox, search by name (ms)".into(),
                format!("{search:.1}"),
                String::new(),
                queries.to_string(),
            ],
            vec![
                "the page's SQL on PostgreSQL (ms)".into(),
                format!("{floor:.1}"),
                String::new(),
                queries.to_string(),
            ],
            vec![
                "first page / SQL floor".into(),
                format!("{:.1}x", first / floor),
                String::new(),
                String::new(),
            ],
        ],
    );
    summary(
        "console",
        json!({
            "conversations": conversations,
            "gzip_bytes": figures["gzipBytes"],
            "raw_bytes": figures["rawBytes"],
            "shown_p50_ms": round(ms("shown", "p50")),
            "shown_p99_ms": round(ms("shown", "p99")),
            "inbox_first_page_p50_ms": round(first),
            "inbox_next_page_p50_ms": round(next),
            "inbox_search_p50_ms": round(search),
            "sql_floor_p50_ms": round(floor),
        }),
    );
    Ok(())
}

/// `copies` more conversations in the read table, copied from the one there with new ids,
/// contacts, names and times (one a minute back), half of them resolved.
async fn seed(pool: &sqlx::PgPool, copies: u64) -> anyhow::Result<()> {
    let columns: Vec<String> = sqlx::query_scalar(
        "select column_name::text from information_schema.columns
         where table_name = 'inbox_conversations' and is_generated = 'NEVER'
         order by ordinal_position",
    )
    .fetch_all(pool)
    .await?;
    let replaced = |column: &str| -> String {
        match column {
            "conversation_id" => "gen_random_uuid()".into(),
            "contact_id" => "gen_random_uuid()".into(),
            "contact_name" => "'Contact ' || n".into(),
            "last_activity_at" => "last_activity_at - make_interval(mins => n::int)".into(),
            "started_at" => "started_at - make_interval(mins => n::int)".into(),
            "status" => "case when n % 2 = 0 then 'resolved' else status end".into(),
            other => other.to_owned(),
        }
    };
    let list = columns.join(", ");
    let values: Vec<String> = columns.iter().map(|c| replaced(c)).collect();
    sqlx::query(&format!(
        "insert into inbox_conversations ({list})
         select {} from (select * from inbox_conversations limit 1) c,
                        generate_series(1, $1::bigint) n",
        values.join(", ")
    ))
    .bind(i64::try_from(copies).unwrap_or(i64::MAX))
    .execute(pool)
    .await?;
    sqlx::query("analyze inbox_conversations")
        .execute(pool)
        .await?;
    Ok(())
}

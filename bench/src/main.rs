//! The `bench` tool (issue 5): Switchboard's figures measured side by side with what
//! PostgreSQL itself allows and with a peer implementation, in one run on one machine.
//!
//! Scenarios: `commands` (writers through the command handlers, against `pgbench` and
//! cqrs-es + postgres-es), `e2e` (widget HTTP → relay → Kafka → projection → operator
//! subscription at fixed rates), `rebuild` (every projection from a million-event log),
//! `subscriptions` (ten thousand open subscriptions and a fan-out to a thousand), `idle`
//! (resident memory after start-up), `widget` (the chat widget in Chromium) and `console` (the
//! operator console's first load in Chromium, and the inbox query over 100,000 conversations). Each prints one JSON line on stdout and a table on
//! stderr. BENCHMARKS.md has the commands, the machine and the figures.
//!
//! Owns nothing the service uses: it drives the service's own crates and its binary.

mod commands;
mod console;
mod db;
mod e2e;
mod peer;
mod rebuild;
mod report;
mod server;
mod subscriptions;
mod widget;

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Commands,
    E2e,
    Rebuild,
    Subscriptions,
    Idle,
    Widget,
    Console,
}

/// Switchboard's benchmarks. Needs PostgreSQL and a Kafka broker (`make services`), and the
/// release `switchboard` binary next to this one (`make bench` builds both).
#[derive(Debug, Parser)]
#[command(name = "bench")]
pub struct Options {
    /// The scenarios to run, in this order; all of them by default.
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,
    /// Seconds, not minutes: tiny sizes, one run each. CI runs this so the bench cannot rot.
    #[arg(long)]
    pub quick: bool,
    /// A database URL whose role may create databases; each scenario makes its own next to it.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://switchboard:switchboard@127.0.0.1:5432/switchboard"
    )]
    pub database_url: String,
    #[arg(
        long,
        env = "SWITCHBOARD_KAFKA_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub brokers: String,
    /// The `switchboard` binary to run; by default the one next to this `bench`.
    #[arg(long)]
    pub switchboard_bin: Option<PathBuf>,
    /// Seconds each timed run lasts (commands, e2e per rate).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Writer counts the commands scenario runs (1, 16 and 64 by default).
    #[arg(long, value_delimiter = ',')]
    pub writers: Vec<usize>,
    /// Group-commit lanes of the commands scenario's event log (0: every append commits on
    /// its own, as before group commit).
    #[arg(long, default_value_t = switchboard_commands::log::DEFAULT_APPEND_LANES)]
    pub append_lanes: usize,
    /// Send rates, messages per second, the e2e scenario runs (100, 500 and 1,000 by default).
    #[arg(long, value_delimiter = ',')]
    pub rates: Vec<u64>,
    /// Runs of each measurement; tables show the median.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Subscriptions the subscriptions scenario opens.
    #[arg(long, default_value_t = 10_000)]
    pub subscriptions: usize,
    /// Events the rebuild scenario puts in the log.
    #[arg(long, default_value_t = 1_000_000)]
    pub rebuild_events: u64,
    /// Conversations in the inbox the console scenario queries.
    #[arg(long, default_value_t = 100_000)]
    pub console_conversations: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut options = Options::parse();
    if options.scenarios.is_empty() {
        options.scenarios = vec![
            Scenario::Idle,
            Scenario::Commands,
            Scenario::E2e,
            Scenario::Subscriptions,
            Scenario::Rebuild,
            Scenario::Widget,
            Scenario::Console,
        ];
    }
    eprintln!("machine: {}", machine());
    for scenario in options.scenarios.clone() {
        match scenario {
            Scenario::Commands => commands::run(&options).await?,
            Scenario::E2e => e2e::run(&options).await?,
            Scenario::Rebuild => rebuild::run(&options).await?,
            Scenario::Subscriptions => subscriptions::run(&options).await?,
            Scenario::Idle => subscriptions::idle(&options).await?,
            Scenario::Widget => widget::run(&options).await?,
            Scenario::Console => console::run(&options).await?,
        }
    }
    Ok(())
}

/// CPU model, core count and memory, for the record.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {memory_gib:.0} GiB")
}

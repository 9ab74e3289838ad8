//! The `switchboard` binary: `serve`, `migrate`, `token`, `replay`. See README.md.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use switchboard_api::auth::{Auth, Role};
use switchboard_api::config::{DatabaseArgs, Settings};
use switchboard_api::runtime::{connect_pool, start, Component};
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Event-sourced customer-support chat backend"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up: the size of the settings does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Runs the service: by default the API, the relay and the projections in one process.
    Serve {
        #[command(flatten)]
        settings: Settings,
        /// Which components this process runs (comma-separated).
        #[arg(
            long,
            env = "SWITCHBOARD_COMPONENTS",
            value_delimiter = ',',
            default_value = "api,relay,projections,scheduler"
        )]
        components: Vec<Component>,
    },
    /// Applies the database migrations (idempotent).
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Issues a token (until operator sign-in exists, this is how operators get one).
    Token {
        #[command(subcommand)]
        kind: TokenKind,
    },
    /// Audit tools over the event log.
    Replay {
        #[command(subcommand)]
        command: ReplayCommand,
    },
}

#[derive(Subcommand)]
enum TokenKind {
    /// An operator token, printed on standard output.
    Operator {
        /// The operator's id (a new one if omitted).
        #[arg(long)]
        id: Option<Uuid>,
        /// The operator's roles (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "admin", value_parser = parse_role)]
        roles: Vec<Role>,
        /// How long the token is valid, in hours.
        #[arg(long, default_value_t = 12)]
        hours: u64,
        #[arg(long, env = "SWITCHBOARD_JWT_SECRET", hide_env_values = true)]
        jwt_secret: String,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| {
        let all: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role `{text}`; one of: {}", all.join(", "))
    })
}

#[derive(Subcommand)]
enum ReplayCommand {
    /// Recomputes every stream's hash chain; exits 1 and names the first broken event of each
    /// broken stream.
    Verify {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Rebuilds a projection from the log into shadow tables and swaps them in atomically,
    /// while the service keeps running; prints progress on standard error.
    Rebuild {
        #[command(flatten)]
        database: DatabaseArgs,
        /// conversations, inboxes, operators or sla.
        #[arg(long)]
        projection: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,rdkafka=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Structured (one JSON object a line) for log shippers; readable text otherwise.
    if std::env::var("SWITCHBOARD_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().init();
    } else {
        logs.init();
    }
    match Cli::parse().command {
        Command::Serve {
            settings,
            components,
        } => {
            tracing::info!("settings:\n{settings}");
            let pool = connect_pool(&settings.database).await?;
            let running = start(&settings, pool, &components).await?;
            running.run_until(shutdown_signal()).await
        }
        Command::Migrate { database } => {
            let pool = connect_pool(&database).await?;
            switchboard_commands::MIGRATOR
                .run(&pool)
                .await
                .context("applying migrations")?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Token {
            kind:
                TokenKind::Operator {
                    id,
                    roles,
                    hours,
                    jwt_secret,
                },
        } => {
            let auth = Auth::new(&jwt_secret, Duration::from_secs(3600))?;
            let token = auth.issue_operator(
                id.unwrap_or_else(Uuid::now_v7),
                roles,
                Duration::from_secs(hours * 3600),
            );
            println!("{token}");
            Ok(())
        }
        Command::Replay {
            command:
                ReplayCommand::Rebuild {
                    database,
                    projection,
                },
        } => {
            let pool = connect_pool(&database).await?;
            let mut last_report = std::time::Instant::now();
            let report = switchboard_api::runtime::rebuild_projection(&pool, &projection, |p| {
                // A line a second; the summary below tells the end.
                if last_report.elapsed() >= Duration::from_secs(1) {
                    last_report = std::time::Instant::now();
                    eprintln!(
                        "{projection}: {}/{} events, {:.0} events/s",
                        p.applied,
                        p.total,
                        p.events_per_second()
                    );
                }
            })
            .await;
            match report {
                None => anyhow::bail!(
                    "no projection called `{projection}`; one of: {}",
                    switchboard_api::runtime::REBUILDABLE.join(", ")
                ),
                Some(report) => {
                    let report = report.context("rebuilding")?;
                    eprintln!(
                        "{projection} rebuilt from {} events in {:.1} s ({} applied during the swap)",
                        report.events,
                        report.elapsed.as_secs_f64(),
                        report.caught_up_at_swap
                    );
                    Ok(())
                }
            }
        }
        Command::Replay {
            command: ReplayCommand::Verify { database },
        } => {
            let pool = connect_pool(&database).await?;
            let report = switchboard_replay::verify_chains(&pool).await?;
            println!(
                "verified {} events in {} streams: {} broken",
                report.events,
                report.streams,
                report.broken.len()
            );
            for broken in &report.broken {
                println!(
                    "stream {} broken at version {} (global position {}): {}",
                    broken.stream_id, broken.stream_version, broken.global_position, broken.reason
                );
            }
            if !report.broken.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

//! The `switchboard` binary: `serve`, `migrate`, `token`, `replay`, `contact`, `telegram`. See
//! README.md.

use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use switchboard_api::auth::{Auth, Role};
use switchboard_server::config::{DatabaseArgs, Settings};
use switchboard_server::runtime::{connect_pool, start, Component};
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
            default_value = "api,relay,projections,scheduler,notifier"
        )]
        components: Vec<Component>,
    },
    /// Applies the database migrations (idempotent).
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Invites an operator to the console (the first admin, say): prints the one-time link
    /// where they set their password (also e-mailed when the service sends e-mail).
    Invite {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The address they will sign in with.
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Their roles (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "admin", value_parser = parse_role)]
        roles: Vec<Role>,
        /// Where the console is served (the link starts with it).
        #[arg(
            long,
            env = "SWITCHBOARD_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
        #[arg(long, env = "SWITCHBOARD_JWT_SECRET", hide_env_values = true)]
        jwt_secret: String,
    },
    /// Issues a token for a service account or a script (operators sign in to the console).
    Token {
        #[command(subcommand)]
        kind: TokenKind,
    },
    /// Audit tools over the event log.
    Replay {
        #[command(subcommand)]
        command: ReplayCommand,
    },
    /// A contact's personal data: export it (GDPR-1) or erase it (GDPR-2).
    Contact {
        #[command(subcommand)]
        command: ContactCommand,
    },
    /// The Telegram bot (TG-1..5).
    Telegram {
        #[command(subcommand)]
        command: TelegramCommand,
    },
}

#[derive(Subcommand)]
enum TelegramCommand {
    /// Tells Telegram where to send the bot's updates (`setWebhook`), with the webhook secret
    /// it must send back; checks the bot token first (`getMe`).
    SetWebhook {
        #[command(flatten)]
        notify: switchboard_server::config::NotifyArgs,
        /// The public HTTPS address of this service's `/telegram/webhook`.
        #[arg(long)]
        url: String,
    },
}

#[derive(Subcommand)]
enum ContactCommand {
    /// Prints everything held about the contact as one JSON document.
    Export {
        #[command(flatten)]
        database: DatabaseArgs,
        contact_id: Uuid,
    },
    /// Erases the contact: destroys their key, records ContactErased, deletes their files.
    /// Run it where the service's attachment directory is.
    Erase {
        #[command(flatten)]
        database: DatabaseArgs,
        contact_id: Uuid,
        /// The service's attachment directory (SWITCHBOARD_ATTACHMENTS_DIR).
        #[arg(
            long,
            env = "SWITCHBOARD_ATTACHMENTS_DIR",
            default_value = "var/attachments"
        )]
        attachments_dir: std::path::PathBuf,
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
    /// Writes events as JSON Lines (AUD-3): a conversation's, a contact's, or those recorded
    /// in `[--from, --to)`. Exactly one of the three.
    Export {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(long, conflicts_with_all = ["contact", "from", "to"])]
        conversation: Option<Uuid>,
        #[arg(long, conflicts_with_all = ["from", "to"])]
        contact: Option<Uuid>,
        /// RFC 3339, e.g. 2026-11-01T00:00:00Z.
        #[arg(long, requires = "to")]
        from: Option<DateTime<Utc>>,
        #[arg(long, requires = "from")]
        to: Option<DateTime<Utc>>,
        /// Where to write; standard output if omitted.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Prints a conversation as the log had it at an instant (AUD-4), as JSON.
    State {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(long)]
        conversation: Uuid,
        /// RFC 3339; now if omitted.
        #[arg(long)]
        at: Option<DateTime<Utc>>,
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
        Command::Telegram {
            command: TelegramCommand::SetWebhook { notify, url },
        } => {
            let Some(settings) = notify.telegram()? else {
                anyhow::bail!("SWITCHBOARD_TELEGRAM_BOT_TOKEN is not set");
            };
            let telegram = switchboard_api::telegram::Telegram::new(&settings)?;
            let me = telegram
                .api
                .get_me()
                .await
                .context("the bot token was not accepted (getMe)")?;
            telegram
                .api
                .set_webhook(&url, &settings.webhook_secret)
                .await
                .context("Telegram refused the webhook (setWebhook)")?;
            println!(
                "@{} now sends its updates to {url}",
                me.username.as_deref().unwrap_or("(the bot)")
            );
            Ok(())
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
        Command::Invite {
            database,
            email,
            name,
            roles,
            public_url,
            jwt_secret,
        } => {
            let pool = connect_pool(&database).await?;
            let link = switchboard_server::runtime::invite_operator(
                &pool,
                &jwt_secret,
                &email,
                &name,
                &roles,
            )
            .await?;
            println!("{}{link}", public_url.trim_end_matches('/'));
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
            // A bar on a terminal; a line a second otherwise (logs, CI).
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{prefix} [{bar:40}] {pos}/{len} events, {msg}, {elapsed}",
                    )
                    .expect("a valid template")
                    .progress_chars("=> "),
                );
                bar.set_prefix(projection.clone());
                bar
            });
            let mut last_report = std::time::Instant::now();
            let report = switchboard_server::runtime::rebuild_projection(&pool, &projection, |p| {
                if let Some(bar) = &bar {
                    bar.set_length(p.total.max(p.applied));
                    bar.set_position(p.applied);
                    bar.set_message(format!("{:.0} events/s", p.events_per_second()));
                } else if last_report.elapsed() >= Duration::from_secs(1) {
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
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            match report {
                None => anyhow::bail!(
                    "no projection called `{projection}`; one of: {}",
                    switchboard_projections::Catalogue::rebuildable_names()
                        .collect::<Vec<_>>()
                        .join(", ")
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
            command:
                ReplayCommand::Export {
                    database,
                    conversation,
                    contact,
                    from,
                    to,
                    output,
                },
        } => {
            use switchboard_replay::export::{export, ExportScope};
            let scope = match (conversation, contact, from, to) {
                (Some(id), None, None, None) => ExportScope::Conversation(id),
                (None, Some(id), None, None) => ExportScope::Contact(id),
                (None, None, Some(from), Some(to)) => ExportScope::Range { from, to },
                _ => anyhow::bail!("name one of --conversation, --contact, or --from with --to"),
            };
            let pool = connect_pool(&database).await?;
            let written = match output {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .with_context(|| format!("creating {}", path.display()))?;
                    export(&pool, &scope, &mut std::io::BufWriter::new(file)).await?
                }
                None => export(&pool, &scope, &mut std::io::stdout().lock()).await?,
            };
            eprintln!("exported {written} events");
            Ok(())
        }
        Command::Replay {
            command:
                ReplayCommand::State {
                    database,
                    conversation,
                    at,
                },
        } => {
            let pool = connect_pool(&database).await?;
            let at = at.unwrap_or_else(Utc::now);
            match switchboard_replay::state::conversation_at(&pool, conversation, at).await? {
                Some(state) => {
                    println!("{}", serde_json::to_string_pretty(&state)?);
                    Ok(())
                }
                None => {
                    eprintln!("conversation {conversation} had not started at {at}");
                    std::process::exit(2);
                }
            }
        }
        Command::Contact {
            command:
                ContactCommand::Export {
                    database,
                    contact_id,
                },
        } => {
            let pool = connect_pool(&database).await?;
            match switchboard_api::privacy::contact_export(&pool, contact_id).await {
                Ok(export) => {
                    println!("{}", serde_json::to_string_pretty(&export)?);
                    Ok(())
                }
                Err(err) => {
                    eprintln!("{err}");
                    std::process::exit(2);
                }
            }
        }
        Command::Contact {
            command:
                ContactCommand::Erase {
                    database,
                    contact_id,
                    attachments_dir,
                },
        } => {
            use switchboard_commands::handler::{system_clock, CommandMeta, ContactHandler};
            let pool = connect_pool(&database).await?;
            let log = switchboard_commands::log::EventLog::new(pool.clone());
            let handler = ContactHandler::new(log, system_clock());
            let store = switchboard_api::attachments::LocalDirectory::new(attachments_dir);
            let meta = CommandMeta {
                command_id: Uuid::now_v7(),
                actor: switchboard_domain::envelope::Actor::system(),
                correlation_id: None,
                ip: None,
            };
            match switchboard_api::privacy::erase_contact(
                &pool, &handler, &store, &meta, contact_id,
            )
            .await
            {
                Ok(erasure) => {
                    println!("{}", serde_json::to_string_pretty(&erasure)?);
                    Ok(())
                }
                Err(err) => {
                    eprintln!("{err}");
                    std::process::exit(2);
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

//! Starting and stopping the process's components: the API, the relay, the projections (with
//! the webhook sender), the scheduler (with the dispatcher) and the notifier (with the
//! notifications projection). By default one process runs them all; `serve --components
//! relay` (etc.) runs a subset, so each can be scaled and restarted on its own.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::ValueEnum;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use switchboard_commands::handler::{
    system_clock, ContactHandler, ConversationHandler, InboxHandler, OperatorHandler,
    WebhookEndpointHandler,
};
use switchboard_commands::kafka::{ensure_topic, idempotent_producer, KafkaSettings};
use switchboard_commands::log::{read_streams_on, EventLog};
use switchboard_commands::relay::{checkpoint_name, run_relay, RelayConfig};
use switchboard_commands::tail::TailConfig;
use switchboard_domain::envelope::RecordedEvent;
use switchboard_projections::conversations::ConversationsProjection;
use switchboard_projections::inboxes::InboxesProjection;
use switchboard_projections::notifications::NotificationsProjection;
use switchboard_projections::operators::OperatorsProjection;
use switchboard_projections::sla::SlaProjection;
use switchboard_projections::webhooks::WebhooksProjection;

use switchboard_projections::runner::{run_projection, RunnerSettings};
use switchboard_projections::{Catalogue, LogReader, Projection};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use switchboard_api::attachments::{LocalDirectory, SharedStore};
use switchboard_api::auth::Auth;
use switchboard_api::changes::ChangeFeed;
use switchboard_api::geoip::GeoIp;
use switchboard_api::graphql::{build_schema, AppContext};
use switchboard_api::http::router;
use switchboard_api::metrics::Metrics;
use switchboard_api::state::HttpState;
use switchboard_api::telegram::{bot::Bot, Telegram};
use switchboard_workers::notifier::{run_notifier, Channels, ConsoleLinks, ResumeLinks};
use switchboard_workers::scheduler::{run_scheduler, SchedulerSettings};
use switchboard_workers::webhooks::run_webhook_worker;

use crate::config::{DatabaseArgs, Settings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Component {
    /// The GraphQL API and health endpoints.
    Api,
    /// Publishes the log to Kafka.
    Relay,
    /// Consumes Kafka into the read tables.
    Projections,
    /// Closes idle and long-resolved conversations (TIME-1, TIME-2).
    Scheduler,
    /// Decides who is told of what (the notifications projection) and tells them, by
    /// Telegram and e-mail (TG-2, TG-4, CALL-2).
    Notifier,
}

/// Opens the pool the way the service wants its connections: a transaction left idle is cut
/// off, because an open transaction stalls every commit-order reader of the log.
pub async fn connect_pool(database: &DatabaseArgs) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = database
        .url
        .parse()
        .context("SWITCHBOARD_DATABASE_URL is not a valid PostgreSQL URL")?;
    let options = options.options([
        ("idle_in_transaction_session_timeout", "10s"),
        ("application_name", "switchboard"),
    ]);
    PgPoolOptions::new()
        .max_connections(database.max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .context("could not connect to PostgreSQL (is it running? `make run` starts it)")
}

/// The running components. Dropping it does not stop them: call [`Running::stop`].
pub struct Running {
    /// Where the API listens, when it runs.
    pub addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl Running {
    /// Asks every component to stop and waits until they have.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let mut result = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(err) = joined.context("a component panicked").and_then(|r| r) {
                result = Err(err);
            }
        }
        result
    }

    /// Runs until `signal` completes or a component fails, then stops the rest.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
        let failure = tokio::select! {
            _ = signal => None,
            Some(joined) = self.tasks.join_next() => Some(joined.context("a component panicked").and_then(|r| r)),
        };
        let stopped = self.stop().await;
        match failure {
            Some(Err(err)) => Err(err),
            _ => stopped,
        }
    }
}

/// The projections' port to the log ([`LogReader`]: gap filling, the webhooks catch-up), over
/// the log of `switchboard_commands`: the read side never depends on the write side itself.
pub struct EventLogReader(pub EventLog);

impl LogReader for EventLogReader {
    fn read_stream(
        &self,
        stream_id: Uuid,
        after_version: i32,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<RecordedEvent>, sqlx::Error>> + Send + '_>> {
        Box::pin(async move {
            Ok(self
                .0
                .read_stream(stream_id, after_version)
                .await?
                .into_iter()
                .map(|logged| logged.event)
                .collect())
        })
    }

    fn read_streams_on<'a>(
        &'a self,
        conn: &'a mut sqlx::PgConnection,
        streams: &'a [(Uuid, i32)],
        after_position: i64,
        or_types: &'a [&'a str],
    ) -> Pin<Box<dyn Future<Output = Result<Vec<RecordedEvent>, sqlx::Error>> + Send + 'a>> {
        Box::pin(async move {
            Ok(read_streams_on(conn, streams, after_position, or_types)
                .await?
                .into_iter()
                .map(|logged| logged.event)
                .collect())
        })
    }
}

/// Rebuilds the projection called `name` from the log into shadow tables and swaps them in
/// while the service runs (see [`switchboard_replay::rebuild`]). `None` for a name that is not
/// a rebuildable projection ([`Catalogue::rebuildable`]).
pub async fn rebuild_projection(
    pool: &PgPool,
    name: &str,
    progress: impl FnMut(switchboard_replay::rebuild::Progress),
) -> Option<
    Result<switchboard_replay::rebuild::RebuildReport, switchboard_replay::rebuild::RebuildError>,
> {
    use switchboard_replay::rebuild::rebuild;
    let log = EventLogReader(EventLog::new(pool.clone()));
    Some(match Catalogue::named(name).filter(|p| p.rebuildable())? {
        Catalogue::Conversations => rebuild(pool, &ConversationsProjection, &log, progress).await,
        Catalogue::Inboxes => rebuild(pool, &InboxesProjection, &log, progress).await,
        Catalogue::Operators => rebuild(pool, &OperatorsProjection, &log, progress).await,
        Catalogue::Sla => rebuild(pool, &SlaProjection, &log, progress).await,
        Catalogue::Webhooks | Catalogue::Notifications => return None,
    })
}

/// Runs `projection` in its own consumer group, `<prefix>-<name>`.
fn spawn_projection<P: Projection>(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    pool: &PgPool,
    shutdown: &CancellationToken,
    settings: &Settings,
    reader: &Arc<dyn LogReader>,
    projection: P,
) {
    let runner = RunnerSettings {
        brokers: settings.kafka_brokers.clone(),
        topic: settings.kafka_topic.clone(),
        group_id: format!("{}-{}", settings.kafka_group_prefix, projection.name()),
        fetch_wait_ms: settings.kafka_fetch_wait_ms,
    };
    let (pool, token, reader) = (pool.clone(), shutdown.clone(), reader.clone());
    tasks.spawn(async move {
        Ok(run_projection(pool, Arc::new(projection), reader, runner, token).await?)
    });
}

/// The links visitors' e-mails carry back into their conversation, `None` without a public
/// URL. Their tokens are the API's widget sessions, issued with the API's own issuer and
/// secret, so the API accepts them as it accepts the ones `startConversation` gives.
fn resume_links(settings: &Settings) -> anyhow::Result<Option<ResumeLinks>> {
    let Some(public_url) = settings.notify.public_url()? else {
        return Ok(None);
    };
    let auth = Auth::new(&settings.jwt_secret, widget_session_ttl(settings))?;
    Ok(Some(ResumeLinks {
        public_url,
        widget_session: Arc::new(move |contact_id, conversation_id, inbox_id| {
            auth.issue_widget_session(contact_id, conversation_id, inbox_id)
        }),
    }))
}

/// Invites an operator from the command line (as the system, for the admins): the console
/// path of their one-time link.
pub async fn invite_operator(
    pool: &PgPool,
    jwt_secret: &str,
    email: &str,
    name: &str,
    roles: &[switchboard_domain::operator::Role],
) -> anyhow::Result<String> {
    use switchboard_domain::operator::{OperatorCommand, OperatorProfile};
    use switchboard_projections::notifications::OperatorLink;
    let auth = Auth::new(jwt_secret, Duration::from_secs(3600))?;
    let operators = OperatorHandler::new(EventLog::new(pool.clone()), system_clock());
    let sign_in = switchboard_api::sign_in::SignIn::new(
        pool.clone(),
        auth,
        operators.clone(),
        jwt_secret,
        Default::default(),
    );
    let email = switchboard_api::sign_in::normalize_email(email);
    let operator_id = sign_in
        .operator_of_email(&email)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?
        .unwrap_or_else(uuid::Uuid::now_v7);
    let profile = OperatorProfile::new(name, roles, None, None)
        .and_then(|p| p.with_email(Some(&email)))
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    sign_in
        .claim_email(operator_id, &email)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let invitation_id = uuid::Uuid::now_v7();
    operators
        .handle(
            &switchboard_api::sign_in::system_meta(None),
            &OperatorCommand::Invite {
                operator_id,
                profile,
                invitation_id,
                at: chrono::Utc::now(),
            },
        )
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let token = sign_in.link_token(operator_id, OperatorLink::Invitation(invitation_id));
    Ok(format!("/#/invitation?token={token}"))
}

fn console_links(settings: &Settings) -> anyhow::Result<Option<ConsoleLinks>> {
    let Some(public_url) = settings.notify.public_url()? else {
        return Ok(None);
    };
    Ok(Some(ConsoleLinks {
        public_url,
        token: Arc::new(switchboard_api::sign_in::link_minter(&settings.jwt_secret)),
    }))
}

fn widget_session_ttl(settings: &Settings) -> Duration {
    Duration::from_secs(u64::from(settings.widget_session_hours) * 3600)
}

/// Starts `components` against `pool`. Returns once the API (if any) is listening.
pub async fn start(
    settings: &Settings,
    pool: PgPool,
    components: &[Component],
) -> anyhow::Result<Running> {
    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    // One log and one handler per aggregate for the whole process: the handlers' stream
    // caches then see every command this node records, and a burst of appends wakes the log's
    // tailers once.
    let log = EventLog::new(pool.clone());
    let conversations = ConversationHandler::new(log.clone(), system_clock());
    let webhook_endpoints = WebhookEndpointHandler::new(log.clone(), system_clock());
    let operators = OperatorHandler::new(log.clone(), system_clock());
    let kafka = KafkaSettings {
        brokers: settings.kafka_brokers.clone(),
        topic: settings.kafka_topic.clone(),
        partitions: settings.kafka_partitions,
    };
    if components.contains(&Component::Relay) || components.contains(&Component::Projections) {
        // Tansu and some clusters do not create topics on first use. The relay retries this
        // itself, so a broker that is down at start-up only delays it.
        if let Err(err) = ensure_topic(&kafka).await {
            tracing::warn!(error = %err, topic = %kafka.topic, "could not create the topic yet");
        }
    }
    if components.contains(&Component::Relay) {
        // Fail fast on settings librdkafka refuses; the relay makes its own producers.
        let _checked =
            idempotent_producer(&kafka.brokers).context("creating the Kafka producer")?;
        let config = RelayConfig {
            name: checkpoint_name(&kafka.topic),
            kafka: kafka.clone(),
            tail: TailConfig {
                poll_interval: settings.relay_poll_interval(),
                ..TailConfig::default()
            },
        };
        let (pool, token) = (pool.clone(), shutdown.clone());
        tasks.spawn(async move { Ok(run_relay(pool, config, token).await?) });
    }
    if components.contains(&Component::Projections) {
        let reader: Arc<dyn LogReader> = Arc::new(EventLogReader(EventLog::new(pool.clone())));
        macro_rules! spawn {
            ($projection:expr) => {
                spawn_projection(&mut tasks, &pool, &shutdown, settings, &reader, $projection)
            };
        }
        for projection in Catalogue::ALL {
            match projection {
                Catalogue::Conversations => spawn!(ConversationsProjection),
                Catalogue::Inboxes => spawn!(InboxesProjection),
                Catalogue::Operators => spawn!(OperatorsProjection),
                Catalogue::Sla => spawn!(SlaProjection),
                Catalogue::Webhooks => spawn!(WebhooksProjection),
                // Decided beside the notifier, which sends what it inserts.
                Catalogue::Notifications => {}
            }
        }
        // The webhook deliveries the projection above inserts are sent by the projections'
        // processes; several of them share the queue safely (see `switchboard_workers::webhooks`).
        let handler = webhook_endpoints.clone();
        let (pool, token, webhooks) = (pool.clone(), shutdown.clone(), settings.webhooks());
        tasks.spawn(async move {
            run_webhook_worker(pool, handler, webhooks, token).await;
            Ok(())
        });
    }
    if components.contains(&Component::Scheduler) {
        let handler = conversations.clone();
        let scheduler = SchedulerSettings {
            tick: Duration::from_millis(settings.scheduler_tick_ms),
            inactivity: Duration::from_secs(settings.inactivity_secs),
            retention: Duration::from_secs(settings.retention_secs),
            priority_raise: Duration::from_secs(settings.priority_raise_secs),
        };
        let (pool, token) = (pool.clone(), shutdown.clone());
        tasks.spawn(async move {
            run_scheduler(pool, handler, system_clock(), scheduler, token).await;
            Ok(())
        });
    }
    let telegram = settings
        .notify
        .telegram()?
        .map(|telegram| Telegram::new(&telegram))
        .transpose()
        .context("setting up Telegram")?;
    if components.contains(&Component::Notifier) {
        let reader: Arc<dyn LogReader> = Arc::new(EventLogReader(EventLog::new(pool.clone())));
        spawn_projection(
            &mut tasks,
            &pool,
            &shutdown,
            settings,
            &reader,
            NotificationsProjection,
        );
        let channels = Arc::new(Channels {
            telegram: telegram.as_ref().map(|t| t.api.clone()),
            mail: settings.notify.mailer()?,
            resume: resume_links(settings)?,
            console: console_links(settings)?,
        });
        let (pool, token, notifier) = (pool.clone(), shutdown.clone(), settings.notify.notifier());
        tasks.spawn(async move {
            run_notifier(pool, channels, notifier, token).await;
            Ok(())
        });
    }
    let mut addr = None;
    if components.contains(&Component::Api) {
        let auth = Auth::new(&settings.jwt_secret, widget_session_ttl(settings))?;
        let feed = ChangeFeed::start(pool.clone(), shutdown.clone())
            .await
            .context("listening for projection changes")?;
        let limits = Arc::new(settings.rate_limits());
        let metrics = Arc::new(Metrics::new());
        let attachments: SharedStore = Arc::new(LocalDirectory::new(&settings.attachments_dir));
        let inbox_handler = InboxHandler::new(log.clone(), system_clock());
        let demo = match settings.demo {
            true => Some(
                switchboard_api::web::demo::provision(&inbox_handler, &settings.jwt_secret)
                    .await
                    .context("making the demo inbox")?,
            ),
            false => None,
        };
        let sign_in = switchboard_api::sign_in::SignIn::new(
            pool.clone(),
            auth.clone(),
            operators.clone(),
            &settings.jwt_secret,
            switchboard_api::sign_in::SignInSettings {
                secure_cookies: settings
                    .notify
                    .public_url()?
                    .is_some_and(|url| url.starts_with("https://")),
                ..Default::default()
            },
        );
        let context = AppContext {
            pool: pool.clone(),
            handler: conversations.clone(),
            inbox_handler,
            operator_handler: operators.clone(),
            webhook_handler: webhook_endpoints.clone(),
            contact_handler: ContactHandler::new(log.clone(), system_clock()),
            attachments: attachments.clone(),
            auth: auth.clone(),
            feed,
            message_reads: Default::default(),
            max_body_chars: settings.max_body_chars,
            typing_ttl: Duration::from_millis(settings.typing_ttl_ms),
            default_phone_region: settings.default_phone_region.clone(),
            limits: limits.clone(),
            widget_api_enabled: settings.widget_api_enabled,
            metrics: metrics.clone(),
            telegram: telegram.clone(),
            sign_in: sign_in.clone(),
        };
        let bot = telegram.clone().map(|telegram| Bot {
            telegram,
            pool: pool.clone(),
            conversations: conversations.clone(),
            operators: operators.clone(),
            max_body_chars: settings.max_body_chars,
        });
        let state = HttpState::new(
            build_schema(Some(context)),
            auth,
            pool.clone(),
            &settings.kafka_brokers,
            &settings.kafka_topic,
        )?
        .with_region_header(settings.region_header.as_deref())
        .context("SWITCHBOARD_REGION_HEADER is not a valid header name")?
        .with_client_ip_header(settings.client_ip_header.as_deref())
        .context("SWITCHBOARD_CLIENT_IP_HEADER is not a valid header name")?
        .with_attachments(attachments, settings.max_upload_bytes)
        .with_geoip(
            settings
                .geoip_db
                .as_deref()
                .map(|path| {
                    GeoIp::open(path).with_context(|| {
                        format!("could not read the GeoIP database {}", path.display())
                    })
                })
                .transpose()?,
        )
        .with_widget_api(settings.widget_api_enabled, limits)
        .with_metrics(metrics)
        .with_telegram(bot)
        .with_demo(demo)
        .with_sign_in(sign_in)
        .with_shutdown(shutdown.clone())
        .with_public_url(settings.notify.public_url()?.as_deref())
        .with_ws_keepalive(Duration::from_secs(settings.ws_keepalive_secs.max(1)));
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("could not listen on {}", settings.listen))?;
        addr = Some(listener.local_addr()?);
        tracing::info!(addr = %listener.local_addr()?, "GraphQL API at http://{}/graphql", listener.local_addr()?);
        tracing::info!(
            "the operator console: http://{}/ (the first admin: make invite EMAIL=… NAME=…, or switchboard invite)",
            listener.local_addr()?
        );
        if settings.demo {
            tracing::info!("the demo page: http://{}/demo", listener.local_addr()?);
        }
        let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
        let token = shutdown.clone();
        tasks.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await
                .context("the HTTP server failed")
        });
    }
    Ok(Running {
        addr,
        shutdown,
        tasks,
    })
}

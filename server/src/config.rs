//! Every setting of the service: a `clap` flag mirrored by a `SWITCHBOARD_*` environment
//! variable, with defaults that work on a developer machine set up by `make run`. The JWT
//! secret has no default on purpose: a service that signs tokens with a well-known key is
//! worse than one that does not start.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

/// Where PostgreSQL is; shared by every subcommand that touches the database.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL.
    #[arg(
        long = "database-url",
        env = "SWITCHBOARD_DATABASE_URL",
        default_value = "postgres://switchboard:switchboard@127.0.0.1:5432/switchboard"
    )]
    pub url: String,

    /// Largest number of PostgreSQL connections this process opens.
    #[arg(
        long = "database-max-connections",
        env = "SWITCHBOARD_DATABASE_MAX_CONNECTIONS",
        default_value_t = 20
    )]
    pub max_connections: u32,
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Kafka bootstrap servers, `host:port[,host:port…]`.
    #[arg(
        long,
        env = "SWITCHBOARD_KAFKA_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub kafka_brokers: String,

    /// The topic every event is published to.
    #[arg(
        long,
        env = "SWITCHBOARD_KAFKA_TOPIC",
        default_value = "switchboard.events"
    )]
    pub kafka_topic: String,

    /// Partitions to create the topic with when it does not exist.
    #[arg(long, env = "SWITCHBOARD_KAFKA_PARTITIONS", default_value_t = 3)]
    pub kafka_partitions: i32,

    /// Prefix of the projections' consumer groups (`<prefix>-<projection>`).
    #[arg(
        long,
        env = "SWITCHBOARD_KAFKA_GROUP_PREFIX",
        default_value = "switchboard-projection"
    )]
    pub kafka_group_prefix: String,

    /// Address the HTTP server listens on.
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Secret that signs operator and widget-session tokens (HS256). At least 32 bytes.
    #[arg(long, env = "SWITCHBOARD_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: String,

    /// How long a widget session token stays valid, in hours.
    #[arg(long, env = "SWITCHBOARD_WIDGET_SESSION_HOURS", default_value_t = 720)]
    pub widget_session_hours: u32,

    /// Longest message body, in characters (CONV-3).
    #[arg(long, env = "SWITCHBOARD_MAX_BODY_CHARS", default_value_t = 4000)]
    pub max_body_chars: usize,

    /// Country (ISO 3166, e.g. `UA`) for phone numbers given without a country code; without
    /// it such numbers are refused (CALL-1).
    #[arg(long, env = "SWITCHBOARD_DEFAULT_PHONE_REGION")]
    pub default_phone_region: Option<String>,

    /// The request header in which the reverse proxy in front of Switchboard puts the
    /// visitor's region (`UA`, `UA-30`), for a global inbox's routing rules (INBOX-2). Only
    /// set it when that proxy overwrites the header on every request: a client could
    /// otherwise choose its own branch. Unset: no region, every conversation of a global
    /// inbox goes to its default branch.
    #[arg(long, env = "SWITCHBOARD_REGION_HEADER")]
    pub region_header: Option<String>,

    /// The request header in which the reverse proxy in front of Switchboard gives the
    /// client's address (`X-Forwarded-For`, `X-Real-IP`); its right-most address, the one the
    /// proxy added, is the client's for rate limits, GeoIP and the audit trail. Only set it
    /// behind such a proxy: a client could otherwise choose its own address. Unset: the TCP
    /// peer's address.
    #[arg(long, env = "SWITCHBOARD_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<String>,

    /// A local MaxMind DB file (GeoIP2 / GeoLite2 City or Country) that gives the visitor's
    /// region from their address when the region header does not (INBOX-2).
    #[arg(long, env = "SWITCHBOARD_GEOIP_DB")]
    pub geoip_db: Option<std::path::PathBuf>,

    /// The directory attachments are stored in (CONV-7); created on first upload.
    #[arg(
        long,
        env = "SWITCHBOARD_ATTACHMENTS_DIR",
        default_value = "var/attachments"
    )]
    pub attachments_dir: std::path::PathBuf,

    /// The largest upload the server reads at all, in bytes; each inbox sets its own limit
    /// below it (10 MiB by default).
    #[arg(long, env = "SWITCHBOARD_MAX_UPLOAD_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub max_upload_bytes: usize,

    /// How long a typing indicator stays on without renewal, in milliseconds (CONV-6).
    #[arg(long, env = "SWITCHBOARD_TYPING_TTL_MS", default_value_t = 8000)]
    pub typing_ttl_ms: u64,

    /// No message for this many seconds closes a conversation (TIME-1).
    #[arg(long, env = "SWITCHBOARD_INACTIVITY_SECS", default_value_t = 30 * 60)]
    pub inactivity_secs: u64,

    /// Resolved for this many seconds closes a conversation (TIME-2; 90 days).
    #[arg(long, env = "SWITCHBOARD_RETENTION_SECS", default_value_t = 90 * 24 * 3600)]
    pub retention_secs: u64,

    /// Each time a contact waits this many more seconds for an answer, the priority goes up a
    /// step (CONV-9).
    #[arg(long, env = "SWITCHBOARD_PRIORITY_RAISE_SECS", default_value_t = 30 * 60)]
    pub priority_raise_secs: u64,

    /// How often the scheduler looks for due deadlines and queued conversations to assign, in
    /// milliseconds: the longest an auto-assignment waits once someone can take it.
    #[arg(long, env = "SWITCHBOARD_SCHEDULER_TICK_MS", default_value_t = 1000)]
    pub scheduler_tick_ms: u64,

    /// The longest the Kafka broker may hold a projection's fetch that finds nothing new, in
    /// milliseconds. Brokers that hold a fetch for its whole wait even when data arrives
    /// (Tansu) add up to this much to every event's way to the read tables; shorter waits
    /// mean more fetches while idle. With Apache Kafka or Redpanda a longer wait costs
    /// nothing.
    #[arg(long, env = "SWITCHBOARD_KAFKA_FETCH_WAIT_MS", default_value_t = 10)]
    pub kafka_fetch_wait_ms: u32,

    /// How often the relay reads the log when no notification woke it, in milliseconds.
    #[arg(long, env = "SWITCHBOARD_RELAY_POLL_MS", default_value_t = 500)]
    pub relay_poll_ms: u64,

    /// The unit of the webhook retry schedule, in milliseconds: retries come 1, 4, 20, 60, 120,
    /// 360, 720 and 1440 units after a failed attempt, ±20 % (PROJ-4; 30 s: about a day).
    #[arg(
        long,
        env = "SWITCHBOARD_WEBHOOK_BACKOFF_UNIT_MS",
        default_value_t = 30_000
    )]
    pub webhook_backoff_unit_ms: u64,

    /// How long a webhook receiver has to answer, in milliseconds.
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,

    /// How often the webhook worker looks for due deliveries when no notification woke it, in
    /// milliseconds.
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_POLL_MS", default_value_t = 1000)]
    pub webhook_poll_ms: u64,

    /// Dead-lettered deliveries in a row that switch a webhook endpoint off (0: never).
    #[arg(
        long,
        env = "SWITCHBOARD_WEBHOOK_DISABLE_AFTER_DEAD",
        default_value_t = 5
    )]
    pub webhook_disable_after_dead: u32,

    /// How often an idle subscription WebSocket gets a keep-alive (`ping` on
    /// graphql-transport-ws, `ka` on the legacy protocol), in seconds. A graphql-transport-ws
    /// client silent for three of these is disconnected.
    #[arg(long, env = "SWITCHBOARD_WS_KEEPALIVE_SECS", default_value_t = 15)]
    pub ws_keepalive_secs: u64,

    /// Requests one IP address may make without an operator token in each rate-limit window
    /// (SEC-2); 0: no limit.
    #[arg(long, env = "SWITCHBOARD_RATE_LIMIT_PER_IP", default_value_t = 300)]
    pub rate_limit_per_ip: u32,

    /// Widget requests one inbox's widget token (all its visitors together) may make in each
    /// rate-limit window (SEC-2); 0: no limit.
    #[arg(
        long,
        env = "SWITCHBOARD_RATE_LIMIT_PER_WIDGET",
        default_value_t = 3000
    )]
    pub rate_limit_per_widget: u32,

    /// The rate-limit window in seconds: a limit of N lets N requests through at once and
    /// gives one back every window/N.
    #[arg(long, env = "SWITCHBOARD_RATE_LIMIT_WINDOW_SECS", default_value_t = 60)]
    pub rate_limit_window_secs: u64,

    /// `false` switches the widget API off: every widget call (no operator token) gets
    /// `404 {"detail": "Messenger disabled"}` (seed 001).
    #[arg(
        long,
        env = "SWITCHBOARD_WIDGET_API_ENABLED",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub widget_api_enabled: bool,

    /// Makes a demo inbox at start-up and serves `/demo`, a page with its widget (`make run`
    /// turns it on). Its widget token is derived from the token secret; the page is public, so
    /// keep it off on a service reachable from outside.
    #[arg(
        long,
        env = "SWITCHBOARD_DEMO",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub demo: bool,

    #[command(flatten)]
    pub notify: NotifyArgs,
}

/// Telegram (TG-1..5) and e-mail (INT-3): both off until configured. `Debug` masks the token,
/// the secret and the SMTP password.
#[derive(Clone, Args)]
pub struct NotifyArgs {
    /// The bot's token from @BotFather. Unset: no Telegram (the webhook answers 404, nothing
    /// is sent there).
    #[arg(long, env = "SWITCHBOARD_TELEGRAM_BOT_TOKEN", hide_env_values = true)]
    pub telegram_bot_token: Option<String>,

    /// The Bot API's base URL (TG-5); tests point it at a local fake.
    #[arg(
        long,
        env = "SWITCHBOARD_TELEGRAM_API_URL",
        default_value = "https://api.telegram.org"
    )]
    pub telegram_api_url: String,

    /// The secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token` (1–256 characters of
    /// A–Z, a–z, 0–9, `_` and `-`). Required with a bot token.
    #[arg(
        long,
        env = "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub telegram_webhook_secret: Option<String>,

    /// How long a Telegram link token stays valid, in minutes (TG-1, TG-4).
    #[arg(long, env = "SWITCHBOARD_TELEGRAM_LINK_MINUTES", default_value_t = 30)]
    pub telegram_link_minutes: u32,

    /// The SMTP server call-back e-mails go through: `smtp://host:25` (plain),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS), `smtps://user:password@host`
    /// (TLS). Unset: no e-mail.
    #[arg(long, env = "SWITCHBOARD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The `From` of notification e-mails.
    #[arg(
        long,
        env = "SWITCHBOARD_MAIL_FROM",
        default_value = "Switchboard <switchboard@localhost>"
    )]
    pub mail_from: String,

    /// The first retry delay of a notification that could not be sent, in milliseconds; each
    /// next one doubles it (1, 2, 4 … 64 units; 8 attempts).
    #[arg(
        long,
        env = "SWITCHBOARD_NOTIFY_BACKOFF_UNIT_MS",
        default_value_t = 5_000
    )]
    pub notify_backoff_unit_ms: u64,

    /// How often the notifier looks for due notifications when nothing woke it, in
    /// milliseconds.
    #[arg(long, env = "SWITCHBOARD_NOTIFY_POLL_MS", default_value_t = 1000)]
    pub notify_poll_ms: u64,

    /// How long Telegram or the mail server has to answer, in milliseconds.
    #[arg(long, env = "SWITCHBOARD_NOTIFY_TIMEOUT_MS", default_value_t = 10_000)]
    pub notify_timeout_ms: u64,

    /// How many days a notification that is done with (sent, failed or skipped) is kept, with
    /// its attempts, for support to look up; 0 keeps them forever (at most 36,500).
    #[arg(
        long,
        env = "SWITCHBOARD_NOTIFY_KEEP_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(0..=36_500)
    )]
    pub notify_keep_days: u32,

    /// Where visitors reach the chat, `https://host[/path]`: a reply e-mailed to a visitor who
    /// left links back into their conversation at `<this>/chat/resume?token=…` (seed 000).
    /// Unset: such e-mails are skipped.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// How long an operator's reply may stay unread by the visitor before it is e-mailed to
    /// them, if they gave an address, in seconds: unread that long, they have left.
    #[arg(
        long,
        env = "SWITCHBOARD_VISITOR_EMAIL_DELAY_SECS",
        default_value_t = 300
    )]
    pub visitor_email_delay_secs: u64,
}

impl fmt::Debug for NotifyArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "<masked>");
        f.debug_struct("NotifyArgs")
            .field("telegram_bot_token", &set(&self.telegram_bot_token))
            .field("telegram_api_url", &self.telegram_api_url)
            .field(
                "telegram_webhook_secret",
                &set(&self.telegram_webhook_secret),
            )
            .field("telegram_link_minutes", &self.telegram_link_minutes)
            .field("smtp_url", &self.smtp_url.as_deref().map(mask_password))
            .field("mail_from", &self.mail_from)
            .field("notify_backoff_unit_ms", &self.notify_backoff_unit_ms)
            .field("notify_poll_ms", &self.notify_poll_ms)
            .field("notify_timeout_ms", &self.notify_timeout_ms)
            .field("notify_keep_days", &self.notify_keep_days)
            .field("public_url", &self.public_url)
            .field("visitor_email_delay_secs", &self.visitor_email_delay_secs)
            .finish()
    }
}

impl Default for NotifyArgs {
    /// Telegram and e-mail off; the other values as the flags' defaults.
    fn default() -> Self {
        Self {
            telegram_bot_token: None,
            telegram_api_url: "https://api.telegram.org".into(),
            telegram_webhook_secret: None,
            telegram_link_minutes: 30,
            smtp_url: None,
            mail_from: "Switchboard <switchboard@localhost>".into(),
            notify_backoff_unit_ms: 5_000,
            notify_poll_ms: 1000,
            notify_timeout_ms: 10_000,
            notify_keep_days: 30,
            public_url: None,
            visitor_email_delay_secs: 300,
        }
    }
}

impl NotifyArgs {
    /// Telegram's settings, `None` without a bot token. A token without a webhook secret is
    /// refused: an open webhook would let anyone speak as any linked operator.
    pub fn telegram(&self) -> anyhow::Result<Option<switchboard_api::telegram::TelegramSettings>> {
        let Some(token) = self.telegram_bot_token.clone().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let Some(secret) = self.telegram_webhook_secret.clone() else {
            anyhow::bail!(
                "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET is required with SWITCHBOARD_TELEGRAM_BOT_TOKEN"
            );
        };
        Ok(Some(switchboard_api::telegram::TelegramSettings {
            api_url: self.telegram_api_url.clone(),
            bot_token: token,
            webhook_secret: secret,
            link_ttl: Duration::from_secs(u64::from(self.telegram_link_minutes.max(1)) * 60),
            timeout: Duration::from_millis(self.notify_timeout_ms),
        }))
    }

    pub fn notifier(&self) -> switchboard_workers::notifier::NotifierSettings {
        switchboard_workers::notifier::NotifierSettings {
            poll: Duration::from_millis(self.notify_poll_ms),
            backoff_unit: Duration::from_millis(self.notify_backoff_unit_ms),
            timeout: Duration::from_millis(self.notify_timeout_ms),
            keep: (self.notify_keep_days > 0)
                .then(|| Duration::from_secs(u64::from(self.notify_keep_days) * 24 * 3600)),
            visitor_email_delay: Duration::from_secs(self.visitor_email_delay_secs),
        }
    }

    /// The public URL without a trailing `/`; `None` when unset. Anything but an `http(s)`
    /// URL is refused at start-up, before it reaches an e-mail.
    pub fn public_url(&self) -> anyhow::Result<Option<String>> {
        let Some(url) = self
            .public_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        match rest {
            Some(rest) if !rest.is_empty() && !rest.contains(['?', '#', ' ']) => {
                Ok(Some(url.trim_end_matches('/').to_owned()))
            }
            _ => anyhow::bail!(
                "SWITCHBOARD_PUBLIC_URL must be an http(s) URL without query, such as \
                 https://chat.example.com (got {url})"
            ),
        }
    }

    /// The mailer, `None` without an SMTP URL.
    pub fn mailer(&self) -> anyhow::Result<Option<switchboard_workers::notifier::Mailer>> {
        self.smtp_url
            .as_deref()
            .filter(|url| !url.is_empty())
            .map(|url| {
                switchboard_workers::notifier::Mailer::new(
                    url,
                    &self.mail_from,
                    Duration::from_millis(self.notify_timeout_ms),
                )
            })
            .transpose()
    }
}

impl Settings {
    /// The abuse limits these settings ask for (SEC-2).
    pub fn rate_limits(&self) -> switchboard_api::limits::RateLimits {
        switchboard_api::limits::RateLimits::new(
            self.rate_limit_per_ip,
            self.rate_limit_per_widget,
            Duration::from_secs(self.rate_limit_window_secs.max(1)),
        )
    }

    pub fn relay_poll_interval(&self) -> Duration {
        Duration::from_millis(self.relay_poll_ms)
    }

    /// The delivery worker's settings (PROJ-4).
    pub fn webhooks(&self) -> switchboard_workers::webhooks::WebhookSettings {
        switchboard_workers::webhooks::WebhookSettings {
            poll: Duration::from_millis(self.webhook_poll_ms),
            timeout: Duration::from_millis(self.webhook_timeout_ms),
            backoff_unit: Duration::from_millis(self.webhook_backoff_unit_ms),
            disable_after_dead: self.webhook_disable_after_dead,
        }
    }
}

/// Printed at start-up: every setting, with secrets and passwords masked.
impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "database_url={}", mask_password(&self.database.url))?;
        writeln!(
            f,
            "database_max_connections={}",
            self.database.max_connections
        )?;
        writeln!(f, "kafka_brokers={}", self.kafka_brokers)?;
        writeln!(f, "kafka_topic={}", self.kafka_topic)?;
        writeln!(f, "kafka_partitions={}", self.kafka_partitions)?;
        writeln!(f, "kafka_group_prefix={}", self.kafka_group_prefix)?;
        writeln!(f, "kafka_fetch_wait_ms={}", self.kafka_fetch_wait_ms)?;
        writeln!(f, "listen={}", self.listen)?;
        writeln!(f, "jwt_secret=<{} bytes, masked>", self.jwt_secret.len())?;
        writeln!(f, "widget_session_hours={}", self.widget_session_hours)?;
        writeln!(f, "max_body_chars={}", self.max_body_chars)?;
        writeln!(f, "typing_ttl_ms={}", self.typing_ttl_ms)?;
        writeln!(f, "ws_keepalive_secs={}", self.ws_keepalive_secs)?;
        writeln!(f, "rate_limit_per_ip={}", self.rate_limit_per_ip)?;
        writeln!(f, "rate_limit_per_widget={}", self.rate_limit_per_widget)?;
        writeln!(f, "rate_limit_window_secs={}", self.rate_limit_window_secs)?;
        writeln!(f, "widget_api_enabled={}", self.widget_api_enabled)?;
        writeln!(f, "demo={}", self.demo)?;
        writeln!(
            f,
            "default_phone_region={}",
            self.default_phone_region.as_deref().unwrap_or("(none)")
        )?;
        writeln!(
            f,
            "region_header={}",
            self.region_header.as_deref().unwrap_or("(none)")
        )?;
        writeln!(
            f,
            "client_ip_header={}",
            self.client_ip_header.as_deref().unwrap_or("(none)")
        )?;
        writeln!(
            f,
            "geoip_db={}",
            self.geoip_db
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(none)".into())
        )?;
        writeln!(f, "attachments_dir={}", self.attachments_dir.display())?;
        writeln!(f, "max_upload_bytes={}", self.max_upload_bytes)?;
        writeln!(f, "inactivity_secs={}", self.inactivity_secs)?;
        writeln!(f, "retention_secs={}", self.retention_secs)?;
        writeln!(f, "priority_raise_secs={}", self.priority_raise_secs)?;
        writeln!(f, "scheduler_tick_ms={}", self.scheduler_tick_ms)?;
        writeln!(f, "relay_poll_ms={}", self.relay_poll_ms)?;
        writeln!(
            f,
            "webhook_backoff_unit_ms={}",
            self.webhook_backoff_unit_ms
        )?;
        writeln!(f, "webhook_timeout_ms={}", self.webhook_timeout_ms)?;
        writeln!(f, "webhook_poll_ms={}", self.webhook_poll_ms)?;
        writeln!(
            f,
            "webhook_disable_after_dead={}",
            self.webhook_disable_after_dead
        )?;
        let n = &self.notify;
        let set = |v: &Option<String>| {
            if v.is_some() {
                "<set, masked>"
            } else {
                "(none)"
            }
        };
        writeln!(f, "telegram_bot_token={}", set(&n.telegram_bot_token))?;
        writeln!(f, "telegram_api_url={}", n.telegram_api_url)?;
        writeln!(
            f,
            "telegram_webhook_secret={}",
            set(&n.telegram_webhook_secret)
        )?;
        writeln!(f, "telegram_link_minutes={}", n.telegram_link_minutes)?;
        writeln!(
            f,
            "smtp_url={}",
            n.smtp_url
                .as_deref()
                .map(mask_password)
                .unwrap_or_else(|| "(none)".into())
        )?;
        writeln!(f, "mail_from={}", n.mail_from)?;
        writeln!(f, "notify_backoff_unit_ms={}", n.notify_backoff_unit_ms)?;
        writeln!(f, "notify_poll_ms={}", n.notify_poll_ms)?;
        writeln!(f, "notify_timeout_ms={}", n.notify_timeout_ms)?;
        writeln!(f, "notify_keep_days={}", n.notify_keep_days)?;
        writeln!(
            f,
            "public_url={}",
            n.public_url.as_deref().unwrap_or("(none)")
        )?;
        write!(f, "visitor_email_delay_secs={}", n.visitor_email_delay_secs)
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            mask_password("postgres://sb:hunter2@db:5432/sb"),
            "postgres://sb:***@db:5432/sb"
        );
        assert_eq!(mask_password("postgres://db/sb"), "postgres://db/sb");
    }

    #[test]
    fn the_public_url_is_checked_and_trimmed() {
        let with = |url: &str| NotifyArgs {
            public_url: Some(url.into()),
            ..NotifyArgs::default()
        };
        assert_eq!(NotifyArgs::default().public_url().unwrap(), None);
        assert_eq!(
            with("https://chat.example.com/support/")
                .public_url()
                .unwrap(),
            Some("https://chat.example.com/support".into())
        );
        for bad in ["chat.example.com", "ftp://x", "https://", "https://x/?a=1"] {
            assert!(with(bad).public_url().is_err(), "{bad}");
        }
    }
}

//! `/metrics` (OPS-M1), in the OpenMetrics text format Prometheus scrapes.
//!
//! Measured in this process: HTTP request latency (a histogram by route, method and status),
//! open subscription sockets and open subscriptions. Read from PostgreSQL at each scrape, so
//! that they are right whichever process does the work (the relay, the projections and the
//! webhook worker may run apart from the API): the relay's lag, each projection's lag, and
//! webhook deliveries and failed attempts, and notifications pending and failed.

use std::sync::atomic::AtomicI64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use sqlx::PgPool;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route as declared (`/graphql`, `/attachments/{id}`), never the raw path.
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProjectionLabels {
    projection: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    status: String,
}

type Level = Gauge<i64, AtomicI64>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The process's metrics. Shared (`Arc`) by the HTTP layer and the schema.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    /// Subscription WebSockets open now.
    pub open_sockets: Level,
    /// Subscriptions running now, over all sockets.
    pub open_subscriptions: Level,
    relay_lag: Level,
    projection_lag: Family<ProjectionLabels, Level>,
    deliveries: Family<DeliveryLabels, Level>,
    failed_attempts: Level,
    notifications: Family<DeliveryLabels, Level>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let requests = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response, by route, method and status",
            requests.clone(),
        );
        let open_sockets = Level::default();
        registry.register(
            "open_subscription_sockets",
            "Subscription WebSockets open now",
            open_sockets.clone(),
        );
        let open_subscriptions = Level::default();
        registry.register(
            "open_subscriptions",
            "GraphQL subscriptions running now",
            open_subscriptions.clone(),
        );
        let relay_lag = Level::default();
        registry.register(
            "relay_lag_events",
            "Events in the log beyond the Kafka relay's checkpoint",
            relay_lag.clone(),
        );
        let projection_lag = Family::<ProjectionLabels, Level>::default();
        registry.register(
            "projection_lag_events",
            "Events in the log a projection has yet to apply",
            projection_lag.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Level>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries by status (pending, dead)",
            deliveries.clone(),
        );
        let failed_attempts = Level::default();
        registry.register(
            "webhook_failed_attempts",
            "Webhook delivery attempts that failed, since the endpoint was registered",
            failed_attempts.clone(),
        );
        let notifications = Family::<DeliveryLabels, Level>::default();
        registry.register(
            "notifications",
            "Telegram and e-mail notifications by status (pending, failed)",
            notifications.clone(),
        );
        Self {
            registry,
            notifications,
            requests,
            open_sockets,
            open_subscriptions,
            relay_lag,
            projection_lag,
            deliveries,
            failed_attempts,
        }
    }

    /// Records one answered request.
    pub fn observe_request(&self, labels: RequestLabels, took: Duration) {
        self.requests
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Reads the figures kept in PostgreSQL (the relay's checkpoint is `relay_checkpoint`),
    /// then renders everything.
    pub async fn render(
        &self,
        pool: &PgPool,
        relay_checkpoint: &str,
    ) -> Result<String, sqlx::Error> {
        let relay_lag: i64 = sqlx::query_scalar(
            "select coalesce((select max(global_position) from events), 0)
                  - coalesce((select global_position from log_checkpoints where name = $1), 0)",
        )
        .bind(relay_checkpoint)
        .fetch_one(pool)
        .await?;
        self.relay_lag.set(relay_lag.max(0));
        for (projection, lag) in switchboard_projections::lag(pool).await? {
            self.projection_lag
                .get_or_create(&ProjectionLabels { projection })
                .set(lag);
        }
        let (pending, dead, failed): (i64, i64, i64) = sqlx::query_as(
            "select (select count(*) from webhook_deliveries where status = 'pending'),
                    (select count(*) from webhook_deliveries where status = 'dead'),
                    (select count(*) from webhook_attempts where not succeeded)",
        )
        .fetch_one(pool)
        .await?;
        for (status, count) in [("pending", pending), ("dead", dead)] {
            self.deliveries
                .get_or_create(&DeliveryLabels {
                    status: status.into(),
                })
                .set(count);
        }
        self.failed_attempts.set(failed);
        let (pending, failed): (i64, i64) = sqlx::query_as(
            "select (select count(*) from notifications where status = 'pending'),
                    (select count(*) from notifications where status = 'failed')",
        )
        .fetch_one(pool)
        .await?;
        for (status, count) in [("pending", pending), ("failed", failed)] {
            self.notifications
                .get_or_create(&DeliveryLabels {
                    status: status.into(),
                })
                .set(count);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        Ok(text)
    }
}

/// Counts a running subscription for as long as it lives.
pub struct Running(Level);

impl Running {
    pub fn start(gauge: &Level) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A schema extension that counts running subscriptions into
/// [`Metrics::open_subscriptions`]: each subscription stream holds a [`Running`] until it
/// ends or its socket goes.
pub struct CountSubscriptions(pub std::sync::Arc<Metrics>);

impl async_graphql::extensions::ExtensionFactory for CountSubscriptions {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(CountSubscriptions(self.0.clone()))
    }
}

#[async_graphql::async_trait::async_trait]
impl async_graphql::extensions::Extension for CountSubscriptions {
    fn subscribe<'s>(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        stream: futures::stream::BoxStream<'s, async_graphql::Response>,
        next: async_graphql::extensions::NextSubscribe<'_>,
    ) -> futures::stream::BoxStream<'s, async_graphql::Response> {
        use futures::StreamExt;
        let running = Running::start(&self.0.open_subscriptions);
        next.run(ctx, stream)
            .map(move |response| {
                let _counted = &running;
                response
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_counts_while_alive() {
        let metrics = Metrics::new();
        let first = Running::start(&metrics.open_subscriptions);
        let second = Running::start(&metrics.open_subscriptions);
        assert_eq!(metrics.open_subscriptions.get(), 2);
        drop(first);
        drop(second);
        assert_eq!(metrics.open_subscriptions.get(), 0);
    }
}

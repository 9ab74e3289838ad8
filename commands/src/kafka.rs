//! Kafka plumbing shared by the relay and its tests: the producer settings and topic creation.
//!
//! Any Kafka-protocol broker works (Apache Kafka, Redpanda, Tansu). Some, like Tansu, do not
//! create topics on first use, so the service creates its topic at start-up.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureProducer;
use rdkafka::ClientConfig;

/// Where the events go.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `host:port[,host:port…]`
    pub brokers: String,
    pub topic: String,
    /// Partitions to create the topic with, when it does not exist yet.
    pub partitions: i32,
}

/// An idempotent producer: the broker drops a retried batch it already has, and keeps each
/// partition in send order, so the relay's retries neither duplicate nor reorder.
pub fn idempotent_producer(brokers: &str) -> Result<FutureProducer, KafkaError> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        // A message that times out must not leave a hole that later messages fill: the
        // producer fails instead, and the relay starts over from its checkpoint. librdkafka
        // still calls this setting experimental (and warns once at start-up); without it, a
        // timeout could put a stream's version N+1 on the partition before N.
        .set("enable.gapless.guarantee", "true")
        .create()
}

/// Creates `topic` unless it exists.
pub async fn ensure_topic(settings: &KafkaSettings) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .create()?;
    let topic = NewTopic::new(
        &settings.topic,
        settings.partitions,
        TopicReplication::Fixed(1),
    );
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics([&topic], &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(KafkaError::AdminOp(code)),
        }
    }
    Ok(())
}

/// True when no partition of `topic` has ever held a message (or the topic does not exist):
/// the broker lost its data or the topic was recreated, so whatever the relay published
/// before is gone.
pub async fn topic_is_empty(settings: &KafkaSettings) -> Result<bool, KafkaError> {
    let brokers = settings.brokers.clone();
    let topic = settings.topic.clone();
    tokio::task::spawn_blocking(move || {
        let probe: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .create()?;
        let timeout = Duration::from_secs(10);
        let metadata = probe.fetch_metadata(Some(&topic), timeout)?;
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Ok(true);
        };
        for partition in found.partitions() {
            let (_low, high) = probe.fetch_watermarks(&topic, partition.id(), timeout)?;
            if high > 0 {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await
    .unwrap_or(Err(KafkaError::Canceled))
}

//! The Kafka adapter of the bus port (the distributed deployment), on
//! librdkafka through `rdkafka`.
//!
//! - Publishing: one idempotent producer per process (`acks=all`, ordered
//!   retries), keyed by the event subject so one aggregate's events share a
//!   partition; the envelope is the JSON value, `traceparent` also travels as
//!   a message header. A send that the broker does not acknowledge within
//!   [`SEND_TIMEOUT`] fails, so the outbox keeps the row and the relay retries:
//!   a broker outage delays events, it never loses them.
//! - Topics (and their `<topic>.dlq`) are created on first use with the
//!   configured partition count and replication factor.
//! - Durable subscriptions ([`StartFrom::Earliest`]) join a consumer group;
//!   an offset is stored only after the consumer runner processed the event
//!   and is committed in the background (and on rebalance and close), so a
//!   consumer that dies mid-stream gets the unprocessed rest again and the
//!   inbox dedupes what it had already done.
//! - Live subscriptions ([`StartFrom::Latest`], SSE fan-out in every
//!   instance) use no group: they are assigned every partition at its high
//!   watermark when they subscribe, so nothing published afterwards is missed
//!   and each instance sees every event.
//! - Lag comes from librdkafka's statistics: per partition, high watermark
//!   minus the group's committed offset (durable) or minus the position
//!   (live), summed over the partitions this process consumes.

mod config;
mod subscription;

pub use config::{KafkaConfig, parse_brokers};

use super::Event;
use super::bus::{Bus, BusError, Record, StartFrom, Subscribed, Subscription};
use crate::health::Check;
use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use subscription::{KafkaSubscription, LagContext};

/// How long a publish waits for the broker's acknowledgement.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

/// The process's producer, replaced when librdkafka declares it fatally
/// failed (e.g. fenced after sends timed out during a broker outage: an
/// idempotent producer whose sequence is in doubt cannot go on). What it did
/// not deliver is still in the outboxes, so a fresh producer resends it.
struct ProducerSlot {
    brokers: String,
    current: Mutex<(u64, FutureProducer)>,
}

impl ProducerSlot {
    fn new(brokers: &str) -> Result<Self, BusError> {
        Ok(Self {
            brokers: brokers.to_owned(),
            current: Mutex::new((0, Self::create(brokers)?)),
        })
    }

    fn create(brokers: &str) -> Result<FutureProducer, BusError> {
        ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("client.id", "banter")
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", SEND_TIMEOUT.as_millis().to_string())
            .set("linger.ms", "2")
            .set("socket.keepalive.enable", "true")
            .create()
            .map_err(|e| unavailable("producer", e))
    }

    fn get(&self) -> (u64, FutureProducer) {
        lock(&self.current).clone()
    }

    /// Sends one record; a fatally failed producer is replaced for the next
    /// send.
    async fn send(&self, record: FutureRecord<'_, [u8], [u8]>) -> Result<(), BusError> {
        let (generation, producer) = self.get();
        let topic = record.topic.to_owned();
        let Err((err, _)) = producer.send(record, SEND_TIMEOUT).await else {
            return Ok(());
        };
        // A fenced or sequence-confused idempotent producer keeps failing
        // (brokers differ in whether they call it fatal): start afresh.
        let broken = matches!(
            err.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::ProducerFenced
                    | RDKafkaErrorCode::InvalidProducerEpoch
                    | RDKafkaErrorCode::UnknownProducerId
                    | RDKafkaErrorCode::OutOfOrderSequenceNumber
                    | RDKafkaErrorCode::InvalidProducerIdMapping
                    | RDKafkaErrorCode::Fatal
            )
        );
        let fatal = producer.client().fatal_error();
        if broken || fatal.is_some() {
            let reason = fatal.map_or_else(|| err.to_string(), |(_, r)| r);
            let mut current = lock(&self.current);
            if current.0 == generation {
                tracing::warn!(reason, "kafka producer cannot go on; starting a new one");
                if let Ok(fresh) = Self::create(&self.brokers) {
                    *current = (generation + 1, fresh);
                }
            }
        }
        Err(unavailable(&format!("publish to {topic}"), err))
    }
}

/// Lag per (topic, group), as sampled by the consumers' statistics.
type LagTable = Arc<Mutex<HashMap<(String, String), u64>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The [`Bus`] on Kafka. Cheap to share behind an `Arc`.
pub struct KafkaBus {
    config: KafkaConfig,
    brokers: String,
    producer: Arc<ProducerSlot>,
    admin: AdminClient<DefaultClientContext>,
    topics: Mutex<HashSet<String>>,
    lags: LagTable,
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(format!("kafka {what}: {err}"))
}

impl KafkaBus {
    /// Connects to the brokers of `config`, waiting up to `patience` for them
    /// to answer (a broker that starts a little after the service is fine).
    pub async fn connect(config: &KafkaConfig, patience: Duration) -> Result<Self, BusError> {
        let brokers = config
            .brokers
            .clone()
            .ok_or_else(|| BusError::Unavailable("no kafka brokers configured".into()))?;
        let producer = Arc::new(ProducerSlot::new(&brokers)?);
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("client.id", "banter-admin")
            .create()
            .map_err(|e| unavailable("admin client", e))?;
        let bus = Self {
            config: config.clone(),
            brokers,
            producer,
            admin,
            topics: Mutex::default(),
            lags: LagTable::default(),
        };
        let deadline = Instant::now() + patience;
        loop {
            match bus.ping().await {
                Ok(()) => return Ok(bus),
                Err(err) if Instant::now() >= deadline => {
                    return Err(BusError::Unavailable(format!(
                        "kafka brokers {} did not answer within {}s: {err}",
                        bus.brokers,
                        patience.as_secs()
                    )));
                }
                Err(err) => {
                    tracing::warn!(brokers = %bus.brokers, error = %err, "waiting for kafka");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// A metadata round trip to the cluster.
    pub async fn ping(&self) -> Result<(), String> {
        let client = self.producer.get().1;
        let metadata = tokio::task::spawn_blocking(move || {
            client
                .client()
                .fetch_metadata(None, Duration::from_secs(2))
                .map(|m| m.brokers().len())
        })
        .await
        .map_err(|e| e.to_string())?;
        match metadata {
            Ok(0) => Err("no brokers in the cluster metadata".into()),
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Creates `topic` with the configured partitions unless it exists.
    pub async fn ensure_topic(&self, topic: &str) -> Result<(), BusError> {
        if lock(&self.topics).contains(topic) {
            return Ok(());
        }
        let new = NewTopic::new(
            topic,
            self.config.partitions,
            TopicReplication::Fixed(self.config.replication_factor),
        );
        let options = AdminOptions::new().operation_timeout(Some(METADATA_TIMEOUT));
        let results = self
            .admin
            .create_topics([&new], &options)
            .await
            .map_err(|e| unavailable("create topic", e))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(unavailable(&format!("create topic {name}"), code));
                }
            }
        }
        lock(&self.topics).insert(topic.to_owned());
        Ok(())
    }

    /// The partitions of `topic` with their high watermarks.
    async fn high_watermarks(&self, topic: &str) -> Result<Vec<(i32, i64)>, BusError> {
        let client = self.producer.get().1;
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || {
            let client = client.client();
            // Metadata of a topic just created may not list its partitions yet.
            let deadline = Instant::now() + METADATA_TIMEOUT;
            let partitions: Vec<i32> = loop {
                let metadata = client
                    .fetch_metadata(Some(&topic), METADATA_TIMEOUT)
                    .map_err(|e| unavailable("metadata", e))?;
                let found: Vec<i32> = metadata
                    .topics()
                    .iter()
                    .filter(|t| t.name() == topic && t.error().is_none())
                    .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                    .collect();
                if !found.is_empty() {
                    break found;
                }
                if Instant::now() >= deadline {
                    return Err(unavailable(
                        "metadata",
                        format!("topic {topic} has no partitions"),
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            };
            partitions
                .into_iter()
                .map(|p| {
                    client
                        .fetch_watermarks(&topic, p, METADATA_TIMEOUT)
                        .map(|(_, high)| (p, high))
                        .map_err(|e| unavailable("watermarks", e))
                })
                .collect()
        })
        .await
        .map_err(|e| unavailable("metadata", e))?
    }

    fn consumer(
        &self,
        topic: &str,
        group: &str,
        live: bool,
    ) -> Result<StreamConsumer<LagContext>, BusError> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", "banter")
            .set("auto.offset.reset", "earliest")
            .set(
                "statistics.interval.ms",
                self.config.lag_interval_ms.to_string(),
            )
            .set("socket.keepalive.enable", "true")
            // Brokers answer an empty fetch after this long; tansu does not
            // answer early when events arrive, so it bounds delivery latency.
            .set("fetch.wait.max.ms", self.config.fetch_wait_ms.to_string());
        // librdkafka wants a group even for manual assignment; a live
        // subscription never joins it nor commits, so the broker never sees it.
        config.set("group.id", group);
        if live {
            config.set("enable.auto.commit", "false");
        } else {
            config
                // Offsets are stored by `commit` (after processing) and
                // committed every second, on rebalance and on close.
                .set("enable.auto.commit", "true")
                .set("auto.commit.interval.ms", "1000")
                .set("enable.auto.offset.store", "false")
                // Kafka's default: a broker outage shorter than this keeps
                // the membership, so consumption resumes without a rebalance
                // (a rebalance after an outage also exposed a group
                // coordinator bug in tansu 0.6). A crashed instance's
                // partitions move after this long; a stopped one leaves at once.
                .set("session.timeout.ms", "45000")
                .set("heartbeat.interval.ms", "3000");
        }
        let context = LagContext {
            topic: topic.to_owned(),
            group: group.to_owned(),
            live,
            lags: self.lags.clone(),
        };
        config
            .create_with_context(context)
            .map_err(|e| unavailable("consumer", e))
    }
}

#[async_trait]
impl Bus for KafkaBus {
    async fn publish(&self, topic: &str, event: &Event) -> Result<(), BusError> {
        self.ensure_topic(topic).await?;
        let payload = serde_json::to_vec(event).map_err(|e| unavailable("encode", e))?;
        let mut headers = OwnedHeaders::new().insert(Header {
            key: "ce_type",
            value: Some(event.kind.as_str()),
        });
        if let Some(tp) = &event.traceparent {
            headers = headers.insert(Header {
                key: "traceparent",
                value: Some(tp.as_str()),
            });
        }
        let record = FutureRecord::to(topic)
            .key(event.subject.as_bytes())
            .payload(payload.as_slice())
            .headers(headers);
        self.producer.send(record).await
    }

    async fn subscribe(&self, topic: &str, group: &str, from: StartFrom) -> Subscribed {
        self.ensure_topic(topic).await?;
        let live = from == StartFrom::Latest;
        let consumer = self.consumer(topic, group, live)?;
        if live {
            let mut assignment = TopicPartitionList::new();
            for (partition, high) in self.high_watermarks(topic).await? {
                assignment
                    .add_partition_offset(topic, partition, Offset::Offset(high))
                    .map_err(|e| unavailable("assign", e))?;
            }
            consumer
                .assign(&assignment)
                .map_err(|e| unavailable("assign", e))?;
        } else {
            consumer
                .subscribe(&[topic])
                .map_err(|e| unavailable("subscribe", e))?;
        }
        Ok(Box::new(KafkaSubscription {
            consumer: Some(Arc::new(consumer)),
            topic: topic.to_owned(),
            live,
            producer: self.producer.clone(),
        }))
    }

    fn lag(&self, topic: &str, group: &str) -> Option<u64> {
        lock(&self.lags)
            .get(&(topic.to_owned(), group.to_owned()))
            .copied()
    }

    fn name(&self) -> &'static str {
        "kafka"
    }
}

/// `/ready` fails while the brokers do not answer.
pub struct KafkaCheck(pub Arc<KafkaBus>);

#[async_trait]
impl Check for KafkaCheck {
    fn name(&self) -> &str {
        "kafka"
    }
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await
    }
}

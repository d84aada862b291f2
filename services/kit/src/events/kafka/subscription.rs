//! One subscription to a topic: a consumer in a group (durable) or on every
//! partition from its high watermark (live), and the lag librdkafka's
//! statistics report for it.

use super::*;

/// Receives librdkafka's statistics and keeps the subscription's lag.
pub(super) struct LagContext {
    pub(super) topic: String,
    pub(super) group: String,
    pub(super) live: bool,
    pub(super) lags: LagTable,
}

impl ClientContext for LagContext {
    fn stats(&self, statistics: Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        let mut lag = 0u64;
        let mut known = false;
        // Partition -1 is librdkafka's internal "unassigned" partition.
        for (_, p) in topic.partitions.iter().filter(|(id, _)| **id >= 0) {
            // Live: what this process has not read yet. Durable: what the
            // group has not committed; a partition it never committed is
            // behind by everything retained (it starts from the earliest).
            let done = match (self.live, p.committed_offset) {
                (true, _) => p.app_offset,
                (false, committed) if committed >= 0 => committed,
                (false, _) => p.lo_offset,
            };
            let behind = (p.hi_offset >= 0 && done >= 0).then(|| p.hi_offset - done);
            if let Some(behind) = behind {
                lag += behind.max(0) as u64;
                known = true;
            }
        }
        if known {
            lock(&self.lags).insert((self.topic.clone(), self.group.clone()), lag);
        }
    }
}

impl ConsumerContext for LagContext {}

pub(super) struct KafkaSubscription {
    /// `Some` until dropped; closing a consumer blocks, so it happens off the
    /// async workers.
    pub(super) consumer: Option<Arc<StreamConsumer<LagContext>>>,
    pub(super) topic: String,
    pub(super) live: bool,
    pub(super) producer: Arc<ProducerSlot>,
}

impl KafkaSubscription {
    fn consumer(&self) -> Result<&StreamConsumer<LagContext>, BusError> {
        self.consumer.as_deref().ok_or(BusError::Closed)
    }
}

#[async_trait]
impl Subscription for KafkaSubscription {
    async fn next(&mut self) -> Result<Record, BusError> {
        loop {
            let consumer = self.consumer()?;
            let message = consumer
                .recv()
                .await
                .map_err(|e| unavailable(&format!("consume {}", self.topic), e))?;
            let partition = message.partition();
            let offset = message.offset();
            let decoded = message
                .payload()
                .ok_or_else(|| "empty message".to_owned())
                .and_then(|p| serde_json::from_slice::<Event>(p).map_err(|e| e.to_string()));
            match decoded {
                Ok(mut event) => {
                    if event.traceparent.is_none() {
                        event.traceparent = header(&message, "traceparent");
                    }
                    return Ok(Record {
                        topic: self.topic.clone(),
                        partition: partition.max(0) as u32,
                        offset: offset.max(0) as u64,
                        event,
                    });
                }
                Err(err) => {
                    // Not an envelope: it can never be handled. Park the raw
                    // bytes in the dead-letter topic and move past it.
                    let dlq = super::super::dead_letter_topic(&self.topic);
                    tracing::error!(topic = %self.topic, partition, offset, error = %err, dlq = %dlq, "undecodable event dead-lettered");
                    let raw = message.payload().unwrap_or_default().to_vec();
                    let key = message.key().unwrap_or_default().to_vec();
                    let record = FutureRecord::to(&dlq)
                        .key(key.as_slice())
                        .payload(raw.as_slice());
                    self.producer.send(record).await?;
                    metrics::counter!("messaging_dead_lettered_total", "topic" => self.topic.clone(), "group" => "undecodable").increment(1);
                    if !self.live {
                        let _ = self
                            .consumer()?
                            .store_offset(&self.topic, partition, offset);
                    }
                }
            }
        }
    }

    async fn commit(&mut self, record: &Record) -> Result<(), BusError> {
        if self.live {
            return Ok(());
        }
        // Stores offset + 1 for the next background commit.
        self.consumer()?
            .store_offset(&record.topic, record.partition as i32, record.offset as i64)
            .map_err(|e| unavailable("store offset", e))
    }
}

fn header<M: Message>(message: &M, key: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_owned)
}

impl Drop for KafkaSubscription {
    fn drop(&mut self) {
        // Closing commits stored offsets and leaves the group: a blocking
        // round trip, kept off the async workers when there are any.
        if let Some(consumer) = self.consumer.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(move || drop(consumer))),
                Err(_) => drop(consumer),
            }
        }
    }
}

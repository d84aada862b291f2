//! The in-process bus of the embedded deployment: per-topic partitioned logs
//! in memory with consumer-group cursors, the same semantics the Kafka adapter
//! has (ordered per subject, every group sees every event, redelivery of what
//! was fetched but not committed). Events are trimmed once every group has
//! committed them. Durability comes from the outbox, not from this log.

use super::Event;
use super::bus::{Bus, BusError, Record, StartFrom, Subscribed, Subscription, partition_for};
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

const DEFAULT_PARTITIONS: u32 = 4;

/// Events kept per partition of a topic no group reads. Some topics have no
/// reader in a deployment (nothing consumes `chat.events` in the embedded
/// one): the log is trimmed only by groups' commits, so without this bound
/// it grew with every room created. Consumers subscribe before any relay
/// publishes (kit's module runner), so late joiners need little history.
const UNREAD_HISTORY: usize = 1_000;

#[derive(Default)]
struct PartitionLog {
    /// Offset of `events[0]`.
    base: u64,
    events: VecDeque<Event>,
}

impl PartitionLog {
    fn end(&self) -> u64 {
        self.base + self.events.len() as u64
    }
}

struct Group {
    committed: Vec<u64>,
    fetched: Vec<u64>,
    members: usize,
}

struct TopicLog {
    partitions: Vec<PartitionLog>,
    groups: HashMap<String, Group>,
    version: watch::Sender<u64>,
}

impl TopicLog {
    fn new(partitions: u32) -> Self {
        Self {
            partitions: (0..partitions).map(|_| PartitionLog::default()).collect(),
            groups: HashMap::new(),
            version: watch::channel(0).0,
        }
    }

    fn trim(&mut self) {
        for (p, log) in self.partitions.iter_mut().enumerate() {
            let Some(min) = self.groups.values().map(|g| g.committed[p]).min() else {
                continue;
            };
            while log.base < min && !log.events.is_empty() {
                log.events.pop_front();
                log.base += 1;
            }
        }
    }
}

/// In-memory, in-process implementation of [`Bus`].
#[derive(Clone)]
pub struct InProcessBus {
    topics: Arc<Mutex<HashMap<String, TopicLog>>>,
    partitions: u32,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new(DEFAULT_PARTITIONS)
    }
}

impl InProcessBus {
    pub fn new(partitions: u32) -> Self {
        Self {
            topics: Arc::default(),
            partitions: partitions.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, TopicLog>> {
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_topic<T>(&self, topic: &str, f: impl FnOnce(&mut TopicLog) -> T) -> T {
        let mut topics = self.lock();
        let log = topics
            .entry(topic.to_owned())
            .or_insert_with(|| TopicLog::new(self.partitions));
        f(log)
    }
}

#[async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, topic: &str, event: &Event) -> Result<(), BusError> {
        let partitions = self.partitions;
        self.with_topic(topic, |log| {
            let p = partition_for(&event.subject, partitions) as usize;
            log.partitions[p].events.push_back(event.clone());
            log.version.send_modify(|v| *v += 1);
            if log.groups.is_empty() {
                let part = &mut log.partitions[p];
                while part.events.len() > UNREAD_HISTORY {
                    part.events.pop_front();
                    part.base += 1;
                }
            }
        });
        Ok(())
    }

    async fn subscribe(&self, topic: &str, group: &str, from: StartFrom) -> Subscribed {
        let version = self.with_topic(topic, |log| {
            let start: Vec<u64> = match from {
                StartFrom::Earliest => log.partitions.iter().map(|p| p.base).collect(),
                StartFrom::Latest => log.partitions.iter().map(PartitionLog::end).collect(),
            };
            let g = log.groups.entry(group.to_owned()).or_insert_with(|| Group {
                committed: start.clone(),
                fetched: start,
                members: 0,
            });
            g.members += 1;
            log.version.subscribe()
        });
        Ok(Box::new(MemorySubscription {
            bus: self.clone(),
            topic: topic.to_owned(),
            group: group.to_owned(),
            version,
            next_partition: 0,
        }))
    }

    fn lag(&self, topic: &str, group: &str) -> Option<u64> {
        let topics = self.lock();
        let log = topics.get(topic)?;
        let g = log.groups.get(group)?;
        Some(
            log.partitions
                .iter()
                .zip(&g.committed)
                .map(|(p, c)| p.end().saturating_sub(*c))
                .sum(),
        )
    }

    fn name(&self) -> &'static str {
        "in-process"
    }
}

struct MemorySubscription {
    bus: InProcessBus,
    topic: String,
    group: String,
    version: watch::Receiver<u64>,
    next_partition: usize,
}

impl MemorySubscription {
    fn poll(&mut self) -> Option<Record> {
        let mut topics = self.bus.lock();
        let log = topics.get_mut(&self.topic)?;
        let n = log.partitions.len();
        let group = log.groups.get_mut(&self.group)?;
        for i in 0..n {
            let p = (self.next_partition + i) % n;
            let part = &log.partitions[p];
            let offset = group.fetched[p].max(part.base);
            if offset < part.end() {
                group.fetched[p] = offset + 1;
                self.next_partition = (p + 1) % n;
                let event = part.events[(offset - part.base) as usize].clone();
                return Some(Record {
                    topic: self.topic.clone(),
                    partition: p as u32,
                    offset,
                    event,
                });
            }
        }
        None
    }
}

#[async_trait]
impl Subscription for MemorySubscription {
    async fn next(&mut self) -> Result<Record, BusError> {
        loop {
            self.version.borrow_and_update();
            if let Some(record) = self.poll() {
                return Ok(record);
            }
            self.version.changed().await.map_err(|_| BusError::Closed)?;
        }
    }

    async fn commit(&mut self, record: &Record) -> Result<(), BusError> {
        let mut topics = self.bus.lock();
        if let Some(log) = topics.get_mut(&self.topic) {
            if let Some(g) = log.groups.get_mut(&self.group) {
                let p = record.partition as usize;
                g.committed[p] = g.committed[p].max(record.offset + 1);
            }
            log.trim();
        }
        Ok(())
    }
}

impl Drop for MemorySubscription {
    // What this member fetched but did not commit is handed out again.
    fn drop(&mut self) {
        let mut topics = self.bus.lock();
        if let Some(g) = topics
            .get_mut(&self.topic)
            .and_then(|l| l.groups.get_mut(&self.group))
        {
            g.members = g.members.saturating_sub(1);
            if g.members == 0 {
                g.fetched.clone_from(&g.committed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(subject: &str, n: i64) -> Event {
        let mut e = Event::new("Test", "test", subject, json!({ "n": n }));
        e.traceparent = None;
        e
    }

    #[tokio::test]
    async fn every_group_sees_every_event_in_subject_order() {
        let bus = InProcessBus::new(3);
        let mut a = bus.subscribe("t", "a", StartFrom::Earliest).await.unwrap();
        let mut b = bus.subscribe("t", "b", StartFrom::Earliest).await.unwrap();
        for n in 0..20 {
            bus.publish("t", &ev(&format!("s{}", n % 4), n))
                .await
                .unwrap();
        }
        for sub in [&mut a, &mut b] {
            let mut seen: HashMap<String, Vec<i64>> = HashMap::new();
            for _ in 0..20 {
                let r = sub.next().await.unwrap();
                seen.entry(r.event.subject.clone())
                    .or_default()
                    .push(r.event.data["n"].as_i64().unwrap());
                sub.commit(&r).await.unwrap();
            }
            for (subject, ns) in seen {
                let mut sorted = ns.clone();
                sorted.sort_unstable();
                assert_eq!(ns, sorted, "order within {subject}");
            }
        }
        assert_eq!(bus.lag("t", "a"), Some(0));
    }

    #[tokio::test]
    async fn uncommitted_events_are_redelivered_and_latest_skips_history() {
        let bus = InProcessBus::new(1);
        let mut sub = bus.subscribe("t", "g", StartFrom::Earliest).await.unwrap();
        bus.publish("t", &ev("s", 1)).await.unwrap();
        bus.publish("t", &ev("s", 2)).await.unwrap();
        let first = sub.next().await.unwrap();
        sub.commit(&first).await.unwrap();
        let second = sub.next().await.unwrap();
        assert_eq!(second.event.data["n"], 2);
        drop(sub); // crashed before committing `second`
        assert_eq!(bus.lag("t", "g"), Some(1));
        let mut again = bus.subscribe("t", "g", StartFrom::Earliest).await.unwrap();
        assert_eq!(again.next().await.unwrap().event.id, second.event.id);

        let mut live = bus.subscribe("t", "live", StartFrom::Latest).await.unwrap();
        bus.publish("t", &ev("s", 3)).await.unwrap();
        assert_eq!(live.next().await.unwrap().event.data["n"], 3);
    }

    #[tokio::test]
    async fn a_topic_nobody_reads_keeps_a_bounded_history() {
        let bus = InProcessBus::new(2);
        let n = 3 * UNREAD_HISTORY as i64;
        for i in 0..n {
            bus.publish("unread", &ev(&format!("s{}", i % 2), i))
                .await
                .unwrap();
        }
        let kept: usize = bus.lock()["unread"]
            .partitions
            .iter()
            .map(|p| p.events.len())
            .sum();
        assert_eq!(kept, 2 * UNREAD_HISTORY);
        // A late joiner from the earliest still gets the newest events.
        let mut late = bus
            .subscribe("unread", "late", StartFrom::Earliest)
            .await
            .unwrap();
        let first = late.next().await.unwrap();
        assert!(first.event.data["n"].as_i64().unwrap() >= n - 2 * UNREAD_HISTORY as i64);
    }

    #[tokio::test]
    async fn next_waits_for_a_publish() {
        let bus = InProcessBus::new(2);
        let mut sub = bus.subscribe("t", "g", StartFrom::Latest).await.unwrap();
        let publisher = bus.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            publisher.publish("t", &ev("x", 9)).await.unwrap();
        });
        let r = tokio::time::timeout(std::time::Duration::from_secs(2), sub.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.event.data["n"], 9);
    }
}

//! The bus port, shaped after Kafka: topics split into partitions by the
//! event subject, consumer groups that each see every event, and explicit
//! commits after processing (at-least-once).

use super::Event;
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    #[error("bus closed")]
    Closed,
}

/// Where a consumer group that has never committed starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// Every retained event (durable consumers).
    Earliest,
    /// Only events published from now on (live fan-out, e.g. SSE).
    Latest,
}

/// An event as delivered to a consumer, with its position.
#[derive(Debug, Clone)]
pub struct Record {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    pub event: Event,
}

/// What [`Bus::subscribe`] gives: the group's stream of records.
pub type Subscribed = Result<Box<dyn Subscription>, BusError>;

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Appends `event` to `topic` (partition chosen by `event.subject`).
    async fn publish(&self, topic: &str, event: &Event) -> Result<(), BusError>;
    /// Joins consumer group `group` on `topic`.
    async fn subscribe(&self, topic: &str, group: &str, from: StartFrom) -> Subscribed;
    /// Events of `topic` not yet committed by `group`.
    fn lag(&self, topic: &str, group: &str) -> Option<u64>;
    /// Adapter name for logs (`in-process`, `kafka`).
    fn name(&self) -> &'static str;
}

#[async_trait]
pub trait Subscription: Send {
    /// The next record for this group; waits until one is available.
    async fn next(&mut self) -> Result<Record, BusError>;
    /// Marks `record` (and everything before it in its partition) processed.
    async fn commit(&mut self, record: &Record) -> Result<(), BusError>;
}

/// Partition of a subject: a stable hash, so one subject's events keep order.
pub fn partition_for(subject: &str, partitions: u32) -> u32 {
    // FNV-1a: stable across processes and versions, unlike the std hasher.
    let mut hash: u32 = 0x811c_9dc5;
    for b in subject.as_bytes() {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % partitions.max(1)
}

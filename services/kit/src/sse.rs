//! Server-sent event streams that resume without gaps or duplicates.
//!
//! Each stream is an ordered log with integer ids (`seq`) kept in the owning
//! service's database. A connection first subscribes to live items from a
//! [`Hub`], then replays the log after `Last-Event-ID`, then follows live
//! items, skipping what it already sent and re-reading the log when it falls
//! behind or sees a hole. Every event carries its `id`; comments keep idle
//! connections alive.

use crate::error::ApiError;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Position in the stream's log; sent as the SSE `id`.
    pub seq: i64,
    /// SSE `event` name, e.g. `message.created`.
    pub event: String,
    /// JSON payload.
    pub data: String,
}

/// Live fan-out of items to the connections of each stream key.
pub struct Hub<K> {
    channels: Mutex<HashMap<K, broadcast::Sender<Arc<Item>>>>,
}

impl<K> Default for Hub<K> {
    fn default() -> Self {
        Self {
            channels: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone> Hub<K> {
    pub fn subscribe(&self, key: &K) -> broadcast::Receiver<Arc<Item>> {
        let mut map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.clone())
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }

    /// Delivers to current connections of `key` (none: dropped, the log has it).
    pub fn publish(&self, key: &K, item: Item) {
        let mut map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = map.get(key) {
            if tx.receiver_count() == 0 {
                map.remove(key);
            } else {
                let _ = tx.send(Arc::new(item));
            }
        }
    }

    /// Whether anybody is connected to `key` in this process.
    pub fn has_listeners(&self, key: &K) -> bool {
        let map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).is_some_and(|tx| tx.receiver_count() > 0)
    }
}

/// The `Last-Event-ID` request header, if any.
pub fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    match headers.get("last-event-id") {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|_| ApiError::validation("Last-Event-ID must be an integer event id"))
            })
            .transpose(),
    }
}

/// How a stream behaves.
pub struct StreamSpec {
    pub service: &'static str,
    /// Metric label, e.g. `room_messages`.
    pub stream: &'static str,
    /// Ids of consecutive items differ by exactly one, so a hole means an
    /// item is missing and the log is re-read.
    pub contiguous: bool,
    pub keep_alive: Duration,
}

struct Connected {
    labels: [(&'static str, &'static str); 2],
}

impl Connected {
    fn new(service: &'static str, stream: &'static str) -> Self {
        let labels = [("service", service), ("stream", stream)];
        metrics::gauge!("sse_connections_active", &labels).increment(1.0);
        Self { labels }
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        metrics::gauge!("sse_connections_active", &self.labels).decrement(1.0);
    }
}

fn to_sse(item: &Item) -> SseEvent {
    SseEvent::default()
        .id(item.seq.to_string())
        .event(&item.event)
        .data(&item.data)
}

/// The items of a backlog read that this stream has not sent yet (`seq` past
/// `last`), moving `last` to the newest; none when the read failed (logged:
/// the next live item or replay tries again).
fn unsent(read: Result<Vec<Item>, String>, last: &mut Option<i64>) -> Vec<Item> {
    match read {
        Ok(items) => items
            .into_iter()
            .filter(|item| {
                let new = last.is_none_or(|l| item.seq > l);
                if new {
                    *last = Some(item.seq);
                }
                new
            })
            .collect(),
        Err(err) => {
            tracing::warn!(error = %err, "SSE backlog read failed");
            Vec::new()
        }
    }
}

/// A resumable SSE response. `backlog(after)` returns the logged items with
/// `seq > after`, in order. Ends when `shutdown` fires.
pub fn resumable<F, Fut>(
    spec: StreamSpec,
    mut live: broadcast::Receiver<Arc<Item>>,
    last_event_id: Option<i64>,
    backlog: F,
    shutdown: CancellationToken,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>>
where
    F: Fn(i64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Vec<Item>, String>> + Send,
{
    let keep_alive = spec.keep_alive;
    let stream = async_stream::stream! {
        let connected = Connected::new(spec.service, spec.stream);
        let sent = metrics::counter!("sse_events_sent_total", &connected.labels);
        let mut last = last_event_id;
        if let Some(after) = last {
            for item in unsent(backlog(after).await, &mut last) {
                sent.increment(1);
                yield Ok(to_sse(&item));
            }
        }
        loop {
            let next = tokio::select! {
                n = live.recv() => n,
                () = shutdown.cancelled() => break,
            };
            let replay_from = match next {
                Ok(item) => match last {
                    Some(l) if item.seq <= l => continue,
                    Some(l) if spec.contiguous && item.seq > l + 1 => l,
                    _ => {
                        last = Some(item.seq);
                        sent.increment(1);
                        yield Ok(to_sse(&item));
                        continue;
                    }
                },
                Err(broadcast::error::RecvError::Lagged(_)) => match last {
                    Some(l) => l,
                    None => continue,
                },
                Err(broadcast::error::RecvError::Closed) => break,
            };
            // Behind or a hole: the log is the truth.
            for item in unsent(backlog(replay_from).await, &mut last) {
                sent.increment(1);
                yield Ok(to_sse(&item));
            }
        }
        drop(connected);
    };
    Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive).text("keep-alive"))
}

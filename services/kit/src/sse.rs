//! Server-sent event streams that resume without gaps or duplicates.
//!
//! Each stream is an ordered log with integer ids (`seq`) kept in the owning
//! service's database. A connection first subscribes to live items from a
//! [`Hub`], then replays the log after `Last-Event-ID`, then follows live
//! items, skipping what it already sent and re-reading the log when it falls
//! behind or sees a hole. Every event carries its `id`; comments keep idle
//! connections alive.
//!
//! A stream lives no longer than the token it was opened with ([`Session`]):
//! it ends at the token's expiry, and within [`REVOCATION_RECHECK`] of its
//! revocation (a logout through any instance: the stream asks the
//! deployment's revocation store, in memory or in Redis, rather than
//! waiting for a notice that one process could miss). A client that
//! reconnects with the same token then gets 401.

use crate::auth::{AuthUser, TokenVerifier};
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
///
/// A key's channel stays after its last connection closes (a publish to it,
/// or the next sweep, drops it). Sweeps run when the map has doubled since
/// the last one, so it holds at most about twice the keys with a live
/// connection: every user who ever opened a stream left a 256-slot channel
/// behind before, and the process grew with every new user.
pub struct Hub<K> {
    channels: Mutex<Channels<K>>,
}

struct Channels<K> {
    by_key: HashMap<K, broadcast::Sender<Arc<Item>>>,
    /// Size at which the next sweep runs.
    sweep_at: usize,
}

/// Channels below which no sweep runs.
const SWEEP_FLOOR: usize = 64;

impl<K> Default for Hub<K> {
    fn default() -> Self {
        Self {
            channels: Mutex::new(Channels {
                by_key: HashMap::new(),
                sweep_at: SWEEP_FLOOR,
            }),
        }
    }
}

impl<K: Hash + Eq + Clone> Hub<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Channels<K>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn subscribe(&self, key: &K) -> broadcast::Receiver<Arc<Item>> {
        let mut channels = self.lock();
        if channels.by_key.len() >= channels.sweep_at {
            channels.by_key.retain(|_, tx| tx.receiver_count() > 0);
            channels.sweep_at = (2 * channels.by_key.len()).max(SWEEP_FLOOR);
        }
        channels
            .by_key
            .entry(key.clone())
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }

    /// Delivers to current connections of `key` (none: dropped, the log has it).
    pub fn publish(&self, key: &K, item: Item) {
        let mut channels = self.lock();
        if let Some(tx) = channels.by_key.get(key) {
            if tx.receiver_count() == 0 {
                channels.by_key.remove(key);
            } else {
                let _ = tx.send(Arc::new(item));
            }
        }
    }

    /// Whether anybody is connected to `key` in this process.
    pub fn has_listeners(&self, key: &K) -> bool {
        self.lock()
            .by_key
            .get(key)
            .is_some_and(|tx| tx.receiver_count() > 0)
    }

    /// Keys with a channel, live or left behind (what the sweep bounds).
    pub fn channels(&self) -> usize {
        self.lock().by_key.len()
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

/// How often an open stream asks whether its token has been revoked: a
/// stream outlives a logout by at most this long. One `is_revoked` per
/// stream per period (a Redis `EXISTS` in a split deployment).
pub const REVOCATION_RECHECK: Duration = Duration::from_secs(2);

/// The token a stream was opened with; the stream ends when it expires or
/// is revoked.
#[derive(Clone)]
pub struct Session {
    verifier: Arc<TokenVerifier>,
    jti: String,
    /// Unix seconds (the token's `exp`).
    expires_at: i64,
    recheck: Duration,
}

/// Why a stream ended before the client or the server closed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    Expired,
    Revoked,
    /// The revocation store did not answer: the stream ends as a request
    /// would be refused (503), and the client's resume is lossless.
    Unverifiable,
}

impl SessionEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "token_expired",
            Self::Revoked => "token_revoked",
            Self::Unverifiable => "revocation_unverifiable",
        }
    }
}

impl Session {
    /// The session of `user`'s verified token, checked against `verifier`'s
    /// revocations.
    pub fn of(user: &AuthUser, verifier: Arc<TokenVerifier>) -> Self {
        Self {
            verifier,
            jti: user.claims.jti.clone(),
            expires_at: user.claims.exp,
            recheck: REVOCATION_RECHECK,
        }
    }

    /// Asks for revocations every `period` instead of [`REVOCATION_RECHECK`].
    pub fn recheck_every(mut self, period: Duration) -> Self {
        self.recheck = period.max(Duration::from_millis(10));
        self
    }

    /// Time left until the token expires (zero when it already has).
    fn until_expiry(&self) -> Duration {
        let left_ms = self
            .expires_at
            .saturating_mul(1000)
            .saturating_sub(chrono::Utc::now().timestamp_millis());
        Duration::from_millis(u64::try_from(left_ms).unwrap_or(0))
    }

    /// Resolves when the token expires or is found revoked.
    pub async fn ended(self) -> SessionEnd {
        let expiry = tokio::time::sleep(self.until_expiry());
        tokio::pin!(expiry);
        let mut recheck =
            tokio::time::interval_at(tokio::time::Instant::now() + self.recheck, self.recheck);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut expiry => return SessionEnd::Expired,
                _ = recheck.tick() => {
                    match self.verifier.revocations().is_revoked(&self.jti).await {
                        Ok(false) => {}
                        Ok(true) => return SessionEnd::Revoked,
                        Err(err) => {
                            tracing::warn!(error = %err, "SSE stream: cannot check token revocation; ending the stream");
                            return SessionEnd::Unverifiable;
                        }
                    }
                }
            }
        }
    }
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
/// `seq > after`, in order. Ends when `shutdown` fires or the `session`
/// ends (its token expires or is revoked).
pub fn resumable<F, Fut>(
    spec: StreamSpec,
    mut live: broadcast::Receiver<Arc<Item>>,
    last_event_id: Option<i64>,
    backlog: F,
    shutdown: CancellationToken,
    session: Session,
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
        let session_end = session.ended();
        tokio::pin!(session_end);
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
                end = &mut session_end => {
                    tracing::debug!(stream = spec.stream, reason = end.as_str(), "SSE stream ended with its token");
                    break;
                }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::auth::{Claims, ISSUER, InMemoryRevocations, RedisRevocations, Revocations};
    use std::time::Instant;

    #[test]
    fn channels_of_closed_streams_do_not_pile_up() {
        let hub: Hub<i64> = Hub::default();
        let live: Vec<_> = (0..10).map(|k| hub.subscribe(&k)).collect();
        // Ten thousand streams open and close, each on a key of its own
        // that never sees a publish again.
        for k in 10..10_010 {
            drop(hub.subscribe(&k));
        }
        assert!(hub.channels() <= SWEEP_FLOOR, "{} channels", hub.channels());
        // The live ones still get what is published to them.
        hub.publish(
            &3,
            Item {
                seq: 1,
                event: "e".into(),
                data: "{}".into(),
            },
        );
        let mut rx = live.into_iter().nth(3).unwrap();
        assert_eq!(rx.try_recv().unwrap().seq, 1);
        assert!(hub.has_listeners(&3) && !hub.has_listeners(&10_009));
    }

    fn open_session(
        revocations: Arc<dyn Revocations>,
        jti: &str,
        expires_in_ms: i64,
    ) -> (Session, Arc<TokenVerifier>) {
        let verifier = Arc::new(TokenVerifier::new(revocations));
        let now_ms = chrono::Utc::now().timestamp_millis();
        // `exp` is in whole seconds: the next second boundary past the wanted instant.
        let exp = (now_ms + expires_in_ms + 999) / 1000;
        let user = AuthUser {
            id: 1,
            claims: Claims {
                sub: "1".into(),
                jti: jti.into(),
                iat: now_ms / 1000,
                exp,
                iss: ISSUER.into(),
            },
            token: "t".into(),
        };
        let session = Session::of(&user, verifier.clone()).recheck_every(Duration::from_millis(50));
        (session, verifier)
    }

    #[tokio::test]
    async fn a_session_ends_at_its_tokens_expiry() {
        let (session, _) = open_session(Arc::new(InMemoryRevocations::default()), "j", 1000);
        let exp_ms = session.expires_at * 1000;
        assert_eq!(session.ended().await, SessionEnd::Expired);
        let late = chrono::Utc::now().timestamp_millis() - exp_ms;
        assert!((0..250).contains(&late), "ended {late} ms after exp");
        // Already expired: at once.
        let (expired, _) = open_session(Arc::new(InMemoryRevocations::default()), "j", -5000);
        let start = Instant::now();
        assert_eq!(expired.ended().await, SessionEnd::Expired);
        assert!(start.elapsed() < Duration::from_millis(100));
    }

    async fn ends_at_revocation(revocations: Arc<dyn Revocations>, jti: &str) {
        let (session, verifier) = open_session(revocations, jti, 600_000);
        let ended = tokio::spawn(session.ended());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!ended.is_finished(), "a valid token's session goes on");
        let exp = chrono::Utc::now().timestamp() + 600;
        verifier.revocations().revoke(jti, exp).await.unwrap();
        let start = Instant::now();
        let end = tokio::time::timeout(Duration::from_secs(2), ended)
            .await
            .expect("ends within the recheck period")
            .unwrap();
        assert_eq!(end, SessionEnd::Revoked);
        assert!(start.elapsed() < Duration::from_millis(500));
    }

    #[tokio::test]
    async fn a_session_ends_when_its_token_is_revoked() {
        ends_at_revocation(Arc::new(InMemoryRevocations::default()), "j-memory").await;
    }

    #[tokio::test]
    async fn a_session_ends_when_its_token_is_revoked_in_redis() {
        let redis = crate::redis::connect_for_test().await;
        ends_at_revocation(Arc::new(RedisRevocations::new(redis.clone())), "j-redis").await;
        redis.purge().await.unwrap();
    }
}

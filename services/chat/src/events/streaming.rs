//! Who has a room stream open, so `MessageSent` can say which members are
//! watching (notifications skip them). In memory for one process, or in
//! Redis so a stream open on one chat instance counts on every other.

use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// (room id, user id).
type Key = (i64, i64);

#[async_trait]
pub trait Streaming: Send + Sync {
    /// Counts `user_id` as streaming `room_id` until the guard is dropped.
    async fn open(&self, room_id: i64, user_id: i64) -> StreamingGuard;
    /// Those of `members` with a stream of `room_id` open, in the order given.
    async fn watching(&self, room_id: i64, members: &[i64]) -> Vec<i64>;
}

/// The streams open in this process, counted per (room, user): a user may
/// have several (tabs, devices).
#[derive(Default)]
struct OpenStreams {
    counts: Mutex<HashMap<Key, usize>>,
    /// Told when the last local stream of a (room, user) closes.
    closed: Option<mpsc::UnboundedSender<Change>>,
}

impl OpenStreams {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, usize>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one more stream of `key`; true when it is the first.
    fn open(self: &Arc<Self>, key: Key) -> (StreamingGuard, bool) {
        let count = {
            let mut counts = self.lock();
            let count = counts.entry(key).or_default();
            *count += 1;
            *count
        };
        let guard = StreamingGuard {
            streams: self.clone(),
            key,
        };
        (guard, count == 1)
    }

    fn is_open(&self, key: Key) -> bool {
        self.lock().contains_key(&key)
    }

    fn keys(&self) -> Vec<Key> {
        self.lock().keys().copied().collect()
    }
}

/// One open stream; closing it is dropping it.
pub struct StreamingGuard {
    streams: Arc<OpenStreams>,
    key: Key,
}

impl Drop for StreamingGuard {
    fn drop(&mut self) {
        let last = {
            let mut counts = self.streams.lock();
            let Some(n) = counts.get_mut(&self.key) else {
                return;
            };
            *n -= 1;
            *n == 0 && counts.remove(&self.key).is_some()
        };
        if let (true, Some(closed)) = (last, &self.streams.closed) {
            // The writer is gone only when the process is shutting down.
            let _ = closed.send(Change {
                key: self.key,
                written: None,
            });
        }
    }
}

/// Process-local streams (embedded deployments).
#[derive(Default)]
pub struct InMemoryStreaming(Arc<OpenStreams>);

#[async_trait]
impl Streaming for InMemoryStreaming {
    async fn open(&self, room_id: i64, user_id: i64) -> StreamingGuard {
        self.0.open((room_id, user_id)).0
    }

    async fn watching(&self, room_id: i64, members: &[i64]) -> Vec<i64> {
        let counts = self.0.lock();
        members
            .iter()
            .copied()
            .filter(|user| counts.contains_key(&(room_id, *user)))
            .collect()
    }
}

/// Streams in Redis: per room a sorted set `chat:streaming:{room_id}` of
/// `{user_id}:{instance}` scored by expiry time. A background writer adds an
/// entry when a (room, user)'s first stream opens on this instance, removes
/// it when the last closes, and refreshes all of them every `ttl / 3`; the
/// entries of a crashed instance stop counting `ttl` after its last refresh.
/// Times come from the Redis server's clock, so skewed instances agree.
pub struct RedisStreaming {
    streams: Arc<OpenStreams>,
    changes: mpsc::UnboundedSender<Change>,
    redis: kit::redis::Redis,
    watching: redis::Script,
}

/// A (room, user) whose local stream count went from or to zero; `written`
/// hears when Redis reflects it.
struct Change {
    key: Key,
    written: Option<oneshot::Sender<()>>,
}

/// KEYS: the rooms' sets, one per entry. ARGV: TTL in ms, then per entry its
/// member and `1` (add or refresh) or `0` (remove). Also drops expired
/// members and keeps each set alive as long as its freshest member.
const WRITE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local member = ARGV[2 * i]
  if ARGV[2 * i + 1] == '1' then
    redis.call('ZADD', key, now + ttl, member)
    if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
  else
    redis.call('ZREM', key, member)
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
end
return #KEYS
";

/// KEYS: a room's set. Returns its unexpired members.
const WATCHING: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], string.format('(%d', now), '+inf')
";

fn room_key(redis: &kit::redis::Redis, room_id: i64) -> String {
    redis.key(&format!("chat:streaming:{room_id}"))
}

impl RedisStreaming {
    /// Starts the writer on the context's tasks; it stops at shutdown, after
    /// removing this instance's entries.
    pub fn start(redis: kit::redis::Redis, ttl: Duration, ctx: &kit::context::Context) -> Self {
        let (streaming, writer) = Self::new(redis, ttl);
        ctx.tasks.spawn(writer.run(ctx.shutdown.clone()));
        streaming
    }

    fn new(redis: kit::redis::Redis, ttl: Duration) -> (Self, Writer) {
        let (tx, rx) = mpsc::unbounded_channel();
        let streams = Arc::new(OpenStreams {
            counts: Mutex::default(),
            closed: Some(tx.clone()),
        });
        let writer = Writer {
            streams: streams.clone(),
            changes: rx,
            redis: redis.clone(),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            ttl: ttl.max(Duration::from_millis(30)),
            script: redis::Script::new(WRITE),
            written: HashSet::new(),
        };
        let streaming = Self {
            streams,
            changes: tx,
            redis,
            watching: redis::Script::new(WATCHING),
        };
        (streaming, writer)
    }
}

#[async_trait]
impl Streaming for RedisStreaming {
    /// Returns once Redis has the entry (or the write failed and was logged),
    /// so a client whose stream is open counts as watching everywhere.
    async fn open(&self, room_id: i64, user_id: i64) -> StreamingGuard {
        let key = (room_id, user_id);
        let (guard, first) = self.streams.open(key);
        if first {
            let (tx, rx) = oneshot::channel();
            let change = Change {
                key,
                written: Some(tx),
            };
            if self.changes.send(change).is_ok() {
                let _ = rx.await;
            }
        }
        guard
    }

    /// On the send path: one round trip, and when Redis fails only this
    /// instance's streams count (a spurious notification beats a failed send).
    async fn watching(&self, room_id: i64, members: &[i64]) -> Vec<i64> {
        if members.is_empty() {
            return Vec::new();
        }
        let mut conn = self.redis.conn();
        let live = self
            .watching
            .key(room_key(&self.redis, room_id))
            .invoke_async::<Vec<String>>(&mut conn)
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(room_id, error = %err, "could not read who streams the room");
                Vec::new()
            });
        let users: HashSet<i64> = live
            .iter()
            .filter_map(|member| member.split_once(':')?.0.parse().ok())
            .collect();
        members
            .iter()
            .copied()
            .filter(|user| users.contains(user) || self.streams.is_open((room_id, *user)))
            .collect()
    }
}

/// Mirrors this instance's open streams into Redis, one batch at a time, so
/// writes of the same (room, user) never overtake each other.
struct Writer {
    streams: Arc<OpenStreams>,
    changes: mpsc::UnboundedReceiver<Change>,
    redis: kit::redis::Redis,
    instance: String,
    ttl: Duration,
    script: redis::Script,
    /// Keys that may have an entry in Redis; removed once a removal succeeded.
    written: HashSet<Key>,
}

impl Writer {
    /// Entries per script call, so one call never holds Redis for long.
    const BATCH: usize = 256;

    async fn run(mut self, shutdown: CancellationToken) {
        let mut refresh = tokio::time::interval(self.ttl / 3);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                change = self.changes.recv() => {
                    let Some(first) = change else { break };
                    let mut keys = vec![first.key];
                    let mut acks: Vec<_> = first.written.into_iter().collect();
                    while let Ok(more) = self.changes.try_recv() {
                        keys.push(more.key);
                        acks.extend(more.written);
                    }
                    self.sync(keys).await;
                    for ack in acks {
                        let _ = ack.send(());
                    }
                }
                _ = refresh.tick() => {
                    // Also retries removals that failed.
                    let mut keys = self.streams.keys();
                    keys.extend(self.written.iter().copied());
                    self.sync(keys).await;
                }
            }
        }
        // The process is going away, and its streams with it.
        let gone: Vec<(Key, bool)> = self.written.iter().map(|key| (*key, false)).collect();
        self.write(gone).await;
    }

    /// Writes what the local counts say now about `keys`.
    async fn sync(&mut self, mut keys: Vec<Key>) {
        keys.sort_unstable();
        keys.dedup();
        let entries = keys
            .into_iter()
            .map(|key| (key, self.streams.is_open(key)))
            .collect();
        self.write(entries).await;
    }

    /// Adds (`true`) or removes (`false`) each key's entry.
    async fn write(&mut self, entries: Vec<(Key, bool)>) {
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        for chunk in entries.chunks(Self::BATCH) {
            let mut call = self.script.prepare_invoke();
            call.arg(ttl_ms);
            for ((room_id, user_id), add) in chunk {
                call.key(room_key(&self.redis, *room_id))
                    .arg(format!("{user_id}:{}", self.instance))
                    .arg(if *add { "1" } else { "0" });
            }
            let result = call
                .invoke_async::<i64>(&mut self.redis.conn())
                .await
                .map_err(|e| e.to_string());
            if let Err(err) = &result {
                tracing::warn!(error = %err, entries = chunk.len(), "could not record room streams in redis");
            }
            for (key, add) in chunk {
                if *add {
                    self.written.insert(*key);
                } else if result.is_ok() {
                    self.written.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_streams_per_room_and_user() {
        let s = InMemoryStreaming::default();
        let a = s.open(1, 10).await;
        let b = s.open(1, 10).await;
        let _c = s.open(2, 11).await;
        assert_eq!(s.watching(1, &[10, 11]).await, vec![10]);
        drop(a);
        assert_eq!(
            s.watching(1, &[10, 11]).await,
            vec![10],
            "one stream still open"
        );
        drop(b);
        assert!(s.watching(1, &[10, 11]).await.is_empty());
        assert_eq!(s.watching(2, &[10, 11]).await, vec![11]);
    }

    /// An instance of chat with its own process state, on a shared Redis.
    fn instance(
        redis: &kit::redis::Redis,
        ttl: Duration,
    ) -> (
        RedisStreaming,
        tokio::task::JoinHandle<()>,
        CancellationToken,
    ) {
        let (streaming, writer) = RedisStreaming::new(redis.clone(), ttl);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(writer.run(shutdown.clone()));
        (streaming, task, shutdown)
    }

    /// Waits (up to 2 s) until `s` reports `expected` for `room`.
    async fn wait_for(s: &RedisStreaming, room: i64, members: &[i64], expected: &[i64]) {
        for _ in 0..200 {
            if s.watching(room, members).await == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(s.watching(room, members).await, expected);
    }

    #[tokio::test]
    async fn a_stream_open_on_one_instance_counts_on_another() {
        let redis = kit::redis::connect_for_test().await;
        let (a, _, _) = instance(&redis, Duration::from_secs(5));
        let (b, _, _) = instance(&redis, Duration::from_secs(5));
        let first = a.open(1, 10).await;
        assert_eq!(
            b.watching(1, &[10, 11]).await,
            vec![10],
            "open on a, seen by b"
        );
        assert!(b.watching(2, &[10]).await.is_empty(), "another room");
        let second = a.open(1, 10).await;
        drop(first);
        assert_eq!(b.watching(1, &[10]).await, vec![10], "a still has one open");
        let on_b = b.open(1, 10).await;
        drop(second);
        wait_for(&a, 1, &[10], &[10]).await;
        drop(on_b);
        wait_for(&a, 1, &[10, 11], &[]).await;
        redis.purge().await.unwrap();
    }

    #[tokio::test]
    async fn streams_stay_while_refreshed_and_expire_when_their_instance_dies() {
        let redis = kit::redis::connect_for_test().await;
        let ttl = Duration::from_millis(300);
        let (a, a_task, _) = instance(&redis, ttl);
        let (b, _, _) = instance(&redis, ttl);
        let _open = a.open(1, 10).await;
        tokio::time::sleep(ttl * 3).await;
        assert_eq!(b.watching(1, &[10]).await, vec![10], "a keeps refreshing");
        // A crash: no removal, no more refreshes.
        a_task.abort();
        let _ = a_task.await;
        assert_eq!(b.watching(1, &[10]).await, vec![10]);
        tokio::time::sleep(ttl + Duration::from_millis(100)).await;
        assert!(b.watching(1, &[10]).await.is_empty(), "expired");
        redis.purge().await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_removes_the_instances_streams() {
        let redis = kit::redis::connect_for_test().await;
        let (a, a_task, a_shutdown) = instance(&redis, Duration::from_secs(5));
        let (b, _, _) = instance(&redis, Duration::from_secs(5));
        let _open = a.open(1, 10).await;
        assert_eq!(b.watching(1, &[10]).await, vec![10]);
        a_shutdown.cancel();
        a_task.await.unwrap();
        assert!(b.watching(1, &[10]).await.is_empty());
        redis.purge().await.unwrap();
    }
}

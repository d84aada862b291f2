//! Rate limits: fixed-window counters per key (an account, a client address,
//! a user), in memory for one process or in Redis for a deployment, and the
//! 429 + `Retry-After` answer when a key is over its limit.
//!
//! Fixed windows allow up to twice the limit across a window boundary; for
//! brute-force and abuse protection that is plenty, and it costs one atomic
//! round trip per hit.

use crate::error::ApiError;
use crate::redis::Redis;
use async_trait::async_trait;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `max` hits per `window`; `max == 0` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub fn per(max: u32, window: Duration) -> Self {
        Self { max, window }
    }
    pub fn is_off(&self) -> bool {
        self.max == 0
    }
}

/// What a counter says about one more request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Over the limit until the window ends, `retry_after` from now.
    Limited {
        retry_after: Duration,
    },
}

/// Counters shared by whoever must agree on a limit.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit against `key` and says whether it is within `limit`.
    async fn hit(&self, key: &str, limit: Limit) -> Result<Decision, String>;
    /// Whether `key` is already over `limit`, without counting a hit.
    async fn check(&self, key: &str, limit: Limit) -> Result<Decision, String>;
    /// Gives back one hit that [`RateLimiter::hit`] counted against `key`
    /// in the current window, for an attempt that turned out not to count
    /// (a login whose password was right). Counting every attempt first and
    /// giving back afterwards is what keeps a limit under concurrency: a
    /// burst of parallel attempts each holds a reservation before any of
    /// them does its expensive work.
    async fn release(&self, key: &str) -> Result<(), String>;
    fn name(&self) -> &'static str;
}

/// Turns a decision into the API's answer. A limiter that cannot answer
/// lets the request through: losing rate limiting for a moment is better than
/// refusing every login while Redis restarts.
pub fn enforce(decision: Result<Decision, String>, what: &str) -> Result<(), ApiError> {
    match decision {
        Ok(Decision::Allowed) => Ok(()),
        Ok(Decision::Limited { retry_after }) => {
            tracing::info!(
                limit = what,
                retry_after_ms = retry_after.as_millis() as u64,
                "rate limited"
            );
            Err(ApiError::rate_limited(
                retry_after.as_millis().div_ceil(1000) as u64,
            ))
        }
        Err(err) => {
            tracing::warn!(limit = what, error = %err, "rate limiter unavailable; allowing");
            Ok(())
        }
    }
}

fn decide(count: u64, max: u32, remaining: Duration) -> Decision {
    if count <= u64::from(max) {
        Decision::Allowed
    } else {
        Decision::Limited {
            retry_after: remaining,
        }
    }
}

/// Process-local counters (embedded deployments).
#[derive(Default)]
pub struct InMemoryRateLimiter {
    windows: Mutex<HashMap<String, (u64, Instant)>>,
}

impl InMemoryRateLimiter {
    /// Windows left behind by keys that stopped coming are dropped once the
    /// map grows, so it stays bounded by the keys active in one window.
    const SWEEP_ABOVE: usize = 10_000;
}

#[async_trait]
impl RateLimiter for InMemoryRateLimiter {
    async fn hit(&self, key: &str, limit: Limit) -> Result<Decision, String> {
        if limit.is_off() {
            return Ok(Decision::Allowed);
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > Self::SWEEP_ABOVE {
            windows.retain(|_, (_, end)| *end > now);
        }
        let entry = windows
            .entry(key.to_owned())
            .or_insert((0, now + limit.window));
        if entry.1 <= now {
            *entry = (0, now + limit.window);
        }
        entry.0 += 1;
        Ok(decide(entry.0, limit.max, entry.1 - now))
    }

    async fn check(&self, key: &str, limit: Limit) -> Result<Decision, String> {
        if limit.is_off() {
            return Ok(Decision::Allowed);
        }
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        Ok(match windows.get(key) {
            // Over the limit means the next hit would be refused.
            Some((count, end)) if *end > now => decide(count + 1, limit.max, *end - now),
            _ => Decision::Allowed,
        })
    }

    async fn release(&self, key: &str) -> Result<(), String> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((count, end)) = windows.get_mut(key)
            && *end > now
        {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}

/// Counters in Redis: every process of a deployment counts into the same
/// window. `INCR` and the window's expiry are set in one script, so a crash
/// between them cannot leave a counter that never expires.
pub struct RedisRateLimiter {
    redis: Redis,
    hit: redis::Script,
    release: redis::Script,
}

const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
";

/// Decrements a live window only: a window that expired meanwhile is not
/// recreated (without its expiry it would never go away) nor pushed below 0.
const RELEASE: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]))
if n and n > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
";

impl RedisRateLimiter {
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            hit: redis::Script::new(HIT),
            release: redis::Script::new(RELEASE),
        }
    }
    fn key(&self, key: &str) -> String {
        self.redis.key(&format!("ratelimit:{key}"))
    }
}

fn window_ms(limit: Limit) -> u64 {
    u64::try_from(limit.window.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, limit: Limit) -> Result<Decision, String> {
        if limit.is_off() {
            return Ok(Decision::Allowed);
        }
        let mut conn = self.redis.conn();
        let (count, ttl_ms): (u64, i64) = self
            .hit
            .key(self.key(key))
            .arg(window_ms(limit))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        let remaining = Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0));
        Ok(decide(count, limit.max, remaining))
    }

    async fn check(&self, key: &str, limit: Limit) -> Result<Decision, String> {
        if limit.is_off() {
            return Ok(Decision::Allowed);
        }
        let mut conn = self.redis.conn();
        let (count, ttl_ms): (Option<u64>, i64) = redis::pipe()
            .get(self.key(key))
            .pttl(self.key(key))
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(match count {
            Some(count) if ttl_ms > 0 => decide(
                count + 1,
                limit.max,
                Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0)),
            ),
            _ => Decision::Allowed,
        })
    }

    async fn release(&self, key: &str) -> Result<(), String> {
        let mut conn = self.redis.conn();
        self.release
            .key(self.key(key))
            .invoke_async::<i64>(&mut conn)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

/// The address a request came from: the TCP peer, or — behind a proxy that is
/// trusted to say so — the address that proxy appended last to
/// `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`). Earlier entries
/// are whatever the client claimed and are never trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    pub peer: Option<IpAddr>,
    pub forwarded: Option<IpAddr>,
}

impl ClientAddr {
    /// The address to rate-limit: the forwarded one only when the proxy is trusted.
    pub fn ip(&self, trust_forwarded: bool) -> Option<IpAddr> {
        match trust_forwarded {
            true => self.forwarded.or(self.peer),
            false => self.peer,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|last| last.trim().parse().ok());
        Ok(Self { peer, forwarded })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    async fn counts_within_a_window(limiter: &dyn RateLimiter) {
        let limit = Limit::per(2, Duration::from_millis(400));
        assert_eq!(limiter.check("k", limit).await.unwrap(), Decision::Allowed);
        assert_eq!(limiter.hit("k", limit).await.unwrap(), Decision::Allowed);
        assert_eq!(limiter.hit("k", limit).await.unwrap(), Decision::Allowed);
        let Decision::Limited { retry_after } = limiter.check("k", limit).await.unwrap() else {
            panic!("check must see the full window")
        };
        assert!(retry_after <= limit.window, "{retry_after:?}");
        assert!(matches!(
            limiter.hit("k", limit).await.unwrap(),
            Decision::Limited { .. }
        ));
        assert_eq!(
            limiter.hit("other", limit).await.unwrap(),
            Decision::Allowed,
            "keys are independent"
        );
        let off = Limit::per(0, Duration::from_secs(1));
        for _ in 0..5 {
            assert_eq!(limiter.hit("k", off).await.unwrap(), Decision::Allowed);
        }
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert_eq!(
            limiter.hit("k", limit).await.unwrap(),
            Decision::Allowed,
            "new window"
        );
    }

    /// 60 parallel hits: exactly `max` are allowed, whatever the
    /// interleaving; a released hit lets exactly one more through.
    async fn a_parallel_burst_gets_exactly_the_limit(limiter: Arc<dyn RateLimiter>) {
        let limit = Limit::per(10, Duration::from_secs(30));
        let burst = (0..60).map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.hit("burst", limit).await.unwrap() })
        });
        let mut allowed = 0;
        for hit in burst {
            if hit.await.unwrap() == Decision::Allowed {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 10);

        limiter.release("fresh").await.unwrap();
        assert!(
            matches!(
                limiter.check("fresh", limit).await.unwrap(),
                Decision::Allowed
            ),
            "releasing an unknown key creates nothing"
        );
        let one = Limit::per(1, Duration::from_secs(30));
        assert_eq!(limiter.hit("one", one).await.unwrap(), Decision::Allowed);
        limiter.release("one").await.unwrap();
        limiter.release("one").await.unwrap(); // never below zero
        assert_eq!(limiter.hit("one", one).await.unwrap(), Decision::Allowed);
        assert!(matches!(
            limiter.hit("one", one).await.unwrap(),
            Decision::Limited { .. }
        ));
    }

    #[tokio::test]
    async fn in_memory_windows() {
        counts_within_a_window(&InMemoryRateLimiter::default()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_memory_bursts() {
        a_parallel_burst_gets_exactly_the_limit(Arc::new(InMemoryRateLimiter::default())).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_bursts() {
        let redis = crate::redis::connect_for_test().await;
        a_parallel_burst_gets_exactly_the_limit(Arc::new(RedisRateLimiter::new(redis.clone())))
            .await;
        // A released window keeps its expiry.
        let mut conn = redis.conn();
        let ttl: i64 = redis::cmd("PTTL")
            .arg(redis.key("ratelimit:one"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "pttl {ttl}");
        redis.purge().await.unwrap();
    }

    #[tokio::test]
    async fn redis_windows_are_shared() {
        let redis = crate::redis::connect_for_test().await;
        counts_within_a_window(&RedisRateLimiter::new(redis.clone())).await;
        // Two limiters (two processes) count into one window.
        let a = RedisRateLimiter::new(redis.clone());
        let b = RedisRateLimiter::new(redis.clone());
        let limit = Limit::per(1, Duration::from_secs(5));
        assert_eq!(a.hit("shared", limit).await.unwrap(), Decision::Allowed);
        assert!(matches!(
            b.hit("shared", limit).await.unwrap(),
            Decision::Limited { .. }
        ));
        redis.purge().await.unwrap();
    }

    #[test]
    fn an_unavailable_limiter_allows_and_a_full_one_answers_429() {
        assert!(enforce(Err("down".into()), "test").is_ok());
        let err = enforce(
            Ok(Decision::Limited {
                retry_after: Duration::from_millis(1200),
            }),
            "test",
        )
        .unwrap_err();
        let response = axum::response::IntoResponse::into_response(err);
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "2");
    }
}

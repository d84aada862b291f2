//! Who is online: a user is online until their last heartbeat's TTL runs out.
//! In memory for one process, or in Redis so every instance of the users
//! service sees the same presence and exactly one reports a user going offline.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

#[async_trait]
pub trait Presence: Send + Sync {
    /// Marks `user_id` online for `ttl`; true when they were offline before.
    async fn heartbeat(&self, user_id: i64, ttl: Duration) -> Result<bool, String>;
    async fn is_online(&self, user_id: i64) -> Result<bool, String>;
    /// Online flags for several users, in the order given.
    async fn online_many(&self, user_ids: &[i64]) -> Result<Vec<bool>, String>;
    /// Users whose TTL ran out since the last call: they are offline now.
    async fn take_expired(&self) -> Result<Vec<i64>, String>;
}

/// Process-local presence (embedded deployments).
#[derive(Default)]
pub struct InMemoryPresence {
    until: RwLock<HashMap<i64, Instant>>,
}

#[async_trait]
impl Presence for InMemoryPresence {
    async fn heartbeat(&self, user_id: i64, ttl: Duration) -> Result<bool, String> {
        let now = Instant::now();
        let mut map = self.until.write().unwrap_or_else(|e| e.into_inner());
        let was_online = map
            .insert(user_id, now + ttl)
            .is_some_and(|until| until > now);
        Ok(!was_online)
    }

    async fn take_expired(&self) -> Result<Vec<i64>, String> {
        let now = Instant::now();
        let mut map = self.until.write().unwrap_or_else(|e| e.into_inner());
        let expired: Vec<i64> = map
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in &expired {
            map.remove(id);
        }
        Ok(expired)
    }

    async fn is_online(&self, user_id: i64) -> Result<bool, String> {
        Ok(self.online_many(&[user_id]).await?[0])
    }

    async fn online_many(&self, user_ids: &[i64]) -> Result<Vec<bool>, String> {
        let now = Instant::now();
        let map = self.until.read().unwrap_or_else(|e| e.into_inner());
        Ok(user_ids
            .iter()
            .map(|id| map.get(id).is_some_and(|until| *until > now))
            .collect())
    }
}

/// Presence in Redis. Each heartbeat sets a per-user key with the TTL (what
/// `is_online` reads) and the user's expiry time in a sorted set; sweepers on
/// every instance claim expired members with one atomic script, so a user
/// going offline is reported by exactly one instance. Times come from the
/// Redis server's clock, so instances with skewed clocks still agree.
pub struct RedisPresence {
    redis: kit::redis::Redis,
    heartbeat: redis::Script,
    take_expired: redis::Script,
}

/// KEYS: the sorted set of expiries, the user's key. ARGV: user id, TTL in ms.
/// Returns 1 when the user was offline before.
const HEARTBEAT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
if old and tonumber(old) > now then return 0 end
return 1
";

/// KEYS: the sorted set of expiries. ARGV: most members to claim.
/// Removes and returns the members whose expiry has passed.
const TAKE_EXPIRED: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return ids
";

impl RedisPresence {
    /// Users claimed per sweep; the rest wait for the next one.
    const CLAIM_BATCH: usize = 1000;

    pub fn new(redis: kit::redis::Redis) -> Self {
        Self {
            redis,
            heartbeat: redis::Script::new(HEARTBEAT),
            take_expired: redis::Script::new(TAKE_EXPIRED),
        }
    }
    fn expiries(&self) -> String {
        self.redis.key("presence:expiries")
    }
    fn user_key(&self, user_id: i64) -> String {
        self.redis.key(&format!("presence:user:{user_id}"))
    }
}

#[async_trait]
impl Presence for RedisPresence {
    async fn heartbeat(&self, user_id: i64, ttl: Duration) -> Result<bool, String> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.redis.conn();
        self.heartbeat
            .key(self.expiries())
            .key(self.user_key(user_id))
            .arg(user_id)
            .arg(ttl_ms)
            .invoke_async::<bool>(&mut conn)
            .await
            .map_err(|e| e.to_string())
    }

    async fn take_expired(&self) -> Result<Vec<i64>, String> {
        let mut conn = self.redis.conn();
        self.take_expired
            .key(self.expiries())
            .arg(Self::CLAIM_BATCH)
            .invoke_async::<Vec<i64>>(&mut conn)
            .await
            .map_err(|e| e.to_string())
    }

    async fn is_online(&self, user_id: i64) -> Result<bool, String> {
        Ok(self.online_many(&[user_id]).await?[0])
    }

    async fn online_many(&self, user_ids: &[i64]) -> Result<Vec<bool>, String> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = user_ids.iter().map(|id| self.user_key(*id)).collect();
        let mut conn = self.redis.conn();
        let found: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(found.iter().map(Option::is_some).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn online_until_ttl_expires() {
        online_until_ttl_expires_in(&InMemoryPresence::default()).await;
    }

    #[tokio::test]
    async fn online_until_ttl_expires_in_redis() {
        let redis = kit::redis::connect_for_test().await;
        online_until_ttl_expires_in(&RedisPresence::new(redis.clone())).await;
        redis.purge().await.unwrap();
    }

    #[tokio::test]
    async fn instances_share_presence_and_one_reports_each_expiry() {
        let redis = kit::redis::connect_for_test().await;
        let a = RedisPresence::new(redis.clone());
        let b = RedisPresence::new(redis.clone());
        let ttl = Duration::from_millis(100);
        assert!(a.heartbeat(1, ttl).await.unwrap());
        assert!(!b.heartbeat(1, ttl).await.unwrap(), "b sees a's heartbeat");
        assert!(b.heartbeat(2, ttl).await.unwrap());
        assert_eq!(
            a.online_many(&[1, 2, 3]).await.unwrap(),
            vec![true, true, false]
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(b.online_many(&[1, 2]).await.unwrap(), vec![false, false]);
        // Both sweep at once: every expired user is claimed by exactly one.
        let (from_a, from_b) = tokio::join!(a.take_expired(), b.take_expired());
        let mut claimed = [from_a.unwrap(), from_b.unwrap()].concat();
        claimed.sort_unstable();
        assert_eq!(claimed, vec![1, 2]);
        assert!(a.take_expired().await.unwrap().is_empty());
        assert!(b.take_expired().await.unwrap().is_empty());
        redis.purge().await.unwrap();
    }

    async fn online_until_ttl_expires_in(p: &dyn Presence) {
        assert!(
            p.heartbeat(1, Duration::from_millis(50)).await.unwrap(),
            "came online"
        );
        assert!(
            !p.heartbeat(1, Duration::from_millis(50)).await.unwrap(),
            "already online"
        );
        assert_eq!(p.online_many(&[1, 2]).await.unwrap(), vec![true, false]);
        assert!(p.take_expired().await.unwrap().is_empty());
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(!p.is_online(1).await.unwrap());
        assert_eq!(p.take_expired().await.unwrap(), vec![1]);
        assert!(p.take_expired().await.unwrap().is_empty(), "reported once");
    }
}

//! Users read through a Redis cache shared by every instance, so the hot
//! profile lookups (`/api/profile/{id}`, `/api/users/{id}`, batches) skip the
//! database. Each entry lives `ttl` at most.
//!
//! Only the read path is cached: writes run inside the use case's
//! transaction, which this layer cannot see commit, so an eviction here could
//! come before the commit and let a concurrent read refill the old row.
//! Instead the use case calls [`UserLookup::forget`] once it has committed
//! (read-your-writes on every instance), and `UserProfileUpdated` events
//! delete the entry too, which repairs one a concurrent read refilled with
//! the old row. Presence (`is_online`) is never cached; `last_seen_at` is,
//! but every write of it evicts.

use super::{UserLookup, UserRow};
use crate::domain::User;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// The users cache: `users:profile:{id}` holds a user as JSON.
#[derive(Clone)]
pub struct ProfileCache {
    redis: kit::redis::Redis,
    ttl: Duration,
}

fn count(result: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!("cache_requests_total", "cache" => "users_profile", "result" => result)
            .increment(n as u64);
    }
}

impl ProfileCache {
    pub fn new(redis: kit::redis::Redis, ttl: Duration) -> Self {
        Self { redis, ttl }
    }

    fn key(&self, id: i64) -> String {
        self.redis.key(&format!("users:profile:{id}"))
    }

    /// The cached users of `ids`, in the order given; `None` where missing.
    async fn get_many(&self, ids: &[i64]) -> Result<Vec<Option<User>>, String> {
        let keys: Vec<String> = ids.iter().map(|id| self.key(*id)).collect();
        let found: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut self.redis.conn())
            .await
            .map_err(|e| e.to_string())?;
        // An entry of another format (an older release) reads as missing.
        Ok(found
            .into_iter()
            .map(|json| Some(serde_json::from_str::<UserRow>(&json?).ok()?.into()))
            .collect())
    }

    async fn put_many(&self, users: &[User]) -> Result<(), String> {
        if users.is_empty() {
            return Ok(());
        }
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let mut pipe = redis::pipe();
        for user in users {
            let json = serde_json::to_string(&UserRow::from(user)).map_err(|e| e.to_string())?;
            pipe.cmd("SET")
                .arg(self.key(user.id))
                .arg(json)
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
        }
        pipe.query_async::<()>(&mut self.redis.conn())
            .await
            .map_err(|e| e.to_string())
    }

    /// Drops `id`'s entry: the next read goes to the database.
    pub async fn forget(&self, id: i64) -> Result<(), String> {
        redis::cmd("DEL")
            .arg(self.key(id))
            .query_async::<()>(&mut self.redis.conn())
            .await
            .map_err(|e| e.to_string())
    }
}

/// A [`UserLookup`] that reads users through a [`ProfileCache`].
pub struct CachedLookup {
    pub store: Arc<dyn UserLookup>,
    pub cache: ProfileCache,
}

impl CachedLookup {
    /// Cached users where there are, the database for the rest, refilling
    /// the cache; a failing Redis only costs the database reads.
    async fn read(&self, ids: &[i64]) -> sqlx::Result<Vec<User>> {
        let cached = match self.cache.get_many(ids).await {
            Ok(cached) => cached,
            Err(err) => {
                tracing::warn!(error = %err, "profile cache unavailable");
                count("miss", ids.len());
                return self.store.get_many(ids).await;
            }
        };
        let missing: Vec<i64> = ids
            .iter()
            .zip(&cached)
            .filter(|(_, hit)| hit.is_none())
            .map(|(id, _)| *id)
            .collect();
        count("hit", ids.len() - missing.len());
        count("miss", missing.len());
        let mut users: Vec<User> = cached.into_iter().flatten().collect();
        if !missing.is_empty() {
            let loaded = self.store.get_many(&missing).await?;
            if let Err(err) = self.cache.put_many(&loaded).await {
                tracing::warn!(error = %err, "could not fill the profile cache");
            }
            users.extend(loaded);
            users.sort_unstable_by_key(|u| u.id);
        }
        Ok(users)
    }
}

#[async_trait]
impl UserLookup for CachedLookup {
    async fn get(&self, id: i64) -> sqlx::Result<Option<User>> {
        Ok(self.read(&[id]).await?.pop())
    }

    async fn get_many(&self, ids: &[i64]) -> sqlx::Result<Vec<User>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(&ids).await
    }

    async fn forget(&self, id: i64) -> Result<(), String> {
        self.cache.forget(id).await
    }
}

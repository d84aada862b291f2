//! Users read through a Redis cache shared by every instance, so the hot
//! profile lookups (`/api/profile/{id}`, `/api/users/{id}`, batches) skip the
//! database. Each entry lives `ttl` at most; every write through this store
//! deletes its user's entry once committed (read-your-writes on every
//! instance), and `UserProfileUpdated` events delete it too, which repairs an
//! entry a concurrent read refilled with the old row. Presence (`is_online`)
//! is never cached; `last_seen_at` is, but every write of it evicts.

use super::{PresenceChange, StoreResult, StoredImage, UserStore};
use crate::domain::{NewUser, ProfileUpdate, User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The users cache: `users:profile:{id}` holds a user as JSON.
#[derive(Clone)]
pub struct ProfileCache {
    redis: kit::redis::Redis,
    ttl: Duration,
}

/// A cached user; its own type, so the stored format is explicit.
#[derive(Serialize, Deserialize)]
struct Entry {
    id: i64,
    email: String,
    username: String,
    display_name: Option<String>,
    status_message: Option<String>,
    image_updated_at: Option<DateTime<Utc>>,
    last_seen_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&User> for Entry {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            status_message: u.status_message.clone(),
            image_updated_at: u.image_updated_at,
            last_seen_at: u.last_seen_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

impl From<Entry> for User {
    fn from(e: Entry) -> Self {
        Self {
            id: e.id,
            email: e.email,
            username: e.username,
            display_name: e.display_name,
            status_message: e.status_message,
            image_updated_at: e.image_updated_at,
            last_seen_at: e.last_seen_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
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
            .map(|json| Some(serde_json::from_str::<Entry>(&json?).ok()?.into()))
            .collect())
    }

    async fn put_many(&self, users: &[User]) -> Result<(), String> {
        if users.is_empty() {
            return Ok(());
        }
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let mut pipe = redis::pipe();
        for user in users {
            let json = serde_json::to_string(&Entry::from(user)).map_err(|e| e.to_string())?;
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

    /// Best effort after a committed write: on failure the entry lives out
    /// its TTL (or the write's event deletes it).
    async fn evict(&self, id: i64) {
        if let Err(err) = self.forget(id).await {
            tracing::warn!(user_id = id, error = %err, "could not evict a cached profile");
        }
    }
}

/// A [`UserStore`] that reads users through a [`ProfileCache`].
pub struct CachedUserStore {
    pub store: Arc<dyn UserStore>,
    pub cache: ProfileCache,
}

impl CachedUserStore {
    /// Cached users where there are, the database for the rest, refilling
    /// the cache; a failing Redis only costs the database reads.
    async fn read(&self, ids: &[i64]) -> StoreResult<Vec<User>> {
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
impl UserStore for CachedUserStore {
    async fn get(&self, id: i64) -> StoreResult<Option<User>> {
        Ok(self.read(&[id]).await?.pop())
    }

    async fn get_many(&self, ids: &[i64]) -> StoreResult<Vec<User>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(&ids).await
    }

    async fn update_profile(&self, id: i64, update: &ProfileUpdate) -> StoreResult<Option<User>> {
        let user = self.store.update_profile(id, update).await?;
        self.cache.evict(id).await;
        Ok(user)
    }

    async fn set_image(&self, id: i64, image: &StoredImage) -> StoreResult<Option<User>> {
        let user = self.store.set_image(id, image).await?;
        self.cache.evict(id).await;
        Ok(user)
    }

    async fn delete_image(&self, id: i64) -> StoreResult<Option<User>> {
        let user = self.store.delete_image(id).await?;
        self.cache.evict(id).await;
        Ok(user)
    }

    async fn touch_last_seen(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        self.store.touch_last_seen(id, at).await?;
        self.cache.evict(id).await;
        Ok(())
    }

    async fn record_presence(
        &self,
        user_id: i64,
        is_online: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let seq = self.store.record_presence(user_id, is_online, at).await?;
        self.cache.evict(user_id).await;
        Ok(seq)
    }

    // The rest is not cached.

    async fn create(&self, new: &NewUser, password_hash: &str) -> StoreResult<User> {
        self.store.create(new, password_hash).await
    }

    async fn credentials(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        self.store.credentials(email).await
    }

    async fn search(&self, query: &str, limit: u32, exclude: i64) -> StoreResult<(Vec<User>, i64)> {
        self.store.search(query, limit, exclude).await
    }

    async fn image(&self, id: i64) -> StoreResult<Option<StoredImage>> {
        self.store.image(id).await
    }

    async fn friend_presence_changes(
        &self,
        viewer: i64,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<PresenceChange>> {
        self.store
            .friend_presence_changes(viewer, after, limit)
            .await
    }

    async fn set_friends(&self, a: i64, b: i64, friends: bool) -> StoreResult<()> {
        self.store.set_friends(a, b, friends).await
    }

    async fn friend_ids(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        self.store.friend_ids(user_id).await
    }

    async fn signing_key(&self, kid: &str, pkcs8: &[u8]) -> StoreResult<(String, Vec<u8>)> {
        self.store.signing_key(kid, pkcs8).await
    }
}

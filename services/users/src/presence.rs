//! Who is online: a user is online until their last heartbeat's TTL runs out.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn online_until_ttl_expires() {
        let p = InMemoryPresence::default();
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

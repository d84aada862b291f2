//! Persistence of users behind [`UserStore`]: one implementation for SQLite
//! and PostgreSQL (`sql.rs`), and a Redis profile cache in front of it.

mod cached;
mod sql;

pub use cached::{CachedUserStore, ProfileCache};
pub use sql::SqlUserStore;

use crate::domain::{NewUser, ProfileUpdate, User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} is already taken")]
    Taken(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<StoreError> for kit::ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Taken(field) => {
                let code = if field == "email" {
                    "EMAIL_TAKEN"
                } else {
                    "USERNAME_TAKEN"
                };
                kit::ApiError::conflict(code, format!("{field} is already registered"))
            }
            other => kit::ApiError::internal(other),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A stored profile image.
#[derive(Debug, Clone)]
pub struct StoredImage {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// One online/offline transition.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PresenceChange {
    pub seq: i64,
    pub user_id: i64,
    pub is_online: bool,
    pub changed_at: DateTime<Utc>,
}

/// Writes that change what other services know about a user also publish an
/// event through the outbox, in the same transaction.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts an account; [`StoreError::Taken`] names the duplicate field.
    async fn create(&self, new: &NewUser, password_hash: &str) -> StoreResult<User>;
    /// The account with this (normalised) email and its password hash.
    async fn credentials(&self, email: &str) -> StoreResult<Option<(User, String)>>;
    async fn get(&self, id: i64) -> StoreResult<Option<User>>;
    /// Users with these ids, in ascending id order; unknown ids are skipped.
    async fn get_many(&self, ids: &[i64]) -> StoreResult<Vec<User>>;
    /// Users whose username or display name contains `query` (any case),
    /// except `exclude`, with the total number of matches.
    async fn search(&self, query: &str, limit: u32, exclude: i64) -> StoreResult<(Vec<User>, i64)>;
    async fn update_profile(&self, id: i64, update: &ProfileUpdate) -> StoreResult<Option<User>>;
    async fn set_image(&self, id: i64, image: &StoredImage) -> StoreResult<Option<User>>;
    async fn delete_image(&self, id: i64) -> StoreResult<Option<User>>;
    async fn image(&self, id: i64) -> StoreResult<Option<StoredImage>>;
    async fn touch_last_seen(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records an online/offline transition (and its event); returns its seq.
    async fn record_presence(
        &self,
        user_id: i64,
        is_online: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Transitions of `viewer`'s friends with seq > `after`, oldest first.
    async fn friend_presence_changes(
        &self,
        viewer: i64,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<PresenceChange>>;
    /// Records (or removes) an accepted friendship in the read model.
    async fn set_friends(&self, a: i64, b: i64, friends: bool) -> StoreResult<()>;
    /// Ids of `user_id`'s friends.
    async fn friend_ids(&self, user_id: i64) -> StoreResult<Vec<i64>>;
    /// The token signing key every instance shares: stores `candidate` when
    /// none exists yet, and returns the oldest stored `(kid, pkcs8)`.
    async fn signing_key(&self, kid: &str, pkcs8: &[u8]) -> StoreResult<(String, Vec<u8>)>;
}

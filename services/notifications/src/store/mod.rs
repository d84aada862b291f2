//! Persistence of notifications and of the users read model behind
//! [`NotificationStore`], with SQLite and PostgreSQL adapters sharing one set
//! of queries (see `sql.rs`).

mod sql;

pub use sql::SqlNotificationStore;

use crate::domain::{Draft, KnownUser, Notification};
use async_trait::async_trait;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored notification is corrupt: {0}")]
    Corrupt(String),
}

impl From<StoreError> for kit::ApiError {
    fn from(err: StoreError) -> Self {
        kit::ApiError::internal(err)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Records (or refreshes) a user's names.
    async fn upsert_user(&self, user: &KnownUser) -> StoreResult<()>;
    /// The known users among `ids`.
    async fn users(&self, ids: &[i64]) -> StoreResult<HashMap<i64, KnownUser>>;
    /// Stores the notifications one event produced, each with the next seq of
    /// its recipient and a `NotificationCreated` event in the outbox, all in
    /// one transaction. Recipients who already have a notification from this
    /// event are skipped. Returns what was created.
    async fn create(
        &self,
        source_event_id: &str,
        drafts: &[Draft],
    ) -> StoreResult<Vec<Notification>>;
    /// A user's notifications, newest first, with ids below `before`.
    async fn list(
        &self,
        user_id: i64,
        unread_only: bool,
        limit: u32,
        before: Option<i64>,
    ) -> StoreResult<Vec<Notification>>;
    async fn unread_count(&self, user_id: i64) -> StoreResult<i64>;
    /// Marks these of the user's notifications read; returns how many were unread.
    async fn mark_read(&self, user_id: i64, ids: &[i64]) -> StoreResult<u64>;
    /// Marks all of the user's notifications read; returns how many were unread.
    async fn mark_all_read(&self, user_id: i64) -> StoreResult<u64>;
    /// The newest seq of a user's stream (0 before the first notification).
    async fn last_seq(&self, user_id: i64) -> StoreResult<i64>;
    /// A user's notifications with `seq > after`, in seq order (SSE backlog).
    async fn after_seq(
        &self,
        user_id: i64,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<Notification>>;
}

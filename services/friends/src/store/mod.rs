//! Persistence of friendships, blocks and the users read model behind
//! [`FriendStore`], with SQLite and PostgreSQL adapters sharing one set of
//! queries (see `sql.rs`). Every change writes its events to the outbox in
//! the same transaction.

mod sql;

pub use sql::SqlFriendStore;

use crate::domain::{
    Answer, BlockedUser, Candidate, Friend, Friendship, PendingRequest, UserRecord,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("user not found")]
    UnknownUser,
    #[error("one of you has blocked the other")]
    Blocked,
    #[error("you are already friends")]
    AlreadyFriends,
    #[error("a friend request between you is already pending")]
    RequestPending,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<StoreError> for kit::ApiError {
    fn from(err: StoreError) -> Self {
        use kit::ApiError;
        match err {
            StoreError::UnknownUser => ApiError::not_found("user not found"),
            StoreError::Blocked => ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "BLOCKED",
                "one of you has blocked the other",
            ),
            StoreError::AlreadyFriends => {
                ApiError::conflict("ALREADY_FRIENDS", "you are already friends")
            }
            StoreError::RequestPending => ApiError::conflict(
                "REQUEST_ALREADY_EXISTS",
                "a friend request between you is already pending",
            ),
            other => ApiError::internal(other),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The outcome of a block: when it took effect, and whether this call made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub blocked_at: DateTime<Utc>,
    pub created: bool,
}

#[async_trait]
pub trait FriendStore: Send + Sync {
    /// Whether the users read model knows `user_id`.
    async fn user_exists(&self, user_id: i64) -> StoreResult<bool>;

    /// Records a pending request from `requester` to `addressee`.
    /// Errors: [`StoreError::UnknownUser`] (addressee), [`StoreError::Blocked`]
    /// (either direction), [`StoreError::AlreadyFriends`],
    /// [`StoreError::RequestPending`] (either direction).
    async fn send_request(
        &self,
        requester: i64,
        addressee: i64,
        message: Option<&str>,
    ) -> StoreResult<Friendship>;
    /// Accepts or rejects the pending request `requester` sent `addressee`;
    /// `None` when there is none.
    async fn answer_request(
        &self,
        requester: i64,
        addressee: i64,
        answer: Answer,
    ) -> StoreResult<Option<Friendship>>;
    /// Withdraws the pending request `requester` sent `addressee`; `None`
    /// when there is none.
    async fn cancel_request(
        &self,
        requester: i64,
        addressee: i64,
    ) -> StoreResult<Option<Friendship>>;
    /// Ends the friendship of `user` and `friend`; `None` when they are not friends.
    async fn unfriend(&self, user: i64, friend: i64) -> StoreResult<Option<Friendship>>;
    /// Accepted friends of `user`, by username.
    async fn friends(&self, user: i64) -> StoreResult<Vec<Friend>>;
    /// Pending requests `user` sent or received, newest first.
    async fn pending_requests(&self, user: i64) -> StoreResult<Vec<PendingRequest>>;
    /// Users whose username or display name contains `query` (any case),
    /// other than `user`, its friends and users blocked either way.
    async fn search(&self, user: i64, query: &str, limit: u32) -> StoreResult<Vec<Candidate>>;

    /// Blocks `blocked` for `blocker` (idempotent) and ends any friendship or
    /// pending request between them. [`StoreError::UnknownUser`] when the
    /// read model does not know `blocked`.
    async fn block(&self, blocker: i64, blocked: i64) -> StoreResult<Block>;
    /// Lifts a block; `false` when there was none.
    async fn unblock(&self, blocker: i64, blocked: i64) -> StoreResult<bool>;
    /// Users `blocker` blocked, newest first.
    async fn blocked(&self, blocker: i64) -> StoreResult<Vec<BlockedUser>>;

    /// Inserts or replaces a user of the read model unless it holds newer data.
    async fn upsert_user(&self, user: &UserRecord, version: i64) -> StoreResult<()>;
    /// Applies a profile change (a missing username is left as it is).
    async fn update_user_profile(
        &self,
        user_id: i64,
        username: Option<&str>,
        display_name: Option<&str>,
        version: i64,
    ) -> StoreResult<()>;
    async fn touch_user_last_seen(&self, user_id: i64, at: DateTime<Utc>) -> StoreResult<()>;
}

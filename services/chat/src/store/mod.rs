//! Persistence of rooms, messages, read receipts, room stream logs and the
//! read models, behind [`ChatStore`], with SQLite and PostgreSQL adapters
//! sharing one set of queries (see `sql.rs`).
//!
//! Every write that other services must hear about enqueues its event in the
//! same transaction (transactional outbox); every write that a room stream
//! shows appends to `room_events` under the room's counter.

mod sql;

pub use sql::SqlChatStore;

use crate::domain::{Message, Participant, Room};
use async_trait::async_trait;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the message was deleted")]
    Deleted,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<StoreError> for kit::ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Deleted => {
                kit::ApiError::conflict("MESSAGE_DELETED", "the message was deleted")
            }
            other => kit::ApiError::internal(other),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A message to append to a room.
pub struct NewMessage<'a> {
    pub room: &'a Room,
    pub sender: i64,
    pub content: &'a str,
    pub message_type: &'a str,
    /// Members at send time, and those of them streaming the room (for `MessageSent`).
    pub member_ids: &'a [i64],
    pub streaming_user_ids: &'a [i64],
}

#[async_trait]
pub trait ChatStore: Send + Sync {
    // Read models.
    async fn upsert_user(&self, user: &Participant) -> StoreResult<()>;
    /// Known users among `ids`, in ascending id order.
    async fn users(&self, ids: &[i64]) -> StoreResult<Vec<Participant>>;
    async fn set_blocked(&self, blocker: i64, blocked: i64, is_blocked: bool) -> StoreResult<()>;
    /// Whether `user` blocked any of `others` or any of them blocked `user`.
    async fn blocked_between(&self, user: i64, others: &[i64]) -> StoreResult<bool>;

    // Rooms.
    /// The direct room of a pair, created (with its `ChatRoomCreated`) on first use.
    async fn direct_room(&self, caller: i64, other: i64) -> StoreResult<Room>;
    async fn create_group(&self, creator: i64, name: &str, members: &[i64]) -> StoreResult<Room>;
    /// The room, if `user` is a member of it.
    async fn room_for(&self, room_id: i64, user: i64) -> StoreResult<Option<Room>>;
    /// Rooms of `user`, most recent activity first.
    async fn rooms_of(&self, user: i64, skip: i64, limit: i64) -> StoreResult<Vec<Room>>;
    /// Members of each room, with what the users read model knows of them.
    async fn participants(&self, room_ids: &[i64]) -> StoreResult<HashMap<i64, Vec<Participant>>>;
    async fn member_ids(&self, room_id: i64) -> StoreResult<Vec<i64>>;

    // Messages.
    async fn send(&self, new: NewMessage<'_>) -> StoreResult<Message>;
    /// The page of `limit` messages after skipping the `skip` newest, oldest
    /// first, and the room's message count.
    async fn messages(
        &self,
        room_id: i64,
        skip: i64,
        limit: i64,
    ) -> StoreResult<(Vec<Message>, i64)>;
    async fn message(&self, id: &str) -> StoreResult<Option<Message>>;
    async fn messages_by_id(&self, ids: &[String]) -> StoreResult<Vec<Message>>;
    /// Replaces the content; [`StoreError::Deleted`] if the message is gone.
    async fn edit(&self, message: &Message, content: &str) -> StoreResult<Message>;
    /// Soft-deletes (content wiped, also from the room's stream log); deleting
    /// twice changes nothing.
    async fn delete(&self, message: &Message) -> StoreResult<Message>;
    /// Marks those of `ids` that are in the room, by others and not deleted, as
    /// read by `user`; returns how many were not read before.
    async fn mark_read(&self, user: i64, room_id: i64, ids: &[String]) -> StoreResult<u64>;
    /// Messages by others, not deleted, not read by `user`, per room.
    async fn unread_counts(&self, user: i64, room_ids: &[i64]) -> StoreResult<HashMap<i64, i64>>;

    /// The room's stream log after `after`, in order.
    async fn events_after(&self, room_id: i64, after: i64) -> StoreResult<Vec<kit::sse::Item>>;
}

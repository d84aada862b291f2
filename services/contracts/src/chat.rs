//! `chat.events` and `message.events`, produced by the chat service (subject:
//! the room id, so one room's events keep their order).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A message as clients see it (SPEC §2); a deleted one has empty `content`.
/// The fields after `updated_at` are those the original service sends too;
/// events recorded before they existed decode with them empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Message))]
pub struct ChatMessage {
    pub id: String,
    pub user_id: i64,
    pub room_id: i64,
    /// `direct` or `group`.
    pub room_type: String,
    pub content: String,
    pub message_type: String,
    pub is_deleted: bool,
    pub is_edited: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub edited_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Attachments: none in Banter (text messages only), always null.
    #[serde(default)]
    pub file_url: Option<String>,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub file_size: Option<i64>,
    #[serde(default)]
    pub file_type: Option<String>,
    /// Per-reader state: not kept per message in Banter, always false / [].
    #[serde(default)]
    pub is_read: bool,
    #[serde(default)]
    pub read_by: Vec<i64>,
}

/// A room was created with its first members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRoomCreated {
    pub room_id: i64,
    pub room_type: String,
    pub name: Option<String>,
    pub member_ids: Vec<i64>,
    pub created_by: i64,
}

/// A message was sent; `seq` is its place in the room's stream, and
/// `streaming_user_ids` the members watching the room when it was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSent {
    pub room_id: i64,
    pub room_type: String,
    pub seq: i64,
    pub sender_id: i64,
    pub member_ids: Vec<i64>,
    pub streaming_user_ids: Vec<i64>,
    pub message: ChatMessage,
}

/// A message was edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageEdited {
    pub room_id: i64,
    pub seq: i64,
    pub message: ChatMessage,
}

/// A message was deleted (its content is gone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageDeleted {
    pub room_id: i64,
    pub seq: i64,
    pub message: ChatMessage,
}

/// `user_id` read these messages of the room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesRead {
    pub room_id: i64,
    pub user_id: i64,
    pub message_ids: Vec<String>,
    pub read_count: usize,
}

crate::contract! {
    ChatRoomCreated => CHAT_EVENTS,
    MessageSent => MESSAGE_EVENTS,
    MessageEdited => MESSAGE_EVENTS,
    MessageDeleted => MESSAGE_EVENTS,
    MessagesRead => MESSAGE_EVENTS,
}

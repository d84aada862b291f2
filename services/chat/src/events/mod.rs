//! What chat publishes (`chat.events`, `message.events`) and what it consumes
//! (`user.events` and `friend.events` into its read models, `message.events`
//! into the live room streams).

mod consumers;
mod streaming;

pub use consumers::{BlocksModel, LiveRooms, UsersModel};
pub use streaming::{InMemoryStreaming, RedisStreaming, Streaming, StreamingGuard};

use crate::domain::{Message, Room};
use kit::events::Event;
use serde_json::json;

/// `source` of every event chat produces.
pub const SOURCE: &str = "chat";

/// SSE event names of a room stream.
pub const MESSAGE_CREATED: &str = "message.created";
pub const MESSAGE_UPDATED: &str = "message.updated";
pub const MESSAGE_DELETED: &str = "message.deleted";

pub fn room_created(room: &Room, member_ids: &[i64]) -> Event {
    Event::new(
        "ChatRoomCreated",
        SOURCE,
        room.id,
        json!({
            "room_id": room.id,
            "room_type": room.room_type,
            "name": room.name,
            "member_ids": member_ids,
            "created_by": room.created_by,
        }),
    )
}

pub fn message_sent(message: &Message, seq: i64, member_ids: &[i64], streaming: &[i64]) -> Event {
    Event::new(
        "MessageSent",
        SOURCE,
        message.room_id,
        json!({
            "room_id": message.room_id,
            "room_type": message.room_type,
            "seq": seq,
            "sender_id": message.user_id,
            "member_ids": member_ids,
            "streaming_user_ids": streaming,
            "message": message,
        }),
    )
}

pub fn message_edited(message: &Message, seq: i64) -> Event {
    Event::new(
        "MessageEdited",
        SOURCE,
        message.room_id,
        json!({"room_id": message.room_id, "seq": seq, "message": message}),
    )
}

pub fn message_deleted(message: &Message, seq: i64) -> Event {
    Event::new(
        "MessageDeleted",
        SOURCE,
        message.room_id,
        json!({"room_id": message.room_id, "seq": seq, "message": message}),
    )
}

pub fn messages_read(room_id: i64, user_id: i64, message_ids: &[String]) -> Event {
    Event::new(
        "MessagesRead",
        SOURCE,
        room_id,
        json!({
            "room_id": room_id,
            "user_id": user_id,
            "message_ids": message_ids,
            "read_count": message_ids.len(),
        }),
    )
}

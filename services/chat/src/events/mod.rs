//! What chat publishes (`chat.events`, `message.events`) and what it consumes
//! (`user.events` and `friend.events` into its read models, `message.events`
//! into the live room streams).

mod consumers;
mod streaming;

pub use consumers::{BlocksModel, LiveRooms, UsersModel};
pub use streaming::{InMemoryStreaming, RedisStreaming, Streaming, StreamingGuard};

use crate::domain::{Message, Room};
use contracts::{
    ChatMessage, ChatRoomCreated, MessageDeleted, MessageEdited, MessageSent, MessagesRead,
};
use kit::events::Event;

/// `source` of every event chat produces.
pub const SOURCE: &str = "chat";

/// SSE event names of a room stream.
pub const MESSAGE_CREATED: &str = "message.created";
pub const MESSAGE_UPDATED: &str = "message.updated";
pub const MESSAGE_DELETED: &str = "message.deleted";

/// A message as the contracts carry it.
fn contract(message: &Message) -> ChatMessage {
    ChatMessage {
        id: message.id.clone(),
        user_id: message.user_id,
        room_id: message.room_id,
        room_type: message.room_type.as_str().to_owned(),
        content: message.content.clone(),
        message_type: message.message_type.clone(),
        is_deleted: message.is_deleted,
        is_edited: message.is_edited,
        created_at: message.created_at,
        updated_at: message.updated_at,
    }
}

pub fn room_created(room: &Room, member_ids: &[i64]) -> Event {
    let payload = ChatRoomCreated {
        room_id: room.id,
        room_type: room.room_type.as_str().to_owned(),
        name: room.name.clone(),
        member_ids: member_ids.to_vec(),
        created_by: room.created_by,
    };
    Event::of(SOURCE, room.id, &payload)
}

pub fn message_sent(message: &Message, seq: i64, member_ids: &[i64], streaming: &[i64]) -> Event {
    let payload = MessageSent {
        room_id: message.room_id,
        room_type: message.room_type.as_str().to_owned(),
        seq,
        sender_id: message.user_id,
        member_ids: member_ids.to_vec(),
        streaming_user_ids: streaming.to_vec(),
        message: contract(message),
    };
    Event::of(SOURCE, message.room_id, &payload)
}

pub fn message_edited(message: &Message, seq: i64) -> Event {
    let payload = MessageEdited {
        room_id: message.room_id,
        seq,
        message: contract(message),
    };
    Event::of(SOURCE, message.room_id, &payload)
}

pub fn message_deleted(message: &Message, seq: i64) -> Event {
    let payload = MessageDeleted {
        room_id: message.room_id,
        seq,
        message: contract(message),
    };
    Event::of(SOURCE, message.room_id, &payload)
}

pub fn messages_read(room_id: i64, user_id: i64, message_ids: &[String]) -> Event {
    let payload = MessagesRead {
        room_id,
        user_id,
        message_ids: message_ids.to_vec(),
        read_count: message_ids.len(),
    };
    Event::of(SOURCE, room_id, &payload)
}

//! The events chat's use cases announce, as typed contracts: `chat.events`
//! for rooms, `message.events` for messages and receipts. Every event's
//! subject is its room, so one room's events keep their order.

use crate::SERVICE;
use crate::domain::{Message, Room};
use contracts::{ChatRoomCreated, MessageDeleted, MessageEdited, MessageSent, MessagesRead};
use kit::events::Event;

pub fn room_created(room: &Room, member_ids: &[i64]) -> Event {
    let payload = ChatRoomCreated {
        room_id: room.id,
        room_type: room.room_type.as_str().to_owned(),
        name: room.name.clone(),
        member_ids: member_ids.to_vec(),
        created_by: room.created_by,
    };
    Event::of(SERVICE, room.id, &payload)
}

/// `streaming`: the members watching the room as it was sent (notifications
/// skip them).
pub fn message_sent(message: &Message, seq: i64, member_ids: &[i64], streaming: &[i64]) -> Event {
    let payload = MessageSent {
        room_id: message.room_id,
        room_type: message.room_type.as_str().to_owned(),
        seq,
        sender_id: message.user_id,
        member_ids: member_ids.to_vec(),
        streaming_user_ids: streaming.to_vec(),
        message: message.into(),
    };
    Event::of(SERVICE, message.room_id, &payload)
}

pub fn message_edited(message: &Message, seq: i64) -> Event {
    let (room_id, message) = (message.room_id, message.into());
    let payload = MessageEdited {
        room_id,
        seq,
        message,
    };
    Event::of(SERVICE, room_id, &payload)
}

/// The message as it is now: its content already gone.
pub fn message_deleted(message: &Message, seq: i64) -> Event {
    let (room_id, message) = (message.room_id, message.into());
    Event::of(
        SERVICE,
        room_id,
        &MessageDeleted {
            room_id,
            seq,
            message,
        },
    )
}

pub fn messages_read(room_id: i64, user_id: i64, message_ids: &[String]) -> Event {
    let payload = MessagesRead {
        room_id,
        user_id,
        message_ids: message_ids.to_vec(),
        read_count: message_ids.len(),
    };
    Event::of(SERVICE, room_id, &payload)
}

//! Plain reads and writes of chat's tables, one file per area: rooms and
//! their members (`rooms`), messages (`messages`), each room's stream log
//! (`room_log`), read receipts (`reads`) and the users and blocks read
//! models (`read_models`).
//!
//! Functions, not a trait: there is one implementation for both databases
//! (kit's query layer runs the same SQL on SQLite and PostgreSQL) and nothing
//! decorates it. Each function takes where it runs — the pool (`&Database`)
//! or the use case's unit of work (`&mut Tx`) — and never begins, commits or
//! enqueues anything, nor decides what an empty answer means: that is `app/`.

pub mod messages;
pub mod read_models;
pub mod reads;
pub mod room_log;
pub mod rooms;

use crate::domain::{Message, Participant, Room, RoomType};
use chrono::{DateTime, Utc};

const ROOM_COLUMNS: &str = "r.id, r.room_type, r.name, r.user_1_id, r.user_2_id, r.created_by, r.created_at, r.updated_at, r.last_message_id, r.last_seq";
/// The same columns unqualified, for `RETURNING` (SQLite refuses aliases there).
const ROOM_RETURNING: &str = "id, room_type, name, user_1_id, user_2_id, created_by, created_at, updated_at, last_message_id, last_seq";
const MESSAGE_COLUMNS: &str = "m.id, m.user_id, m.room_id, r.room_type, m.content, m.message_type, \
     m.is_deleted, m.is_edited, m.created_at, m.updated_at, m.edited_at, m.deleted_at";

#[derive(sqlx::FromRow)]
struct RoomRow {
    id: i64,
    room_type: String,
    name: Option<String>,
    user_1_id: Option<i64>,
    user_2_id: Option<i64>,
    created_by: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_message_id: Option<String>,
    last_seq: i64,
}

impl From<RoomRow> for Room {
    fn from(r: RoomRow) -> Self {
        Self {
            id: r.id,
            room_type: RoomType::parse(&r.room_type),
            name: r.name,
            user_1_id: r.user_1_id,
            user_2_id: r.user_2_id,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_message_id: r.last_message_id,
            last_seq: r.last_seq,
        }
    }
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: String,
    user_id: i64,
    room_id: i64,
    room_type: String,
    content: String,
    message_type: String,
    is_deleted: bool,
    is_edited: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
}

impl From<MessageRow> for Message {
    fn from(r: MessageRow) -> Self {
        Self {
            id: r.id,
            user_id: r.user_id,
            room_id: r.room_id,
            room_type: RoomType::parse(&r.room_type),
            content: r.content,
            message_type: r.message_type,
            is_deleted: r.is_deleted,
            is_edited: r.is_edited,
            created_at: r.created_at,
            updated_at: r.updated_at,
            edited_at: r.edited_at,
            deleted_at: r.deleted_at,
        }
        .hidden()
    }
}

/// A user of the users read model, as a room member (`room_id`) or on its own
/// (`room_id` is then the user id); unknown members have no name.
#[derive(sqlx::FromRow)]
struct MemberRow {
    room_id: i64,
    user_id: i64,
    username: Option<String>,
    display_name: Option<String>,
}

impl From<MemberRow> for Participant {
    fn from(r: MemberRow) -> Self {
        Self {
            user_id: r.user_id,
            username: r.username.unwrap_or_default(),
            display_name: r.display_name,
        }
    }
}

/// How a message is kept in the room's stream log (the JSON clients get).
fn encode(message: &Message) -> Result<String, sqlx::Error> {
    serde_json::to_string(message).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

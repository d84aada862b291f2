//! Rooms and their members.
//!
//! Writers of a room first bump `chat_rooms.last_seq` ([`bump_seq`]): on
//! PostgreSQL that locks the room row, on SQLite it takes the write lock, so
//! the room's stream events are numbered 1, 2, 3... in commit order.

use super::{MemberRow, ROOM_COLUMNS, ROOM_RETURNING, RoomRow};
use crate::SERVICE;
use crate::domain::{Participant, Room, RoomType};
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, placeholders, query, query_as, query_scalar, timed};
use std::collections::HashMap;

/// A room to insert.
pub struct NewRoom<'a> {
    pub room_type: RoomType,
    pub name: Option<&'a str>,
    /// The pair of a direct room, smaller id first.
    pub pair: Option<(i64, i64)>,
    pub created_by: i64,
    pub at: DateTime<Utc>,
}

/// The direct room of a pair (smaller id first), if it exists.
pub async fn direct(
    on: impl Into<On<'_>>,
    user_1: i64,
    user_2: i64,
) -> Result<Option<Room>, sqlx::Error> {
    let sql = format!(
        "SELECT {ROOM_COLUMNS} FROM chat_rooms r WHERE r.user_1_id = $1 AND r.user_2_id = $2"
    );
    let row = timed(
        SERVICE,
        "select_direct_room",
        query_as::<RoomRow>(&sql)
            .bind(user_1)
            .bind(user_2)
            .fetch_optional(on),
    )
    .await?;
    Ok(row.map(Room::from))
}

/// Inserts a room; `None` when the pair of a direct room already has one.
pub async fn insert(tx: &mut Tx, new: NewRoom<'_>) -> Result<Option<Room>, sqlx::Error> {
    let sql = format!(
        "INSERT INTO chat_rooms (room_type, name, user_1_id, user_2_id, created_by, created_at, updated_at, last_activity_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (user_1_id, user_2_id) DO NOTHING RETURNING {ROOM_RETURNING}"
    );
    let row = timed(
        SERVICE,
        "insert_room",
        query_as::<RoomRow>(&sql)
            .bind(new.room_type.as_str())
            .bind(new.name)
            .bind(new.pair.map(|p| p.0))
            .bind(new.pair.map(|p| p.1))
            .bind(new.created_by)
            .bind(new.at)
            .bind(new.at.timestamp_micros())
            .fetch_optional(tx),
    )
    .await?;
    Ok(row.map(Room::from))
}

/// Makes `members` (at least one) members of the room since `at`.
pub async fn add_members(
    tx: &mut Tx,
    room_id: i64,
    members: &[i64],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let rows: Vec<String> = (0..members.len())
        .map(|i| format!("($1, ${}, $2)", i + 3))
        .collect();
    let sql = format!(
        "INSERT INTO room_members (room_id, user_id, joined_at) VALUES {}",
        rows.join(", ")
    );
    let insert = query(&sql)
        .bind(room_id)
        .bind(at)
        .bind_all(members.iter().copied());
    timed(SERVICE, "insert_members", insert.execute(tx)).await?;
    Ok(())
}

/// The room, if `user` is a member of it.
pub async fn for_member(
    on: impl Into<On<'_>>,
    room_id: i64,
    user: i64,
) -> Result<Option<Room>, sqlx::Error> {
    let sql = format!(
        "SELECT {ROOM_COLUMNS} FROM chat_rooms r \
         JOIN room_members rm ON rm.room_id = r.id AND rm.user_id = $2 WHERE r.id = $1"
    );
    let row = timed(
        SERVICE,
        "select_room",
        query_as::<RoomRow>(&sql)
            .bind(room_id)
            .bind(user)
            .fetch_optional(on),
    )
    .await?;
    Ok(row.map(Room::from))
}

/// Rooms of `user`, most recent activity first.
pub async fn of_user(
    on: impl Into<On<'_>>,
    user: i64,
    skip: i64,
    limit: i64,
) -> Result<Vec<Room>, sqlx::Error> {
    let sql = format!(
        "SELECT {ROOM_COLUMNS} FROM room_members rm JOIN chat_rooms r ON r.id = rm.room_id \
         WHERE rm.user_id = $1 ORDER BY r.last_activity_us DESC, r.id DESC LIMIT $2 OFFSET $3"
    );
    let rows = timed(
        SERVICE,
        "select_rooms",
        query_as::<RoomRow>(&sql)
            .bind(user)
            .bind(limit)
            .bind(skip)
            .fetch_all(on),
    )
    .await?;
    Ok(rows.into_iter().map(Room::from).collect())
}

/// Members of each room, with what the users read model knows of them.
pub async fn participants(
    on: impl Into<On<'_>>,
    room_ids: &[i64],
) -> Result<HashMap<i64, Vec<Participant>>, sqlx::Error> {
    let mut out: HashMap<i64, Vec<Participant>> = HashMap::new();
    if room_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT rm.room_id, rm.user_id, u.username, u.display_name FROM room_members rm \
         LEFT JOIN chat_users u ON u.user_id = rm.user_id WHERE rm.room_id IN ({}) \
         ORDER BY rm.room_id, rm.user_id",
        placeholders(1, room_ids.len())
    );
    let select = query_as::<MemberRow>(&sql).bind_all(room_ids.iter().copied());
    let rows = timed(SERVICE, "select_participants", select.fetch_all(on)).await?;
    for r in rows {
        out.entry(r.room_id).or_default().push(Participant::from(r));
    }
    Ok(out)
}

/// Ids of the room's members, ascending.
pub async fn member_ids(on: impl Into<On<'_>>, room_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    timed(
        SERVICE,
        "select_member_ids",
        query_scalar("SELECT user_id FROM room_members WHERE room_id = $1 ORDER BY user_id")
            .bind(room_id)
            .fetch_all(on),
    )
    .await
}

/// Bumps the room's stream counter and returns the new seq; with `sent`
/// (message id, time) the room's last message and activity move too. The
/// first statement of a unit of work that writes to the room: it serialises
/// the room's writers.
pub async fn bump_seq(
    tx: &mut Tx,
    room_id: i64,
    sent: Option<(&str, DateTime<Utc>)>,
) -> Result<i64, sqlx::Error> {
    match sent {
        Some((message_id, at)) => timed(SERVICE, "bump_room_seq", query_scalar(
            "UPDATE chat_rooms SET last_seq = last_seq + 1, last_message_id = $2, updated_at = $3, \
             last_activity_us = $4 WHERE id = $1 RETURNING last_seq",
        )
        .bind(room_id)
        .bind(message_id)
        .bind(at)
        .bind(at.timestamp_micros())
        .fetch_one(tx))
        .await,
        None => timed(SERVICE, "bump_room_seq", query_scalar(
            "UPDATE chat_rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
        )
        .bind(room_id)
        .fetch_one(tx))
        .await,
    }
}

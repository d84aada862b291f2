//! One implementation of [`ChatStore`] for both databases. The SQL is written
//! once: numbered `$n` parameters work on PostgreSQL and on SQLite, and the
//! schema differences live in the per-database migrations.
//!
//! Writers of a room first bump `chat_rooms.last_seq`: on PostgreSQL that
//! locks the room row, on SQLite it takes the write lock, so the room's
//! stream events are numbered 1, 2, 3... in commit order.

use super::{ChatStore, NewMessage, StoreError, StoreResult};
use crate::domain::{self, Message, Participant, Room, RoomType};
use crate::events;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kit::db::{Database, Tx, placeholders, query, query_as, query_scalar, timed};
use kit::events::topics::{CHAT_EVENTS, MESSAGE_EVENTS};
use std::collections::HashMap;

const SERVICE: &str = "chat";
const ROOM_COLUMNS: &str = "r.id, r.room_type, r.name, r.user_1_id, r.user_2_id, r.created_by, r.created_at, r.updated_at, r.last_message_id, r.last_seq";
/// The same columns unqualified, for `RETURNING` (SQLite refuses aliases there).
const ROOM_RETURNING: &str = "id, room_type, name, user_1_id, user_2_id, created_by, created_at, updated_at, last_message_id, last_seq";
const MESSAGE_COLUMNS: &str = "m.id, m.user_id, m.room_id, r.room_type, m.content, m.message_type, \
     m.is_deleted, m.is_edited, m.created_at, m.updated_at";

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
        }
        .hidden()
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    room_id: i64,
    user_id: i64,
    username: Option<String>,
    display_name: Option<String>,
}

fn encode(err: serde_json::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Encode(Box::new(err)))
}

/// Chat on either database.
pub struct SqlChatStore {
    db: Database,
}

impl SqlChatStore {
    /// The store of `db`, whose schema the module runner brought up to date.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    async fn pair_room(&self, user_1: i64, user_2: i64) -> StoreResult<Option<Room>> {
        let sql = format!(
            "SELECT {ROOM_COLUMNS} FROM chat_rooms r WHERE r.user_1_id = $1 AND r.user_2_id = $2"
        );
        let row = timed(
            SERVICE,
            "select_direct_room",
            query_as::<RoomRow>(&sql)
                .bind(user_1)
                .bind(user_2)
                .fetch_optional(&self.db),
        )
        .await?;
        Ok(row.map(Room::from))
    }

    /// Bumps the room's stream counter (first statement of a writing
    /// transaction: it serialises the room's writers) and returns the new seq.
    async fn next_seq(
        tx: &mut Tx,
        room_id: i64,
        sent: Option<(&str, DateTime<Utc>)>,
    ) -> StoreResult<i64> {
        let seq: i64 = match sent {
            Some((message_id, at)) => timed(SERVICE, "bump_room_seq", query_scalar(
                "UPDATE chat_rooms SET last_seq = last_seq + 1, last_message_id = $2, updated_at = $3, \
                 last_activity_us = $4 WHERE id = $1 RETURNING last_seq",
            )
            .bind(room_id)
            .bind(message_id)
            .bind(at)
            .bind(at.timestamp_micros())
            .fetch_one(&mut *tx))
            .await?,
            None => timed(SERVICE, "bump_room_seq", query_scalar(
                "UPDATE chat_rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
            )
            .bind(room_id)
            .fetch_one(&mut *tx))
            .await?,
        };
        Ok(seq)
    }

    async fn append_event(tx: &mut Tx, seq: i64, kind: &str, message: &Message) -> StoreResult<()> {
        let data = serde_json::to_string(message).map_err(encode)?;
        timed(
            SERVICE,
            "insert_room_event",
            query(
                "INSERT INTO room_events (room_id, seq, event_type, message_id, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(message.room_id)
            .bind(seq)
            .bind(kind)
            .bind(&message.id)
            .bind(data)
            .bind(domain::now())
            .execute(&mut *tx),
        )
        .await?;
        Ok(())
    }

    async fn insert_room(
        tx: &mut Tx,
        room_type: RoomType,
        name: Option<&str>,
        pair: Option<(i64, i64)>,
        creator: i64,
        members: &[i64],
    ) -> StoreResult<Option<Room>> {
        let now = domain::now();
        let sql = format!(
            "INSERT INTO chat_rooms (room_type, name, user_1_id, user_2_id, created_by, created_at, updated_at, last_activity_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (user_1_id, user_2_id) DO NOTHING RETURNING {ROOM_RETURNING}"
        );
        let Some(row) = timed(
            SERVICE,
            "insert_room",
            query_as::<RoomRow>(&sql)
                .bind(room_type.as_str())
                .bind(name)
                .bind(pair.map(|p| p.0))
                .bind(pair.map(|p| p.1))
                .bind(creator)
                .bind(now)
                .bind(now.timestamp_micros())
                .fetch_optional(&mut *tx),
        )
        .await?
        else {
            return Ok(None);
        };
        let room = Room::from(row);
        let rows: Vec<String> = (0..members.len())
            .map(|i| format!("($1, ${}, $2)", i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO room_members (room_id, user_id, joined_at) VALUES {}",
            rows.join(", ")
        );
        let insert = query(&sql)
            .bind(room.id)
            .bind(now)
            .bind_all(members.iter().copied());
        timed(SERVICE, "insert_members", insert.execute(&mut *tx)).await?;
        tx.enqueue(CHAT_EVENTS, &events::room_created(&room, members))
            .await?;
        Ok(Some(room))
    }
}

#[async_trait]
impl ChatStore for SqlChatStore {
    async fn upsert_user(&self, user: &Participant) -> StoreResult<()> {
        timed(SERVICE, "upsert_user", query(
            "INSERT INTO chat_users (user_id, username, display_name, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, \
             display_name = excluded.display_name, updated_at = excluded.updated_at",
        )
        .bind(user.user_id)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(domain::now())
        .execute(&self.db))
        .await?;
        Ok(())
    }

    async fn users(&self, ids: &[i64]) -> StoreResult<Vec<Participant>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT user_id AS room_id, user_id, username, display_name FROM chat_users \
             WHERE user_id IN ({}) ORDER BY user_id",
            placeholders(1, ids.len())
        );
        let select = query_as::<MemberRow>(&sql).bind_all(ids.iter().copied());
        let rows = timed(SERVICE, "select_users", select.fetch_all(&self.db)).await?;
        Ok(rows
            .into_iter()
            .map(|r| Participant {
                user_id: r.user_id,
                username: r.username.unwrap_or_default(),
                display_name: r.display_name,
            })
            .collect())
    }

    async fn set_blocked(&self, blocker: i64, blocked: i64, is_blocked: bool) -> StoreResult<()> {
        let sql = if is_blocked {
            "INSERT INTO chat_blocks (blocker_id, blocked_id) VALUES ($1, $2) \
             ON CONFLICT (blocker_id, blocked_id) DO NOTHING"
        } else {
            "DELETE FROM chat_blocks WHERE blocker_id = $1 AND blocked_id = $2"
        };
        timed(
            SERVICE,
            "set_block",
            query(sql).bind(blocker).bind(blocked).execute(&self.db),
        )
        .await?;
        Ok(())
    }

    async fn blocked_between(&self, user: i64, others: &[i64]) -> StoreResult<bool> {
        if others.is_empty() {
            return Ok(false);
        }
        let others_list = placeholders(2, others.len());
        let sql = format!(
            "SELECT COUNT(*) FROM chat_blocks WHERE (blocker_id = $1 AND blocked_id IN ({others_list})) \
             OR (blocked_id = $1 AND blocker_id IN ({others_list}))"
        );
        let select = query_scalar::<i64>(&sql)
            .bind(user)
            .bind_all(others.iter().copied());
        let n: i64 = timed(SERVICE, "select_blocks", select.fetch_one(&self.db)).await?;
        Ok(n > 0)
    }

    async fn direct_room(&self, caller: i64, other: i64) -> StoreResult<Room> {
        let (user_1, user_2) = domain::pair(caller, other);
        if let Some(room) = self.pair_room(user_1, user_2).await? {
            return Ok(room);
        }
        let mut tx = self.db.begin().await?;
        let created = Self::insert_room(
            &mut tx,
            RoomType::Direct,
            None,
            Some((user_1, user_2)),
            caller,
            &[user_1, user_2],
        )
        .await?;
        if let Some(room) = created {
            tx.commit().await?;
            return Ok(room);
        }
        // Somebody else created it meanwhile: theirs is the one.
        tx.rollback().await?;
        self.pair_room(user_1, user_2)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    async fn create_group(&self, creator: i64, name: &str, members: &[i64]) -> StoreResult<Room> {
        let mut tx = self.db.begin().await?;
        let room = Self::insert_room(&mut tx, RoomType::Group, Some(name), None, creator, members)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        tx.commit().await?;
        Ok(room)
    }

    async fn room_for(&self, room_id: i64, user: i64) -> StoreResult<Option<Room>> {
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
                .fetch_optional(&self.db),
        )
        .await?;
        Ok(row.map(Room::from))
    }

    async fn rooms_of(&self, user: i64, skip: i64, limit: i64) -> StoreResult<Vec<Room>> {
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
                .fetch_all(&self.db),
        )
        .await?;
        Ok(rows.into_iter().map(Room::from).collect())
    }

    async fn participants(&self, room_ids: &[i64]) -> StoreResult<HashMap<i64, Vec<Participant>>> {
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
        let rows = timed(SERVICE, "select_participants", select.fetch_all(&self.db)).await?;
        for r in rows {
            out.entry(r.room_id).or_default().push(Participant {
                user_id: r.user_id,
                username: r.username.unwrap_or_default(),
                display_name: r.display_name,
            });
        }
        Ok(out)
    }

    async fn member_ids(&self, room_id: i64) -> StoreResult<Vec<i64>> {
        let ids = timed(
            SERVICE,
            "select_member_ids",
            query_scalar("SELECT user_id FROM room_members WHERE room_id = $1 ORDER BY user_id")
                .bind(room_id)
                .fetch_all(&self.db),
        )
        .await?;
        Ok(ids)
    }

    async fn send(&self, new: NewMessage<'_>) -> StoreResult<Message> {
        let now = domain::now();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut tx = self.db.begin().await?;
        let seq = Self::next_seq(&mut tx, new.room.id, Some((&id, now))).await?;
        timed(SERVICE, "insert_message", query(
            "INSERT INTO messages (id, room_id, user_id, content, message_type, is_deleted, is_edited, \
             created_seq, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, FALSE, $6, $7, $7)",
        )
        .bind(&id)
        .bind(new.room.id)
        .bind(new.sender)
        .bind(new.content)
        .bind(new.message_type)
        .bind(seq)
        .bind(now)
        .execute(&mut tx))
        .await?;
        let message = Message {
            id,
            user_id: new.sender,
            room_id: new.room.id,
            room_type: new.room.room_type,
            content: new.content.to_owned(),
            message_type: new.message_type.to_owned(),
            is_deleted: false,
            is_edited: false,
            created_at: now,
            updated_at: now,
        };
        Self::append_event(&mut tx, seq, events::MESSAGE_CREATED, &message).await?;
        let event = events::message_sent(&message, seq, new.member_ids, new.streaming_user_ids);
        tx.enqueue(MESSAGE_EVENTS, &event).await?;
        tx.commit().await?;
        Ok(message)
    }

    async fn messages(
        &self,
        room_id: i64,
        skip: i64,
        limit: i64,
    ) -> StoreResult<(Vec<Message>, i64)> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN chat_rooms r ON r.id = m.room_id \
             WHERE m.room_id = $1 ORDER BY m.created_seq DESC LIMIT $2 OFFSET $3"
        );
        let rows = timed(
            SERVICE,
            "select_messages",
            query_as::<MessageRow>(&sql)
                .bind(room_id)
                .bind(limit)
                .bind(skip)
                .fetch_all(&self.db),
        )
        .await?;
        let total: i64 = timed(
            SERVICE,
            "count_messages",
            query_scalar("SELECT COUNT(*) FROM messages WHERE room_id = $1")
                .bind(room_id)
                .fetch_one(&self.db),
        )
        .await?;
        let mut messages: Vec<Message> = rows.into_iter().map(Message::from).collect();
        messages.reverse();
        Ok((messages, total))
    }

    async fn message(&self, id: &str) -> StoreResult<Option<Message>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN chat_rooms r ON r.id = m.room_id WHERE m.id = $1"
        );
        let row = timed(
            SERVICE,
            "select_message",
            query_as::<MessageRow>(&sql)
                .bind(id)
                .fetch_optional(&self.db),
        )
        .await?;
        Ok(row.map(Message::from))
    }

    async fn messages_by_id(&self, ids: &[String]) -> StoreResult<Vec<Message>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN chat_rooms r ON r.id = m.room_id WHERE m.id IN ({})",
            placeholders(1, ids.len())
        );
        let select = query_as::<MessageRow>(&sql).bind_all(ids.iter().map(String::as_str));
        let rows = timed(SERVICE, "select_messages_by_id", select.fetch_all(&self.db)).await?;
        Ok(rows.into_iter().map(Message::from).collect())
    }

    async fn edit(&self, message: &Message, content: &str) -> StoreResult<Message> {
        let now = domain::now();
        let mut tx = self.db.begin().await?;
        let seq = Self::next_seq(&mut tx, message.room_id, None).await?;
        let done = timed(
            SERVICE,
            "update_message",
            query(
                "UPDATE messages SET content = $2, is_edited = TRUE, updated_at = $3 \
             WHERE id = $1 AND is_deleted = FALSE",
            )
            .bind(&message.id)
            .bind(content)
            .bind(now)
            .execute(&mut tx),
        )
        .await?;
        if done == 0 {
            tx.rollback().await?;
            return Err(StoreError::Deleted);
        }
        let edited = Message {
            content: content.to_owned(),
            is_edited: true,
            updated_at: now,
            ..message.clone()
        };
        Self::append_event(&mut tx, seq, events::MESSAGE_UPDATED, &edited).await?;
        tx.enqueue(MESSAGE_EVENTS, &events::message_edited(&edited, seq))
            .await?;
        tx.commit().await?;
        Ok(edited)
    }

    async fn delete(&self, message: &Message) -> StoreResult<Message> {
        let now = domain::now();
        let mut tx = self.db.begin().await?;
        let seq = Self::next_seq(&mut tx, message.room_id, None).await?;
        let done = timed(
            SERVICE,
            "delete_message",
            query(
                "UPDATE messages SET content = '', is_deleted = TRUE, updated_at = $2 \
             WHERE id = $1 AND is_deleted = FALSE",
            )
            .bind(&message.id)
            .bind(now)
            .execute(&mut tx),
        )
        .await?;
        if done == 0 {
            // Already deleted: nothing to tell anybody (and no seq used).
            tx.rollback().await?;
            return self.message(&message.id).await?.ok_or(StoreError::Deleted);
        }
        let deleted = Message {
            is_deleted: true,
            updated_at: now,
            ..message.clone()
        }
        .hidden();
        // What the message said must not come back through a stream replay either.
        let data = serde_json::to_string(&deleted).map_err(encode)?;
        timed(
            SERVICE,
            "scrub_room_events",
            query("UPDATE room_events SET data = $2 WHERE message_id = $1")
                .bind(&message.id)
                .bind(data)
                .execute(&mut tx),
        )
        .await?;
        Self::append_event(&mut tx, seq, events::MESSAGE_DELETED, &deleted).await?;
        tx.enqueue(MESSAGE_EVENTS, &events::message_deleted(&deleted, seq))
            .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn mark_read(&self, user: i64, room_id: i64, ids: &[String]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "INSERT INTO message_reads (message_id, user_id, read_at) SELECT m.id, $1, $2 FROM messages m \
             WHERE m.room_id = $3 AND m.user_id <> $1 AND m.is_deleted = FALSE AND m.id IN ({}) \
             ON CONFLICT (message_id, user_id) DO NOTHING RETURNING message_id",
            placeholders(4, ids.len())
        );
        let insert = query_scalar::<String>(&sql)
            .bind(user)
            .bind(domain::now())
            .bind(room_id)
            .bind_all(ids.iter().map(String::as_str));
        let mut tx = self.db.begin().await?;
        let marked: Vec<String> = timed(SERVICE, "insert_reads", insert.fetch_all(&mut tx)).await?;
        let count = marked.len() as u64;
        if count > 0 {
            tx.enqueue(
                MESSAGE_EVENTS,
                &events::messages_read(room_id, user, &marked),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(count)
    }

    async fn unread_counts(&self, user: i64, room_ids: &[i64]) -> StoreResult<HashMap<i64, i64>> {
        if room_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT m.room_id, COUNT(*) FROM messages m WHERE m.room_id IN ({}) AND m.user_id <> $1 \
             AND m.is_deleted = FALSE AND NOT EXISTS (SELECT 1 FROM message_reads mr \
             WHERE mr.message_id = m.id AND mr.user_id = $1) GROUP BY m.room_id",
            placeholders(2, room_ids.len())
        );
        let select = query_as::<(i64, i64)>(&sql)
            .bind(user)
            .bind_all(room_ids.iter().copied());
        let rows = timed(SERVICE, "count_unread", select.fetch_all(&self.db)).await?;
        Ok(rows.into_iter().collect())
    }

    async fn events_after(&self, room_id: i64, after: i64) -> StoreResult<Vec<kit::sse::Item>> {
        let rows: Vec<(i64, String, String)> = timed(SERVICE, "select_room_events", query_as(
            "SELECT seq, event_type, data FROM room_events WHERE room_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(room_id)
        .bind(after)
        .fetch_all(&self.db))
        .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, event, data)| kit::sse::Item { seq, event, data })
            .collect())
    }
}

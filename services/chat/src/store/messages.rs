//! Messages: insert, read (by id, by page), and the two conditional updates
//! (edit, soft delete) that report whether they changed anything.

use super::{MESSAGE_COLUMNS, MessageRow};
use crate::SERVICE;
use crate::domain::Message;
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, placeholders, query, query_as, query_scalar, timed};

/// Inserts a new message at the room's `seq`.
pub async fn insert(tx: &mut Tx, message: &Message, seq: i64) -> Result<(), sqlx::Error> {
    timed(SERVICE, "insert_message", query(
        "INSERT INTO messages (id, room_id, user_id, content, message_type, is_deleted, is_edited, \
         created_seq, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, FALSE, $6, $7, $7)",
    )
    .bind(&message.id)
    .bind(message.room_id)
    .bind(message.user_id)
    .bind(&message.content)
    .bind(&message.message_type)
    .bind(seq)
    .bind(message.created_at)
    .execute(tx))
    .await?;
    Ok(())
}

/// The page of `limit` messages after skipping the `skip` newest, oldest
/// first, and the room's message count.
pub async fn page(
    on: impl Into<On<'_>>,
    room_id: i64,
    skip: i64,
    limit: i64,
) -> Result<(Vec<Message>, i64), sqlx::Error> {
    let mut on = on.into();
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
            .fetch_all(on.reborrow()),
    )
    .await?;
    let total: i64 = timed(
        SERVICE,
        "count_messages",
        query_scalar("SELECT COUNT(*) FROM messages WHERE room_id = $1")
            .bind(room_id)
            .fetch_one(on),
    )
    .await?;
    let mut messages: Vec<Message> = rows.into_iter().map(Message::from).collect();
    messages.reverse();
    Ok((messages, total))
}

pub async fn by_id(on: impl Into<On<'_>>, id: &str) -> Result<Option<Message>, sqlx::Error> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN chat_rooms r ON r.id = m.room_id WHERE m.id = $1"
    );
    let row = timed(
        SERVICE,
        "select_message",
        query_as::<MessageRow>(&sql).bind(id).fetch_optional(on),
    )
    .await?;
    Ok(row.map(Message::from))
}

/// Those of `ids` that exist, in no particular order.
pub async fn by_ids(on: impl Into<On<'_>>, ids: &[String]) -> Result<Vec<Message>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN chat_rooms r ON r.id = m.room_id WHERE m.id IN ({})",
        placeholders(1, ids.len())
    );
    let select = query_as::<MessageRow>(&sql).bind_all(ids.iter().map(String::as_str));
    let rows = timed(SERVICE, "select_messages_by_id", select.fetch_all(on)).await?;
    Ok(rows.into_iter().map(Message::from).collect())
}

/// Replaces the content of a message that is not deleted; false when there
/// was none.
pub async fn edit(
    tx: &mut Tx,
    id: &str,
    content: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let changed = timed(
        SERVICE,
        "update_message",
        query(
            "UPDATE messages SET content = $2, is_edited = TRUE, updated_at = $3, edited_at = $3 \
             WHERE id = $1 AND is_deleted = FALSE",
        )
        .bind(id)
        .bind(content)
        .bind(at)
        .execute(tx),
    )
    .await?;
    Ok(changed > 0)
}

/// Soft-deletes (wipes the content of) a message that is not deleted yet;
/// false when there was none.
pub async fn delete(tx: &mut Tx, id: &str, at: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let changed = timed(
        SERVICE,
        "delete_message",
        query(
            "UPDATE messages SET content = '', is_deleted = TRUE, updated_at = $2, deleted_at = $2 \
             WHERE id = $1 AND is_deleted = FALSE",
        )
        .bind(id)
        .bind(at)
        .execute(tx),
    )
    .await?;
    Ok(changed > 0)
}

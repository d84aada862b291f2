//! Read receipts and the unread counts they imply.

use crate::SERVICE;
use crate::domain;
use kit::db::{On, placeholders, query_as, query_scalar, timed};
use std::collections::HashMap;

/// Marks those of `ids` that are in the room, by others and not deleted, as
/// read by `user`; returns the ids that were not read before.
pub async fn mark(
    on: impl Into<On<'_>>,
    user: i64,
    room_id: i64,
    ids: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
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
    timed(SERVICE, "insert_reads", insert.fetch_all(on)).await
}

/// Messages by others, not deleted, not read by `user`, per room (rooms
/// with none are absent).
pub async fn unread_counts(
    on: impl Into<On<'_>>,
    user: i64,
    room_ids: &[i64],
) -> Result<HashMap<i64, i64>, sqlx::Error> {
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
    let rows = timed(SERVICE, "count_unread", select.fetch_all(on)).await?;
    Ok(rows.into_iter().collect())
}

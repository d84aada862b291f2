//! The `blocks` table: who blocked whom, and since when. A block is
//! directional; either direction stops requests between the two.

use super::{SERVICE, StoreResult};
use crate::domain::BlockedUser;
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, query, query_as, query_scalar, timed};
use kit::read_model::Blocks;

#[derive(sqlx::FromRow)]
struct BlockedRow {
    user_id: i64,
    username: Option<String>,
    blocked_at: DateTime<Utc>,
}

/// The table as kit's read models of it see it: the same two columns.
const BLOCKS: Blocks = Blocks::new(SERVICE, "blocks");

/// Whether a block stands, either way, between `user` and any of `others`.
pub async fn between(on: impl Into<On<'_>>, user: i64, others: &[i64]) -> StoreResult<bool> {
    BLOCKS.between(on, user, others).await
}

/// When `blocker` blocked `blocked`; `None` when they have not.
pub async fn since(
    on: impl Into<On<'_>>,
    blocker: i64,
    blocked: i64,
) -> StoreResult<Option<DateTime<Utc>>> {
    timed(
        SERVICE,
        "select_block",
        query_scalar("SELECT created_at FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(blocker)
            .bind(blocked)
            .fetch_optional(on),
    )
    .await
}

/// Records that `blocker` blocked `blocked` at `at`, as stored (the
/// database's precision).
pub async fn insert(
    tx: &mut Tx,
    blocker: i64,
    blocked: i64,
    at: DateTime<Utc>,
) -> StoreResult<DateTime<Utc>> {
    timed(
        SERVICE,
        "insert_block",
        query_scalar(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
             RETURNING created_at",
        )
        .bind(blocker)
        .bind(blocked)
        .bind(at)
        .fetch_one(tx),
    )
    .await
}

/// Lifts the block; `false` when there was none.
pub async fn delete(tx: &mut Tx, blocker: i64, blocked: i64) -> StoreResult<bool> {
    let removed = timed(
        SERVICE,
        "delete_block",
        query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(blocker)
            .bind(blocked)
            .execute(tx),
    )
    .await?;
    Ok(removed > 0)
}

/// Users `blocker` blocked, newest first.
pub async fn blocked_by(on: impl Into<On<'_>>, blocker: i64) -> StoreResult<Vec<BlockedUser>> {
    let sql = "SELECT b.blocked_id AS user_id, u.username, b.created_at AS blocked_at \
               FROM blocks b LEFT JOIN users u ON u.user_id = b.blocked_id \
               WHERE b.blocker_id = $1 ORDER BY b.created_at DESC, b.blocked_id";
    let rows = timed(
        SERVICE,
        "select_blocked",
        query_as::<BlockedRow>(sql).bind(blocker).fetch_all(on),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| BlockedUser {
            user_id: r.user_id,
            username: r.username,
            blocked_at: r.blocked_at,
        })
        .collect())
}

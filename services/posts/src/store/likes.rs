//! The `likes` table: who liked which post (a set: liking twice is one like).

use super::{SERVICE, StoreResult};
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, placeholders, query, query_scalar, timed};

/// Records the like; `false` when `user` already liked the post.
pub async fn insert(tx: &mut Tx, post_id: i64, user: i64, at: DateTime<Utc>) -> StoreResult<bool> {
    let added = timed(
        SERVICE,
        "insert_like",
        query(
            "INSERT INTO likes (post_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (post_id, user_id) DO NOTHING",
        )
        .bind(post_id)
        .bind(user)
        .bind(at)
        .execute(tx),
    )
    .await?;
    Ok(added > 0)
}

/// Removes the like; `false` when there was none.
pub async fn delete(tx: &mut Tx, post_id: i64, user: i64) -> StoreResult<bool> {
    let removed = timed(
        SERVICE,
        "delete_like",
        query("DELETE FROM likes WHERE post_id = $1 AND user_id = $2")
            .bind(post_id)
            .bind(user)
            .execute(tx),
    )
    .await?;
    Ok(removed > 0)
}

/// Which of `post_ids` `user` liked.
pub async fn liked_among(
    on: impl Into<On<'_>>,
    user: i64,
    post_ids: &[i64],
) -> StoreResult<Vec<i64>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT post_id FROM likes WHERE user_id = $1 AND post_id IN ({})",
        placeholders(2, post_ids.len())
    );
    timed(
        SERVICE,
        "select_likes",
        query_scalar::<i64>(&sql)
            .bind(user)
            .bind_all(post_ids.iter().copied())
            .fetch_all(on),
    )
    .await
}

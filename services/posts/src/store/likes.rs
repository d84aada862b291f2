//! The `likes` table: who liked which post (a set: liking twice is one like),
//! and `likes_announced`: whose like of which post has been announced.

use super::{SERVICE, StoreResult, add_pair, remove_pair};
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, placeholders, query_scalar, timed};

/// Records the like; `false` when `user` already liked the post.
pub async fn insert(tx: &mut Tx, post_id: i64, user: i64, at: DateTime<Utc>) -> StoreResult<bool> {
    let insert = "INSERT INTO likes (post_id, user_id, created_at) VALUES ($1, $2, $3) \
                  ON CONFLICT (post_id, user_id) DO NOTHING";
    add_pair(tx, "insert_like", insert, (post_id, user), at).await
}

/// Records that `user`'s like of the post is announced; `false` when it was
/// announced before (a like taken back and given again).
pub async fn announce_once(
    tx: &mut Tx,
    post_id: i64,
    user: i64,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let insert = "INSERT INTO likes_announced (post_id, user_id, created_at) VALUES ($1, $2, $3) \
                  ON CONFLICT (post_id, user_id) DO NOTHING";
    add_pair(tx, "insert_like_announced", insert, (post_id, user), at).await
}

/// Removes the like; `false` when there was none.
pub async fn delete(tx: &mut Tx, post_id: i64, user: i64) -> StoreResult<bool> {
    let delete = "DELETE FROM likes WHERE post_id = $1 AND user_id = $2";
    remove_pair(tx, "delete_like", delete, (post_id, user)).await
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

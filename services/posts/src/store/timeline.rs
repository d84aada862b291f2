//! Home timelines. The written half is the `timeline_entries` table (one row
//! per reader and post: fan-out on write); the read half is the posts of
//! followed authors that were not fanned out (fan-out on read), read from
//! `posts` through `follows` when the timeline is read. Both leave out
//! deleted posts and what a block hides, so `app` only merges.

use super::{NOT_BLOCKED, POST_COLUMNS, PostRow, SERVICE, StoreResult};
use crate::domain::Post;
use kit::db::{On, Tx, query, query_as, timed};

/// Puts the post into its author's own timeline.
pub async fn add_own(tx: &mut Tx, post_id: i64, author: i64) -> StoreResult<()> {
    timed(
        SERVICE,
        "insert_timeline_entry",
        query(
            "INSERT INTO timeline_entries (user_id, post_id, author_id) VALUES ($1, $2, $1) \
             ON CONFLICT (user_id, post_id) DO NOTHING",
        )
        .bind(author)
        .bind(post_id)
        .execute(tx),
    )
    .await?;
    Ok(())
}

/// Fan-out on write: puts the post into the timeline of every follower of
/// its author; how many timelines it reached.
pub async fn fan_out(tx: &mut Tx, post_id: i64, author: i64) -> StoreResult<u64> {
    timed(
        SERVICE,
        "fan_out_post",
        query(
            "INSERT INTO timeline_entries (user_id, post_id, author_id) \
             SELECT follower_id, $1, $2 FROM follows WHERE followee_id = $2 \
             ON CONFLICT (user_id, post_id) DO NOTHING",
        )
        .bind(post_id)
        .bind(author)
        .execute(tx),
    )
    .await
}

/// A new follower's timeline gets the fanned-out posts `author` wrote before
/// (later ones reach it by fan-out; the others are read on read).
pub async fn backfill(tx: &mut Tx, follower: i64, author: i64) -> StoreResult<u64> {
    timed(
        SERVICE,
        "backfill_timeline",
        query(
            "INSERT INTO timeline_entries (user_id, post_id, author_id) \
             SELECT $1, id, author_id FROM posts \
             WHERE author_id = $2 AND fanned_out = TRUE AND deleted_at IS NULL \
             ON CONFLICT (user_id, post_id) DO NOTHING",
        )
        .bind(follower)
        .bind(author)
        .execute(tx),
    )
    .await
}

/// Takes `author`'s posts out of `reader`'s timeline (an unfollow, a block).
pub async fn drop_author(on: impl Into<On<'_>>, reader: i64, author: i64) -> StoreResult<()> {
    timed(
        SERVICE,
        "delete_timeline_author",
        query("DELETE FROM timeline_entries WHERE user_id = $1 AND author_id = $2")
            .bind(reader)
            .bind(author)
            .execute(on),
    )
    .await?;
    Ok(())
}

/// Takes a deleted post out of every timeline.
pub async fn drop_post(tx: &mut Tx, post_id: i64) -> StoreResult<()> {
    timed(
        SERVICE,
        "delete_timeline_post",
        query("DELETE FROM timeline_entries WHERE post_id = $1")
            .bind(post_id)
            .execute(tx),
    )
    .await?;
    Ok(())
}

/// The written half of `reader`'s timeline below id `before`, newest first.
pub async fn written(
    on: impl Into<On<'_>>,
    reader: i64,
    before: i64,
    limit: i64,
) -> StoreResult<Vec<Post>> {
    let sql = format!(
        "SELECT {POST_COLUMNS} FROM timeline_entries t JOIN posts p ON p.id = t.post_id \
         LEFT JOIN posts_users u ON u.user_id = p.author_id \
         WHERE t.user_id = $1 AND t.post_id < $2 AND p.deleted_at IS NULL AND {NOT_BLOCKED} \
         ORDER BY t.post_id DESC LIMIT $3"
    );
    let rows = timed(
        SERVICE,
        "select_timeline_written",
        query_as::<PostRow>(&sql)
            .bind(reader)
            .bind(before)
            .bind(limit)
            .fetch_all(on),
    )
    .await?;
    Ok(rows.into_iter().map(Post::from).collect())
}

/// The read half: posts below id `before` of authors `reader` follows that
/// were not fanned out (their authors had more followers than the
/// threshold), newest first.
pub async fn read_on_read(
    on: impl Into<On<'_>>,
    reader: i64,
    before: i64,
    limit: i64,
) -> StoreResult<Vec<Post>> {
    let sql = format!(
        "SELECT {POST_COLUMNS} FROM follows f JOIN posts p ON p.author_id = f.followee_id \
         LEFT JOIN posts_users u ON u.user_id = p.author_id \
         WHERE f.follower_id = $1 AND p.fanned_out = FALSE AND p.id < $2 \
         AND p.deleted_at IS NULL AND {NOT_BLOCKED} \
         ORDER BY p.id DESC LIMIT $3"
    );
    let rows = timed(
        SERVICE,
        "select_timeline_pulled",
        query_as::<PostRow>(&sql)
            .bind(reader)
            .bind(before)
            .bind(limit)
            .fetch_all(on),
    )
    .await?;
    Ok(rows.into_iter().map(Post::from).collect())
}

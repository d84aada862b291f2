//! The `posts` table: writing, editing and soft-deleting posts, and reading
//! one or an author's, as a viewer sees them.

use super::{NOT_BLOCKED, POST_COLUMNS, POST_FROM, PostRow, SERVICE, StoreResult, join_tags};
use crate::domain::Post;
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, query, query_as, query_scalar, timed};

/// Writes a new post; its id.
pub async fn insert(
    tx: &mut Tx,
    author: i64,
    text: &str,
    tags: &[String],
    fanned_out: bool,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    timed(
        SERVICE,
        "insert_post",
        query_scalar(
            "INSERT INTO posts (author_id, text, tags, fanned_out, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(author)
        .bind(text.to_owned())
        .bind(join_tags(tags))
        .bind(fanned_out)
        .bind(at)
        .fetch_one(tx),
    )
    .await
}

/// The live post `post_id`, whoever looks.
pub async fn find(on: impl Into<On<'_>>, post_id: i64) -> StoreResult<Option<Post>> {
    let sql =
        format!("SELECT {POST_COLUMNS} FROM {POST_FROM} WHERE p.id = $1 AND p.deleted_at IS NULL");
    let row = timed(
        SERVICE,
        "select_post",
        query_as::<PostRow>(&sql).bind(post_id).fetch_optional(on),
    )
    .await?;
    Ok(row.map(Post::from))
}

/// The live post `post_id` unless a block hides it from `viewer`.
pub async fn visible(
    on: impl Into<On<'_>>,
    viewer: i64,
    post_id: i64,
) -> StoreResult<Option<Post>> {
    let sql = format!(
        "SELECT {POST_COLUMNS} FROM {POST_FROM} \
         WHERE p.id = $2 AND p.deleted_at IS NULL AND {NOT_BLOCKED}"
    );
    let row = timed(
        SERVICE,
        "select_post",
        query_as::<PostRow>(&sql)
            .bind(viewer)
            .bind(post_id)
            .fetch_optional(on),
    )
    .await?;
    Ok(row.map(Post::from))
}

/// `author`'s live posts below id `before`, newest first, unless a block
/// hides them from `viewer`.
pub async fn by_author(
    on: impl Into<On<'_>>,
    viewer: i64,
    author: i64,
    before: i64,
    limit: i64,
) -> StoreResult<Vec<Post>> {
    let sql = format!(
        "SELECT {POST_COLUMNS} FROM {POST_FROM} \
         WHERE p.author_id = $2 AND p.id < $3 AND p.deleted_at IS NULL AND {NOT_BLOCKED} \
         ORDER BY p.id DESC LIMIT $4"
    );
    let rows = timed(
        SERVICE,
        "select_posts_by_author",
        query_as::<PostRow>(&sql)
            .bind(viewer)
            .bind(author)
            .bind(before)
            .bind(limit)
            .fetch_all(on),
    )
    .await?;
    Ok(rows.into_iter().map(Post::from).collect())
}

/// Ids of `author`'s newest `limit` live posts that were fanned out on
/// write (what a new follower's timeline gets), newest first.
pub async fn fanned_out_ids(
    on: impl Into<On<'_>>,
    author: i64,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    timed(
        SERVICE,
        "select_fanned_out_posts",
        query_scalar(
            "SELECT id FROM posts WHERE author_id = $1 AND fanned_out = TRUE \
             AND deleted_at IS NULL ORDER BY id DESC LIMIT $2",
        )
        .bind(author)
        .bind(limit)
        .fetch_all(on),
    )
    .await
}

/// Replaces the text and tags of a post, marking it edited.
pub async fn update(
    tx: &mut Tx,
    post_id: i64,
    text: &str,
    tags: &[String],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    timed(
        SERVICE,
        "update_post",
        query(
            "UPDATE posts SET text = $2, tags = $3, is_edited = TRUE, updated_at = $4 \
             WHERE id = $1",
        )
        .bind(post_id)
        .bind(text.to_owned())
        .bind(join_tags(tags))
        .bind(at)
        .execute(tx),
    )
    .await?;
    Ok(())
}

/// Soft-deletes a post.
pub async fn soft_delete(tx: &mut Tx, post_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    timed(
        SERVICE,
        "delete_post",
        query("UPDATE posts SET deleted_at = $2, updated_at = $2 WHERE id = $1")
            .bind(post_id)
            .bind(at)
            .execute(tx),
    )
    .await?;
    Ok(())
}

/// Adds `delta` to the post's like count; the new count.
pub async fn add_likes(tx: &mut Tx, post_id: i64, delta: i64) -> StoreResult<i64> {
    timed(
        SERVICE,
        "update_like_count",
        query_scalar(
            "UPDATE posts SET like_count = like_count + $2 WHERE id = $1 RETURNING like_count",
        )
        .bind(post_id)
        .bind(delta)
        .fetch_one(tx),
    )
    .await
}

/// Counts one more comment on the post.
pub async fn add_comment(tx: &mut Tx, post_id: i64) -> StoreResult<()> {
    timed(
        SERVICE,
        "update_comment_count",
        query("UPDATE posts SET comment_count = comment_count + 1 WHERE id = $1")
            .bind(post_id)
            .execute(tx),
    )
    .await?;
    Ok(())
}

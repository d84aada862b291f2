//! The `comments` table: comments on posts and replies to them.

use super::{CommentRow, SERVICE, StoreResult};
use crate::domain::Comment;
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, query, query_as, query_scalar, timed};

const COMMENT_COLUMNS: &str = "c.id, c.post_id, c.author_id, c.parent_id, c.text, c.reply_count, \
     c.created_at, u.username, u.display_name";
const COMMENT_FROM: &str = "comments c LEFT JOIN posts_users u ON u.user_id = c.author_id";
/// True unless a block stands between the viewer (`$1`) and `c`'s author.
const NOT_BLOCKED: &str = "NOT EXISTS (SELECT 1 FROM posts_blocks b WHERE \
     (b.blocker_id = $1 AND b.blocked_id = c.author_id) OR \
     (b.blocker_id = c.author_id AND b.blocked_id = $1))";

/// Writes a comment (a reply when `parent` is set); its id.
pub async fn insert(
    tx: &mut Tx,
    post_id: i64,
    author: i64,
    parent: Option<i64>,
    text: &str,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    timed(
        SERVICE,
        "insert_comment",
        query_scalar(
            "INSERT INTO comments (post_id, author_id, parent_id, text, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(post_id)
        .bind(author)
        .bind(parent)
        .bind(text.to_owned())
        .bind(at)
        .fetch_one(tx),
    )
    .await
}

/// Counts one more reply to the comment.
pub async fn add_reply(tx: &mut Tx, comment_id: i64) -> StoreResult<()> {
    timed(
        SERVICE,
        "update_reply_count",
        query("UPDATE comments SET reply_count = reply_count + 1 WHERE id = $1")
            .bind(comment_id)
            .execute(tx),
    )
    .await?;
    Ok(())
}

/// The comment `comment_id` on post `post_id`.
pub async fn find(
    on: impl Into<On<'_>>,
    post_id: i64,
    comment_id: i64,
) -> StoreResult<Option<Comment>> {
    let sql =
        format!("SELECT {COMMENT_COLUMNS} FROM {COMMENT_FROM} WHERE c.id = $1 AND c.post_id = $2");
    let row = timed(
        SERVICE,
        "select_comment",
        query_as::<CommentRow>(&sql)
            .bind(comment_id)
            .bind(post_id)
            .fetch_optional(on),
    )
    .await?;
    Ok(row.map(Comment::from))
}

/// Comments of post `post_id` answering `parent` (top-level ones when
/// `None`) above id `after`, oldest first, leaving out those a block hides
/// from `viewer`.
pub async fn list(
    on: impl Into<On<'_>>,
    viewer: i64,
    post_id: i64,
    parent: Option<i64>,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<Comment>> {
    // Top-level comments have no parent; `$3` (then 0) is still compared so
    // both statements number their parameters alike.
    let parent_filter = if parent.is_some() {
        "c.parent_id = $3"
    } else {
        "c.parent_id IS NULL AND $3 = 0"
    };
    let sql = format!(
        "SELECT {COMMENT_COLUMNS} FROM {COMMENT_FROM} \
         WHERE c.post_id = $2 AND {parent_filter} AND c.id > $4 AND {NOT_BLOCKED} \
         ORDER BY c.id ASC LIMIT $5"
    );
    let rows = timed(
        SERVICE,
        "select_comments",
        query_as::<CommentRow>(&sql)
            .bind(viewer)
            .bind(post_id)
            .bind(parent.unwrap_or(0))
            .bind(after)
            .bind(limit)
            .fetch_all(on),
    )
    .await?;
    Ok(rows.into_iter().map(Comment::from).collect())
}

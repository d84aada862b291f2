//! Plain reads and writes of the posts database, one file per area: `posts`,
//! `comments`, `likes`, `follows`, `images` (a post's image), `timeline` (home timelines' reads and, without
//! Redis, their written half), `redis_timeline` (the written half in Redis)
//! and `read_models` (users and blocks from other services).
//!
//! Functions, not a trait: the SQL is written once for SQLite and PostgreSQL
//! (kit's query layer runs it on either). Each takes where it runs — the pool
//! or the use case's unit of work — and never begins, commits or enqueues
//! anything, nor decides what an empty answer means: that is `app/`.
//!
//! Reads on behalf of a viewer leave out what a block between the viewer and
//! the author hides ([`NOT_BLOCKED`]), in SQL, so pages stay full.

pub mod comments;
pub mod follows;
pub mod images;
pub mod likes;
pub mod posts;
pub mod read_models;
pub mod redis_timeline;
pub mod timeline;

use crate::domain::{Author, Comment, Post};
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, query, timed};

/// Errors of the store: the database's own.
pub type StoreResult<T> = Result<T, sqlx::Error>;

/// The `service` label of the store's timed queries.
const SERVICE: &str = crate::SERVICE;

/// Columns of a post with its author's names (`p` joined with `u`).
const POST_COLUMNS: &str = "p.id, p.author_id, p.text, p.tags, p.like_count, p.comment_count, \
     p.is_edited, p.created_at, p.updated_at, p.image_updated_at, u.username, u.display_name";
const POST_FROM: &str = "posts p LEFT JOIN posts_users u ON u.user_id = p.author_id";

/// True unless a block stands between the viewer (`$1`) and `p`'s author.
const NOT_BLOCKED: &str = "NOT EXISTS (SELECT 1 FROM posts_blocks b WHERE \
     (b.blocker_id = $1 AND b.blocked_id = p.author_id) OR \
     (b.blocker_id = p.author_id AND b.blocked_id = $1))";

#[derive(sqlx::FromRow)]
struct PostRow {
    id: i64,
    author_id: i64,
    text: String,
    tags: String,
    like_count: i64,
    comment_count: i64,
    is_edited: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    image_updated_at: Option<DateTime<Utc>>,
    username: Option<String>,
    display_name: Option<String>,
}

impl From<PostRow> for Post {
    fn from(r: PostRow) -> Self {
        Self {
            id: r.id,
            author: Author {
                user_id: r.author_id,
                username: r.username,
                display_name: r.display_name,
            },
            text: r.text,
            tags: split_tags(&r.tags),
            like_count: r.like_count,
            comment_count: r.comment_count,
            is_edited: r.is_edited,
            created_at: r.created_at,
            updated_at: r.updated_at,
            image_updated_at: r.image_updated_at,
        }
    }
}

/// Adds the pair (`a`, `b`) to a table that holds a set of pairs (likes,
/// follows): `insert` writes `$1, $2` and the time `$3`, and does nothing on
/// conflict. Whether the pair is new.
async fn add_pair(
    tx: &mut Tx,
    operation: &'static str,
    insert: &str,
    (a, b): (i64, i64),
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let write = query(insert).bind(a).bind(b).bind(at);
    Ok(timed(SERVICE, operation, write.execute(tx)).await? > 0)
}

/// Removes the pair (`a`, `b`), `$1` and `$2` of `delete`: whether it was
/// there.
async fn remove_pair(
    on: impl Into<On<'_>>,
    operation: &'static str,
    delete: &str,
    (a, b): (i64, i64),
) -> StoreResult<bool> {
    let write = query(delete).bind(a).bind(b);
    Ok(timed(SERVICE, operation, write.execute(on)).await? > 0)
}

/// Tags as stored: joined by spaces (a valid tag has none).
fn join_tags(tags: &[String]) -> String {
    tags.join(" ")
}

fn split_tags(stored: &str) -> Vec<String> {
    stored.split_whitespace().map(str::to_owned).collect()
}

#[derive(sqlx::FromRow)]
struct CommentRow {
    id: i64,
    post_id: i64,
    author_id: i64,
    parent_id: Option<i64>,
    text: String,
    reply_count: i64,
    created_at: DateTime<Utc>,
    username: Option<String>,
    display_name: Option<String>,
}

impl From<CommentRow> for Comment {
    fn from(r: CommentRow) -> Self {
        Self {
            id: r.id,
            post_id: r.post_id,
            author: Author {
                user_id: r.author_id,
                username: r.username,
                display_name: r.display_name,
            },
            parent_id: r.parent_id,
            text: r.text,
            reply_count: r.reply_count,
            created_at: r.created_at,
        }
    }
}

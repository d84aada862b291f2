//! The posts service's use cases, the only code that decides. Each validates
//! its input with `domain` functions, opens a unit of work when it writes
//! (exclusive per author for posts and follows, per post for likes and
//! comments, so what it read still holds when it writes), loads facts through
//! `store`, decides with `domain`, writes, enqueues the events it announces
//! (built in `announce`) in the same unit of work and commits. Plain reads use
//! the pool.
//!
//! One area per file: `posts` (write, edit, delete, read), `images` (a
//! post's image), `timeline` (the
//! hybrid home timeline), `comments`, `likes`, `follows`, and `read_models`
//! (users and blocks from other services' events). [`PostsError`] is the one
//! error of the service and `From<PostsError> for ApiError` its one mapping
//! to HTTP.

mod announce;
mod comments;
mod follows;
mod images;
mod likes;
mod posts;
mod read_models;
mod timeline;

pub use follows::Following;
pub use likes::LikeState;
pub use timeline::Timelines;

use crate::domain::{Invalid, Post, Refusal};
use crate::store;
use axum::http::StatusCode;
use kit::ApiError;
use kit::db::{Database, Tx};
use kit::owners::{NoAnswer, Owners};

/// What the use cases work with.
#[derive(Clone)]
pub struct App {
    db: Database,
    /// Asked when the users read model has not yet heard of a user.
    owners: Owners,
    /// Authors with more followers than this are fanned out on read.
    fanout_threshold: u32,
    /// Where the written half of home timelines lives.
    timelines: Timelines,
    /// Decodes uploaded images, a few at once.
    images: std::sync::Arc<kit::upload::ImageChecker>,
}

/// A post as one viewer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PostView {
    pub post: Post,
    pub liked_by_me: bool,
}

/// One page of a list, and the cursor of the next (`None` on the last).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<i64>,
}

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum PostsError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The owner of a fact (users, friends) did not answer: 503.
    #[error(transparent)]
    NoAnswer(#[from] NoAnswer),
    /// Redis, where home timelines live, failed: 503.
    #[error("home timelines (redis): {0}")]
    Timelines(#[from] redis::RedisError),
    /// An upload that is no acceptable image (kit's upload contract).
    #[error(transparent)]
    Image(#[from] kit::upload::Refused),
}

pub type PostsResult<T> = Result<T, PostsError>;

impl From<PostsError> for ApiError {
    fn from(err: PostsError) -> Self {
        let refusal = match err {
            PostsError::Invalid(invalid) => return ApiError::validation(invalid.0),
            PostsError::Database(err) => return ApiError::internal(err),
            PostsError::NoAnswer(no_answer) => return no_answer.into(),
            PostsError::Timelines(err) => {
                tracing::error!(error = %err, "home timelines in redis failed");
                return ApiError::unavailable("home timelines are unavailable; retry shortly");
            }
            PostsError::Image(refused) => return refused.into(),
            PostsError::Refused(refusal) => refusal,
        };
        let (status, code) = match refusal {
            Refusal::PostNotFound => (StatusCode::NOT_FOUND, "POST_NOT_FOUND"),
            Refusal::CommentNotFound => (StatusCode::NOT_FOUND, "COMMENT_NOT_FOUND"),
            Refusal::UnknownUser => (StatusCode::NOT_FOUND, "USER_NOT_FOUND"),
            Refusal::NotAuthor => (StatusCode::FORBIDDEN, "NOT_AUTHOR"),
            Refusal::Blocked => (StatusCode::FORBIDDEN, "BLOCKED"),
            Refusal::SelfFollow => (StatusCode::UNPROCESSABLE_ENTITY, "SELF_FOLLOW"),
            Refusal::ReplyTooDeep => (StatusCode::UNPROCESSABLE_ENTITY, "REPLY_TOO_DEEP"),
            Refusal::NoImage => (StatusCode::NOT_FOUND, "IMAGE_NOT_FOUND"),
        };
        ApiError::new(status, code, refusal.to_string())
    }
}

impl App {
    pub fn new(db: Database, owners: Owners, fanout_threshold: u32, timelines: Timelines) -> Self {
        Self {
            db,
            owners,
            fanout_threshold,
            timelines,
            images: std::sync::Arc::new(kit::upload::ImageChecker::per_core()),
        }
    }

    /// A unit of work no other writer of `key` interleaves with.
    async fn begin(&self, key: i64) -> PostsResult<Tx> {
        Ok(self.db.begin_exclusive(key).await?)
    }

    /// The posts as `viewer` sees them (whether they liked each).
    async fn views(&self, viewer: i64, posts: Vec<Post>) -> PostsResult<Vec<PostView>> {
        let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        let liked = store::likes::liked_among(&self.db, viewer, &ids).await?;
        Ok(posts
            .into_iter()
            .map(|post| PostView {
                liked_by_me: liked.contains(&post.id),
                post,
            })
            .collect())
    }
}

//! HTTP surface of the posts service: each handler extracts its input, calls
//! one use case of `crate::app` and maps the result into its response body;
//! `app::PostsError` maps errors. Lists page with an opaque `cursor` (the
//! `next_cursor` of the previous page) and a `limit` (1-100, default 20).

mod comments;
mod follows;
mod images;
mod posts;
mod timeline;

use crate::Posts;
use crate::app::{Page, PostView};
use crate::domain::{Author, Comment, Invalid, PageRequest};
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

kit::handler_state!(
    /// Handler state: the service, cheap to clone.
    pub AppState(Posts)
);

pub fn router(posts: Arc<Posts>) -> (Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::new()
        .routes(routes!(posts::create))
        .routes(routes!(posts::get, posts::edit, posts::delete))
        .routes(routes!(posts::by_user))
        .routes(routes!(posts::like, posts::unlike))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(images::upload, images::delete, images::get))
                .layer(kit::upload::body_limit()),
        )
        .routes(routes!(comments::add, comments::list))
        .routes(routes!(comments::replies))
        .routes(routes!(follows::follow, follows::unfollow, follows::counts))
        .routes(routes!(follows::followers))
        .routes(routes!(follows::following))
        .routes(routes!(timeline::home))
        .with_state(AppState(posts))
        .split_for_parts()
}

/// Which page of a list: `cursor` is the `next_cursor` of the page before.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageParams {
    /// The previous page's `next_cursor`; none for the first page.
    cursor: Option<String>,
    /// 1-100, default 20.
    limit: Option<i64>,
}

impl PageParams {
    fn page(&self) -> Result<PageRequest, Invalid> {
        PageRequest::parse(self.cursor.as_deref(), self.limit)
    }
}

fn cursor(next: Option<i64>) -> Option<String> {
    next.map(|id| id.to_string())
}

/// Who wrote a post or comment (names `null` until the service has heard of
/// the user).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorBody {
    pub user_id: i64,
    pub username: Option<String>,
    pub display_name: Option<String>,
}

impl From<Author> for AuthorBody {
    fn from(a: Author) -> Self {
        Self {
            user_id: a.user_id,
            username: a.username,
            display_name: a.display_name,
        }
    }
}

/// A post as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostBody {
    pub id: i64,
    pub author_id: i64,
    pub author: AuthorBody,
    pub text: String,
    pub tags: Vec<String>,
    pub like_count: i64,
    pub comment_count: i64,
    /// Whether the caller likes it.
    pub liked_by_me: bool,
    pub is_edited: bool,
    /// Where its image is served (`GET`, with a token); `null` without one.
    pub image_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<PostView> for PostBody {
    fn from(v: PostView) -> Self {
        let p = v.post;
        Self {
            image_url: p.image_url(),
            id: p.id,
            author_id: p.author.user_id,
            author: p.author.into(),
            text: p.text,
            tags: p.tags,
            like_count: p.like_count,
            comment_count: p.comment_count,
            liked_by_me: v.liked_by_me,
            is_edited: p.is_edited,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A page of posts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostPage {
    pub items: Vec<PostBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<PostView>> for PostPage {
    fn from(page: Page<PostView>) -> Self {
        Self {
            items: page.items.into_iter().map(PostBody::from).collect(),
            next_cursor: cursor(page.next_cursor),
        }
    }
}

/// A comment, or a reply (`parent_id` set).
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentBody {
    pub id: i64,
    pub post_id: i64,
    pub author_id: i64,
    pub author: AuthorBody,
    pub parent_id: Option<i64>,
    pub text: String,
    pub reply_count: i64,
    pub created_at: DateTime<Utc>,
}

impl From<Comment> for CommentBody {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id,
            post_id: c.post_id,
            author_id: c.author.user_id,
            author: c.author.into(),
            parent_id: c.parent_id,
            text: c.text,
            reply_count: c.reply_count,
            created_at: c.created_at,
        }
    }
}

/// A page of comments or replies, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentPage {
    pub items: Vec<CommentBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<Comment>> for CommentPage {
    fn from(page: Page<Comment>) -> Self {
        Self {
            items: page.items.into_iter().map(CommentBody::from).collect(),
            next_cursor: cursor(page.next_cursor),
        }
    }
}

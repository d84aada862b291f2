//! Posts: write, read, edit, delete, a user's posts, likes.

use super::{AppState, PageParams, PostBody, PostPage};
use crate::app::LikeState;
use axum::http::StatusCode;
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPostBody {
    /// 1-2000 characters (trimmed).
    text: String,
    /// At most 10 tags of 1-30 letters, digits, `_` or `-` (a leading `#` is
    /// dropped, tags are lower-cased and deduplicated).
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EditPostBody {
    /// New text, 1-2000 characters; unchanged when absent.
    text: Option<String>,
    /// New tags (replacing the old ones); unchanged when absent.
    tags: Option<Vec<String>>,
}

/// Whether the caller likes the post now, and its like count.
#[derive(Debug, Serialize, ToSchema)]
pub struct LikeBody {
    post_id: i64,
    liked: bool,
    like_count: i64,
}

impl From<LikeState> for LikeBody {
    fn from(s: LikeState) -> Self {
        Self {
            post_id: s.post_id,
            liked: s.liked,
            like_count: s.like_count,
        }
    }
}

/// Publish a post; it is in the author's home timeline (and, for authors
/// with at most the fan-out threshold of followers, in their followers')
/// by the next request.
#[utoipa::path(post, path = "/api/posts", tag = "posts", security(("bearer" = [])),
    request_body = NewPostBody,
    responses((status = 201, body = PostBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    state: AppState,
    user: AuthUser,
    Json(body): Json<NewPostBody>,
) -> ApiResult<(StatusCode, Json<PostBody>)> {
    let post = state
        .app
        .create_post(user.id, &body.text, &body.tags)
        .await?;
    Ok((StatusCode::CREATED, Json(post.into())))
}

/// One post.
#[utoipa::path(get, path = "/api/posts/{post_id}", tag = "posts", security(("bearer" = [])),
    params(("post_id" = i64, Path)),
    responses((status = 200, body = PostBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    state: AppState,
    user: AuthUser,
    Path(post_id): Path<i64>,
) -> ApiResult<Json<PostBody>> {
    Ok(Json(state.app.post(user.id, post_id).await?.into()))
}

/// Edit one's own post.
#[utoipa::path(put, path = "/api/posts/{post_id}", tag = "posts", security(("bearer" = [])),
    params(("post_id" = i64, Path)), request_body = EditPostBody,
    responses((status = 200, body = PostBody), (status = 403, body = ErrorBody, description = "not the author"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit(
    state: AppState,
    user: AuthUser,
    Path(post_id): Path<i64>,
    Json(body): Json<EditPostBody>,
) -> ApiResult<Json<PostBody>> {
    let post = state
        .app
        .edit_post(user.id, post_id, body.text.as_deref(), body.tags.as_deref())
        .await?;
    Ok(Json(post.into()))
}

/// Delete one's own post (soft delete).
#[utoipa::path(delete, path = "/api/posts/{post_id}", tag = "posts", security(("bearer" = [])),
    params(("post_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody, description = "not the author"),
        (status = 404, body = ErrorBody)))]
pub async fn delete(
    state: AppState,
    user: AuthUser,
    Path(post_id): Path<i64>,
) -> ApiResult<StatusCode> {
    state.app.delete_post(user.id, post_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's posts, newest first.
#[utoipa::path(get, path = "/api/posts/user/{user_id}", tag = "posts", security(("bearer" = [])),
    params(("user_id" = i64, Path), PageParams),
    responses((status = 200, body = PostPage), (status = 422, body = ErrorBody)))]
pub async fn by_user(
    state: AppState,
    user: AuthUser,
    Path(author): Path<i64>,
    Query(params): Query<PageParams>,
) -> ApiResult<Json<PostPage>> {
    let page = state.app.posts_by(user.id, author, params.page()?).await?;
    Ok(Json(page.into()))
}

/// Like a post (liking again changes nothing).
#[utoipa::path(post, path = "/api/posts/{post_id}/like", tag = "posts", security(("bearer" = [])),
    params(("post_id" = i64, Path)),
    responses((status = 200, body = LikeBody), (status = 404, body = ErrorBody)))]
pub async fn like(
    state: AppState,
    user: AuthUser,
    Path(post_id): Path<i64>,
) -> ApiResult<Json<LikeBody>> {
    Ok(Json(state.app.like(user.id, post_id).await?.into()))
}

/// Take a like back (unliking what one does not like changes nothing).
#[utoipa::path(delete, path = "/api/posts/{post_id}/like", tag = "posts", security(("bearer" = [])),
    params(("post_id" = i64, Path)),
    responses((status = 200, body = LikeBody), (status = 404, body = ErrorBody)))]
pub async fn unlike(
    state: AppState,
    user: AuthUser,
    Path(post_id): Path<i64>,
) -> ApiResult<Json<LikeBody>> {
    Ok(Json(state.app.unlike(user.id, post_id).await?.into()))
}

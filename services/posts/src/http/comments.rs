//! Comments on posts and one level of replies.

use super::{AppState, CommentBody, CommentPage, PageParams};
use axum::http::StatusCode;
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path, Query};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCommentBody {
    /// 1-1000 characters (trimmed).
    text: String,
    /// The top-level comment this replies to; none for a comment on the post.
    parent_id: Option<i64>,
}

/// Comment on a post, or reply to one of its comments.
#[utoipa::path(post, path = "/api/posts/{post_id}/comments", tag = "comments", security(("bearer" = [])),
    params(("post_id" = i64, Path)), request_body = NewCommentBody,
    responses((status = 201, body = CommentBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "bad text, or a reply to a reply")))]
pub async fn add(
    state: AppState,
    user: AuthUser,
    Path(post_id): Path<i64>,
    Json(body): Json<NewCommentBody>,
) -> ApiResult<(StatusCode, Json<CommentBody>)> {
    let comment = state
        .app
        .comment(user.id, post_id, &body.text, body.parent_id)
        .await?;
    Ok((StatusCode::CREATED, Json(comment.into())))
}

/// A post's comments, oldest first (each with its reply count).
#[utoipa::path(get, path = "/api/posts/{post_id}/comments", tag = "comments", security(("bearer" = [])),
    params(("post_id" = i64, Path), PageParams),
    responses((status = 200, body = CommentPage), (status = 404, body = ErrorBody)))]
pub async fn list(
    state: AppState,
    user: AuthUser,
    Path(post_id): Path<i64>,
    Query(params): Query<PageParams>,
) -> ApiResult<Json<CommentPage>> {
    let page = state.app.comments(user.id, post_id, params.page()?).await?;
    Ok(Json(page.into()))
}

/// The replies to a comment, oldest first.
#[utoipa::path(get, path = "/api/posts/{post_id}/comments/{comment_id}/replies", tag = "comments",
    security(("bearer" = [])), params(("post_id" = i64, Path), ("comment_id" = i64, Path), PageParams),
    responses((status = 200, body = CommentPage), (status = 404, body = ErrorBody)))]
pub async fn replies(
    state: AppState,
    user: AuthUser,
    Path((post_id, comment_id)): Path<(i64, i64)>,
    Query(params): Query<PageParams>,
) -> ApiResult<Json<CommentPage>> {
    let page = state
        .app
        .replies(user.id, post_id, comment_id, params.page()?)
        .await?;
    Ok(Json(page.into()))
}

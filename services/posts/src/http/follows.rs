//! Follows: follow, unfollow, counts, and the followers and following lists.

use super::{AppState, AuthorBody, PageParams};
use crate::app::{Following, Page};
use crate::domain::FollowEntry;
use chrono::{DateTime, Utc};
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path, Query};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct FollowCounts {
    user_id: i64,
    followers_count: i64,
    following_count: i64,
}

/// A user in a followers or following list.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowItem {
    user: AuthorBody,
    followed_at: DateTime<Utc>,
}

/// A page of a followers or following list, newest follow first.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowPage {
    items: Vec<FollowItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

impl From<Page<FollowEntry>> for FollowPage {
    fn from(page: Page<FollowEntry>) -> Self {
        Self {
            items: page
                .items
                .into_iter()
                .map(|f| FollowItem {
                    user: f.user.into(),
                    followed_at: f.followed_at,
                })
                .collect(),
            next_cursor: super::cursor(page.next_cursor),
        }
    }
}

/// Follow a user (following again changes nothing).
#[utoipa::path(post, path = "/api/follows/{user_id}", tag = "follows", security(("bearer" = [])),
    params(("user_id" = i64, Path)),
    responses((status = 200, body = Following), (status = 403, body = ErrorBody, description = "blocked"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "self-follow")))]
pub async fn follow(
    state: AppState,
    user: AuthUser,
    Path(target): Path<i64>,
) -> ApiResult<Json<Following>> {
    Ok(Json(state.app.follow(&user, target).await?))
}

/// Stop following a user (not following changes nothing).
#[utoipa::path(delete, path = "/api/follows/{user_id}", tag = "follows", security(("bearer" = [])),
    params(("user_id" = i64, Path)),
    responses((status = 200, body = Following), (status = 422, body = ErrorBody)))]
pub async fn unfollow(
    state: AppState,
    user: AuthUser,
    Path(target): Path<i64>,
) -> ApiResult<Json<Following>> {
    Ok(Json(state.app.unfollow(user.id, target).await?))
}

/// How many follow a user and how many they follow.
#[utoipa::path(get, path = "/api/follows/{user_id}", tag = "follows", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 200, body = FollowCounts)))]
pub async fn counts(
    state: AppState,
    _user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<FollowCounts>> {
    let (followers_count, following_count) = state.app.follow_counts(user_id).await?;
    Ok(Json(FollowCounts {
        user_id,
        followers_count,
        following_count,
    }))
}

/// Those who follow a user, newest follow first.
#[utoipa::path(get, path = "/api/follows/{user_id}/followers", tag = "follows", security(("bearer" = [])),
    params(("user_id" = i64, Path), PageParams),
    responses((status = 200, body = FollowPage), (status = 422, body = ErrorBody)))]
pub async fn followers(
    state: AppState,
    user: AuthUser,
    Path(of): Path<i64>,
    Query(params): Query<PageParams>,
) -> ApiResult<Json<FollowPage>> {
    let page = state.app.followers(user.id, of, params.page()?).await?;
    Ok(Json(page.into()))
}

/// Those a user follows, newest follow first.
#[utoipa::path(get, path = "/api/follows/{user_id}/following", tag = "follows", security(("bearer" = [])),
    params(("user_id" = i64, Path), PageParams),
    responses((status = 200, body = FollowPage), (status = 422, body = ErrorBody)))]
pub async fn following(
    state: AppState,
    user: AuthUser,
    Path(of): Path<i64>,
    Query(params): Query<PageParams>,
) -> ApiResult<Json<FollowPage>> {
    let page = state.app.following(user.id, of, params.page()?).await?;
    Ok(Json(page.into()))
}

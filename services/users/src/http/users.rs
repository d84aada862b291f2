//! Looking users up: search, by id, in batches, existence.

use super::{AppState, PublicProfile};
use crate::domain;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path, Query};
use kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most ids one batch lookup accepts.
pub const MAX_BATCH: usize = 100;

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchParams {
    /// 1-50 characters matched against usernames and display names.
    query: Option<String>,
    /// 1-50, default 20.
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    users: Vec<PublicProfile>,
    total_count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    users: Vec<PublicProfile>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct BatchParams {
    /// Comma-separated ids, e.g. `1,2,3` (at most 100).
    user_ids: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchRequest {
    user_ids: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Exists {
    exists: bool,
}

/// Find users by username or display name.
#[utoipa::path(get, path = "/api/users/search", tag = "users", security(("bearer" = [])), params(SearchParams),
    responses((status = 200, body = SearchResult), (status = 422, body = ErrorBody)))]
pub async fn search(
    state: AppState,
    user: AuthUser,
    Query(p): Query<SearchParams>,
) -> ApiResult<Json<SearchResult>> {
    let query = p.query.as_deref().map(str::trim).unwrap_or_default();
    let len = query.chars().count();
    if !(1..=50).contains(&len) {
        return Err(ApiError::validation("query: must be 1-50 characters"));
    }
    domain::plain_text("query", query, false).map_err(|e| ApiError::validation(e.0))?;
    let limit = p.limit.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::validation("limit: must be between 1 and 50"));
    }
    let (found, total_count) = state.store.search(query, limit, user.id).await?;
    let users = state.public_profiles(found).await?;
    Ok(Json(SearchResult { users, total_count }))
}

/// One user's public profile.
#[utoipa::path(get, path = "/api/users/{user_id}", tag = "users", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 200, body = PublicProfile), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    state: AppState,
    _user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<PublicProfile>> {
    state.public_profile(user_id).await.map(Json)
}

/// Several users by id (`?user_ids=1,2,3`); unknown ids are left out.
#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])), params(BatchParams),
    responses((status = 200, body = UserList), (status = 422, body = ErrorBody)))]
pub async fn batch_get(
    state: AppState,
    _user: AuthUser,
    Query(p): Query<BatchParams>,
) -> ApiResult<Json<UserList>> {
    let raw = p.user_ids.unwrap_or_default();
    let ids = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::validation(format!("user_ids: `{s}` is not an integer id")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    batch(&state, ids).await
}

/// Several users by id, in a JSON body.
#[utoipa::path(post, path = "/api/users/batch", tag = "users", security(("bearer" = [])), request_body = BatchRequest,
    responses((status = 200, body = UserList), (status = 422, body = ErrorBody)))]
pub async fn batch_post(
    state: AppState,
    _user: AuthUser,
    Json(req): Json<BatchRequest>,
) -> ApiResult<Json<UserList>> {
    batch(&state, req.user_ids).await
}

async fn batch(state: &AppState, mut ids: Vec<i64>) -> ApiResult<Json<UserList>> {
    if ids.is_empty() {
        return Err(ApiError::validation("user_ids: give at least one id"));
    }
    if ids.len() > MAX_BATCH {
        return Err(ApiError::validation(format!(
            "user_ids: at most {MAX_BATCH} ids per request"
        )));
    }
    ids.sort_unstable();
    ids.dedup();
    let found = state.store.get_many(&ids).await?;
    Ok(Json(UserList {
        users: state.public_profiles(found).await?,
    }))
}

/// Whether a user exists.
#[utoipa::path(get, path = "/api/users/{user_id}/exists", tag = "users", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 200, body = Exists)))]
pub async fn exists(
    state: AppState,
    _user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<Exists>> {
    Ok(Json(Exists {
        exists: state.store.get(user_id).await?.is_some(),
    }))
}

//! Looking users up: search, by id, in batches, existence.

use super::{AppState, PublicProfile, public_profiles};
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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
    let (found, total_count) = state.search(user.id, p.query.as_deref(), p.limit).await?;
    Ok(Json(SearchResult {
        users: public_profiles(found),
        total_count,
    }))
}

/// One user's public profile.
#[utoipa::path(get, path = "/api/users/{user_id}", tag = "users", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 200, body = PublicProfile), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    state: AppState,
    _user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<PublicProfile>> {
    Ok(Json(state.public_profile(user_id).await?.into()))
}

/// Several users by id (`?user_ids=1,2,3`); unknown ids are left out.
#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])), params(BatchParams),
    responses((status = 200, body = UserList), (status = 422, body = ErrorBody)))]
pub async fn batch_get(
    state: AppState,
    _user: AuthUser,
    Query(p): Query<BatchParams>,
) -> ApiResult<Json<UserList>> {
    let found = state
        .users_by_id_list(p.user_ids.as_deref().unwrap_or_default())
        .await?;
    Ok(Json(UserList {
        users: public_profiles(found),
    }))
}

/// Several users by id, in a JSON body.
#[utoipa::path(post, path = "/api/users/batch", tag = "users", security(("bearer" = [])), request_body = BatchRequest,
    responses((status = 200, body = UserList), (status = 422, body = ErrorBody)))]
pub async fn batch_post(
    state: AppState,
    _user: AuthUser,
    Json(req): Json<BatchRequest>,
) -> ApiResult<Json<UserList>> {
    let found = state.users_by_ids(req.user_ids).await?;
    Ok(Json(UserList {
        users: public_profiles(found),
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
        exists: state.exists(user_id).await?,
    }))
}

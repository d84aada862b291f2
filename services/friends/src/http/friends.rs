//! Friendships: the caller's friends, unfriending, and finding users to add.

use super::{AppState, Confirmation};
use chrono::{DateTime, Utc};
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct FriendItem {
    user_id: i64,
    username: Option<String>,
    email: Option<String>,
    last_seen_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchParams {
    /// 1-50 characters matched against usernames and display names.
    query: Option<String>,
    /// 1-50, default 20.
    limit: Option<u32>,
}

/// A user the caller may add.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchItem {
    user_id: i64,
    username: String,
    display_name: Option<String>,
    /// `sent` or `received` when a request between the two is pending.
    pending_request: Option<&'static str>,
}

/// The caller's friends, by username.
#[utoipa::path(get, path = "/api/friends/list", tag = "friends", security(("bearer" = [])),
    responses((status = 200, body = [FriendItem])))]
pub async fn list(state: AppState, user: AuthUser) -> ApiResult<Json<Vec<FriendItem>>> {
    let friends = state.app.friends(&user).await?;
    Ok(Json(
        friends
            .into_iter()
            .map(|f| FriendItem {
                user_id: f.user_id,
                username: f.username,
                email: f.email,
                last_seen_at: f.last_seen_at,
            })
            .collect(),
    ))
}

/// End a friendship.
#[utoipa::path(delete, path = "/api/friends/{user_id}", tag = "friends", security(("bearer" = [])),
    params(("user_id" = i64, Path)),
    responses((status = 200, body = Confirmation), (status = 404, body = ErrorBody)))]
pub async fn unfriend(
    state: AppState,
    user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<Confirmation>> {
    state.app.unfriend(&user, user_id).await?;
    Ok(Json(Confirmation::new("friend removed")))
}

/// Users to add: matches on username or display name, without the caller,
/// their friends and users blocked either way. Users with a pending request
/// are included and say so in `pending_request`.
#[utoipa::path(get, path = "/api/friends/search", tag = "friends", security(("bearer" = [])),
    params(SearchParams),
    responses((status = 200, body = [SearchItem]), (status = 422, body = ErrorBody)))]
pub async fn search(
    state: AppState,
    user: AuthUser,
    Query(p): Query<SearchParams>,
) -> ApiResult<Json<Vec<SearchItem>>> {
    let found = state.app.search(&user, p.query.as_deref(), p.limit).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|c| SearchItem {
                pending_request: c
                    .pending_requester
                    .map(|r| if r == user.id { "sent" } else { "received" }),
                user_id: c.user_id,
                username: c.username,
                display_name: c.display_name,
            })
            .collect(),
    ))
}

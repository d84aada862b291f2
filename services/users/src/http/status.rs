//! Presence: heartbeats, a user's online status, friends' statuses and the
//! live stream of their changes.

use super::AppState;
use crate::app::UserStatus;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct OnlineStatus {
    user_id: i64,
    is_online: bool,
    last_seen_at: Option<DateTime<Utc>>,
}

/// Mark the caller online for the presence TTL (default 60 s).
#[utoipa::path(post, path = "/api/online-status/heartbeat", tag = "online-status", security(("bearer" = [])),
    responses((status = 200, body = OnlineStatus), (status = 401, body = ErrorBody)))]
pub async fn heartbeat(state: AppState, user: AuthUser) -> ApiResult<Json<OnlineStatus>> {
    let now = state.heartbeat(user.id).await?;
    Ok(Json(OnlineStatus {
        user_id: user.id,
        is_online: true,
        last_seen_at: Some(now),
    }))
}

/// A user's online status.
#[utoipa::path(get, path = "/api/online-status/user/{user_id}", tag = "online-status", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 200, body = OnlineStatus), (status = 404, body = ErrorBody)))]
pub async fn user_status(
    state: AppState,
    _user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<OnlineStatus>> {
    let status = state.user_status(user_id).await?;
    Ok(Json(OnlineStatus {
        user_id,
        is_online: status.is_online,
        last_seen_at: status.user.last_seen_at,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FriendStatus {
    user_id: i64,
    username: String,
    display_name: Option<String>,
    is_online: bool,
    last_seen_at: Option<DateTime<Utc>>,
}

/// Online status of each of the caller's friends.
#[utoipa::path(get, path = "/api/online-status/friends", tag = "online-status", security(("bearer" = [])),
    responses((status = 200, body = [FriendStatus]), (status = 401, body = ErrorBody)))]
pub async fn friends(state: AppState, user: AuthUser) -> ApiResult<Json<Vec<FriendStatus>>> {
    let friends = state.friends_status(user.id).await?;
    Ok(Json(
        friends
            .into_iter()
            .map(|UserStatus { user, is_online }| FriendStatus {
                user_id: user.id,
                username: user.username,
                display_name: user.display_name,
                is_online,
                last_seen_at: user.last_seen_at,
            })
            .collect(),
    ))
}

/// Server-sent events of friends going online and offline (`status.changed`),
/// resumable with `Last-Event-ID`; it ends when the caller's token expires or
/// is revoked.
#[utoipa::path(get, path = "/api/online-status/stream", tag = "online-status", security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream of `status.changed` events", content_type = "text/event-stream"),
              (status = 401, body = ErrorBody)))]
pub async fn stream(
    state: AppState,
    user: AuthUser,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let last = kit::sse::last_event_id(&headers)?;
    let session = kit::sse::Session::of(&user, state.verifier.clone());
    Ok(state.status_stream(user.id, last, session))
}

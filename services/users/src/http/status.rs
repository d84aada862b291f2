//! Presence: heartbeats and a user's online status.

use super::AppState;
use chrono::{DateTime, Utc};
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path};
use kit::{ApiError, ApiResult};
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
    let now = Utc::now();
    state
        .presence
        .heartbeat(user.id, state.presence_ttl)
        .await
        .map_err(|e| ApiError::unavailable(format!("presence unavailable: {e}")))?;
    state.store.touch_last_seen(user.id, now).await?;
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
    let user = state
        .store
        .get(user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user not found"))?;
    let is_online = state.online(&[user_id]).await?[0];
    Ok(Json(OnlineStatus {
        user_id,
        is_online,
        last_seen_at: user.last_seen_at,
    }))
}

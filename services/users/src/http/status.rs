//! Presence: heartbeats, a user's online status, friends' statuses and the
//! live stream of their changes.

use super::AppState;
use crate::Users;
use crate::store::PresenceChange;
use async_trait::async_trait;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::events::{Event, Handler, HandlerError};
use kit::extract::{Json, Path};
use kit::sse::{Item, StreamSpec};
use kit::{ApiError, ApiResult};
use serde::Deserialize;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
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
    let came_online = state
        .presence
        .heartbeat(user.id, state.presence_ttl)
        .await
        .map_err(|e| ApiError::unavailable(format!("presence unavailable: {e}")))?;
    if came_online {
        state.store.record_presence(user.id, true, now).await?;
    } else {
        state.store.touch_last_seen(user.id, now).await?;
    }
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
    let ids = state.store.friend_ids(user.id).await?;
    let friends = state.store.get_many(&ids).await?;
    let online = state.online(&ids_of(&friends)).await?;
    Ok(Json(
        friends
            .into_iter()
            .zip(online)
            .map(|(f, is_online)| FriendStatus {
                user_id: f.id,
                username: f.username,
                display_name: f.display_name,
                is_online,
                last_seen_at: f.last_seen_at,
            })
            .collect(),
    ))
}

fn ids_of(users: &[crate::domain::User]) -> Vec<i64> {
    users.iter().map(|u| u.id).collect()
}

fn status_item(change: &PresenceChange) -> Item {
    let data = json!({ "user_id": change.user_id, "is_online": change.is_online, "last_seen_at": change.changed_at });
    Item {
        seq: change.seq,
        event: "status.changed".into(),
        data: data.to_string(),
    }
}

/// Server-sent events of friends going online and offline (`status.changed`),
/// resumable with `Last-Event-ID`.
#[utoipa::path(get, path = "/api/online-status/stream", tag = "online-status", security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream of `status.changed` events", content_type = "text/event-stream"),
              (status = 401, body = ErrorBody)))]
pub async fn stream(
    state: AppState,
    user: AuthUser,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let last = kit::sse::last_event_id(&headers)?;
    let live = state.status_hub.subscribe(&user.id);
    let store = state.store.clone();
    let viewer = user.id;
    let backlog = move |after: i64| {
        let store = store.clone();
        async move {
            let changes = store
                .friend_presence_changes(viewer, after, 1000)
                .await
                .map_err(|e| e.to_string())?;
            Ok(changes.iter().map(status_item).collect())
        }
    };
    let spec = StreamSpec {
        service: "users",
        stream: "online_status",
        contiguous: false,
        keep_alive: KEEP_ALIVE,
    };
    Ok(kit::sse::resumable(
        spec,
        live,
        last,
        backlog,
        state.ctx.shutdown.clone(),
    ))
}

const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);

/// Feeds live status changes to the streams of the changed user's friends.
pub struct StatusFeed(pub Arc<Users>);

#[derive(Deserialize)]
struct StatusChanged {
    user_id: i64,
    is_online: bool,
    last_seen_at: DateTime<Utc>,
    seq: i64,
}

#[async_trait]
impl Handler for StatusFeed {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let change: StatusChanged = event.data()?;
        let friends = self
            .0
            .store
            .friend_ids(change.user_id)
            .await
            .map_err(|e| HandlerError::Transient(e.to_string()))?;
        let item = status_item(&PresenceChange {
            seq: change.seq,
            user_id: change.user_id,
            is_online: change.is_online,
            changed_at: change.last_seen_at,
        });
        for friend in friends {
            self.0.status_hub.publish(&friend, item.clone());
        }
        Ok(())
    }
}

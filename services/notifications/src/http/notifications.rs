//! Listing, counting, marking read and streaming the caller's notifications.
//! Every query is scoped to the caller: another user's notification is
//! indistinguishable from one that does not exist.

use super::AppState;
use crate::domain::{self, Cursor, NotificationView, ReadTarget};
use crate::events;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Query};
use kit::sse::StreamSpec;
use kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most notifications one SSE catch-up reads at once; the stream re-reads
/// when it notices it is still behind.
const BACKLOG_MAX: u32 = 1000;

fn invalid(e: domain::Invalid) -> ApiError {
    ApiError::validation(e.0)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    /// Only unread notifications (`true`/`false`, default `false`).
    #[param(value_type = Option<bool>)]
    unread_only: Option<String>,
    /// 1-100, default 20.
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    /// Newest first.
    notifications: Vec<NotificationView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    unread_count: i64,
}

/// Either `notification_ids` or `all: true`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadRequest {
    /// Ids to mark read (at most 1000); ids that are not the caller's are ignored.
    notification_ids: Option<Vec<i64>>,
    /// Mark every notification of the caller read.
    all: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadResult {
    success: bool,
    /// How many notifications went from unread to read.
    read_count: u64,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/notifications", tag = "notifications", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = NotificationPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    state: AppState,
    user: AuthUser,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<NotificationPage>> {
    let unread_only = domain::flag("unread_only", p.unread_only.as_deref()).map_err(invalid)?;
    let limit = domain::limit(p.limit.as_deref()).map_err(invalid)?;
    let cursor = Cursor::parse(p.cursor.as_deref()).map_err(invalid)?;
    // One extra row tells whether another page follows.
    let mut found = state
        .store
        .list(user.id, unread_only, limit + 1, cursor.map(|c| c.0))
        .await?;
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
    let next_cursor = more
        .then(|| found.last().map(|n| Cursor(n.id).encode()))
        .flatten();
    Ok(Json(NotificationPage {
        notifications: found.iter().map(NotificationView::from).collect(),
        next_cursor,
    }))
}

/// How many of the caller's notifications are unread.
#[utoipa::path(get, path = "/api/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadCount), (status = 401, body = ErrorBody)))]
pub async fn unread_count(state: AppState, user: AuthUser) -> ApiResult<Json<UnreadCount>> {
    Ok(Json(UnreadCount {
        unread_count: state.store.unread_count(user.id).await?,
    }))
}

/// Mark some (`notification_ids`) or all (`all: true`) of the caller's notifications read.
#[utoipa::path(post, path = "/api/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = ReadRequest,
    responses((status = 200, body = ReadResult), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn mark_read(
    state: AppState,
    user: AuthUser,
    Json(req): Json<ReadRequest>,
) -> ApiResult<Json<ReadResult>> {
    let read_count = match domain::read_target(req.notification_ids, req.all).map_err(invalid)? {
        ReadTarget::All => state.store.mark_all_read(user.id).await?,
        ReadTarget::Ids(ids) => state.store.mark_read(user.id, &ids).await?,
    };
    Ok(Json(ReadResult {
        success: true,
        read_count,
    }))
}

/// New notifications of the caller as server-sent events (`notification.created`,
/// data = the notification). Each event's `id` is the caller's notification
/// sequence number; reconnect with `Last-Event-ID` to get exactly what was missed.
#[utoipa::path(get, path = "/api/notifications/stream", tag = "notifications", security(("bearer" = [])),
    params(("Last-Event-ID" = Option<i64>, Header, description = "id of the last event received")),
    responses((status = 200, content_type = "text/event-stream", body = String),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn stream(
    state: AppState,
    user: AuthUser,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let mut last_event_id = kit::sse::last_event_id(&headers)?;
    // Subscribe before reading the backlog, so nothing falls in between.
    let live = state.hub.subscribe(&user.id);
    // An id from the future (another deployment, a reset database) would
    // hide every new notification up to it: resume from the newest instead.
    if let Some(last) = last_event_id {
        last_event_id = Some(last.min(state.store.last_seq(user.id).await?));
    }
    let store = state.store.clone();
    let user_id = user.id;
    let backlog = move |after: i64| {
        let store = store.clone();
        async move {
            store
                .after_seq(user_id, after, BACKLOG_MAX)
                .await
                .map(|found| found.iter().map(events::sse_item).collect())
                .map_err(|e| e.to_string())
        }
    };
    let spec = StreamSpec {
        service: crate::SERVICE,
        stream: "notifications",
        contiguous: true,
        keep_alive: state.keep_alive,
    };
    Ok(kit::sse::resumable(
        spec,
        live,
        last_event_id,
        backlog,
        state.shutdown.clone(),
    ))
}

//! Listing, counting, marking read and streaming the caller's notifications:
//! each handler extracts, calls one use case of `crate::app` and maps its
//! result into the response body.

use super::AppState;
use crate::domain::NotificationView;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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
pub struct NotificationUnreadCount {
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
pub struct NotificationsReadResult {
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
    let page = state
        .list(
            user.id,
            p.unread_only.as_deref(),
            p.limit.as_deref(),
            p.cursor.as_deref(),
        )
        .await?;
    Ok(Json(NotificationPage {
        notifications: page
            .notifications
            .iter()
            .map(NotificationView::from)
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// How many of the caller's notifications are unread.
#[utoipa::path(get, path = "/api/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = NotificationUnreadCount), (status = 401, body = ErrorBody)))]
pub async fn unread_count(
    state: AppState,
    user: AuthUser,
) -> ApiResult<Json<NotificationUnreadCount>> {
    Ok(Json(NotificationUnreadCount {
        unread_count: state.unread_count(user.id).await?,
    }))
}

/// Mark some (`notification_ids`) or all (`all: true`) of the caller's notifications read.
#[utoipa::path(post, path = "/api/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = ReadRequest,
    responses((status = 200, body = NotificationsReadResult), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn mark_read(
    state: AppState,
    user: AuthUser,
    Json(req): Json<ReadRequest>,
) -> ApiResult<Json<NotificationsReadResult>> {
    let read_count = state
        .mark_read(user.id, req.notification_ids, req.all)
        .await?;
    Ok(Json(NotificationsReadResult {
        success: true,
        read_count,
    }))
}

/// New notifications of the caller as server-sent events (`notification.created`,
/// data = the notification). Each event's `id` is the caller's notification
/// sequence number; reconnect with `Last-Event-ID` to get exactly what was missed.
/// The stream ends when the caller's token expires or is revoked.
#[utoipa::path(get, path = "/api/notifications/stream", tag = "notifications", security(("bearer" = [])),
    params(("Last-Event-ID" = Option<i64>, Header, description = "id of the last event received")),
    responses((status = 200, content_type = "text/event-stream", body = String),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn stream(
    state: AppState,
    user: AuthUser,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let last_event_id = kit::sse::last_event_id(&headers)?;
    let session = kit::sse::Session::of(&user, state.verifier.clone());
    Ok(state.stream(user.id, last_event_id, session).await?)
}

//! Messages: send, page through, edit, delete, read receipts, unread counts.

use super::AppState;
use crate::app::MessagePage;
use crate::domain::Message;
use axum::http::StatusCode;
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewMessageBody {
    /// 1-300 characters.
    content: String,
    /// Only `"text"` (the default).
    message_type: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EditBody {
    /// 1-300 characters.
    content: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PageParams {
    /// 1-100, default 50.
    limit: Option<i64>,
    /// How many of the newest messages to skip, default 0.
    skip: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadBody {
    room_id: i64,
    /// At most 500 ids; ids of other rooms, own or deleted messages are ignored.
    message_ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagesReadResult {
    success: bool,
    /// Messages newly marked read.
    read_count: u64,
    message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoomUnreadCount {
    room_id: i64,
    unread_count: i64,
}

/// Send a message to a room (members only).
#[utoipa::path(post, path = "/api/messages/{id}", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "room id")), request_body = NewMessageBody,
    responses((status = 201, body = Message), (status = 403, body = ErrorBody, description = "blocked direct room"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn send(
    state: AppState,
    user: AuthUser,
    Path(room_id): Path<i64>,
    Json(body): Json<NewMessageBody>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let message = state
        .app
        .send(
            user.id,
            room_id,
            &body.content,
            body.message_type.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// A page of a room's messages (members only): the `limit` newest after
/// skipping `skip`, returned oldest first.
#[utoipa::path(get, path = "/api/messages/{id}", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "room id"), PageParams),
    responses((status = 200, body = MessagePage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    state: AppState,
    user: AuthUser,
    Path(room_id): Path<i64>,
    Query(p): Query<PageParams>,
) -> ApiResult<Json<MessagePage>> {
    let page = state
        .app
        .messages(user.id, room_id, p.skip, p.limit)
        .await?;
    Ok(Json(page))
}

/// Edit one of your messages.
#[utoipa::path(put, path = "/api/messages/{id}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path, description = "message id")), request_body = EditBody,
    responses((status = 200, body = Message), (status = 403, body = ErrorBody, description = "not the author"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "deleted"), (status = 422, body = ErrorBody)))]
pub async fn edit(
    state: AppState,
    user: AuthUser,
    Path(message_id): Path<String>,
    Json(body): Json<EditBody>,
) -> ApiResult<Json<Message>> {
    let edited = state.app.edit(user.id, &message_id, &body.content).await?;
    Ok(Json(edited))
}

/// Delete one of your messages (soft: it stays, its content does not).
#[utoipa::path(delete, path = "/api/messages/{id}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path, description = "message id")),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody, description = "not the author"),
        (status = 404, body = ErrorBody)))]
pub async fn delete(
    state: AppState,
    user: AuthUser,
    Path(message_id): Path<String>,
) -> ApiResult<Json<Message>> {
    Ok(Json(state.app.delete(user.id, &message_id).await?))
}

/// Mark messages of a room read.
#[utoipa::path(post, path = "/api/messages/read", tag = "messages", security(("bearer" = [])), request_body = ReadBody,
    responses((status = 200, body = MessagesReadResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn mark_read(
    state: AppState,
    user: AuthUser,
    Json(body): Json<ReadBody>,
) -> ApiResult<Json<MessagesReadResult>> {
    let read_count = state
        .app
        .mark_read(user.id, body.room_id, body.message_ids)
        .await?;
    Ok(Json(MessagesReadResult {
        success: true,
        read_count,
        message: format!("{read_count} messages marked as read"),
    }))
}

/// How many messages by others in a room the caller has not read.
#[utoipa::path(get, path = "/api/messages/room/{room_id}/unread-count", tag = "messages", security(("bearer" = [])),
    params(("room_id" = i64, Path)),
    responses((status = 200, body = RoomUnreadCount), (status = 404, body = ErrorBody)))]
pub async fn unread_count(
    state: AppState,
    user: AuthUser,
    Path(room_id): Path<i64>,
) -> ApiResult<Json<RoomUnreadCount>> {
    let unread_count = state.app.unread_count(user.id, room_id).await?;
    Ok(Json(RoomUnreadCount {
        room_id,
        unread_count,
    }))
}

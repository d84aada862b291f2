//! Messages: send, page through, edit, delete, read receipts, unread counts.

use super::{AppState, invalid, room_not_found};
use crate::domain::{self, Message, RoomType};
use crate::store::NewMessage;
use axum::http::StatusCode;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path, Query};
use kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Longest message id accepted (ids are 32 hex characters).
const MESSAGE_ID_MAX: usize = 64;

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

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    /// Oldest first.
    messages: Vec<Message>,
    total_count: i64,
    /// Whether older messages remain.
    has_more: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadBody {
    room_id: i64,
    /// At most 500 ids; ids of other rooms, own or deleted messages are ignored.
    message_ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadResult {
    success: bool,
    /// Messages newly marked read.
    read_count: u64,
    message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    room_id: i64,
    unread_count: i64,
}

fn blocked() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "BLOCKED",
        "you cannot message this user",
    )
}

fn message_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "MESSAGE_NOT_FOUND",
        "message not found",
    )
}

fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MESSAGE_ID_MAX && domain::plain_text("id", id, false).is_ok()
}

/// A message the caller wrote, in a room they are in: unknown or invisible
/// messages are 404, other people's 403.
async fn own_message(state: &AppState, user: i64, message_id: &str) -> Result<Message, ApiError> {
    if !plausible_id(message_id) {
        return Err(message_not_found());
    }
    let message = state
        .store
        .message(message_id)
        .await?
        .ok_or_else(message_not_found)?;
    if state.store.room_for(message.room_id, user).await?.is_none() {
        return Err(message_not_found());
    }
    if message.user_id != user {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "NOT_AUTHOR",
            "only the author may change a message",
        ));
    }
    Ok(message)
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
    let content = domain::content(&body.content).map_err(invalid)?;
    let message_type = domain::message_type(body.message_type.as_deref()).map_err(invalid)?;
    let room = state.member_room(room_id, user.id).await?;
    let member_ids = state.store.member_ids(room.id).await?;
    if room.room_type == RoomType::Direct {
        let others: Vec<i64> = member_ids
            .iter()
            .copied()
            .filter(|id| *id != user.id)
            .collect();
        if state.store.blocked_between(user.id, &others).await? {
            return Err(blocked());
        }
    }
    let streaming = state.streaming.watching(room.id, &member_ids).await;
    let message = state
        .store
        .send(NewMessage {
            room: &room,
            sender: user.id,
            content: &content,
            message_type: &message_type,
            member_ids: &member_ids,
            streaming_user_ids: &streaming,
        })
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
    let (skip, limit) = domain::page(p.skip, p.limit, 50, 100).map_err(invalid)?;
    let room = state.member_room(room_id, user.id).await?;
    let (messages, total_count) = state.store.messages(room.id, skip, limit).await?;
    let has_more = skip.saturating_add(messages.len() as i64) < total_count;
    Ok(Json(MessagePage {
        messages,
        total_count,
        has_more,
    }))
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
    let content = domain::content(&body.content).map_err(invalid)?;
    let message = own_message(&state, user.id, &message_id).await?;
    let edited = state.store.edit(&message, &content).await?;
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
    let message = own_message(&state, user.id, &message_id).await?;
    let deleted = state.store.delete(&message).await?;
    Ok(Json(deleted))
}

/// Mark messages of a room read.
#[utoipa::path(post, path = "/api/messages/read", tag = "messages", security(("bearer" = [])), request_body = ReadBody,
    responses((status = 200, body = ReadResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn mark_read(
    state: AppState,
    user: AuthUser,
    Json(body): Json<ReadBody>,
) -> ApiResult<Json<ReadResult>> {
    if body.message_ids.len() > domain::READ_BATCH_MAX {
        return Err(ApiError::validation(format!(
            "message_ids: at most {} per request",
            domain::READ_BATCH_MAX
        )));
    }
    if !body.message_ids.iter().all(|id| plausible_id(id)) {
        return Err(ApiError::validation(
            "message_ids: each must be a message id",
        ));
    }
    let room = state.member_room(body.room_id, user.id).await?;
    let mut ids = body.message_ids;
    ids.sort_unstable();
    ids.dedup();
    let read_count = state.store.mark_read(user.id, room.id, &ids).await?;
    Ok(Json(ReadResult {
        success: true,
        read_count,
        message: format!("{read_count} messages marked as read"),
    }))
}

/// How many messages by others in a room the caller has not read.
#[utoipa::path(get, path = "/api/messages/room/{room_id}/unread-count", tag = "messages", security(("bearer" = [])),
    params(("room_id" = i64, Path)),
    responses((status = 200, body = UnreadCount), (status = 404, body = ErrorBody)))]
pub async fn unread_count(
    state: AppState,
    user: AuthUser,
    Path(room_id): Path<i64>,
) -> ApiResult<Json<UnreadCount>> {
    let room = state
        .store
        .room_for(room_id, user.id)
        .await?
        .ok_or_else(room_not_found)?;
    let counts = state.store.unread_counts(user.id, &[room.id]).await?;
    Ok(Json(UnreadCount {
        room_id,
        unread_count: counts.get(&room.id).copied().unwrap_or(0),
    }))
}

//! Rooms: the caller's list, get-or-create of direct rooms, one room, new groups.

use super::AppState;
use crate::app::RoomView;
use axum::http::StatusCode;
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path, Query};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    /// Rooms to skip, default 0.
    skip: Option<i64>,
    /// 1-100, default 20.
    limit: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewGroup {
    /// 1-100 characters.
    name: String,
    /// The other members (the creator is always included); at most 99.
    member_ids: Vec<i64>,
}

/// The caller's rooms, most recent activity first.
#[utoipa::path(get, path = "/api/chat-rooms", tag = "chat-rooms", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = [RoomView]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    state: AppState,
    user: AuthUser,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Vec<RoomView>>> {
    Ok(Json(state.app.rooms(user.id, p.skip, p.limit).await?))
}

/// The direct room of the caller and another user, created on first use.
#[utoipa::path(get, path = "/api/chat-rooms/check/{participant_id}", tag = "chat-rooms", security(("bearer" = [])),
    params(("participant_id" = i64, Path)),
    responses((status = 200, body = RoomView), (status = 403, body = ErrorBody, description = "one blocked the other"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "yourself")))]
pub async fn check(
    state: AppState,
    user: AuthUser,
    Path(participant_id): Path<i64>,
) -> ApiResult<Json<RoomView>> {
    let room = state
        .app
        .direct_room(user.id, &user.token, participant_id)
        .await?;
    Ok(Json(room))
}

/// One room (members only).
#[utoipa::path(get, path = "/api/chat-rooms/{room_id}", tag = "chat-rooms", security(("bearer" = [])),
    params(("room_id" = i64, Path)), responses((status = 200, body = RoomView), (status = 404, body = ErrorBody)))]
pub async fn get_room(
    state: AppState,
    user: AuthUser,
    Path(room_id): Path<i64>,
) -> ApiResult<Json<RoomView>> {
    Ok(Json(state.app.room(user.id, room_id).await?))
}

/// A new group room of the caller and `member_ids`.
#[utoipa::path(post, path = "/api/chat-rooms/group", tag = "chat-rooms", security(("bearer" = [])), request_body = NewGroup,
    responses((status = 201, body = RoomView), (status = 403, body = ErrorBody, description = "a block between the creator and a member"),
        (status = 404, body = ErrorBody, description = "unknown member"), (status = 422, body = ErrorBody)))]
pub async fn create_group(
    state: AppState,
    user: AuthUser,
    Json(body): Json<NewGroup>,
) -> ApiResult<(StatusCode, Json<RoomView>)> {
    let room = state
        .app
        .create_group(user.id, &user.token, &body.name, &body.member_ids)
        .await?;
    Ok((StatusCode::CREATED, Json(room)))
}

//! Rooms: the caller's list, get-or-create of direct rooms, one room, new groups.

use super::{AppState, RoomView, invalid};
use crate::Chat;
use crate::domain;
use axum::http::StatusCode;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path, Query};
use kit::{ApiError, ApiResult};
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

/// Whether the users read model knows `user_id`, waiting for it to catch up
/// when the users service has the user but its event has not arrived yet.
async fn knows(state: &Chat, caller: &AuthUser, user_id: i64) -> ApiResult<bool> {
    if !state.store.users(&[user_id]).await?.is_empty() {
        return Ok(true);
    }
    let known = || async {
        state
            .store
            .users(&[user_id])
            .await
            .is_ok_and(|u| !u.is_empty())
    };
    Ok(state.users.catch_up(user_id, &caller.token, known).await)
}

fn user_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "USER_NOT_FOUND", "user not found")
}

fn blocked() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "BLOCKED",
        "you cannot chat with this user",
    )
}

/// The caller's rooms, most recent activity first.
#[utoipa::path(get, path = "/api/chat-rooms", tag = "chat-rooms", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = [RoomView]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    state: AppState,
    user: AuthUser,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Vec<RoomView>>> {
    let (skip, limit) = domain::page(p.skip, p.limit, 20, 100).map_err(invalid)?;
    let rooms = state.store.rooms_of(user.id, skip, limit).await?;
    Ok(Json(state.room_views(user.id, rooms).await?))
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
    if participant_id == user.id {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "SELF_CHAT",
            "you cannot open a chat room with yourself",
        ));
    }
    if !knows(&state, &user, participant_id).await? {
        return Err(user_not_found());
    }
    if state
        .store
        .blocked_between(user.id, &[participant_id])
        .await?
    {
        return Err(blocked());
    }
    let room = state.store.direct_room(user.id, participant_id).await?;
    Ok(Json(state.room_view(user.id, room).await?))
}

/// One room (members only).
#[utoipa::path(get, path = "/api/chat-rooms/{room_id}", tag = "chat-rooms", security(("bearer" = [])),
    params(("room_id" = i64, Path)), responses((status = 200, body = RoomView), (status = 404, body = ErrorBody)))]
pub async fn get_room(
    state: AppState,
    user: AuthUser,
    Path(room_id): Path<i64>,
) -> ApiResult<Json<RoomView>> {
    let room = state.member_room(room_id, user.id).await?;
    Ok(Json(state.room_view(user.id, room).await?))
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
    let name = domain::group_name(&body.name).map_err(invalid)?;
    let members = domain::group_members(user.id, &body.member_ids).map_err(invalid)?;
    let others = &members[1..];
    let known = state.store.users(others).await?;
    let mut missing = None;
    for id in others {
        if !known.iter().any(|u| u.user_id == *id) && !knows(&state, &user, *id).await? {
            missing = Some(*id);
            break;
        }
    }
    if let Some(missing) = missing {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "USER_NOT_FOUND",
            format!("user {missing} not found"),
        ));
    }
    if state.store.blocked_between(user.id, others).await? {
        return Err(blocked());
    }
    let room = state.store.create_group(user.id, &name, &members).await?;
    Ok((
        StatusCode::CREATED,
        Json(state.room_view(user.id, room).await?),
    ))
}

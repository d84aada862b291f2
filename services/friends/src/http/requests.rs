//! Friend requests: send, answer (addressee only), cancel (requester only),
//! and the caller's pending requests.

use super::{AppState, FriendshipBody, Message, invalid};
use crate::domain::{self, Answer};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path};
use kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct FriendRequest {
    /// The user asked to be a friend.
    user_id_2: i64,
    /// An optional note, at most 500 characters.
    message: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AnswerRequest {
    /// `accept` or `reject`.
    action: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PendingItem {
    friendship_id: i64,
    /// The other user: the requester of a received request, the addressee
    /// of a sent one.
    user_id: i64,
    username: Option<String>,
    email: Option<String>,
    status: &'static str,
    message: Option<String>,
    created_at: DateTime<Utc>,
    /// `received` or `sent`.
    request_type: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PendingRequests {
    received: Vec<PendingItem>,
    sent: Vec<PendingItem>,
}

/// Send a friend request.
#[utoipa::path(post, path = "/api/friends/request", tag = "friends", security(("bearer" = [])),
    request_body = FriendRequest,
    responses((status = 201, body = FriendshipBody), (status = 403, body = ErrorBody, description = "blocked"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn send(
    state: AppState,
    user: AuthUser,
    Json(req): Json<FriendRequest>,
) -> ApiResult<(StatusCode, Json<FriendshipBody>)> {
    domain::check_addressee(user.id, req.user_id_2).map_err(invalid)?;
    let message = domain::request_message(req.message.as_deref()).map_err(invalid)?;
    let friendship = super::with_known_user(&state, &user, req.user_id_2, || {
        state
            .store
            .send_request(user.id, req.user_id_2, message.as_deref())
    })
    .await?;
    tracing::info!(
        friendship_id = friendship.id,
        requester_id = user.id,
        addressee_id = req.user_id_2,
        "friend request sent"
    );
    Ok((StatusCode::CREATED, Json(friendship.into())))
}

/// Accept or reject a pending request the caller received.
#[utoipa::path(put, path = "/api/friends/status/{requester_user_id}", tag = "friends", security(("bearer" = [])),
    params(("requester_user_id" = i64, Path)), request_body = AnswerRequest,
    responses((status = 200, body = FriendshipBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn answer(
    state: AppState,
    user: AuthUser,
    Path(requester_user_id): Path<i64>,
    Json(req): Json<AnswerRequest>,
) -> ApiResult<Json<FriendshipBody>> {
    let answer = Answer::parse(&req.action).map_err(invalid)?;
    let friendship = state
        .store
        .answer_request(requester_user_id, user.id, answer)
        .await?
        .ok_or_else(|| ApiError::not_found("no pending friend request from this user"))?;
    tracing::info!(
        friendship_id = friendship.id,
        status = friendship.status.as_str(),
        "friend request answered"
    );
    Ok(Json(friendship.into()))
}

/// Withdraw a pending request the caller sent.
#[utoipa::path(delete, path = "/api/friends/request/{target_user_id}", tag = "friends", security(("bearer" = [])),
    params(("target_user_id" = i64, Path)),
    responses((status = 200, body = Message), (status = 404, body = ErrorBody)))]
pub async fn cancel(
    state: AppState,
    user: AuthUser,
    Path(target_user_id): Path<i64>,
) -> ApiResult<Json<Message>> {
    let friendship = state
        .store
        .cancel_request(user.id, target_user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no pending friend request to this user"))?;
    tracing::info!(friendship_id = friendship.id, "friend request cancelled");
    Ok(Json(Message::new("friend request cancelled")))
}

/// Pending requests the caller received and sent, newest first.
#[utoipa::path(get, path = "/api/friends/requests", tag = "friends", security(("bearer" = [])),
    responses((status = 200, body = PendingRequests)))]
pub async fn pending(state: AppState, user: AuthUser) -> ApiResult<Json<PendingRequests>> {
    let mut out = PendingRequests {
        received: Vec::new(),
        sent: Vec::new(),
    };
    for r in state.store.pending_requests(user.id).await? {
        let f = r.friendship;
        let received = f.addressee_id == user.id;
        let item = PendingItem {
            friendship_id: f.id,
            user_id: f.other(user.id),
            username: r.username,
            email: r.email,
            status: f.status.as_str(),
            message: f.message,
            created_at: f.created_at,
            request_type: if received { "received" } else { "sent" },
        };
        if received {
            out.received.push(item);
        } else {
            out.sent.push(item);
        }
    }
    Ok(Json(out))
}

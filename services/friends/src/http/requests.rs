//! Friend requests: send, answer (addressee only), cancel (requester only),
//! and the caller's pending requests.

use super::{AppState, Confirmation, FriendshipBody};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path};
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
    let friendship = state
        .app
        .send_request(&user, req.user_id_2, req.message.as_deref())
        .await?;
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
    let friendship = state
        .app
        .answer_request(&user, requester_user_id, &req.action)
        .await?;
    Ok(Json(friendship.into()))
}

/// Withdraw a pending request the caller sent.
#[utoipa::path(delete, path = "/api/friends/request/{target_user_id}", tag = "friends", security(("bearer" = [])),
    params(("target_user_id" = i64, Path)),
    responses((status = 200, body = Confirmation), (status = 404, body = ErrorBody)))]
pub async fn cancel(
    state: AppState,
    user: AuthUser,
    Path(target_user_id): Path<i64>,
) -> ApiResult<Json<Confirmation>> {
    state.app.cancel_request(&user, target_user_id).await?;
    Ok(Json(Confirmation::new("friend request cancelled")))
}

/// Pending requests the caller received and sent, newest first.
#[utoipa::path(get, path = "/api/friends/requests", tag = "friends", security(("bearer" = [])),
    responses((status = 200, body = PendingRequests)))]
pub async fn pending(state: AppState, user: AuthUser) -> ApiResult<Json<PendingRequests>> {
    let mut out = PendingRequests {
        received: Vec::new(),
        sent: Vec::new(),
    };
    for r in state.app.pending_requests(&user).await? {
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

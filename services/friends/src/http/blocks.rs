//! Blocking: a block ends any friendship or pending request between the two
//! and stops new requests in either direction until it is lifted.

use super::{AppState, Confirmation};
use chrono::{DateTime, Utc};
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Path};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockedItem {
    user_id: i64,
    username: Option<String>,
    blocked_at: DateTime<Utc>,
}

/// The state of one block.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockBody {
    blocker_id: i64,
    blocked_id: i64,
    blocked_at: DateTime<Utc>,
}

/// Block a user (blocking again changes nothing).
#[utoipa::path(post, path = "/api/friends/block/{user_id}", tag = "friends", security(("bearer" = [])),
    params(("user_id" = i64, Path)),
    responses((status = 200, body = BlockBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn block(
    state: AppState,
    user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<BlockBody>> {
    let blocked_at = state.app.block(&user, user_id).await?;
    Ok(Json(BlockBody {
        blocker_id: user.id,
        blocked_id: user_id,
        blocked_at,
    }))
}

/// Lift a block.
#[utoipa::path(delete, path = "/api/friends/block/{user_id}", tag = "friends", security(("bearer" = [])),
    params(("user_id" = i64, Path)),
    responses((status = 200, body = Confirmation), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn unblock(
    state: AppState,
    user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<Confirmation>> {
    state.app.unblock(&user, user_id).await?;
    Ok(Json(Confirmation::new("user unblocked")))
}

/// Users the caller blocked, newest first.
#[utoipa::path(get, path = "/api/friends/blocked", tag = "friends", security(("bearer" = [])),
    responses((status = 200, body = [BlockedItem])))]
pub async fn blocked(state: AppState, user: AuthUser) -> ApiResult<Json<Vec<BlockedItem>>> {
    let list = state.app.blocked(&user).await?;
    Ok(Json(
        list.into_iter()
            .map(|b| BlockedItem {
                user_id: b.user_id,
                username: b.username,
                blocked_at: b.blocked_at,
            })
            .collect(),
    ))
}

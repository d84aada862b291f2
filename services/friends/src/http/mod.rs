//! HTTP surface of the friends service (SPEC §2, friends table): each
//! handler extracts its input, calls one use case of `crate::app` and maps
//! the result into its response body; `app::Error` maps errors.

mod blocks;
mod friends;
mod requests;

use crate::Friends;
use crate::domain::Friendship;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

kit::handler_state!(
    /// Handler state: the service, cheap to clone.
    pub AppState(Friends)
);

pub fn router(friends: Arc<Friends>) -> (Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::new()
        .routes(routes!(requests::send))
        .routes(routes!(requests::answer))
        .routes(routes!(requests::cancel))
        .routes(routes!(requests::pending))
        .routes(routes!(friends::list))
        .routes(routes!(friends::unfriend))
        .routes(routes!(friends::search))
        .routes(routes!(blocks::block, blocks::unblock))
        .routes(routes!(blocks::blocked))
        .with_state(AppState(friends))
        .split_for_parts()
}

/// A friend request or friendship.
#[derive(Debug, Serialize, ToSchema)]
pub struct FriendshipBody {
    pub id: i64,
    /// Who sent the request.
    pub user_id_1: i64,
    /// Who received it.
    pub user_id_2: i64,
    /// `pending`, `accepted` or `rejected`.
    pub status: &'static str,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<Friendship> for FriendshipBody {
    fn from(f: Friendship) -> Self {
        Self {
            id: f.id,
            user_id_1: f.requester_id,
            user_id_2: f.addressee_id,
            status: f.status.as_str(),
            message: f.message,
            created_at: f.created_at,
            updated_at: f.updated_at,
            deleted_at: f.deleted_at,
        }
    }
}

/// A confirmation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Confirmation {
    pub message: String,
}

impl Confirmation {
    fn new(text: &str) -> Self {
        Self {
            message: text.to_owned(),
        }
    }
}

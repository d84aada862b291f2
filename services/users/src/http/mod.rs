//! HTTP surface of the users service (SPEC §2, users table).

mod auth;
mod profile;
mod status;

pub use status::StatusFeed;
mod users;

use crate::Users;
use crate::domain::User;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

kit::handler_state!(
    /// Handler state: the service, cheap to clone.
    pub AppState(Users)
);

pub fn router(users: Arc<Users>) -> (Router, utoipa::openapi::OpenApi) {
    let (router, openapi) = OpenApiRouter::new()
        .routes(routes!(auth::register))
        .routes(routes!(auth::login_form))
        .routes(routes!(auth::login_json))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::jwks))
        .routes(routes!(profile::me, profile::update_me))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(profile::upload_image, profile::delete_image))
                .layer(profile::body_limit()),
        )
        .routes(routes!(profile::public_profile))
        .routes(routes!(profile::image))
        .routes(routes!(users::search))
        .routes(routes!(users::get_user))
        .routes(routes!(users::batch_get))
        .routes(routes!(users::batch_post))
        .routes(routes!(users::exists))
        .routes(routes!(status::heartbeat))
        .routes(routes!(status::user_status))
        .routes(routes!(status::friends))
        .routes(routes!(status::stream))
        .with_state(AppState(users))
        .split_for_parts();
    (router, openapi)
}

/// A user as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    pub id: i64,
    pub email: String,
    pub username: String,
    pub display_name: Option<String>,
    pub status_message: Option<String>,
    pub profile_image_url: Option<String>,
    pub is_online: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user as anybody else sees them (no email).
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProfile {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub status_message: Option<String>,
    pub profile_image_url: Option<String>,
    pub is_online: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
}

impl Profile {
    fn new(user: User, is_online: bool) -> Self {
        Self {
            profile_image_url: user.profile_image_url(),
            id: user.id,
            email: user.email,
            username: user.username,
            display_name: user.display_name,
            status_message: user.status_message,
            is_online,
            last_seen_at: user.last_seen_at,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

impl PublicProfile {
    fn new(user: User, is_online: bool) -> Self {
        Self {
            profile_image_url: user.profile_image_url(),
            id: user.id,
            username: user.username,
            display_name: user.display_name,
            status_message: user.status_message,
            is_online,
            last_seen_at: user.last_seen_at,
        }
    }
}

impl Users {
    async fn online(&self, ids: &[i64]) -> Result<Vec<bool>, kit::ApiError> {
        self.presence
            .online_many(ids)
            .await
            .map_err(|e| kit::ApiError::unavailable(format!("presence unavailable: {e}")))
    }

    /// One user's public profile, or 404.
    async fn public_profile(&self, user_id: i64) -> Result<PublicProfile, kit::ApiError> {
        let user = self
            .store
            .get(user_id)
            .await?
            .ok_or_else(|| kit::ApiError::not_found("user not found"))?;
        let mut list = self.public_profiles(vec![user]).await?;
        Ok(list.remove(0))
    }

    async fn public_profiles(&self, users: Vec<User>) -> Result<Vec<PublicProfile>, kit::ApiError> {
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let online = self.online(&ids).await?;
        Ok(users
            .into_iter()
            .zip(online)
            .map(|(u, on)| PublicProfile::new(u, on))
            .collect())
    }
}

//! HTTP surface of the users service (SPEC §2, users table).
//!
//! Handlers extract, call one use case of `crate::app` and map its result
//! into a response body; the use case's error maps itself to `{detail, code}`.

mod auth;
mod profile;
mod status;
mod users;

use crate::Users;
use crate::app::UserStatus;
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
                .layer(kit::upload::body_limit()),
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

/// A user as their owner sees themselves: the public profile and what only
/// they may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    #[serde(flatten)]
    pub public: PublicProfile,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<UserStatus> for PublicProfile {
    fn from(UserStatus { user, is_online }: UserStatus) -> Self {
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

impl From<UserStatus> for Profile {
    fn from(status: UserStatus) -> Self {
        let (email, created_at, updated_at) = (
            status.user.email.clone(),
            status.user.created_at,
            status.user.updated_at,
        );
        Self {
            public: status.into(),
            email,
            created_at,
            updated_at,
        }
    }
}

/// Public profiles of a list of users.
fn public_profiles(found: Vec<UserStatus>) -> Vec<PublicProfile> {
    found.into_iter().map(PublicProfile::from).collect()
}

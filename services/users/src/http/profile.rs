//! The caller's own profile, its image, and other users' public profiles.

use super::{AppState, Profile, PublicProfile};
use axum::response::Response;
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Multipart, Path};
use kit::upload::ImageUpload;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateProfile {
    /// 1-100 characters.
    display_name: Option<String>,
    /// Up to 500 characters; an empty string clears it.
    status_message: Option<String>,
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/profile/me", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 401, body = ErrorBody)))]
pub async fn me(state: AppState, user: AuthUser) -> ApiResult<Json<Profile>> {
    Ok(Json(state.own_profile(user.id).await?.into()))
}

/// Change display name and/or status message.
#[utoipa::path(put, path = "/api/profile/me", tag = "profile", security(("bearer" = [])), request_body = UpdateProfile,
    responses((status = 200, body = Profile), (status = 422, body = ErrorBody)))]
pub async fn update_me(
    state: AppState,
    user: AuthUser,
    Json(req): Json<UpdateProfile>,
) -> ApiResult<Json<Profile>> {
    let profile = state
        .update_profile(
            user.id,
            req.display_name.as_deref(),
            req.status_message.as_deref(),
        )
        .await?;
    Ok(Json(profile.into()))
}

/// Upload a profile image (multipart field `file`).
#[utoipa::path(post, path = "/api/profile/me/image", tag = "profile", security(("bearer" = [])),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = Profile), (status = 413, body = ErrorBody),
              (status = 422, description = "not a PNG, JPEG, WebP or GIF image", body = ErrorBody)))]
pub async fn upload_image(
    state: AppState,
    user: AuthUser,
    form: Multipart,
) -> ApiResult<Json<Profile>> {
    let bytes = kit::upload::file_field(form).await?;
    Ok(Json(state.set_image(user.id, &bytes).await?.into()))
}

/// Remove the profile image.
#[utoipa::path(delete, path = "/api/profile/me/image", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = Profile)))]
pub async fn delete_image(state: AppState, user: AuthUser) -> ApiResult<Json<Profile>> {
    Ok(Json(state.delete_image(user.id).await?.into()))
}

/// Another user's public profile (no email).
#[utoipa::path(get, path = "/api/profile/{user_id}", tag = "profile", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 200, body = PublicProfile), (status = 404, body = ErrorBody)))]
pub async fn public_profile(
    state: AppState,
    _user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<PublicProfile>> {
    Ok(Json(state.public_profile(user_id).await?.into()))
}

/// A user's profile image.
#[utoipa::path(get, path = "/api/profile/{user_id}/image", tag = "profile", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 200, description = "the image bytes"), (status = 404, body = ErrorBody)))]
pub async fn image(
    state: AppState,
    _user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<Response> {
    Ok(kit::upload::served(state.image(user_id).await?))
}

//! The caller's own profile, its image, and other users' public profiles.

use super::{AppState, Profile, PublicProfile};
use crate::domain::image::MAX_IMAGE_BYTES;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Multipart, Path};
use kit::{ApiError, ApiResult};
use serde::Deserialize;
use utoipa::ToSchema;

/// Room for the multipart framing around a maximal image.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_IMAGE_BYTES + 64 * 1024)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateProfile {
    /// 1-100 characters.
    display_name: Option<String>,
    /// Up to 500 characters; an empty string clears it.
    status_message: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImageUpload {
    /// PNG, JPEG, WebP or GIF, at most 5 MB; the type is read from the bytes.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
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
    Multipart(mut form): Multipart,
) -> ApiResult<Json<Profile>> {
    let mut bytes = None;
    while let Some(field) = form.next_field().await? {
        if field.file_name().is_some() || matches!(field.name(), Some("file" | "image")) {
            bytes = Some(field.bytes().await?);
            break;
        }
    }
    let bytes = bytes
        .ok_or_else(|| ApiError::validation("expected a multipart file field named `file`"))?;
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
) -> ApiResult<impl IntoResponse> {
    let image = state.image(user_id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, image.content_type),
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        image.bytes,
    ))
}

//! The caller's own profile, its image, and other users' public profiles.

use super::{AppState, Profile, PublicProfile};
use crate::domain::image::{ImageKind, MAX_IMAGE_BYTES};
use crate::domain::{self, ProfileUpdate};
use crate::store::StoredImage;
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

async fn own_profile(state: &AppState, user_id: i64) -> ApiResult<Profile> {
    let user = state.store.get(user_id).await?.ok_or_else(|| {
        ApiError::unauthorized(
            "INVALID_TOKEN",
            "the account of this token no longer exists",
        )
    })?;
    let online = state.online(&[user_id]).await?[0];
    Ok(Profile::new(user, online))
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/profile/me", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 401, body = ErrorBody)))]
pub async fn me(state: AppState, user: AuthUser) -> ApiResult<Json<Profile>> {
    own_profile(&state, user.id).await.map(Json)
}

/// Change display name and/or status message.
#[utoipa::path(put, path = "/api/profile/me", tag = "profile", security(("bearer" = [])), request_body = UpdateProfile,
    responses((status = 200, body = Profile), (status = 422, body = ErrorBody)))]
pub async fn update_me(
    state: AppState,
    user: AuthUser,
    Json(req): Json<UpdateProfile>,
) -> ApiResult<Json<Profile>> {
    let invalid = |e: domain::Invalid| ApiError::validation(e.0);
    let update = ProfileUpdate {
        display_name: req
            .display_name
            .as_deref()
            .map(domain::display_name)
            .transpose()
            .map_err(invalid)?,
        status_message: req
            .status_message
            .as_deref()
            .map(domain::status_message)
            .transpose()
            .map_err(invalid)?,
    };
    state.store.update_profile(user.id, &update).await?;
    own_profile(&state, user.id).await.map(Json)
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
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ApiError::too_large(format!(
            "image is larger than {} MB",
            MAX_IMAGE_BYTES / 1024 / 1024
        )));
    }
    let kind = ImageKind::sniff(&bytes).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "UNSUPPORTED_IMAGE",
            "file is not a PNG, JPEG, WebP or GIF image",
        )
    })?;
    let image = StoredImage {
        content_type: kind.content_type().into(),
        bytes: bytes.to_vec(),
    };
    state.store.set_image(user.id, &image).await?;
    tracing::info!(
        user_id = user.id,
        bytes = image.bytes.len(),
        content_type = kind.content_type(),
        "profile image set"
    );
    own_profile(&state, user.id).await.map(Json)
}

/// Remove the profile image.
#[utoipa::path(delete, path = "/api/profile/me/image", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = Profile)))]
pub async fn delete_image(state: AppState, user: AuthUser) -> ApiResult<Json<Profile>> {
    state.store.delete_image(user.id).await?;
    own_profile(&state, user.id).await.map(Json)
}

/// Another user's public profile (no email).
#[utoipa::path(get, path = "/api/profile/{user_id}", tag = "profile", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 200, body = PublicProfile), (status = 404, body = ErrorBody)))]
pub async fn public_profile(
    state: AppState,
    _user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<PublicProfile>> {
    state.public_profile(user_id).await.map(Json)
}

/// A user's profile image.
#[utoipa::path(get, path = "/api/profile/{user_id}/image", tag = "profile", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 200, description = "the image bytes"), (status = 404, body = ErrorBody)))]
pub async fn image(
    state: AppState,
    _user: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let image = state
        .store
        .image(user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no profile image"))?;
    Ok((
        [
            (header::CONTENT_TYPE, image.content_type),
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        image.bytes,
    ))
}

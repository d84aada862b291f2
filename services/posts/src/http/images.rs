//! A post's image: upload (multipart field `file`), remove, read. The upload
//! rules and refusals are kit's (`kit::upload`), the same as profile images.

use super::{AppState, PostBody};
use axum::response::Response;
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::{Json, Multipart, Path};
use kit::upload::ImageUpload;

/// Set or replace one's own post's image (multipart field `file`: PNG, JPEG,
/// WebP or GIF, at most 5 MB, its type read from its bytes).
#[utoipa::path(post, path = "/api/posts/{post_id}/image", tag = "posts", security(("bearer" = [])),
    params(("post_id" = i64, Path)),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = PostBody), (status = 403, body = ErrorBody, description = "not the author"),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "not a PNG, JPEG, WebP or GIF image", body = ErrorBody)))]
pub async fn upload(
    state: AppState,
    user: AuthUser,
    Path(post_id): Path<i64>,
    form: Multipart,
) -> ApiResult<Json<PostBody>> {
    let bytes = kit::upload::file_field(form).await?;
    let post = state.app.set_post_image(user.id, post_id, &bytes).await?;
    Ok(Json(post.into()))
}

/// Remove one's own post's image.
#[utoipa::path(delete, path = "/api/posts/{post_id}/image", tag = "posts", security(("bearer" = [])),
    params(("post_id" = i64, Path)),
    responses((status = 200, body = PostBody), (status = 403, body = ErrorBody, description = "not the author"),
        (status = 404, body = ErrorBody, description = "no such post, or it has no image")))]
pub async fn delete(
    state: AppState,
    user: AuthUser,
    Path(post_id): Path<i64>,
) -> ApiResult<Json<PostBody>> {
    let post = state.app.delete_post_image(user.id, post_id).await?;
    Ok(Json(post.into()))
}

/// A post's image (the `image_url` of the post).
#[utoipa::path(get, path = "/api/posts/{post_id}/image", tag = "posts", security(("bearer" = [])),
    params(("post_id" = i64, Path)),
    responses((status = 200, description = "the image bytes, with the type they were recognised as"),
        (status = 404, body = ErrorBody, description = "no such post, or it has no image")))]
pub async fn get(state: AppState, user: AuthUser, Path(post_id): Path<i64>) -> ApiResult<Response> {
    Ok(kit::upload::served(
        state.app.post_image(user.id, post_id).await?,
    ))
}

//! Uploaded images, accepted the same way by every service that takes them
//! (users' profile images, posts' images): a multipart field of at most
//! [`MAX_IMAGE_BYTES`], its type read from its bytes and the bytes decoded
//! in full off the async threads ([`image`]), then stored in a table of the
//! service's own database ([`ImageTable`]) and served back with the type it
//! was recognised as ([`served`]).
//!
//! The refusals are one contract: 413 `PAYLOAD_TOO_LARGE` past the limit
//! (before any of the body is read when `Content-Length` says so, see
//! [`body_limit`]), 422 `UNSUPPORTED_IMAGE` for bytes that are no PNG, JPEG,
//! WebP or GIF, 422 `INVALID_IMAGE` for one that does not decode or is
//! larger than [`image::MAX_IMAGE_SIDE`] on a side.

pub mod image;
mod table;

pub use self::image::{BadImage, CheckedImage, ImageKind, MAX_IMAGE_BYTES, check};
pub use table::ImageTable;

use crate::error::ApiError;
use crate::extract::Multipart;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

/// An accepted image as stored: its recognised type and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Why an upload was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("image is larger than {} MB", MAX_IMAGE_BYTES / 1024 / 1024)]
    TooLarge,
    #[error(transparent)]
    Bad(#[from] BadImage),
    /// The decoder could not run (shutting down, a panicked decode).
    #[error("{0}")]
    Unavailable(String),
}

impl From<Refused> for ApiError {
    fn from(err: Refused) -> Self {
        let code = match &err {
            Refused::TooLarge => return ApiError::too_large(err.to_string()),
            Refused::Unavailable(detail) => return ApiError::unavailable(detail.clone()),
            Refused::Bad(BadImage::Unsupported) => "UNSUPPORTED_IMAGE",
            Refused::Bad(BadImage::Corrupt { .. } | BadImage::TooLarge { .. }) => "INVALID_IMAGE",
        };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, err.to_string())
    }
}

/// Decodes uploads a few at a time on the blocking pool: one decode may take
/// 128 MiB and a core, so large uploads cannot take every thread or the
/// process's memory.
#[derive(Debug)]
pub struct ImageChecker {
    decodes: Semaphore,
}

impl ImageChecker {
    /// At most `concurrent` decodes at once (at least one).
    pub fn new(concurrent: usize) -> Self {
        Self {
            decodes: Semaphore::new(concurrent.max(1)),
        }
    }

    /// One decode per core, at most four.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get().min(4)))
    }

    /// `bytes` as an image to store, once they decode as one; the type is
    /// read from the bytes.
    pub async fn accept(&self, bytes: &[u8]) -> Result<StoredImage, Refused> {
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(Refused::TooLarge);
        }
        let bytes = bytes.to_vec();
        let _turn = self
            .decodes
            .acquire()
            .await
            .map_err(|_| Refused::Unavailable("shutting down".into()))?;
        let (checked, bytes) = tokio::task::spawn_blocking(move || (check(&bytes), bytes))
            .await
            .map_err(|e| Refused::Unavailable(format!("image check failed: {e}")))?;
        Ok(StoredImage {
            content_type: checked?.kind.content_type().into(),
            bytes,
        })
    }
}

/// The body limit of an upload route: a maximal image and room for the
/// multipart framing around it. Larger bodies get 413.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_IMAGE_BYTES + 64 * 1024)
}

/// The uploaded file of a multipart form: the first field with a file name,
/// or named `file` or `image`; 422 when there is none.
pub async fn file_field(Multipart(mut form): Multipart) -> Result<bytes::Bytes, ApiError> {
    while let Some(field) = form.next_field().await? {
        if field.file_name().is_some() || matches!(field.name(), Some("file" | "image")) {
            return Ok(field.bytes().await?);
        }
    }
    Err(ApiError::validation(
        "expected a multipart file field named `file`",
    ))
}

/// The OpenAPI shape of an upload (multipart field `file`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ImageUpload {
    /// PNG, JPEG, WebP or GIF, at most 5 MB; the type is read from the bytes.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// A stored image as a response: its recognised type, never sniffed again by
/// the browser, cacheable by the client (URLs carry a version).
pub fn served(image: StoredImage) -> Response {
    (
        [
            (header::CONTENT_TYPE, image.content_type),
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        image.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn uploads_are_refused_by_size_and_content() {
        let checker = ImageChecker::new(1);
        let big = vec![0u8; MAX_IMAGE_BYTES + 1];
        assert!(matches!(checker.accept(&big).await, Err(Refused::TooLarge)));
        let fake = checker.accept(b"<script>alert(1)</script>").await;
        let err = ApiError::from(fake.unwrap_err());
        assert_eq!(
            (err.status, &*err.code),
            (StatusCode::UNPROCESSABLE_ENTITY, "UNSUPPORTED_IMAGE")
        );
        let mut png = std::io::Cursor::new(Vec::new());
        ::image::DynamicImage::new_rgb8(2, 2)
            .write_to(&mut png, ::image::ImageFormat::Png)
            .unwrap();
        let png = png.into_inner();
        let stored = checker.accept(&png).await.unwrap();
        assert_eq!(stored.content_type, "image/png");
        assert_eq!(stored.bytes, png);
    }
}

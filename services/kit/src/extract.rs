//! Drop-in replacements for axum's extractors whose rejections are `ApiError`s,
//! so malformed JSON, wrong types or bad path/query values answer with
//! `{detail, code}` like every other error.

use crate::error::ApiError;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// JSON body extractor and response.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters extractor.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// Query string extractor.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// URL-encoded form extractor.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Form), rejection(ApiError))]
pub struct Form<T>(pub T);

/// Multipart extractor.
pub struct Multipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Multipart {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(Self)
            .map_err(ApiError::from)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rej: JsonRejection) -> Self {
        match rej {
            JsonRejection::JsonSyntaxError(e) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_JSON",
                format!("request body is not valid JSON: {}", source_text(&e)),
            ),
            JsonRejection::JsonDataError(e) => ApiError::validation(format!(
                "request body does not match the expected shape: {}",
                source_text(&e)
            )),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "expected a request with `Content-Type: application/json`",
            ),
            other => from_status(other.status(), other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rej: PathRejection) -> Self {
        match rej {
            PathRejection::FailedToDeserializePathParams(e) => {
                ApiError::validation(format!("invalid path parameter: {}", e.body_text()))
            }
            other => from_status(other.status(), other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rej: QueryRejection) -> Self {
        ApiError::validation(format!("invalid query string: {}", source_text(&rej)))
    }
}

impl From<FormRejection> for ApiError {
    fn from(rej: FormRejection) -> Self {
        // A form route given another body (e.g. JSON) finds none of its
        // fields: a validation error, as the original FastAPI services answer.
        if let FormRejection::InvalidFormContentType(_) = rej {
            return ApiError::validation(
                "expected a form body (`Content-Type: application/x-www-form-urlencoded`)",
            );
        }
        match rej.status() {
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
                ApiError::validation(format!("invalid form body: {}", source_text(&rej)))
            }
            status => from_status(status, rej.body_text()),
        }
    }
}

impl From<MultipartRejection> for ApiError {
    fn from(rej: MultipartRejection) -> Self {
        from_status(rej.status(), rej.body_text())
    }
}

impl From<axum::extract::multipart::MultipartError> for ApiError {
    fn from(err: axum::extract::multipart::MultipartError) -> Self {
        from_status(err.status(), err.body_text())
    }
}

fn from_status(status: StatusCode, text: String) -> ApiError {
    let status = if status.is_server_error() {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    ApiError::new(status, ApiError::code_for(status), text)
}

/// The innermost error message: serde's own words (field names, expected
/// types), without axum's generic prefix.
fn source_text(err: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

//! Drop-in replacements for axum's extractors whose rejections are `ApiError`s,
//! so malformed JSON, wrong types or bad path/query values answer with
//! `{detail, code}` like every other error.
//!
//! The body extractors (`Json`, `Form`, `Multipart`) refuse a body whose
//! `Content-Length` exceeds the route's limit (`DefaultBodyLimit`: 2 MB
//! unless the route sets another) with 413 before reading any of it, and
//! answer 408 when the body does not arrive in time
//! ([`crate::server::BodyTimeout`]).

use crate::error::ApiError;
use crate::server::BodyTimeout;
use axum::RequestExt;
use axum::body::HttpBody;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// JSON body extractor and response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = limited_body(req, state).await?;
        Ok(Self(value))
    }
}

/// `E` extracted from the request's body once [`within_limit`] let it
/// through; its rejection mapped to an `ApiError` (`{detail, code}`, 408 for
/// a body that did not arrive in time). Every body extractor here reads
/// through it.
async fn limited_body<E, S>(req: Request, state: &S) -> Result<E, ApiError>
where
    E: FromRequest<S>,
    ApiError: From<E::Rejection>,
    S: Send + Sync,
{
    let req = within_limit(req)?;
    Ok(E::from_request(req, state).await?)
}

/// The request, its body limited to the route's limit; refused with 413
/// when its `Content-Length` already says it is larger, before any of the
/// body is read.
fn within_limit(req: Request) -> Result<Request, ApiError> {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(announced) = announced else {
        return Ok(req);
    };
    // The limit itself is private to axum; a limited body's size hint is
    // capped at it, while the announced length stays what the client said.
    let req = req.with_limited_body();
    match req.body().size_hint().upper() {
        Some(cap) if announced > cap => Err(ApiError::too_large(format!(
            "request body of {announced} bytes is larger than this endpoint accepts ({cap} bytes)"
        ))),
        _ => Ok(req),
    }
}

/// Whether `err` (or what caused it) is a body that did not arrive in time.
fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if e.is::<BodyTimeout>() {
            return true;
        }
        cur = e.source();
    }
    false
}

fn body_timeout() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "REQUEST_TIMEOUT",
        "the request body did not arrive in time; send it faster or in smaller requests",
    )
}

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
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<T, S> FromRequest<S> for Form<T>
where
    axum::Form<T>: FromRequest<S, Rejection = FormRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Form(value) = limited_body(req, state).await?;
        Ok(Self(value))
    }
}

/// Multipart extractor.
pub struct Multipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Multipart {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        limited_body(req, state).await.map(Self)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rej: JsonRejection) -> Self {
        if timed_out(&rej) {
            return body_timeout();
        }
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
        if timed_out(&rej) {
            return body_timeout();
        }
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
        if timed_out(&err) {
            return body_timeout();
        }
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

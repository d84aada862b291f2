//! Registration, login (OAuth2 form and JSON), logout and the public keys.

use super::AppState;
use crate::app::Token;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kit::ApiResult;
use kit::auth::{AuthUser, Jwks};
use kit::error::ErrorBody;
use kit::extract::{Form, Json};
use kit::ratelimit::ClientAddr;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    email: String,
    /// 3-50 letters, digits, `_`, `-` or `.`.
    username: String,
    /// 8-16 characters with a letter, a digit and a special character.
    password: String,
    display_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    id: i64,
    email: String,
    username: String,
    display_name: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginForm {
    /// The account's email (OAuth2 calls it `username`).
    username: String,
    password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginJson {
    email: String,
    password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedOut {
    message: String,
}

/// Create an account.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = Registered), (status = 409, description = "email or username taken", body = ErrorBody),
              (status = 422, description = "invalid field", body = ErrorBody),
              (status = 429, description = "too many registrations from this address; see Retry-After", body = ErrorBody)))]
pub async fn register(
    state: AppState,
    client: ClientAddr,
    Json(req): Json<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<Registered>)> {
    let user = state
        .register(
            &client,
            &req.email,
            &req.username,
            req.password,
            req.display_name.as_deref(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            id: user.id,
            email: user.email,
            username: user.username,
            display_name: user.display_name,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }),
    ))
}

/// Log in with an OAuth2 password form (`username` is the email).
#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody),
              (status = 422, description = "a missing field, or a body that is not a form (e.g. JSON)", body = ErrorBody),
              (status = 429, description = "too many attempts; see Retry-After", body = ErrorBody)))]
pub async fn login_form(
    state: AppState,
    client: ClientAddr,
    Form(form): Form<LoginForm>,
) -> ApiResult<Json<TokenResponse>> {
    let token = state.login(&client, &form.username, form.password).await?;
    Ok(Json(token.into()))
}

/// Log in with a JSON body.
#[utoipa::path(post, path = "/api/auth/login/json", tag = "auth", request_body = LoginJson,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody),
              (status = 429, description = "too many attempts; see Retry-After", body = ErrorBody)))]
pub async fn login_json(
    state: AppState,
    client: ClientAddr,
    Json(req): Json<LoginJson>,
) -> ApiResult<Json<TokenResponse>> {
    let token = state.login(&client, &req.email, req.password).await?;
    Ok(Json(token.into()))
}

impl From<Token> for TokenResponse {
    fn from(token: Token) -> Self {
        Self {
            access_token: token.access_token,
            token_type: "bearer".into(),
            expires_in: token.expires_in,
        }
    }
}

/// Revoke the presented token until it expires.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = LoggedOut), (status = 401, body = ErrorBody)))]
pub async fn logout(state: AppState, user: AuthUser) -> ApiResult<Json<LoggedOut>> {
    state
        .logout(user.id, &user.claims.jti, user.claims.exp)
        .await?;
    Ok(Json(LoggedOut {
        message: "logged out".into(),
    }))
}

/// Public keys that verify access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", responses((status = 200, body = Jwks)))]
pub async fn jwks(state: AppState) -> Json<Jwks> {
    Json(state.jwks())
}

//! Registration, login (OAuth2 form and JSON), logout and the public keys.

use super::AppState;
use crate::domain;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kit::auth::{AuthUser, Claims, ISSUER, Jwks};
use kit::error::ErrorBody;
use kit::extract::{Form, Json};
use kit::ratelimit::{ClientAddr, enforce};
use kit::{ApiError, ApiResult};
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
pub struct Message {
    message: String,
}

/// Create an account.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = Registered), (status = 409, description = "email or username taken", body = ErrorBody),
              (status = 422, description = "invalid field", body = ErrorBody)))]
pub async fn register(
    state: AppState,
    Json(req): Json<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<Registered>)> {
    let mut new = domain::registration(
        &req.email,
        &req.username,
        &req.password,
        req.display_name.as_deref(),
    )
    .map_err(|e| ApiError::validation(e.0))?;
    if new.display_name.is_none() {
        new.display_name = Some(new.username.clone());
    }
    let hash = state.passwords.hash(req.password).await?;
    let user = state.store.create(&new, &hash).await?;
    tracing::info!(user_id = user.id, "user registered");
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
              (status = 429, description = "too many attempts; see Retry-After", body = ErrorBody)))]
pub async fn login_form(
    state: AppState,
    client: ClientAddr,
    Form(form): Form<LoginForm>,
) -> ApiResult<Json<TokenResponse>> {
    login(&state, client, &form.username, form.password)
        .await
        .map(Json)
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
    login(&state, client, &req.email, req.password)
        .await
        .map(Json)
}

/// Every attempt counts against the client's address; failed ones count
/// against the account, which then refuses even the right password until the
/// window ends (guessing stays slow however many addresses the guesser has).
async fn login(
    state: &AppState,
    client: ClientAddr,
    email: &str,
    password: String,
) -> ApiResult<TokenResponse> {
    let limits = &state.login_limits;
    if let Some(ip) = client
        .ip(limits.trust_forwarded_for)
        .filter(|ip| limits.loopback || !ip.is_loopback())
    {
        let hit = state
            .ctx
            .limiter
            .hit(&format!("login:address:{ip}"), limits.address)
            .await;
        enforce(hit, "login-address")?;
    }
    // Bound the work an anonymous caller can ask of the hasher.
    if email.len() > domain::EMAIL_MAX || password.len() > 256 {
        return Err(ApiError::validation("email or password is too long"));
    }
    let found = match domain::email(email) {
        Ok(email) => state.store.credentials(&email).await?,
        Err(_) => None,
    };
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let account_key = user.as_ref().map(|u| format!("login:account:{}", u.id));
    if let Some(key) = &account_key {
        let seen = state.ctx.limiter.check(key, limits.account).await;
        enforce(seen, "login-account")?;
    }
    let ok = state.passwords.verify(password, hash).await?;
    let Some(user) = user.filter(|_| ok) else {
        if let Some(key) = &account_key {
            // This failure is answered with 401; the next attempt sees the count.
            let _ = state.ctx.limiter.hit(key, limits.account).await;
        }
        return Err(ApiError::unauthorized(
            "INVALID_CREDENTIALS",
            "incorrect email or password",
        ));
    };
    let now = Utc::now();
    state.store.touch_last_seen(user.id, now).await?;
    let token = issue(state, user.id, now)?;
    tracing::info!(user_id = user.id, "user logged in");
    Ok(token)
}

fn issue(state: &AppState, user_id: i64, now: DateTime<Utc>) -> ApiResult<TokenResponse> {
    let ttl = state.token_ttl.as_secs();
    let claims = Claims {
        sub: user_id.to_string(),
        jti: uuid::Uuid::new_v4().simple().to_string(),
        iat: now.timestamp(),
        exp: now.timestamp() + i64::try_from(ttl).unwrap_or(i64::MAX / 2),
        iss: ISSUER.into(),
    };
    let access_token = state
        .signing_key
        .sign(&claims)
        .map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: "bearer".into(),
        expires_in: ttl,
    })
}

/// Revoke the presented token until it expires.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Message), (status = 401, body = ErrorBody)))]
pub async fn logout(state: AppState, user: AuthUser) -> ApiResult<Json<Message>> {
    state
        .verifier
        .revocations()
        .revoke(&user.claims.jti, user.claims.exp)
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot revoke token: {e}")))?;
    tracing::info!(user_id = user.id, "user logged out");
    Ok(Json(Message {
        message: "logged out".into(),
    }))
}

/// Public keys that verify access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", responses((status = 200, body = Jwks)))]
pub async fn jwks(state: AppState) -> Json<Jwks> {
    Json(Jwks {
        keys: vec![state.signing_key.jwk()],
    })
}

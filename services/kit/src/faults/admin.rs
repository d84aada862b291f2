//! `/admin/faults`: the operator's switch for faults, mounted by the runner
//! only when an admin secret is configured (otherwise the path does not
//! exist: 404). Every call needs `Authorization: Bearer <secret>`, compared
//! in constant time; a user's access token is not the secret and gets 401.
//! The routes stay out of the public OpenAPI document.
//!
//! - `GET /admin/faults`: `{"faults": [...]}`, every fault that is on;
//! - `POST /admin/faults` with `{"kind", "service", key: value...}` (the keys
//!   of `--fault`): 201 and the fault, with its `id`;
//! - `DELETE /admin/faults/{id}`: the fault switched off (404 if not on);
//! - `DELETE /admin/faults?kind=K&service=S`: every matching fault off
//!   (`{"faults": [...]}`, possibly empty).

use super::{ActiveFault, FaultSpec, Faults, Kind};
use crate::ApiError;
use crate::extract::{Path, Query};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The shared secret of the admin surface. Never printed.
#[derive(Clone)]
pub struct AdminSecret(Arc<str>);

impl std::fmt::Debug for AdminSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminSecret(***)")
    }
}

/// Shortest secret accepted: a guessable one would open the admin surface.
pub const MIN_SECRET_LEN: usize = 16;

impl AdminSecret {
    pub fn new(secret: &str) -> Result<Self, String> {
        if secret.chars().count() < MIN_SECRET_LEN {
            return Err(format!(
                "the admin secret must be at least {MIN_SECRET_LEN} characters; \
                 generate one with `openssl rand -hex 16`"
            ));
        }
        Ok(Self(secret.into()))
    }

    /// Whether `presented` is the secret, in time independent of where they differ.
    fn matches(&self, presented: &[u8]) -> bool {
        // Equal-length digests, compared without an early exit.
        let a = ring::digest::digest(&ring::digest::SHA256, self.0.as_bytes());
        let b = ring::digest::digest(&ring::digest::SHA256, presented);
        a.as_ref()
            .iter()
            .zip(b.as_ref())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }
}

/// The flag's value parser (`--admin-secret`).
pub fn parse_secret(raw: &str) -> Result<AdminSecret, String> {
    AdminSecret::new(raw)
}

#[derive(Clone)]
struct Admin {
    faults: Faults,
    secret: AdminSecret,
}

/// The admin routes over `faults`, behind `secret`.
pub fn router(faults: Faults, secret: AdminSecret) -> Router {
    let admin = Admin { faults, secret };
    Router::new()
        .route(
            "/admin/faults",
            get(list).post(switch_on).delete(switch_off_matching),
        )
        .route("/admin/faults/{id}", delete(switch_off))
        .route_layer(axum::middleware::from_fn_with_state(
            admin.clone(),
            authorize,
        ))
        .with_state(admin)
}

async fn authorize(State(admin): State<Admin>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(token) if admin.secret.matches(token.as_bytes()) => next.run(req).await,
        Some(_) => {
            tracing::warn!("admin call with a wrong secret");
            ApiError::unauthorized("INVALID_ADMIN_SECRET", "not the admin secret").into_response()
        }
        None => ApiError::unauthorized(
            "NOT_AUTHENTICATED",
            "the admin surface needs Authorization: Bearer <admin secret>",
        )
        .into_response(),
    }
}

#[derive(Serialize)]
struct FaultList {
    faults: Vec<ActiveFault>,
}

async fn list(State(admin): State<Admin>) -> axum::Json<FaultList> {
    axum::Json(FaultList {
        faults: admin.faults.active(),
    })
}

async fn switch_on(State(admin): State<Admin>, body: axum::body::Bytes) -> Response {
    let spec = serde_json::from_slice::<serde_json::Value>(&body)
        .map_err(|e| format!("the body is not JSON: {e}"))
        .and_then(|v| FaultSpec::from_json(&v).map_err(|e| e.0));
    let spec = match spec {
        Ok(spec) => spec,
        Err(msg) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "INVALID_FAULT", msg).into_response();
        }
    };
    match admin.faults.switch_on(spec) {
        Ok(fault) => (StatusCode::CREATED, axum::Json(fault)).into_response(),
        Err(err) => {
            ApiError::new(StatusCode::BAD_REQUEST, "INVALID_FAULT", err.to_string()).into_response()
        }
    }
}

async fn switch_off(State(admin): State<Admin>, Path(id): Path<u64>) -> Response {
    match admin.faults.switch_off(id) {
        Some(fault) => axum::Json(fault).into_response(),
        None => ApiError::not_found(format!("no fault {id} is on")).into_response(),
    }
}

#[derive(Deserialize)]
struct Matching {
    kind: Option<String>,
    service: Option<String>,
}

async fn switch_off_matching(State(admin): State<Admin>, Query(q): Query<Matching>) -> Response {
    let kind = match q.kind.as_deref().map(str::parse::<Kind>).transpose() {
        Ok(kind) => kind,
        Err(err) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "INVALID_FAULT", err.0).into_response();
        }
    };
    let faults = admin.faults.switch_off_matching(kind, q.service.as_deref());
    axum::Json(FaultList { faults }).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_compared_whole() {
        assert!(
            AdminSecret::new("short")
                .unwrap_err()
                .contains("at least 16")
        );
        let secret = AdminSecret::new("0123456789abcdef").unwrap();
        assert!(secret.matches(b"0123456789abcdef"));
        assert!(!secret.matches(b"0123456789abcdeX"));
        assert!(!secret.matches(b"0123456789abcdef0"));
        assert!(!secret.matches(b""));
        assert_eq!(format!("{secret:?}"), "AdminSecret(***)");
    }
}

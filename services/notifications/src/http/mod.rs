//! HTTP surface of the notifications service (SPEC §2, notifications table).

mod notifications;

use crate::Notifications;
use axum::Router;
use axum::extract::FromRef;
use kit::auth::TokenVerifier;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Handler state: the service, cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<Notifications>);

impl std::ops::Deref for AppState {
    type Target = Notifications;
    fn deref(&self) -> &Notifications {
        &self.0
    }
}

// Handlers take `AppState` directly instead of `State<AppState>`.
impl axum::extract::FromRequestParts<AppState> for AppState {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        _: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(state.clone())
    }
}

impl FromRef<AppState> for Arc<TokenVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

pub fn router(service: Arc<Notifications>) -> (Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::new()
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::unread_count))
        .routes(routes!(notifications::mark_read))
        .routes(routes!(notifications::stream))
        .with_state(AppState(service))
        .split_for_parts()
}

//! HTTP surface of the notifications service (SPEC §2, notifications table).

mod notifications;

use crate::Notifications;
use axum::Router;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

kit::handler_state!(
    /// Handler state: the service, cheap to clone.
    pub AppState(Notifications)
);

pub fn router(service: Arc<Notifications>) -> (Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::new()
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::unread_count))
        .routes(routes!(notifications::mark_read))
        .routes(routes!(notifications::stream))
        .with_state(AppState(service))
        .split_for_parts()
}

//! Composes service routers into one HTTP application: each service's routes
//! (already labelled with their `service`), plus `/health`, `/ready`,
//! `/metrics`, `/openapi.json` and `/docs`, request ids, JSON fallbacks and
//! panic containment. The same composition serves one service or all of them.

use crate::error::{ApiError, method_not_allowed, not_found};
use crate::health::{self, Check};
use crate::http::{REQUEST_ID, observe};
use crate::telemetry::metrics;
use axum::Router;
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder};
use utoipa_swagger_ui::SwaggerUi;

/// One service as the platform composes it.
pub struct Service {
    /// Value of the `service` label, e.g. `users`.
    pub name: &'static str,
    /// Routes, already wrapped with [`observe`].
    pub router: Router,
    pub openapi: OpenApi,
    /// Dependencies `/ready` checks.
    pub checks: Vec<Arc<dyn Check>>,
}

/// Builder for the HTTP application of one process.
pub struct Platform {
    title: String,
    label: &'static str,
    services: Vec<Service>,
    checks: Vec<Arc<dyn Check>>,
    /// Served but left out of `/openapi.json` (the admin surface).
    internal: Vec<Router>,
}

impl Platform {
    /// `title` is what `/health` reports (e.g. "Users Service"); `label` is the
    /// `service` label of the infrastructure routes.
    pub fn new(title: impl Into<String>, label: &'static str) -> Self {
        Self {
            title: title.into(),
            label,
            services: Vec::new(),
            checks: Vec::new(),
            internal: Vec::new(),
        }
    }

    pub fn with(mut self, service: Service) -> Self {
        self.services.push(service);
        self
    }

    /// A readiness check of the process rather than of one service (e.g. Redis).
    pub fn check(mut self, check: Arc<dyn Check>) -> Self {
        self.checks.push(check);
        self
    }

    /// Routes of the operators (e.g. `/admin/faults`): served and observed
    /// like the infrastructure routes, absent from the public API document.
    pub fn internal(mut self, router: Router) -> Self {
        self.internal.push(router);
        self
    }

    pub fn into_router(self) -> Router {
        metrics::install();
        let mut openapi = OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("Banter API")
                    .version(crate::VERSION)
                    .description(Some(
                        "Chat platform API: users, friends, chat and notifications.",
                    ))
                    .build(),
            )
            .build();
        let mut app = Router::new();
        let mut checks = self.checks;
        for service in self.services {
            metrics::build_info(service.name);
            app = app.merge(service.router);
            crate::openapi::merge(&mut openapi, service.openapi);
            checks.extend(service.checks);
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        let infra = (self.internal.into_iter())
            .fold(Router::new(), Router::merge)
            .merge(health::router(&self.title, checks))
            .route("/metrics", get(metrics::handler))
            .merge(
                SwaggerUi::new("/docs")
                    .external_url_unchecked("/openapi.json", crate::openapi::published(openapi)),
            );
        let request_id = HeaderName::from_static(REQUEST_ID);
        app.merge(observe(infra, self.label))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(PropagateRequestIdLayer::new(request_id.clone()))
            .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal("handler panicked").into_response()
}

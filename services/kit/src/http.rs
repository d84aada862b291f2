//! The middleware every route runs through: one span per request (continuing
//! an incoming W3C `traceparent`), RED metrics labelled with the route
//! template, and a completion log line.

use crate::telemetry::traces;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;

/// Header carrying the request id, generated when the client sends none.
pub const REQUEST_ID: &str = "x-request-id";

/// Wraps every route of `router` with RED metrics and a server span labelled
/// `service`. Apply it to a service's router before composing it.
pub fn observe<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    service: &'static str,
) -> Router<S> {
    router.layer(axum::middleware::from_fn_with_state(service, record))
}

struct InFlight {
    service: &'static str,
    method: String,
}

impl InFlight {
    fn start(service: &'static str, method: &str) -> Self {
        metrics::gauge!("http_server_active_requests", "service" => service, "http_request_method" => method.to_owned())
            .increment(1.0);
        Self {
            service,
            method: method.to_owned(),
        }
    }
}

impl Drop for InFlight {
    // Runs also when the client goes away and the request future is dropped.
    fn drop(&mut self) {
        metrics::gauge!("http_server_active_requests", "service" => self.service, "http_request_method" => self.method.clone())
            .decrement(1.0);
    }
}

async fn record(State(service): State<&'static str>, req: Request, next: Next) -> Response {
    if !crate::telemetry::enabled() {
        return next.run(req).await;
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = tracing::info_span!(
        "http_request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        service,
        request_id,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        http.request.method = %method,
        http.route = %route,
        url.path = %req.uri().path(),
        http.response.status_code = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
        fault = tracing::field::Empty,
    );
    traces::continue_from_headers(&span, req.headers());
    let (trace_id, span_id) = traces::ids(&span);
    span.record("trace_id", trace_id.as_str());
    span.record("span_id", span_id.as_str());

    let in_flight = InFlight::start(service, &method);
    let start = Instant::now();
    let (response, fault) = crate::faults::tracked(next.run(req).instrument(span.clone())).await;
    if let Some(kind) = fault {
        span.record("fault", kind.as_str());
    }
    let elapsed = start.elapsed();
    drop(in_flight);

    let status = response.status().as_u16();
    crate::telemetry::metrics::record_request_duration(
        [
            ("service", service),
            ("http_request_method", &method),
            ("http_route", &route),
            ("http_response_status_code", &status.to_string()),
        ],
        elapsed.as_secs_f64(),
        &trace_id,
    );

    span.record("http.response.status_code", status);
    span.record("duration_ms", elapsed.as_secs_f64() * 1000.0);
    // 4xx and 5xx lines say which error it was (`{detail, code}`'s code).
    let error_code = response
        .extensions()
        .get::<crate::error::ErrorCode>()
        .map(|c| c.0.as_str());
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
        span.in_scope(|| tracing::error!(error_code, "request failed"));
    } else {
        span.in_scope(|| tracing::info!(error_code, "request completed"));
    }
    response
}

/// Declares a service's handler state: a cheap clone of `Arc<Service>` that
/// handlers take directly (no `State<…>` wrapper), which derefs to the
/// service and hands the service's `verifier` to [`crate::auth::AuthUser`].
///
/// ```ignore
/// kit::handler_state!(pub AppState(Chat));
/// ```
#[macro_export]
macro_rules! handler_state {
    ($(#[$meta:meta])* $vis:vis $name:ident($service:ty)) => {
        $(#[$meta])*
        #[derive(Clone)]
        $vis struct $name(pub ::std::sync::Arc<$service>);

        impl ::std::ops::Deref for $name {
            type Target = $service;
            fn deref(&self) -> &$service {
                &self.0
            }
        }

        impl ::axum::extract::FromRequestParts<$name> for $name {
            type Rejection = ::std::convert::Infallible;
            async fn from_request_parts(
                _: &mut ::axum::http::request::Parts,
                state: &$name,
            ) -> ::std::result::Result<Self, Self::Rejection> {
                Ok(state.clone())
            }
        }

        impl ::axum::extract::FromRef<$name> for ::std::sync::Arc<$crate::auth::TokenVerifier> {
            fn from_ref(state: &$name) -> Self {
                state.0.verifier.clone()
            }
        }
    };
}

//! The faults a request meets: the `http-latency` and `http-errors` layer
//! in front of a service's routes, and the note of which fault touched a
//! request (for its span's `fault` attribute), set wherever a fault acts —
//! the database, the Redis adapter, this layer.

use super::{Faults, Kind};
use std::cell::Cell;

tokio::task_local! {
    static TOUCHED: Cell<Option<Kind>>;
}

/// Runs `fut` (a request) noting whether a fault touched it.
pub async fn tracked<F: std::future::Future>(fut: F) -> (F::Output, Option<Kind>) {
    TOUCHED
        .scope(Cell::new(None), async move {
            let out = fut.await;
            (out, TOUCHED.with(Cell::get))
        })
        .await
}

/// Notes that a fault of `kind` touched the current request (if tracked).
pub fn touched(kind: Kind) {
    let _ = TOUCHED.try_with(|t| t.set(Some(kind)));
}

/// Wraps a service's routes so `http-latency` faults can hold their answers
/// and `http-errors` faults answer for them. Apply inside the telemetry
/// layer, so injected delays and errors are measured.
pub fn inject_http(router: axum::Router, service: &'static str, faults: Faults) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(
        (service, faults),
        http_fault,
    ))
}

async fn http_fault(
    axum::extract::State((service, faults)): axum::extract::State<(&'static str, Faults)>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // A shared `Arc<str>`: no allocation on a request no fault touches
    // (and the probes below return at once while no fault is on).
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let route = route.as_ref().map(axum::extract::MatchedPath::as_str);
    if let Some(route) = route
        && let Some(delay) = faults.http_delay(service, route)
    {
        touched(Kind::HttpLatency);
        tokio::time::sleep(delay).await;
    }
    if let Some(route) = route
        && faults.http_error(service, route)
    {
        touched(Kind::HttpErrors);
        return crate::ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "FAULT_INJECTED",
            format!("fault injected: http-errors on {service}"),
        )
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_note_the_fault_that_touched_them() {
        let ((), kind) = tracked(async { touched(Kind::DbLatency) }).await;
        assert_eq!(kind, Some(Kind::DbLatency));
        let ((), kind) = tracked(async {}).await;
        assert_eq!(kind, None);
        touched(Kind::DbLatency); // outside a request: ignored
    }
}

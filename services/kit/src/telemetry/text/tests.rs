use super::*;
use crate::telemetry::logs::tests::Buf;
use tracing_subscriber::layer::SubscriberExt;

fn request(status: u16, ms: f64) {
    let span = tracing::info_span!(
        "http_request",
        service = "chat",
        http.request.method = "POST",
        http.route = "/api/rooms",
        http.response.status_code = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
    );
    span.record("http.response.status_code", status);
    span.record("duration_ms", ms);
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!("request failed");
        } else {
            tracing::info!("request completed");
        }
    });
}

#[test]
fn requests_are_summed_and_failures_stand_out() {
    let buf = Buf::default();
    let w = buf.clone();
    let layer = TextLayer::new("banter", move || w.clone());
    let shared = layer.shared.clone();
    let subscriber = tracing_subscriber::registry()
        .with(super::super::logs::SpanFieldsLayer)
        .with(layer);
    tracing::subscriber::with_default(subscriber, || {
        request(201, 3.0);
        request(200, 84.25);
        request(404, 1.0);
        request(500, 2.5);
        tracing::warn!(email = "ada@example.com", attempts = 3, "slow login");
    });
    shared.flush_tally();
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    // The three requests that did not fail, summed before the failure.
    assert!(
        lines[0].contains("INFO  banter 3 requests in 1 s: 2 2xx, 1 4xx; slowest 84.2 ms"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("ERROR chat   POST /api/rooms 500 2.5 ms  request failed"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("trace_id=4bf92f3577b34da6a3ce929d0e0e4736"));
    assert!(
        lines[2].contains("WARN  banter slow login") && lines[2].contains("attempts=3"),
        "{}",
        lines[2]
    );
    assert!(lines[2].contains("email=[redacted]") && !text.contains("ada@example.com"));
    // Nothing counted after the warning: no empty summary line.
    assert!(!text.contains('{'), "no JSON: {text}");
}

//! The telemetry contract (SPEC §5) checked on the real binary after real
//! requests: RED histogram with the SLO bucket, route templates, JSON logs
//! with trace ids, no secrets in logs, and what is shipped to Loki and to an
//! OTLP collector, decoded by test receivers.
#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Bytes;
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use support::Banter;

const EMAIL: &str = "secret.person@example.com";
const PASSWORD: &str = "Sup3r$ecret!";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Drives a little traffic; returns (user id, access token).
async fn traffic(app: &Banter) -> (i64, String) {
    let client = reqwest::Client::new();
    let res = client
        .post(app.url("/api/auth/register"))
        .header("traceparent", TRACEPARENT)
        .json(&json!({"email": EMAIL, "username": "secretperson", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let wrong = client
        .post(app.url("/api/auth/login"))
        .form(&[("username", EMAIL), ("password", "Wr0ng!pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let login: Value = client
        .post(app.url("/api/auth/login"))
        .form(&[("username", EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let me = client
        .get(app.url("/api/profile/me"))
        .bearer_auth(&token)
        .header("traceparent", TRACEPARENT)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    for path in [format!("/api/users/{id}"), "/api/users/987654".to_owned()] {
        client
            .get(app.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    }
    (id, token)
}

#[tokio::test]
async fn metrics_and_json_logs_follow_the_contract() {
    let app = Banter::start(&["--target", "users"], &[]).await;
    let (id, token) = traffic(&app).await;

    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bucket = metrics
        .lines()
        .find(|l| {
            l.starts_with("http_server_request_duration_seconds_bucket{")
                && l.contains(r#"http_route="/api/users/{user_id}""#)
                && l.contains(r#"le="0.2""#)
        })
        .unwrap_or_else(|| panic!("no le=0.2 bucket for the route template in:\n{metrics}"));
    for label in [
        r#"service="users""#,
        r#"http_request_method="GET""#,
        "http_response_status_code=",
    ] {
        assert!(bucket.contains(label), "{label} in {bucket}");
    }
    assert!(
        !metrics.contains(&format!("/api/users/{id}\"")) && !metrics.contains("/api/users/987654"),
        "raw ids never appear in http_route"
    );
    assert!(
        metrics.contains(r#"http_route="/api/auth/login",http_response_status_code="401""#),
        "errors are counted per status"
    );
    for name in [
        "http_server_active_requests",
        "process_resident_memory_bytes",
        "process_open_fds",
        "db_client_connections_max",
        "db_client_operation_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} exported");
    }
    assert!(
        metrics.contains(r#"build_info{service="users",version=""#),
        "build_info exported"
    );
    // Every family says what it is, and families come out in one order.
    let families = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap().to_owned())
            .collect()
    };
    let helped: Vec<String> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP "))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    let listed = families(&metrics);
    for family in &listed {
        assert!(helped.contains(family), "no HELP text for {family}");
    }
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "families sorted by name");
    let again = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(families(&again), listed, "the same order on every scrape");

    let lines = app.stop().await;
    assert!(lines.len() > 5, "log lines: {lines:?}");
    let mut traced = None;
    for line in &lines {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        for key in ["timestamp", "level", "service", "message"] {
            assert!(v.get(key).is_some(), "{key} in {line}");
        }
        for secret in [EMAIL, PASSWORD, token.as_str(), "Wr0ng!pw"] {
            assert!(
                !line.contains(secret),
                "a secret leaked into the logs: {line}"
            );
        }
        if v["http.route"] == "/api/profile/me" && v["message"] == "request completed" {
            traced = Some(v);
        }
    }
    let traced = traced.expect("a completion line for /api/profile/me");
    assert_eq!(
        traced["trace_id"], TRACE_ID,
        "the incoming traceparent's trace continues: {traced}"
    );
    assert_eq!(traced["span_id"].as_str().unwrap().len(), 16);
    assert!(traced["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(traced["service"], "users");
    assert_eq!(traced["http.response.status_code"], 200);
    assert!(traced["duration_ms"].is_number());
    assert!(
        traced.get("error_code").is_none(),
        "no code on a 200: {traced}"
    );
    // An error's line says which error it was, as its body's `code` does.
    let refused = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["http.route"] == "/api/auth/login" && v["http.response.status_code"] == 401)
        .expect("the completion line of the wrong-password login");
    assert!(
        refused["error_code"]
            .as_str()
            .is_some_and(|c| !c.is_empty() && c.chars().all(|c| c.is_ascii_uppercase() || c == '_')),
        "the 401's code: {refused}"
    );
    // Lines logged inside a request (not only the completion line) carry the ids.
    let inner = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == "user logged in")
        .expect("the login handler's own line");
    assert_eq!(inner["trace_id"].as_str().unwrap().len(), 32);
    assert_ne!(inner["trace_id"], "00000000000000000000000000000000");
}

type Captured = Arc<Mutex<Vec<(String, Bytes)>>>;

async fn receiver() -> (String, Captured) {
    let captured: Captured = Arc::default();
    let sink = captured.clone();
    let record = move |path: &'static str| {
        let sink = sink.clone();
        move |body: Bytes| async move {
            sink.lock().unwrap().push((path.to_owned(), body));
            ""
        }
    };
    let app = axum::Router::new()
        .route("/loki/api/v1/push", post(record("loki")))
        .route("/v1/traces", post(record("otlp")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, captured)
}

#[tokio::test]
async fn ships_logs_to_loki_and_spans_over_otlp() {
    use prost::Message;
    let (base, captured) = receiver().await;
    let app = Banter::start(
        &["--target", "users"],
        &[("LOKI_URL", &base), ("OTEL_EXPORTER_OTLP_ENDPOINT", &base)],
    )
    .await;
    let (_, token) = traffic(&app).await;
    // OpenMetrics when asked: request-duration buckets carry the trace id of
    // a request that fell in them.
    let res = reqwest::Client::new()
        .get(app.url("/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    let openmetrics = res.text().await.unwrap();
    assert!(openmetrics.ends_with("# EOF\n"));
    let exemplar_ids: std::collections::BTreeSet<String> = openmetrics
        .lines()
        .filter(|l| l.starts_with("http_server_request_duration_seconds_bucket{"))
        .filter_map(|l| l.split_once(" # {trace_id=\""))
        .map(|(_, rest)| rest[..32].to_owned())
        .collect();
    assert!(
        exemplar_ids.contains(TRACE_ID),
        "the traced request's id is an exemplar: {exemplar_ids:?}\n{openmetrics}"
    );
    app.stop().await;

    let captured = captured.lock().unwrap().clone();
    let mut loki_lines = Vec::new();
    let mut spans = Vec::new();
    for (kind, body) in captured {
        if kind == "loki" {
            let raw = snap::raw::Decoder::new()
                .decompress_vec(&body)
                .expect("Loki pushes are snappy-compressed");
            let push = loki_api::logproto::PushRequest::decode(raw.as_slice())
                .expect("a Loki PushRequest");
            for stream in push.streams {
                assert!(
                    stream.labels.contains(r#"service="users""#),
                    "labels: {}",
                    stream.labels
                );
                loki_lines.extend(stream.entries.into_iter().map(|e| e.line));
            }
        } else {
            let req = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(body.as_ref())
                .expect("an OTLP ExportTraceServiceRequest");
            for rs in req.resource_spans {
                for ss in rs.scope_spans {
                    spans.extend(ss.spans);
                }
            }
        }
    }
    assert!(
        loki_lines.iter().any(|l| l.contains("request completed")),
        "Loki got request logs: {loki_lines:?}"
    );
    for line in &loki_lines {
        for secret in [EMAIL, PASSWORD, token.as_str()] {
            assert!(!line.contains(secret), "secret shipped to Loki: {line}");
        }
    }
    let trace_id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&TRACE_ID[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let server = spans
        .iter()
        .find(|s| s.name == "GET /api/profile/me")
        .unwrap_or_else(|| {
            panic!(
                "server span exported; got {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
    assert_eq!(
        server.trace_id, trace_id,
        "the span continues the incoming trace"
    );
    assert_eq!(server.kind, 2, "SPAN_KIND_SERVER");
    let db_child = spans.iter().any(|s| {
        s.trace_id == trace_id
            && s.parent_span_id == server.span_id
            && s.name.starts_with("select_")
    });
    assert!(db_child, "database calls are child spans of the request");
    // The registration's event carries the trace across the bus.
    let publish = spans
        .iter()
        .find(|s| s.name == "user.events publish")
        .expect("a producer span for user.events");
    assert_eq!(
        publish.trace_id, trace_id,
        "the relay's publish continues the request's trace"
    );
    assert_eq!(publish.kind, 4, "SPAN_KIND_PRODUCER");
    // Each exemplar links to a trace the collector received.
    let exported: std::collections::BTreeSet<String> = spans
        .iter()
        .map(|s| s.trace_id.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    for id in &exemplar_ids {
        assert!(exported.contains(id), "exemplar trace {id} was exported");
    }
    assert!(
        exemplar_ids.len() >= 3,
        "several exemplars: {exemplar_ids:?}"
    );
}

#[tokio::test]
async fn a_port_in_use_is_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = support::command()
        .args(["serve", "--target", "users", "--port", &port, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("port {port}")) && stderr.contains("already in use"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

#[tokio::test]
async fn bad_configuration_is_refused_with_a_clear_message() {
    let out = support::command()
        .args(["serve", "--database-url", "mysql://root@127.0.0.1/banter"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unsupported scheme `mysql`"), "{stderr}");
    let out = support::command()
        .args(["serve", "--target", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
    let help = support::command().arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("serve"));
}

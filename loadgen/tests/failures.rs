//! A deployment with a broken route, as a user would meet it: loadgen's
//! seed-benchmark journey against a stand-in API whose friend requests answer
//! 404. The run record keeps the status code and a sample of the failures
//! (route, body, request id), the reports show them, and `slo check --run`
//! (built-in spec) names journey correctness as breached while availability
//! (5xx only) holds.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use loadgen::context::JourneySettings;
use loadgen::profile::{Plan, ProfileName, Request};
use loadgen::target::Targets;
use loadgen::{Journey, RunConfig};
use serde_json::json;

static NEXT_ID: AtomicI64 = AtomicI64::new(1);

fn with_request_id(status: StatusCode, body: serde_json::Value) -> impl IntoResponse {
    let mut h = HeaderMap::new();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    h.insert("x-request-id", format!("req-{id}").parse().unwrap());
    (status, h, axum::Json(body))
}

/// Users work; the friend-request route is broken (404 for a user who exists).
fn broken_friends() -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/api/auth/register",
            post(|| async {
                let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                with_request_id(StatusCode::CREATED, json!({"id": id}))
            }),
        )
        .route(
            "/api/auth/login",
            post(|| async { with_request_id(StatusCode::OK, json!({"access_token": "t"})) }),
        )
        .route(
            "/api/profile/me",
            get(|| async { with_request_id(StatusCode::OK, json!({"id": 0})) }),
        )
        .route(
            "/api/users/search",
            get(|| async { with_request_id(StatusCode::OK, json!({"users": []})) }),
        )
        .route(
            "/api/friends/request",
            post(|| async {
                with_request_id(
                    StatusCode::NOT_FOUND,
                    json!({"code": "user_not_found", "detail": "no user with id 2"}),
                )
            }),
        )
        .route(
            "/api/friends/status/{id}",
            put(|| async { with_request_id(StatusCode::OK, json!({"status": "accepted"})) }),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_route_is_diagnosed_from_the_record_and_the_reports() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, broken_friends()).await });
    let out = tempfile::tempdir().unwrap();
    let config = RunConfig {
        targets: Targets::single(&base).unwrap(),
        journeys: vec![Journey::SeedBenchmark],
        plan: Plan::new(
            ProfileName::Smoke,
            &Request {
                users: Some(2),
                duration: Some(std::time::Duration::from_secs(3)),
                warmup: Some(std::time::Duration::ZERO),
                ..Request::default()
            },
        )
        .unwrap(),
        settings: JourneySettings::default(),
        out: Some(out.path().to_owned()),
        metrics_port: None,
        progress: false,
        slo_spec: None,
        max_stages: 1,
        rate_factor: 1.5,
    };
    let output = loadgen::run(&config).await.unwrap();
    let record = output.record;
    assert!(!record.interrupted);

    let step = record.step("seed-benchmark/send-friend-request").unwrap();
    assert!(step.errors.status > 0, "{step:?}");
    assert_eq!(
        step.error_statuses.get("404").copied(),
        Some(step.errors.status)
    );
    let f = &step.failures[0];
    assert_eq!(
        (f.method.as_str(), f.route.as_str(), f.status),
        ("POST", "/api/friends/request", Some(404))
    );
    assert!(f.body.as_deref().unwrap().contains("user_not_found"));
    assert!(f.request_id.as_deref().unwrap().starts_with("req-"));
    // The original returns after a failed friend request: nothing later runs.
    assert!(record.step("seed-benchmark/open-room").is_none());

    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.contains("## Errors"), "{md}");
    let row = md
        .lines()
        .find(|l| l.starts_with("| seed-benchmark/send-friend-request |"))
        .unwrap();
    assert!(row.contains("404 ×"), "{row}");
    assert!(
        md.contains("`POST /api/friends/request` | 404 |") && md.contains("user_not_found"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.contains("id=\"errors\"") && html.contains("/api/friends/request"));
    let summary = loadgen::report::summary(&record);
    assert!(
        summary.contains(
            "first failure of seed-benchmark/send-friend-request: POST /api/friends/request → 404"
        ),
        "{summary}"
    );

    // The verdict: a 404 is the journey's failure, not the service's availability.
    let (spec, name) = slo::objectives::load_or_builtin(None).unwrap();
    let mut spec = spec;
    spec.select(&["friends-availability".into(), "journey-correctness".into()])
        .unwrap();
    let report = slo::objectives::check_run(&spec, &name, &record, "run.json").await;
    assert_eq!(
        slo::objectives::failed(&report),
        vec!["journey-correctness"]
    );
    assert_eq!(report.exit_code(), 1);
    assert!(report.summary().contains("(failed: journey-correctness)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_is_marked_and_exits_non_zero() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, broken_friends()).await });
    let out = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "run",
            "--target-url",
            &base,
            "--journey",
            "seed-benchmark",
            "--profile",
            "smoke",
            "--users",
            "2",
            "--warmup",
            "0s",
            "--duration",
            "30s",
            "--quiet",
            "--out",
        ])
        .arg(out.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    // Ctrl-C, as a user stops a run.
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("the run was interrupted"), "{stderr}");
    let record = runrecord::RunRecord::read(out.path().join("run.json")).unwrap();
    assert!(record.interrupted);
    assert_eq!(record.requested_seconds, Some(30.0));
    assert!(
        record.window.seconds() < 10.0,
        "{}",
        record.window.seconds()
    );
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.contains("Interrupted run:"), "{md}");
}

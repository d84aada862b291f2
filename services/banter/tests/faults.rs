//! Faults switched on through the admin surface of a platform built by
//! kit's runner with real modules (users and friends, as `banter serve`
//! composes them), each shown by its effect: injected 503s, slower database
//! calls, events held in the outbox and then all delivered, events
//! dead-lettered, memory retained and given back, CPU taken, Redis gone;
//! plus the `fault_active` gauge, the admin surface's locks, and
//! `banter serve --fault`.
#![allow(clippy::unwrap_used)]

mod support;

use friends::Friends;
use kit::events::{StartFrom, Subscription, topics};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use testkit::{AppBuilder, Backend, SpawnedApp, eventually, next_of_kind};
use users::Users;

const SECRET: &str = "faults-test-secret-0123456789";

fn users_config() -> users::Config {
    users::Config {
        hash_concurrency: 2,
        ..Default::default()
    }
}

/// Users and friends on `backend`, `/admin/faults` open to [`SECRET`] when
/// `secret`; `probe` subscribes a consumer group of the test's own to a topic
/// before anything is published.
async fn platform_on(
    backend: Backend,
    secret: bool,
    probe: Option<&str>,
) -> (SpawnedApp, Option<Box<dyn Subscription>>) {
    let mut builder = AppBuilder::new(backend)
        .module::<Users>(users_config())
        .module::<Friends>(friends::Config::default());
    if secret {
        builder = builder.admin_secret(SECRET);
    }
    let assembled = builder.assemble().await;
    let sub = match probe {
        Some(topic) => Some(
            assembled
                .ctx()
                .bus
                .subscribe(topic, "faults-test-probe", StartFrom::Earliest)
                .await
                .unwrap(),
        ),
        None => None,
    };
    (assembled.serve().await, sub)
}

/// [`platform_on`] SQLite.
async fn platform(
    secret: bool,
    probe: Option<&str>,
) -> (SpawnedApp, Option<Box<dyn Subscription>>) {
    platform_on(Backend::Sqlite, secret, probe).await
}

/// The faults that act on the database and the outbox, on each backend.
macro_rules! on_both {
    ($($name:ident),*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(testkit::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(testkit::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both!(
    db_latency_slows_the_services_routes,
    bus_stall_holds_events_in_the_outbox_and_loses_none,
    consumer_failures_send_events_to_the_dead_letter_topic
);

async fn admin(
    app: &SpawnedApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut req = app
        .client
        .request(method, app.url(path))
        .bearer_auth(SECRET);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// Switches a fault on; its id.
async fn switch_on(app: &SpawnedApp, body: Value) -> u64 {
    let res = admin(
        app,
        reqwest::Method::POST,
        "/admin/faults",
        Some(body.clone()),
    )
    .await;
    let status = res.status();
    let fault: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body} -> {fault}");
    fault["id"].as_u64().unwrap()
}

async fn switch_off(app: &SpawnedApp, id: u64) {
    let res = admin(
        app,
        reqwest::Method::DELETE,
        &format!("/admin/faults/{id}"),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// The value of `fault_active{fault=kind,service}` on `/metrics`, if present.
async fn fault_active(app: &SpawnedApp, kind: &str, service: &str) -> Option<f64> {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("fault_active{"))
        .find(|l| {
            l.contains(&format!("fault=\"{kind}\""))
                && l.contains(&format!("service=\"{service}\""))
        })
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_surface_does_not_exist_without_a_secret() {
    let (app, _) = platform(false, None).await;
    let res = admin(&app, reqwest::Method::GET, "/admin/faults", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = admin(
        &app,
        reqwest::Method::POST,
        "/admin/faults",
        Some(json!({"kind": "bus-stall", "service": "users"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(app.ctx.faults.active().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_surface_needs_its_secret_and_no_user_token_opens_it() {
    let (app, _) = platform(true, None).await;
    let res = app.get("/admin/faults", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "NOT_AUTHENTICATED");

    let res = app
        .get("/admin/faults", Some("not-the-secret-at-all"))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "INVALID_ADMIN_SECRET"
    );

    let (_, token) = app.http.register_and_login("admin_probe", None).await;
    let res = app
        .post_json(
            "/admin/faults",
            &json!({"kind": "http-errors", "service": "users"}),
            Some(&token),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "a user's access token"
    );
    assert!(app.ctx.faults.active().is_empty());

    let res = admin(&app, reqwest::Method::GET, "/admin/faults", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"faults": []}));

    let res = admin(
        &app,
        reqwest::Method::POST,
        "/admin/faults",
        Some(json!({"kind": "http-errors", "service": "chat"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_FAULT");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no service `chat`"),
        "{body}"
    );

    for (path, status) in [
        ("/admin/faults/nope", StatusCode::UNPROCESSABLE_ENTITY),
        ("/admin/faults/99", StatusCode::NOT_FOUND),
        ("/admin/faults?kind=meteor", StatusCode::BAD_REQUEST),
    ] {
        let res = admin(&app, reqwest::Method::DELETE, path, None).await;
        assert_eq!(res.status(), status, "{path}");
        assert!(
            res.json::<Value>().await.unwrap()["code"].is_string(),
            "{path}"
        );
    }

    let openapi = app.get("/openapi.json", None).await.text().await.unwrap();
    assert!(
        openapi.contains("/api/profile/me"),
        "the document is the real one"
    );
    assert!(
        !openapi.contains("/admin"),
        "the admin surface is not public"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_errors_answer_a_share_of_requests_with_503_until_switched_off() {
    let (app, _) = platform(true, None).await;
    let route = "/api/users/{user_id}";
    let id = switch_on(
        &app,
        json!({"kind": "http-errors", "service": "users", "share": 0.5, "route": route}),
    )
    .await;
    assert_eq!(fault_active(&app, "http-errors", "users").await, Some(1.0));

    let mut injected = 0;
    for _ in 0..200 {
        let res = app.get("/api/users/1", None).await;
        match res.status() {
            StatusCode::SERVICE_UNAVAILABLE => {
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["code"], "FAULT_INJECTED", "{body}");
                injected += 1;
            }
            // Without a token, the route's own answer.
            status => assert_eq!(status, StatusCode::UNAUTHORIZED),
        }
    }
    assert!(
        (60..=140).contains(&injected),
        "{injected} of 200 with share 0.5"
    );
    for _ in 0..20 {
        let res = app.get("/api/users/search?q=a", None).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "another route is spared"
        );
    }

    switch_off(&app, id).await;
    for _ in 0..50 {
        let res = app.get("/api/users/1", None).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "after the fault ended"
        );
    }
    assert_eq!(fault_active(&app, "http-errors", "users").await, Some(0.0));
}

async fn timed_me(app: &SpawnedApp, token: &str) -> Duration {
    let start = Instant::now();
    let res = app.get("/api/profile/me", Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    start.elapsed()
}

async fn db_latency_slows_the_services_routes(backend: Backend) {
    let (app, _) = platform_on(backend, true, None).await;
    let (_, token) = app.http.register_and_login("slow_db", None).await;
    let mut before = Vec::new();
    for _ in 0..5 {
        before.push(timed_me(&app, &token).await);
    }
    before.sort();

    let id = switch_on(
        &app,
        json!({"kind": "db-latency", "service": "users", "latency_ms": "200..250"}),
    )
    .await;
    for _ in 0..3 {
        let took = timed_me(&app, &token).await;
        assert!(
            took >= Duration::from_millis(200),
            "{took:?} with the fault"
        );
        assert!(
            took > before[2] + Duration::from_millis(150),
            "{took:?} vs {before:?}"
        );
    }

    switch_off(&app, id).await;
    let mut after = Vec::new();
    for _ in 0..5 {
        after.push(timed_me(&app, &token).await);
    }
    after.sort();
    assert!(
        after[2] < Duration::from_millis(200),
        "{after:?} after the fault"
    );
}

async fn bus_stall_holds_events_in_the_outbox_and_loses_none(backend: Backend) {
    let (app, sub) = platform_on(backend, true, Some(topics::USER_EVENTS)).await;
    let mut sub = sub.unwrap();
    switch_on(&app, json!({"kind": "bus-stall", "service": "users"})).await;

    let mut ids = Vec::new();
    for name in ["stall_a", "stall_b", "stall_c"] {
        ids.push(app.http.register_and_login(name, None).await.0);
    }
    assert!(
        next_of_kind(&mut *sub, "UserRegistered", Duration::from_millis(1500))
            .await
            .is_none(),
        "nothing leaves the outbox while the relay is stalled"
    );
    let friends = app.module::<Friends>();
    assert!(!friends.app.knows_user(ids[0]).await.unwrap());

    let res = admin(
        &app,
        reqwest::Method::DELETE,
        "/admin/faults?kind=bus-stall&service=users",
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap()["faults"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let mut seen = Vec::new();
    while seen.len() < ids.len() {
        let event = next_of_kind(&mut *sub, "UserRegistered", Duration::from_secs(10))
            .await
            .expect("every held event arrives once the stall ends");
        seen.push(event.subject.parse::<i64>().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, ids);
    for id in ids {
        eventually("the friends read model to learn of the user", || {
            let friends = friends.clone();
            async move { friends.app.knows_user(id).await.unwrap() }
        })
        .await;
    }
}

async fn consumer_failures_send_events_to_the_dead_letter_topic(backend: Backend) {
    let dlq = kit::events::dead_letter_topic(topics::USER_EVENTS);
    let (app, sub) = platform_on(backend, true, Some(&dlq)).await;
    let mut dead = sub.unwrap();
    let id = switch_on(
        &app,
        json!({"kind": "consumer-failures", "service": "friends", "consumer": topics::USER_EVENTS}),
    )
    .await;

    let (failed, _) = app.http.register_and_login("doomed", None).await;
    let event = next_of_kind(&mut *dead, "UserRegistered", Duration::from_secs(10))
        .await
        .expect("the failing event is dead-lettered after its retries");
    assert_eq!(event.subject, failed.to_string());
    let friends = app.module::<Friends>();
    assert!(!friends.app.knows_user(failed).await.unwrap());

    switch_off(&app, id).await;
    let (fine, _) = app.http.register_and_login("spared", None).await;
    eventually("the next event to be handled", || {
        let friends = friends.clone();
        async move { friends.app.knows_user(fine).await.unwrap() }
    })
    .await;
    assert!(
        next_of_kind(&mut *dead, "UserRegistered", Duration::from_millis(300))
            .await
            .is_none()
    );
}

/// Resident memory of this process, in MiB.
fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096.0 / (1 << 20) as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_growth_retains_memory_and_gives_it_back() {
    let (app, _) = platform(true, None).await;
    let base = rss_mb();
    let id = switch_on(
        &app,
        json!({"kind": "memory-growth", "service": "users", "mb_per_sec": 200, "max_mb": 120}),
    )
    .await;
    eventually("resident memory to grow by 100 MiB", || async {
        rss_mb() > base + 100.0
    })
    .await;
    let peak = rss_mb();
    switch_off(&app, id).await;
    eventually("the retained memory to be given back", || async {
        rss_mb() < peak - 80.0
    })
    .await;
}

/// CPU time this process has used (user + system), from /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which may hold spaces) start at 3.
    let rest = stat.rsplit_once(") ").unwrap().1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_starvation_burns_cpu_for_its_duration_and_ends_by_itself() {
    let (app, _) = platform(true, None).await;
    let start = cpu_time();
    switch_on(
        &app,
        json!({"kind": "cpu-starvation", "service": "users", "duration": "1s"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let burnt = cpu_time() - start;
    // A core for a second, less what other processes on the machine take.
    assert!(burnt >= Duration::from_millis(200), "{burnt:?} of CPU");
    eventually("the fault to end after its duration", || async {
        app.ctx.faults.active().is_empty()
    })
    .await;
    assert_eq!(
        fault_active(&app, "cpu-starvation", "users").await,
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependency_down_makes_redis_unreachable_until_it_ends() {
    let redis = kit::redis::connect_for_test().await;
    let ctx = kit::context::Context::embedded().with_redis(redis);
    let app = AppBuilder::new(Backend::Sqlite)
        .context(ctx)
        .admin_secret(SECRET)
        .module::<Users>(users_config())
        .serve()
        .await;
    assert_eq!(app.get("/ready", None).await.status(), StatusCode::OK);
    let id = switch_on(&app, json!({"kind": "dependency-down", "service": "users"})).await;
    let res = app.get("/ready", None).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.text().await.unwrap().contains("dependency-down"));
    switch_off(&app, id).await;
    assert_eq!(app.get("/ready", None).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_switches_faults_on_from_the_command_line() {
    let app = support::Banter::start(
        &["--fault", "http-errors:users:route=/api/users/{user_id}"],
        &[],
    )
    .await;
    let res = reqwest::get(app.url("/api/users/1")).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = reqwest::get(app.url("/api/users/search?q=a"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let lines = app.stop().await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("fault started") && l.contains("http-errors")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains("fault ended")), "{lines:?}");
    // The request the fault answered carries it as a span attribute.
    assert!(
        lines.iter().any(|l| l.contains("request failed")
            && l.contains("/api/users/{user_id}")
            && l.contains(r#""fault":"http-errors""#)),
        "{lines:?}"
    );
}

#[test]
fn serve_refuses_malformed_faults_with_exit_2() {
    for (fault, expected) in [
        ("nope:users", "unknown fault kind `nope`"),
        ("http-errors:users:share=7", "share=7 is not a share"),
        ("http-errors:nowhere", "runs no service `nowhere`"),
        ("dependency-down:users", "does not use Redis"),
    ] {
        let out = support::command()
            .args(["serve", "--port", "1", "--fault", fault])
            .env_remove("REDIS_URL")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{fault}: {stderr}");
        assert!(stderr.contains(expected), "{fault}: {stderr}");
    }
    let out = support::command()
        .args(["serve", "--port", "1", "--admin-secret", "short"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16"));
    let out = support::command()
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--fault db-latency:users:latency_ms=100..300"),
        "{help}"
    );
}

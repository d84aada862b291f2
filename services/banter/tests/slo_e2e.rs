//! The SLO tool against the real platform and a real Prometheus (Debian package
//! `prometheus`, found on PATH; the test fails without it): under a short load,
//! `slo check --prometheus` and `slo check --scrape` agree within one bucket, the
//! quantile estimate equals Prometheus's own `histogram_quantile`, the client's
//! run record agrees with both (request counts, availability, latency good
//! ratios, p95 no lower than the server's), and an impossible objective (1 ms)
//! is a breach.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use loadgen::Journey;
use runrecord::{ErrorKind, Profile, RunRecord, Target, Tool, Window};
use serde_json::{Value, json};
use slo::check::{Report, Verdict, check};
use slo::sources::prometheus::PrometheusSource;
use slo::sources::run::RunSource;
use slo::sources::scrape::{ScrapeSource, Snapshot};
use slo::spec::Spec;
use support::prometheus::Prometheus;
use support::{Banter, free_port};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../slo/specs/banter.yaml");
const PASSWORD: &str = "Passw0rd!";

struct User {
    id: i64,
    email: String,
    token: String,
}

async fn register_and_login(client: &reqwest::Client, app: &Banter, n: usize) -> User {
    let email = format!("slo{n}@example.com");
    let res = client
        .post(app.url("/api/auth/register"))
        .json(&json!({"email": email, "username": format!("slo_user{n}"), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let token = login(client, app, &email).await.1.unwrap();
    User { id, email, token }
}

async fn login(
    client: &reqwest::Client,
    app: &Banter,
    email: &str,
) -> (reqwest::StatusCode, Option<String>) {
    let res = client
        .post(app.url("/api/auth/login/json"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body["access_token"].as_str().map(str::to_owned))
}

/// Every route of the load, once, so that each series exists before the window.
async fn touch_routes(client: &reqwest::Client, app: &Banter, u: &User) {
    for path in [
        "/api/profile/me".to_owned(),
        format!("/api/users/{}", u.id),
        "/api/users/987654".to_owned(),
        "/api/users/search?query=slo".to_owned(),
    ] {
        client
            .get(app.url(&path))
            .bearer_auth(&u.token)
            .send()
            .await
            .unwrap();
    }
}

/// A bounded load of `workers` concurrent clients for `duration`: one login
/// (password hashing: slow) per five requests, the rest reads. Records the
/// client's view in a run record.
async fn load(app: &Banter, users: &[User], duration: Duration) -> RunRecord {
    let start = Utc::now();
    let mut tasks = Vec::new();
    for (w, u) in users.iter().enumerate() {
        let client = reqwest::Client::new();
        let base = app.base.clone();
        let (id, email, token) = (u.id, u.email.clone(), u.token.clone());
        tasks.push(tokio::spawn(async move {
            let mut r = RunRecord::new(
                Tool {
                    name: "slo_e2e".into(),
                    version: "0".into(),
                },
                vec![],
                Profile {
                    name: "smoke".into(),
                    parameters: Default::default(),
                },
                Window { start, end: start },
            );
            let deadline = Instant::now() + duration;
            let mut i = 0usize;
            while Instant::now() < deadline && i < 5_000 {
                let (step, req) = match (i + w) % 5 {
                    0 => (
                        "login",
                        client
                            .post(format!("{base}/api/auth/login/json"))
                            .json(&json!({"email": email, "password": PASSWORD})),
                    ),
                    1 => ("get profile", client.get(format!("{base}/api/profile/me"))),
                    2 => ("get user", client.get(format!("{base}/api/users/{id}"))),
                    3 => (
                        "missing user",
                        client.get(format!("{base}/api/users/987654")),
                    ),
                    _ => (
                        "search users",
                        client.get(format!("{base}/api/users/search?query=slo")),
                    ),
                };
                let req = if step == "login" {
                    req
                } else {
                    req.bearer_auth(&token)
                };
                let t0 = Instant::now();
                let res = req.send().await;
                let elapsed = t0.elapsed();
                let error = match &res {
                    Ok(r) if r.status().is_server_error() => Some(ErrorKind::Status),
                    Ok(_) => None,
                    Err(_) => Some(ErrorKind::Connect),
                };
                r.step_mut(Some("slo-e2e"), step, Some("users")).record(
                    Utc::now(),
                    Some(elapsed),
                    error,
                );
                i += 1;
            }
            r.window.end = Utc::now();
            r
        }));
    }
    let mut records = Vec::new();
    for t in tasks {
        records.push(t.await.unwrap());
    }
    let mut merged = RunRecord::merge_all(&records).unwrap().unwrap();
    merged.targets.push(Target {
        url: app.base.clone(),
        service: None,
        git_sha: None,
    });
    merged
}

fn spec_for_users(file: &str) -> Spec {
    let mut spec = Spec::load(file).unwrap();
    spec.select(&["users-latency".into(), "users-availability".into()])
        .unwrap();
    spec
}

fn latency_of(report: &Report) -> (f64, f64, f64) {
    let o = report
        .outcomes
        .iter()
        .find(|o| o.name == "users-latency")
        .unwrap();
    let m = o.measurement.as_ref().unwrap();
    let l = m.latency.as_ref().unwrap();
    (
        m.good_ratio.unwrap(),
        l.estimate_seconds.unwrap(),
        m.total.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_scrape_agree_on_the_platform() {
    let app = Banter::start(&[], &[]).await;
    let target = app.base.trim_start_matches("http://").to_owned();
    let prom = Prometheus::start(&target).await;
    prom.wait_for_job("banter", 1).await;

    // Warm up: users, and every route once, so no series is born inside the window.
    let client = reqwest::Client::new();
    let mut users = Vec::new();
    for n in 0..4 {
        users.push(register_and_login(&client, &app, n).await);
    }
    for u in &users {
        touch_routes(&client, &app, u).await;
    }
    // Let Prometheus see the warmed-up series at least twice.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.prom");
    Snapshot::scrape(std::slice::from_ref(&app.base))
        .await
        .unwrap()
        .write(&before)
        .unwrap();
    let from = Utc::now();
    let run = load(&app, &users, Duration::from_secs(8)).await;
    // Let Prometheus scrape the final counts.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let to = Utc::now();

    let spec = spec_for_users(SPEC);
    let via_prom = check(
        &spec,
        SPEC,
        &PrometheusSource::connect(&prom.url, from, to)
            .await
            .unwrap(),
    )
    .await;
    let scrape = ScrapeSource::scrape(std::slice::from_ref(&app.base), Some(&before))
        .await
        .unwrap();
    let via_scrape = check(&spec, SPEC, &scrape).await;
    println!(
        "{}",
        slo::render::check::render(&via_prom, slo::render::check::Format::Text)
    );
    println!(
        "{}",
        slo::render::check::render(&via_scrape, slo::render::check::Format::Text)
    );

    for r in [&via_prom, &via_scrape] {
        for o in &r.outcomes {
            assert!(
                matches!(o.verdict, Verdict::Pass | Verdict::Breach),
                "{}: {:?} {:?}",
                o.name,
                o.verdict,
                o.message
            );
        }
    }
    let requests: u64 = run.steps.iter().map(|s| s.requests).sum();
    let (good_p, p95_p, total_p) = latency_of(&via_prom);
    let (good_s, p95_s, total_s) = latency_of(&via_scrape);
    println!(
        "client sent {requests}; prometheus: {total_p:.1} requests, good {good_p:.4}, p95 {p95_p:.4}s; scrape: {total_s} requests, good {good_s:.4}, p95 {p95_s:.4}s"
    );
    // The scrape counts exactly what the client sent in the window.
    assert_eq!(total_s, requests as f64);
    // Prometheus extrapolates to the window's edges; it must still land close.
    assert!(
        (total_p - total_s).abs() / total_s < 0.35,
        "{total_p} vs {total_s}"
    );
    assert!((good_p - good_s).abs() < 0.03, "{good_p} vs {good_s}");
    // Within one bucket of each other.
    let buckets = via_scrape.outcomes[0]
        .measurement
        .as_ref()
        .unwrap()
        .latency
        .as_ref()
        .unwrap()
        .buckets
        .clone()
        .unwrap();
    let (bp, bs) = (buckets.bucket_index(p95_p), buckets.bucket_index(p95_s));
    assert!(
        bp.abs_diff(bs) <= 1,
        "p95 {p95_p} (bucket {bp}) vs {p95_s} (bucket {bs})"
    );
    assert_eq!(
        via_prom.outcomes[0].verdict, via_scrape.outcomes[0].verdict,
        "latency verdicts differ"
    );
    assert_eq!(
        via_prom.outcomes[1].verdict, via_scrape.outcomes[1].verdict,
        "availability verdicts differ"
    );

    // Our estimate equals Prometheus's histogram_quantile on the same buckets.
    let prom_src = PrometheusSource::connect(&prom.url, from, to)
        .await
        .unwrap();
    let window = format!(
        "{}s",
        ((to - from).num_milliseconds() as f64 / 1000.0).round()
    );
    let theirs = prom_src
        .instant(&format!(
            "histogram_quantile(0.95, sum by (le) (increase(http_server_request_duration_seconds_bucket{{service=\"users\"}}[{window}])))"
        ))
        .await
        .unwrap();
    assert!(
        (theirs[0].1 - p95_p).abs() <= 1e-9 * p95_p.max(1.0),
        "histogram_quantile says {}, slo says {p95_p}",
        theirs[0].1
    );

    // The same window as `slo compare --prometheus` sees it: one step per route.
    let as_run = prom_src
        .run(
            "window",
            "http_server_request_duration_seconds",
            r#"service!="banter""#,
        )
        .await
        .unwrap();
    let profile = as_run
        .steps
        .iter()
        .find(|s| s.key == "users GET /api/profile/me")
        .unwrap_or_else(|| {
            panic!(
                "{:?}",
                as_run.steps.iter().map(|s| &s.key).collect::<Vec<_>>()
            )
        });
    assert!(profile.requests > 0);
    let same = slo::compare::compare(as_run.clone(), as_run, slo::compare::Criterion::defaults());
    assert_eq!(same.exit_code(), 0);

    // An impossible objective (95 % within 1 ms) is a breach: exit code 1.
    let strict_file = dir.path().join("strict.yaml");
    std::fs::write(
        &strict_file,
        std::fs::read_to_string(SPEC)
            .unwrap()
            .replace("threshold: 200ms", "threshold: 1ms"),
    )
    .unwrap();
    let strict = spec_for_users(strict_file.to_str().unwrap());
    let strict_prom = check(&strict, "strict.yaml", &prom_src).await;
    assert_eq!(strict_prom.outcomes[0].verdict, Verdict::Breach);
    assert_eq!(strict_prom.exit_code(), 1);
    let strict_scrape = check(&strict, "strict.yaml", &scrape).await;
    assert_eq!(strict_scrape.exit_code(), 1);

    // The client's view from the run record of the same load.
    let run_file = dir.path().join("run.json");
    run.write(&run_file).unwrap();
    let via_run = check(&spec, SPEC, &RunSource::read(&run_file).unwrap()).await;
    println!(
        "{}",
        slo::render::check::render(&via_run, slo::render::check::Format::Text)
    );
    let (good_r, _, total_r) = latency_of(&via_run);
    assert_eq!(total_r, requests as f64);
    // The client sees a little more latency than the server, never less.
    assert!(
        good_r <= good_s + 0.02,
        "client {good_r} vs server {good_s}"
    );

    // The three sources agree (issue 14, item 3): request counts, availability
    // with one meaning (5xx), latency good ratios to the bucket's precision, and
    // the client's p95 at or above the server's.
    let availability = |r: &Report| {
        let m = r.outcomes[1].measurement.as_ref().unwrap();
        (m.total.unwrap(), m.good_ratio.unwrap())
    };
    let (avail_total_p, avail_p) = availability(&via_prom);
    let (avail_total_s, avail_s) = availability(&via_scrape);
    let (avail_total_r, avail_r) = availability(&via_run);
    let client_p95 = run
        .steps
        .iter()
        .fold(runrecord::LatencyHistogram::new(), |mut h, s| {
            h.add(&s.latency).unwrap();
            h
        })
        .quantile_us(0.95) as f64
        / 1e6;
    let pairs = buckets.pairs();
    let server_bucket = buckets.bucket_index(p95_s);
    let server_floor = if server_bucket == 0 {
        0.0
    } else {
        pairs[server_bucket - 1].0
    };
    println!(
        "agreement: requests client {avail_total_r} / scrape {avail_total_s} / prometheus {avail_total_p:.1} \
         ({:+.1} %); availability good client {avail_r:.5} / scrape {avail_s:.5} / prometheus {avail_p:.5}; \
         latency good (≤ 200 ms) client {good_r:.4} / scrape {good_s:.4} / prometheus {good_p:.4}; \
         p95 client {:.1} ms (HDR) ≥ server {:.1} ms (bucket {server_floor}..{} s)",
        (avail_total_p - avail_total_s) / avail_total_s * 100.0,
        client_p95 * 1e3,
        p95_s * 1e3,
        pairs[server_bucket].0
    );
    // The scrape sees exactly the client's requests: nothing in flight at the
    // edges, since the snapshots bracket the load.
    // (The availability totals come back through a rate × window: rounded.)
    assert_eq!(avail_total_s.round(), avail_total_r);
    assert_eq!(avail_total_s.round(), total_s);
    assert!((avail_total_p - avail_total_s).abs() / avail_total_s < 0.35);
    // One meaning of availability: the same bad events on every side.
    assert!((avail_s - avail_r).abs() < 1e-9, "{avail_s} vs {avail_r}");
    assert!((avail_p - avail_s).abs() < 0.001, "{avail_p} vs {avail_s}");
    // The client's p95 includes the network and the client: at least the lower
    // bound of the server's p95 bucket (the server's own figure is interpolated).
    assert!(
        client_p95 >= server_floor,
        "client p95 {client_p95} below the server's bucket {server_floor}"
    );

    // An unreachable Prometheus is an error, not a pass.
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let err = PrometheusSource::connect(&nobody, from, to)
        .await
        .err()
        .unwrap();
    assert!(err.0.contains("cannot reach Prometheus"), "{err}");

    drop(prom);
    app.stop().await;
}

/// Per service, under loadgen's four journeys: what the client sent, what the
/// platform's /metrics counted (scrape between two snapshots) and what
/// Prometheus counted agree; the run record's window (warm-up and the plan's
/// tail left out) holds no more than what was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_counts_the_same_requests_in_every_source() {
    use loadgen::profile::{Plan, ProfileName, Request};
    let app = Banter::start(&[], &[]).await;
    let target = app.base.trim_start_matches("http://").to_owned();
    let prom = Prometheus::start(&target).await;
    prom.wait_for_job("banter", 1).await;
    // Every route's series exists before the window: one short run first.
    let config = |seconds| loadgen::RunConfig {
        targets: loadgen::target::Targets::single(&app.base).unwrap(),
        journeys: Journey::ALL.to_vec(),
        plan: Plan::new(
            ProfileName::Smoke,
            &Request {
                users: Some(6),
                duration: Some(Duration::from_secs(seconds)),
                warmup: Some(Duration::ZERO),
                ..Request::default()
            },
        )
        .unwrap(),
        settings: Default::default(),
        out: None,
        metrics_port: None,
        progress: false,
        slo_spec: None,
        max_stages: 1,
        rate_factor: 1.5,
    };
    loadgen::run(&config(2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let before = Snapshot::scrape(std::slice::from_ref(&app.base))
        .await
        .unwrap();
    let from = Utc::now();
    let output = loadgen::run(&config(8)).await.unwrap();
    // Streams closed by the run's end finish on the server a moment later.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let to = Utc::now();
    let after = Snapshot::scrape(std::slice::from_ref(&app.base))
        .await
        .unwrap();

    let mut spec = slo::objectives::builtin();
    // Per-service availability of the services the journeys exercise (all of
    // Banter's; a `required: false` objective may be one no journey reaches).
    spec.slos
        .retain(|s| s.name.ends_with("-availability") && s.service.is_some() && s.required);
    let scrape = ScrapeSource::from_snapshots(Some(&before), &after).unwrap();
    let via_scrape = check(&spec, "built in", &scrape).await;
    let via_prom = check(
        &spec,
        "built in",
        &PrometheusSource::connect(&prom.url, from, to)
            .await
            .unwrap(),
    )
    .await;
    let via_run = slo::objectives::check_run(&spec, "built in", &output.record, "run").await;
    for (i, slo) in spec.slos.iter().enumerate() {
        let service = slo.service.clone().unwrap();
        let total = |r: &Report| r.outcomes[i].measurement.as_ref().unwrap().total.unwrap();
        let sent = output.sent_per_service[&service] as f64;
        // The scrape's counts come back through a rate × window: round them.
        let (s, p, w) = (
            total(&via_scrape).round(),
            total(&via_prom),
            total(&via_run),
        );
        println!(
            "{service}: sent {sent}, scrape {s}, prometheus {p:.1} ({:+.1} %), run record window {w}",
            (p - s) / s * 100.0
        );
        // Only requests in flight when the run stopped may be missing on the server.
        assert!(
            s <= sent && sent - s <= 6.0,
            "{service}: sent {sent}, scraped {s}"
        );
        assert!(
            (p - s).abs() / s < 0.35,
            "{service}: prometheus {p} vs scrape {s}"
        );
        assert!(w <= sent && w > 0.0, "{service}: window {w} vs sent {sent}");
        // One meaning of availability: the same verdict from every source.
        assert_eq!(via_scrape.outcomes[i].verdict, via_prom.outcomes[i].verdict);
    }
    drop(prom);
    app.stop().await;
}

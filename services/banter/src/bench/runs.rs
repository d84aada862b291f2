//! One measured run each: a platform started fresh (SQLite in a temporary
//! directory, or a PostgreSQL database made for the run), load from loadgen
//! or wrk, and what the platform's process used meanwhile (CPU, RSS).

use super::measure::{self, Memory, RssSampler};
use crate::platform::Platform;
use anyhow::Context as _;
use loadgen::Journey;
use loadgen::profile::{Plan, ProfileName, Request};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// How the platform of one run is started.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Added to `banter serve` (telemetry, rate limit, storage).
    pub args: Vec<String>,
    /// Name of the run, for its log file.
    pub name: String,
}

impl Setup {
    pub fn new(name: &str, args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            name: name.to_owned(),
        }
    }
}

/// A running platform and where to reach it.
pub struct Running {
    platform: Platform,
    pub base: String,
    pub pid: u32,
    _data: tempfile::TempDir,
}

impl Running {
    pub async fn start(setup: &Setup, out: &Path) -> anyhow::Result<Self> {
        let data = tempfile::Builder::new()
            .prefix("banter-bench-")
            .tempdir()
            .context("cannot create a data directory")?;
        let port = crate::demo::free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let log = out.join(format!("platform-{}.log", setup.name));
        let mut platform = Platform::start(port, data.path(), &log, &setup.args, &[])?;
        platform.wait_ready(&base).await?;
        let pid = platform.pid().context("the platform has no process id")?;
        Ok(Self {
            platform,
            base,
            pid,
            _data: data,
        })
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(reason) = self.platform.exited() {
            anyhow::bail!("the platform stopped during the run: {reason}");
        }
        self.platform.stop().await;
        Ok(())
    }
}

/// What a loadgen run measured, client and server side.
#[derive(Debug, Clone, Serialize)]
pub struct LoadRun {
    pub seconds: f64,
    pub requests: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    /// Completed seed-benchmark iterations (its last step) per second.
    pub journeys_per_second: f64,
    pub server_cpu_us_per_request: f64,
    pub client_cpu_us_per_request: f64,
    pub memory: Memory,
    /// step → (p50, p95, p99) in ms.
    pub steps: Vec<StepLatency>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepLatency {
    pub step: String,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl LoadRun {
    pub fn worst_p95_ms(&self) -> f64 {
        self.steps.iter().map(|s| s.p95_ms).fold(0.0, f64::max)
    }
}

/// Runs `journeys` with `users` (closed model) for `secs` on a fresh platform.
pub async fn load(
    setup: &Setup,
    out: &Path,
    profile: ProfileName,
    journeys: &[Journey],
    users: usize,
    secs: u64,
) -> anyhow::Result<LoadRun> {
    let request = Request {
        users: Some(users),
        duration: Some(Duration::from_secs(secs)),
        ..Default::default()
    };
    load_plan(setup, out, profile, journeys, &request).await
}

/// Runs `journeys` as `request` asks (closed model with users, open model
/// with a rate) on a fresh platform.
pub async fn load_plan(
    setup: &Setup,
    out: &Path,
    profile: ProfileName,
    journeys: &[Journey],
    request: &Request,
) -> anyhow::Result<LoadRun> {
    let running = Running::start(setup, out).await?;
    let plan = Plan::new(profile, request).map_err(anyhow::Error::msg)?;
    let config = crate::demo::run_config(&running.base, journeys.to_vec(), plan, None, true)?;
    let sampler = RssSampler::start(running.pid);
    let server_before = measure::cpu_seconds(running.pid)?;
    // The load generator is the only busy thread of this process meanwhile.
    let client_before = measure::cpu_seconds(std::process::id())?;
    let output = crate::demo::run_load(config).await?;
    let client_cpu = measure::cpu_seconds(std::process::id())? - client_before;
    let server_cpu = measure::cpu_seconds(running.pid)? - server_before;
    let memory = sampler.finish();
    running.stop().await?;

    let record = output.record;
    let seconds = record.window.seconds().max(1e-3);
    let requests: u64 = record.steps.iter().map(|s| s.requests).sum();
    let errors: u64 = record.steps.iter().map(|s| s.errors.total()).sum();
    let journeys = record
        .steps
        .iter()
        .filter(|s| s.name == "read-messages" && s.journey.as_deref() == Some("seed-benchmark"))
        .map(|s| s.requests)
        .sum::<u64>();
    let per = |cpu: f64| cpu * 1e6 / requests.max(1) as f64;
    let steps = record
        .steps
        .iter()
        .map(|s| {
            let q = |p: f64| s.latency.hdr().value_at_quantile(p) as f64 / 1000.0;
            StepLatency {
                step: s.key(),
                requests: s.requests,
                errors: s.errors.total(),
                p50_ms: q(0.50),
                p95_ms: q(0.95),
                p99_ms: q(0.99),
            }
        })
        .collect();
    Ok(LoadRun {
        seconds,
        requests,
        errors,
        requests_per_second: requests as f64 / seconds,
        journeys_per_second: journeys as f64 / seconds,
        server_cpu_us_per_request: per(server_cpu),
        client_cpu_us_per_request: per(client_cpu),
        memory,
        steps,
    })
}

/// A wrk run on one authenticated route, with the server's CPU per request.
#[derive(Debug, Clone, Serialize)]
pub struct RouteRun {
    pub requests_per_second: f64,
    pub server_cpu_us_per_request: f64,
    pub client_cpu_us_per_request: f64,
}

/// `GET /api/profile/me` with wrk for `secs` on a fresh platform.
pub async fn hot_route(setup: &Setup, out: &Path, secs: u64) -> anyhow::Result<RouteRun> {
    let running = Running::start(setup, out).await?;
    let token = login(&running.base).await?;
    let url = format!("{}/api/profile/me", running.base);
    // A short warm-up (connections, caches), not measured.
    measure::wrk(&url, &token, 8, 1).await?;
    let before = measure::cpu_seconds(running.pid)?;
    let run = measure::wrk(&url, &token, 8, secs).await?;
    let server_cpu = measure::cpu_seconds(running.pid)? - before;
    running.stop().await?;
    let per = |cpu: f64| cpu * 1e6 / run.requests.max(1) as f64;
    Ok(RouteRun {
        requests_per_second: run.per_second,
        server_cpu_us_per_request: per(server_cpu),
        client_cpu_us_per_request: per(run.client_cpu_seconds),
    })
}

/// Registers a user and returns its access token.
async fn login(base: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let password = "Bench-pass-1!";
    let res = client
        .post(format!("{base}/api/auth/register"))
        .json(&serde_json::json!({
            "email": "bench@example.com", "username": "bench", "password": password
        }))
        .send()
        .await?;
    anyhow::ensure!(res.status().is_success(), "register: {}", res.status());
    let res = client
        .post(format!("{base}/api/auth/login"))
        .form(&[("username", "bench@example.com"), ("password", password)])
        .send()
        .await?;
    anyhow::ensure!(res.status().is_success(), "login: {}", res.status());
    let body: serde_json::Value = res.json().await?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the login response")
}

/// Time of one argon2id hash with the users service's parameters, in
/// seconds (the median of a few).
pub async fn hash_seconds() -> anyhow::Result<f64> {
    let passwords = users::password::Passwords::new(1);
    let mut times = Vec::new();
    for i in 0..5 {
        let start = std::time::Instant::now();
        passwords
            .hash(format!("bench-password-{i}"))
            .await
            .map_err(|e| anyhow::anyhow!("hashing: {e:?}"))?;
        times.push(start.elapsed().as_secs_f64());
    }
    Ok(measure::median(&times))
}

/// A receiver for OTLP/HTTP traces that accepts and drops them, so "telemetry
/// on" includes exporting spans. Returns its base URL.
pub async fn trace_sink() -> anyhow::Result<String> {
    let app = axum::Router::new().route("/v1/traces", axum::routing::post(|| async { "" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(base)
}

/// A fresh PostgreSQL database on the server of `url`; returns its URL.
pub async fn fresh_postgres(url: &str, name: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot reach PostgreSQL at {}", kit::db::redact_url(url)))?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await?;
    let _ = conn.close().await;
    let (server, _) = url
        .rsplit_once('/')
        .context("a PostgreSQL URL ends in /<database>")?;
    Ok(format!("{server}/{name}"))
}

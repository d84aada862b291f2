//! One `loadgen run`: check the targets, drive goose through the profile's
//! plan, measure the window, and write the run record and reports.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goose::config::GooseConfiguration;
use goose::prelude::*;
use runrecord::{Profile, RunRecord, Target, Tool};
use serde_json::json;

use crate::context::{Arrivals, Ctx, JourneySettings};
use crate::journeys::Journey;
use crate::profile::{Model, Plan, ProfileName};
use crate::recorder::Recorder;
use crate::target::{Service, Targets};
use crate::{metrics, report};

mod capacity;
use capacity::capacity;
pub use capacity::{Capacity, Stage};

/// The tool name written into run records.
pub const TOOL: &str = "banter-loadgen";

/// Everything `loadgen run` needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub targets: Targets,
    pub journeys: Vec<Journey>,
    pub plan: Plan,
    pub settings: JourneySettings,
    /// Where run.json, report.md and report.html go (`None`: nowhere).
    pub out: Option<PathBuf>,
    pub metrics_port: Option<u16>,
    /// Print progress lines to stderr while running.
    pub progress: bool,
    /// Capacity: an SLO spec file (default: Banter's, SPEC §7).
    pub slo_spec: Option<PathBuf>,
    /// Capacity: most stages to try.
    pub max_stages: usize,
    /// Capacity: each stage's rate is the previous one times this.
    pub rate_factor: f64,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutput {
    pub record: RunRecord,
    pub files: Vec<PathBuf>,
    /// Capacity only: the highest rate that met the SLO.
    pub capacity: Option<Capacity>,
    /// Every request sent during the (last) run by service, warm-up and the
    /// plan's last second included: what the platform's own counters saw, for
    /// checking that the client and the servers agree.
    pub sent_per_service: BTreeMap<String, u64>,
}

/// Checks that every target answers `/health`, and reads its git sha from
/// `build_info` on `/metrics` when it has one.
pub async fn preflight(targets: &Targets) -> Result<Vec<Target>, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (url, services) in targets.distinct() {
        let base = url.as_str().trim_end_matches('/');
        let names: Vec<&str> = services.iter().map(|s| s.as_str()).collect();
        let health = format!("{base}/health");
        match client.get(&health).send().await {
            Err(e) => return Err(crate::target::unreachable(base, &names, &e)),
            Ok(r) if !r.status().is_success() => {
                return Err(format!(
                    "{health} answered {}; is {base} a Banter (or compatible) service?",
                    r.status()
                ));
            }
            Ok(_) => {}
        }
        let git_sha = match client.get(format!("{base}/metrics")).send().await {
            Ok(r) if r.status().is_success() => r.text().await.ok().and_then(|t| git_sha(&t)),
            _ => None,
        };
        out.push(Target {
            url: base.to_owned(),
            service: (services.len() < Service::ALL.len()).then(|| names.join(",")),
            git_sha,
        });
    }
    Ok(out)
}

/// The `git_sha` label of the first `build_info` sample in a Prometheus text page.
pub fn git_sha(metrics: &str) -> Option<String> {
    metrics
        .lines()
        .filter(|l| l.starts_with("build_info{"))
        .find_map(|l| {
            let rest = &l[l.find("git_sha=\"")? + 9..];
            let sha = &rest[..rest.find('"')?];
            (!sha.is_empty() && sha != "unknown").then(|| sha.to_owned())
        })
}

/// What the metrics endpoint shows: the run in progress.
pub type Live = Arc<Mutex<Option<(Arc<Recorder>, Arc<Ctx>)>>>;

/// Runs `cfg` (all capacity stages for the capacity profile) and writes the
/// outputs.
pub async fn run(cfg: &RunConfig) -> anyhow::Result<RunOutput> {
    if cfg.journeys.is_empty() {
        anyhow::bail!("no journey selected");
    }
    let targets = preflight(&cfg.targets).await.map_err(anyhow::Error::msg)?;
    let live: Live = Arc::new(Mutex::new(None));
    let server = match cfg.metrics_port {
        Some(port) => Some(metrics::serve(port, live.clone()).await?),
        None => None,
    };
    if let Some(out) = &cfg.out {
        std::fs::create_dir_all(out).map_err(|e| {
            anyhow::anyhow!("cannot create output directory {}: {e}", out.display())
        })?;
    }
    let result = if cfg.plan.profile == ProfileName::Capacity {
        capacity(cfg, &targets, &live).await
    } else {
        run_plan(cfg, &cfg.plan, &targets, &live, "")
            .await
            .map(|r| (r, None))
    };
    if let Some(server) = server {
        server.abort();
    }
    let (record, capacity) = result?;
    let mut sent_per_service = BTreeMap::new();
    if let Some((recorder, _)) = live.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        for step in recorder.step_totals() {
            if let Some(service) = step.id.and_then(|id| id.service) {
                *sent_per_service.entry(service.to_owned()).or_default() += step.requests;
            }
        }
    }
    let mut files = Vec::new();
    if let Some(out) = &cfg.out {
        files = write_outputs(&record, out)?;
    }
    Ok(RunOutput {
        record,
        files,
        capacity,
        sent_per_service,
    })
}

/// Writes run.json, report.md and report.html into `dir`.
pub fn write_outputs(record: &RunRecord, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let json = dir.join("run.json");
    record.write(&json)?;
    let files = report::write(record, dir)?;
    Ok([vec![json], files].concat())
}

/// `warm-up   3s/5s`, `measuring 12s/60s`, `stopping  +2s`: where the run
/// is within its current phase (users still finishing their journeys after
/// the measured window are "stopping", not past 100 %).
fn progress_clock(elapsed: Duration, warmup: Duration, total: Duration, measuring: bool) -> String {
    let secs = |d: Duration| d.as_secs_f64().round() as u64;
    if measuring {
        let into = elapsed.saturating_sub(warmup).min(total - warmup);
        format!("measuring {:>3}s/{}s", secs(into), secs(total - warmup))
    } else if elapsed < warmup {
        format!("warm-up   {:>3}s/{}s", secs(elapsed), secs(warmup))
    } else if elapsed < total {
        // Between the warm-up and the window opening (a few ms).
        format!("measuring {:>3}s/{}s", 0, secs(total - warmup))
    } else {
        format!("stopping  +{}s", secs(elapsed - total))
    }
}

fn eprint_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// The progress line's verdict on the steps: the slowest step by p95 and the
/// step with the most errors, by name.
pub fn worst_steps(steps: &[crate::recorder::StepTotals]) -> String {
    let name = |s: &crate::recorder::StepTotals| {
        s.id.map_or_else(
            || "?".to_owned(),
            |id| format!("{}/{}", id.journey, id.name),
        )
    };
    let slowest = steps
        .iter()
        .filter(|s| s.measured > 0)
        .max_by_key(|s| s.p95_us)
        .map_or_else(
            || "worst step p95 —".to_owned(),
            |s| format!("worst step p95 {} ({})", report::ms(s.p95_us), name(s)),
        );
    let failing = steps
        .iter()
        .filter(|s| s.errors.iter().sum::<u64>() > 0)
        .max_by_key(|s| s.errors.iter().sum::<u64>())
        .map(|s| {
            let kinds: Vec<String> = crate::recorder::ERROR_KINDS
                .iter()
                .zip(s.errors)
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            format!("; most errors {} ({})", name(s), kinds.join(", "))
        })
        .unwrap_or_default();
    format!("{slowest}{failing}")
}

/// One goose run of `plan`; returns its record.
pub async fn run_plan(
    cfg: &RunConfig,
    plan: &Plan,
    targets: &[Target],
    live: &Live,
    label: &str,
) -> anyhow::Result<RunRecord> {
    let recorder = Arc::new(Recorder::new());
    let started = Instant::now();
    let (arrivals, co_interval, think) = match plan.model {
        Model::Open { rate, .. } => (Some(Arrivals::new(rate, started + plan.ramp)), None, false),
        // Users pace themselves with think times of about a second.
        Model::Closed { .. } => (None, Some(Duration::from_secs(1)), true),
    };
    let ctx = Arc::new(Ctx::new(
        cfg.targets.clone(),
        recorder.clone(),
        arrivals,
        co_interval,
        cfg.settings.clone(),
    ));
    *live.lock().unwrap_or_else(|p| p.into_inner()) = Some((recorder.clone(), ctx.clone()));

    let mut attack = GooseAttack::initialize_with_config(GooseConfiguration::default())?;
    for journey in &cfg.journeys {
        attack = attack.register_scenario(journey.scenario(&ctx, think)?);
    }
    let timeout = cfg.settings.request_timeout.as_secs().max(1).to_string();
    let attack = attack
        .set_default(GooseDefault::Host, cfg.targets.host().as_str())?
        .set_default(GooseDefault::TestPlan, plan.test_plan.as_str())?
        .set_default(GooseDefault::Timeout, timeout.as_str())?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoWebSocket, true)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoErrorSummary, true)?
        .set_default(GooseDefault::Quiet, 1)?;

    // The measured window, on the wall clock of this run.
    let window = {
        let recorder = recorder.clone();
        let (warmup, duration) = (plan.warmup, plan.duration);
        tokio::spawn(async move {
            tokio::time::sleep(warmup).await;
            recorder.open_window();
            tokio::time::sleep(duration).await;
            recorder.close_window();
        })
    };
    let sweeper = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                ctx.sweep_deliveries(false);
                ctx.recorder
                    .sample_load(ctx.active_users() as u64, ctx.open_streams() as u64);
            }
        })
    };
    let progress = cfg.progress.then(|| {
        let (recorder, ctx) = (recorder.clone(), ctx.clone());
        let (warmup, total) = (plan.warmup, plan.warmup + plan.duration);
        let label = label.to_owned();
        let users = plan.users();
        tokio::spawn(async move {
            let mut last = (0u64, Instant::now());
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let (requests, errors) = recorder.totals();
                let now = Instant::now();
                let rate = (requests - last.0) as f64 / (now - last.1).as_secs_f64().max(1e-3);
                last = (requests, now);
                let steps = recorder.step_totals();
                eprint_line(&format!(
                    "{label}[{}] users {users:<4} streams {:<4} requests {requests:<7} {rate:>7.1}/s  errors {errors:<5} {}",
                    progress_clock(recorder.elapsed(), warmup, total, recorder.measuring()),
                    ctx.open_streams(),
                    worst_steps(&steps),
                ));
            }
        })
    });

    let silenced = crate::goose_output::silence();
    let result = attack.execute().await;
    drop(silenced);
    recorder.close_window();
    ctx.sweep_deliveries(true);
    ctx.close_streams();
    window.abort();
    sweeper.abort();
    if let Some(p) = progress {
        p.abort();
    }
    result.map_err(|e| anyhow::anyhow!("goose failed: {e:?}"))?;

    let (window, steps, load) = recorder.finish();
    let mut record = RunRecord::new(
        Tool {
            name: TOOL.into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        targets.to_vec(),
        Profile {
            name: plan.profile.as_str().into(),
            parameters: plan.parameters(),
        },
        window,
    );
    record.journeys = cfg.journeys.iter().map(|j| j.name().to_owned()).collect();
    record.steps = steps;
    record.load = load;
    record.requested_seconds = Some(plan.duration.as_secs_f64());
    // The seed-benchmark plan ends by ramping its users down, and goose stops
    // as soon as the last one has left: up to the ramp's length early.
    let expected = match plan.profile {
        ProfileName::SeedBenchmark => plan.duration.saturating_sub(plan.ramp),
        _ => plan.duration,
    };
    record.interrupted = cut_short(record.window.seconds(), expected);
    // Steps in journey order (the window may open mid-iteration).
    let rank = |s: &runrecord::Step| {
        let j = cfg
            .journeys
            .iter()
            .position(|j| Some(j.name()) == s.journey.as_deref())
            .unwrap_or(usize::MAX);
        let k = cfg
            .journeys
            .get(j)
            .and_then(|j| j.steps().iter().position(|n| *n == s.name))
            .unwrap_or(usize::MAX);
        (j, k)
    };
    record.steps.sort_by_key(rank);
    Ok(record)
}

/// The longest iteration among `journeys`, in seconds.
pub fn longest_iteration(journeys: &[Journey]) -> f64 {
    journeys
        .iter()
        .map(|j| j.iteration_seconds())
        .fold(0.0, f64::max)
}

/// Whether a measured window of `measured` seconds falls short of the
/// `requested` one: the run was stopped (Ctrl-C stops goose gracefully, so the
/// attack returns as if it had ended). The window closes within milliseconds of
/// the plan's end otherwise; a second of slack absorbs scheduling.
pub fn cut_short(measured: f64, requested: Duration) -> bool {
    let requested = requested.as_secs_f64();
    measured + (requested * 0.02).max(1.0) < requested
}

#[cfg(test)]
mod tests {
    use super::git_sha;

    #[test]
    fn a_window_cut_short_is_an_interrupted_run() {
        use std::time::Duration;
        assert!(!super::cut_short(29.995, Duration::from_secs(30)));
        assert!(super::cut_short(5.5, Duration::from_secs(30)));
        assert!(!super::cut_short(1795.0, Duration::from_secs(1800)));
    }

    #[test]
    fn git_sha_comes_from_build_info() {
        let page = "# TYPE build_info gauge\nbuild_info{service=\"banter\",version=\"0.1.0\",git_sha=\"4e64a6c\"} 1\n";
        assert_eq!(git_sha(page).as_deref(), Some("4e64a6c"));
        assert_eq!(git_sha("up 1\n"), None);
    }

    #[test]
    fn the_progress_clock_never_runs_past_its_phase() {
        use super::progress_clock;
        use std::time::Duration;
        let s = Duration::from_secs;
        let (warmup, total) = (s(3), s(23));
        assert_eq!(
            progress_clock(s(1), warmup, total, false),
            "warm-up     1s/3s"
        );
        assert_eq!(
            progress_clock(s(15), warmup, total, true),
            "measuring  12s/20s"
        );
        // Users finishing their journeys after the window: not "24s/23s".
        assert_eq!(progress_clock(s(24), warmup, total, false), "stopping  +1s");
        assert_eq!(
            progress_clock(s(24), warmup, total, true),
            "measuring  20s/20s"
        );
    }
}

//! `banter experiment SCENARIO.yaml`: a fault as a reproducible experiment with
//! a verdict. Starts the platform (embedded, fresh storage, or with
//! `--cluster` the split deployment through deploy/local-cluster.sh; admin
//! surface on a one-off secret), a real Prometheus with the project's rules
//! (when on PATH) scraping every process, drives steady load, switches the
//! scenario's fault on and off (through `/admin/faults`, or by freezing or
//! killing a process), lets the platform recover and drain, then reports the
//! SLO burn, the alerts and when they fired, recovery and the event ledger.

mod analysis;
mod cluster;
mod deployment;
mod fault;
mod observe;
mod prometheus;
mod report;
mod rules;
mod scenario;
mod verdict;

use crate::platform::Platform;
use anyhow::{Context as _, bail};
use deployment::Deployment;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use scenario::Scenario;

const AFTER_HELP: &str = "\
Example (experiments/high-error-rate.yaml):
  load: {journeys: [seed-benchmark, chat], users: 8}
  timeline: {steady: 20s, fault: 40s, recovery: 30s}
  fault: {kind: http-errors, service: chat, params: {share: 0.3}}
  compress: 60          # every rule range and `for:` divided by 60 (1 h -> 60 s)
  expect:
    fires:
      - {alert: BanterHighErrorRate, labels: {service: chat}, within: 30s, resolves_within: 30s}
    no_event_lost: true  # the default

  banter experiment experiments/high-error-rate.yaml --out target/exp
  banter experiment experiments/healthy.yaml        # no alert may fire
  banter experiment experiments/kill-instance.yaml --cluster --out target/exp-kill

Writes report.md, report.html (timeline: latency, error rate, burn, alert state,
the fault window shaded), report.json, run.json and the platform's and
Prometheus' logs into --out. Without `prometheus` on PATH only the burn is
measured and the report says the alerts were not evaluated (exit 2).

The split deployment (--cluster): `deploy/local-cluster.sh up` (run from the
repository's root) starts tansu, two processes of each service on PostgreSQL
and Redis, and the nginx gateway, with this binary, state and logs in
<out>/cluster, on a free range of 60 ports (or BANTER_CLUSTER_PORT_BASE),
databases and Redis keys unique to the run; every process gets the admin
surface. The load goes through the gateway; Prometheus (job banter-split,
labels target=SERVICE, process=SERVICE-I) and the burn and event ledger scrape
every process. `down` and dropping the run's databases and keys follow at the
end, also on error. Other BANTER_CLUSTER_* variables (READY_TIMEOUT,
DB_MAX_CONNECTIONS, ...; `deploy/local-cluster.sh help`) pass through.
If the command is killed before its end, stop what it left running with
`BANTER_CLUSTER_DIR=<out>/cluster deploy/local-cluster.sh down`.
Admin-surface faults hit every process of their service, or the one named
(`fault: {kind: http-errors, service: chat, instance: 2, params: ...}`);
`kill-instance` (split deployment only) kills one process (SIGKILL, `instance`
1 by default) at the fault's start and restarts it at its end:
  fault: {kind: kill-instance, service: chat, instance: 1}
`pause-instance` (embedded only) freezes the one process (SIGSTOP) instead.

Exit codes: 0 every expectation met, 1 one was not, 2 the experiment could not
run or an expectation could not be evaluated.";

#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct ExperimentArgs {
    /// The scenario file (YAML; see the example below and experiments/).
    #[arg(value_name = "SCENARIO.yaml")]
    scenario: PathBuf,

    /// Where the reports go [default: banter-experiment/<scenario name>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Symptom alert rules to evaluate (repeatable); the SLO burn-rate rules
    /// are generated from --spec as `slo rules` does.
    #[arg(
        long = "rules",
        value_name = "FILE",
        default_value = "alerts/banter.rules.yml"
    )]
    rules: Vec<PathBuf>,

    /// SLO spec [default: Banter's, slo/specs/banter.yaml].
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,

    /// Measure the burn only, even when `prometheus` is on PATH.
    #[arg(long)]
    no_prometheus: bool,

    /// Port for the platform [default: a free one].
    #[arg(long, value_name = "N", conflicts_with = "cluster")]
    port: Option<u16>,

    /// Run against the split deployment (deploy/local-cluster.sh: a process
    /// per service instance behind the nginx gateway) instead of the
    /// embedded platform; needs PostgreSQL, Redis, tansu and nginx (see below).
    #[arg(long)]
    cluster: bool,
}

/// Runs the experiment; the exit code.
pub async fn run(args: ExperimentArgs) -> anyhow::Result<i32> {
    let scenario = match Scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(2);
        }
    };
    if let Err(e) = scenario.check_deployment(args.cluster) {
        eprintln!("error: {}: {e:#}", args.scenario.display());
        return Ok(2);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("banter-experiment").join(&scenario.name));
    match execute(&args, scenario, &out).await {
        Ok(outcome) => {
            let written = report::write(&outcome, &out)?;
            println!("{}", report::markdown(&outcome));
            for path in written {
                println!("wrote {}", path.display());
            }
            println!("{}", report::verdict_line(&outcome));
            Ok(outcome.exit_code)
        }
        Err(e) => {
            eprintln!("error: the experiment could not run: {e:#}");
            Ok(2)
        }
    }
}

/// A progress line, with the seconds since the command started.
fn step(msg: &str) {
    static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let t = STARTED.get_or_init(Instant::now).elapsed().as_secs_f64();
    eprintln!("==> [{t:6.1} s] {msg}");
}

async fn execute(
    args: &ExperimentArgs,
    scenario: Scenario,
    out: &Path,
) -> anyhow::Result<analysis::Outcome> {
    let (spec, _) = slo::objectives::load_or_builtin(args.spec.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let out = out.canonicalize().unwrap_or(out.to_owned());
    let data = tempfile::Builder::new()
        .prefix("banter-experiment-")
        .tempdir()
        .context("cannot create a data directory")?;
    let secret = fault::secret()?;
    let mut deployment = if args.cluster {
        Deployment::Cluster(cluster::Cluster::up(&out, &secret).await?)
    } else {
        let port = match args.port {
            Some(p) => p,
            None => crate::demo::free_port()?,
        };
        let base = format!("http://127.0.0.1:{port}");
        step(&format!("starting the platform on {base}"));
        let log = out.join("platform.log");
        let mut platform = Platform::start(
            port,
            data.path(),
            &log,
            &scenario.platform.args,
            &[("BANTER_ADMIN_SECRET", secret.as_str())],
        )?;
        platform.wait_ready(&base).await?;
        Deployment::Embedded {
            platform,
            base,
            log,
        }
    };
    let base = deployment.gateway().to_owned();
    // Several processes: each has its own live fan-out groups (see `observe::Groups`).
    let groups = match deployment {
        Deployment::Embedded { .. } => observe::Groups::All,
        Deployment::Cluster(_) => observe::Groups::Durable,
    };

    let prom_dir = out.join("prometheus");
    let _ = std::fs::remove_dir_all(&prom_dir);
    std::fs::create_dir_all(&prom_dir)?;
    let rule_files = rules::write(&args.rules, &spec, scenario.compress, &prom_dir)?;
    let journeys = if scenario.load.journeys.is_empty() {
        loadgen::Journey::ALL.to_vec()
    } else {
        scenario
            .load
            .journeys
            .iter()
            .map(|j| loadgen::Journey::parse(j))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?
    };
    let plan = loadgen::profile::Plan::new(
        loadgen::ProfileName::Load,
        &loadgen::profile::Request {
            users: scenario.load.users,
            rate: scenario.load.rate,
            // Prometheus starts after the warm-up, taking a few seconds: slack at the end.
            duration: Some(scenario.timeline.warmup + scenario.length() + Duration::from_secs(10)),
            warmup: Some(Duration::ZERO),
        },
    )
    .map_err(anyhow::Error::msg)?;
    let config = crate::demo::run_config(&base, journeys, plan, None, false)?;
    step(&format!(
        "load for {} s; fault {} from {} s to {} s",
        scenario.length().as_secs(),
        scenario.fault.as_ref().map_or("none".into(), |f| f.title()),
        scenario.timeline.steady.as_secs(),
        (scenario.timeline.steady + scenario.timeline.fault).as_secs()
    ));
    let load_start = Instant::now();
    let load = tokio::spawn(crate::demo::run_load(config));
    // Prometheus starts after the warm-up, so even its longest (compressed)
    // windows hold none of the sign-up burst.
    tokio::time::sleep_until((load_start + scenario.timeline.warmup).into()).await;
    let mut prom = match (args.no_prometheus, prometheus::find()) {
        (false, Some(exe)) => {
            step("starting Prometheus (1 s scrape and evaluation)");
            let (job, targets) = deployment.scrape_targets();
            let config = rules::prometheus_config(job, &targets, &rule_files);
            let p =
                prometheus::Prometheus::start(&exe, &prom_dir, &config, crate::demo::free_port()?)
                    .await?;
            p.wait_scraped(job, targets.len()).await?;
            Some(p)
        }
        _ => None,
    };

    let start = Instant::now();
    let started_at = chrono::Utc::now();
    let sampler = observe::Sampler::start(&deployment.urls(), start, &spec);

    let fault = match &scenario.fault {
        Some(decl) => {
            let window =
                fault::window(&deployment, &sampler, &secret, decl, &scenario, start).await;
            if window.is_err() {
                load.abort();
            }
            Some(window?)
        }
        None => None,
    };
    let record = load.await.context("the load generator panicked")??.record;
    if let Some(reason) = deployment.exited().await {
        bail!(
            "the platform stopped during the run ({reason}); see {}",
            deployment.logs().display()
        );
    }
    record
        .write(out.join("run.json"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    step("waiting for every event to be delivered (at most 60 s)");
    let drain_deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < drain_deadline
        && !sampler
            .ledger()
            .is_some_and(|s| observe::drained(&s, groups))
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Two more evaluations, so the last state is in Prometheus.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (samples, last) = sampler.finish().await;
    let observed_secs = start.elapsed().as_secs_f64();
    let ended_at = chrono::Utc::now();

    let (alerting, alerts) = match &mut prom {
        Some(p) => {
            let (groups, broken) = p.rule_health().await?;
            let series = p.alerts(started_at, ended_at).await?;
            p.stop().await;
            let found: Vec<verdict::AlertFinding> = series
                .iter()
                .map(|s| verdict::AlertFinding::from_series(s, started_at.timestamp()))
                .collect();
            let note = format!(
                "evaluated by Prometheus ({groups} rule groups, 1 s scrape and evaluation{})",
                if scenario.compress == 1.0 {
                    String::new()
                } else {
                    format!(", ranges and `for:` ÷{}", scenario.compress)
                }
            );
            (
                analysis::Alerting {
                    evaluated: true,
                    note,
                    rule_files: rule_files.clone(),
                    rule_groups: groups,
                    broken_rules: broken,
                },
                Some(found),
            )
        }
        None => {
            let note = if args.no_prometheus {
                "not evaluated (--no-prometheus): burn only".to_owned()
            } else {
                "not evaluated: `prometheus` is not on PATH (Debian package `prometheus`): burn only".to_owned()
            };
            (
                analysis::Alerting {
                    evaluated: false,
                    note,
                    rule_files: rule_files.clone(),
                    rule_groups: 0,
                    broken_rules: Vec::new(),
                },
                None,
            )
        }
    };
    let platform = deployment.describe();
    deployment.stop().await;

    step(&format!(
        "measuring the objectives over {} scrapes",
        samples.len()
    ));
    let burn_window_secs = (300.0 / scenario.compress).max(5.0);
    let (times, objectives) = observe::objective_series(&spec, &samples, burn_window_secs).await;
    let fault_costs = match fault {
        Some(f) => analysis::fault_costs(&scenario, &spec, &samples, f, &times, &objectives).await,
        None => Vec::new(),
    };
    let (events, backlog) = last
        .as_ref()
        .map(|s| observe::events(s, groups))
        .unwrap_or_default();
    let checks = verdict::judge(
        &scenario.expect,
        alerts.as_deref(),
        fault,
        observed_secs,
        &events,
        backlog,
    );
    let mut exit_code = verdict::exit_code(&checks);
    if !alerting.broken_rules.is_empty() {
        exit_code = 2;
    }
    let (client_requests, client_errors) = record.steps.iter().fold((0, 0), |(r, e), s| {
        (
            r + s.requests,
            e + s.errors.status + s.errors.timeout + s.errors.connect + s.errors.body,
        )
    });
    Ok(analysis::Outcome {
        platform,
        ledger_note: (groups == observe::Groups::Durable).then(|| {
            "durable consumer groups only: each process has its own live fan-out groups \
             (`*-sse`, feeding its streams from its start on, no delivery promised)"
                .to_owned()
        }),
        scenario,
        started_at,
        observed_secs,
        fault,
        burn_window_secs,
        alerting,
        times,
        objectives,
        fault_window: fault_costs,
        alerts: alerts.unwrap_or_default(),
        events,
        outbox_backlog: backlog,
        client_requests,
        client_errors,
        checks,
        exit_code,
    })
}

//! `banter demo`: the whole story in one command. Starts the platform as a
//! child process on fresh embedded storage, drives load with the loadgen
//! journeys, checks the SLO from the platform's own metrics (and shows the
//! client's view from the run record), writes the reports and exits with the
//! SLO's exit code.

use anyhow::{Context as _, bail};
use loadgen::profile::{Plan, ProfileName, Request};
use loadgen::{Journey, RunConfig};
use slo::check::{Report, Verdict};
use slo::render::check::{Format, render};
use slo::sources::run::RunSource;
use slo::sources::scrape::{ScrapeSource, Snapshot};
use slo::spec::Spec;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Banter's objectives (SPEC §7), used unless `--spec` names another file.
const DEFAULT_SPEC: &str = include_str!("../../../slo/specs/banter.yaml");

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Measured load duration (after a short warm-up), e.g. 60s or 2m.
    #[arg(long, default_value = "60s", value_parser = loadgen::profile::parse_duration)]
    duration: Duration,

    /// Concurrent virtual users (the `load` profile, closed model).
    #[arg(long, default_value_t = 50)]
    users: usize,

    /// Journey to run; repeat for several [default: seed-benchmark, chat and
    /// notifications, so every service gets traffic].
    #[arg(long = "journey", value_name = "NAME", value_parser = Journey::parse)]
    journeys: Vec<Journey>,

    /// Where run.json, slo.json, report.md, report.html and platform.log go.
    #[arg(long, default_value = "banter-demo", value_name = "DIR")]
    out: PathBuf,

    /// SLO spec to check (Sloth `prometheus/v1` YAML) [default: Banter's,
    /// p95 ≤ 200 ms and 99.9 % availability per service].
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,

    /// Port for the platform [default: a free one].
    #[arg(long, value_name = "N")]
    pub(crate) port: Option<u16>,

    /// Port for the load generator's client-side metrics (Prometheus format,
    /// the load-test dashboard) [default: 9105, which deploy/prometheus.yml
    /// scrapes, or a free one when it is taken].
    #[arg(long, value_name = "N")]
    metrics_port: Option<u16>,
}

fn step(msg: &str) {
    eprintln!("==> {msg}");
}

/// Runs the demo; returns the process exit code.
pub async fn run(args: DemoArgs) -> anyhow::Result<i32> {
    let (spec, spec_name) = match &args.spec {
        Some(path) => (
            Spec::load(path).map_err(|e| anyhow::anyhow!("{e}"))?,
            path.display().to_string(),
        ),
        None => (
            Spec::parse(DEFAULT_SPEC, "slo/specs/banter.yaml")
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            "slo/specs/banter.yaml (built in)".to_owned(),
        ),
    };
    let journeys = if args.journeys.is_empty() {
        Journey::ALL.to_vec()
    } else {
        args.journeys
    };
    let plan = Plan::new(
        ProfileName::Load,
        &Request {
            users: Some(args.users),
            duration: Some(args.duration),
            ..Default::default()
        },
    )
    .map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let out = args.out.canonicalize().unwrap_or(args.out.clone());

    let data = tempfile::Builder::new()
        .prefix("banter-demo-")
        .tempdir()
        .context("cannot create a data directory")?;
    let port = match args.port {
        Some(p) => p,
        None => free_port()?,
    };
    let base = format!("http://127.0.0.1:{port}");
    step(&format!(
        "starting the platform on {base} (fresh data in {})",
        data.path().display()
    ));
    let mut platform = Platform::start(port, data.path(), &out.join("platform.log"))?;
    platform.wait_ready(&base).await?;

    let before = Snapshot::scrape(std::slice::from_ref(&base))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let names: Vec<&str> = journeys.iter().map(|j| j.name()).collect();
    step(&format!(
        "running {} with {} users for {}s (+{}s warm-up): {}",
        plan.profile.as_str(),
        args.users,
        plan.duration.as_secs(),
        plan.warmup.as_secs(),
        names.join(", ")
    ));
    let metrics_port = crate::ports::client_metrics_port(args.metrics_port)?;
    step(&format!(
        "client-side metrics on http://127.0.0.1:{metrics_port}/metrics (the load-test dashboard)"
    ));
    let config = RunConfig {
        targets: loadgen::target::Targets::single(&base).map_err(anyhow::Error::msg)?,
        journeys,
        plan,
        settings: Default::default(),
        out: None,
        metrics_port: Some(metrics_port),
        progress: true,
        slo_spec: None,
        max_stages: 1,
        rate_factor: 1.5,
    };
    let output = tokio::select! {
        r = loadgen::run(&config) => r.context("load run failed")?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: stopping the platform");
            platform.stop().await;
            return Ok(130);
        }
    };
    if let Some(reason) = platform.exited() {
        bail!(
            "the platform stopped during the run ({reason}); see {}",
            out.join("platform.log").display()
        );
    }
    let after = Snapshot::scrape(std::slice::from_ref(&base))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    platform.stop().await;

    step("checking the SLO");
    let server_source =
        ScrapeSource::from_snapshots(Some(&before), &after).map_err(|e| anyhow::anyhow!("{e}"))?;
    let server = slo::check::check(&spec, &spec_name, &server_source).await;
    let record = output.record;
    let client = slo::check::check(
        &spec,
        &spec_name,
        &RunSource::new(record.clone(), "run.json"),
    )
    .await;

    let run_json = out.join("run.json");
    record
        .write(&run_json)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let slo_json = out.join("slo.json");
    let both = serde_json::json!({ "server": server, "client": client });
    std::fs::write(&slo_json, serde_json::to_string_pretty(&both)?)
        .with_context(|| format!("cannot write {}", slo_json.display()))?;
    let report_md = out.join("report.md");
    let markdown = format!(
        "# Banter demo\n\n## SLO verdict (server side, from /metrics)\n\n{}\n\n## Client view (from the run record)\n\n{}\n\n{}",
        render(&server, Format::Markdown),
        render(&client, Format::Markdown),
        loadgen::report::markdown(&record)
    );
    std::fs::write(&report_md, markdown)
        .with_context(|| format!("cannot write {}", report_md.display()))?;
    let report_html = out.join("report.html");
    let page = loadgen::report::html(&record).map_err(anyhow::Error::msg)?;
    std::fs::write(&report_html, with_verdict(&page, &server, &client))
        .with_context(|| format!("cannot write {}", report_html.display()))?;

    println!();
    println!("{}", render(&server, Format::Text));
    println!("{}", loadgen::report::summary(&record));
    println!("{}", server.summary());
    println!("client view: {}", client.summary());
    println!();
    for path in [&report_md, &report_html, &run_json, &slo_json] {
        println!("wrote {}", path.display());
    }
    let code = server.exit_code();
    println!(
        "{}",
        match code {
            0 => "SLO met: exit 0",
            1 => "SLO breached: exit 1",
            _ => "SLO could not be measured: exit 2",
        }
    );
    Ok(code)
}

/// Puts the verdict tables at the top of the load report's page.
fn with_verdict(page: &str, server: &Report, client: &Report) -> String {
    let table = |title: &str, r: &Report| {
        let mut rows = String::new();
        for o in &r.outcomes {
            let fmt = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.3} %"));
            let class = match o.verdict {
                Verdict::Pass => "pass",
                _ => "fail",
            };
            rows.push_str(&format!(
                "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                slo::render::escape_xml(&o.name),
                fmt(Some(o.objective_percent)),
                fmt(o.measured_percent),
                fmt(o.budget_consumed_percent),
                o.verdict.label()
            ));
        }
        format!(
            "<section><h2>{}</h2><table><thead><tr><th>objective</th><th>target</th><th>measured</th><th>budget used</th><th>verdict</th></tr></thead><tbody>{rows}</tbody></table><p>{}</p></section>",
            slo::render::escape_xml(title),
            slo::render::escape_xml(&r.summary())
        )
    };
    let style = "<style>tr.pass td:last-child{color:#1a7f37;font-weight:bold}tr.fail td:last-child{color:#cf222e;font-weight:bold}</style>";
    let block = format!(
        "{style}{}{}",
        table("SLO verdict (server side, from /metrics)", server),
        table("Client view (from the run record)", client)
    );
    match page.find("<body>") {
        Some(i) => format!("{}{}{}", &page[..i + 6], block, &page[i + 6..]),
        None => format!("{block}{page}"),
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The platform child process.
struct Platform {
    child: tokio::process::Child,
    last_error: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Platform {
    fn start(port: u16, data: &Path, log: &Path) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the banter executable")?;
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = tokio::process::Command::new(exe)
            .args([
                "serve",
                "--target",
                "all",
                "--port",
                &port.to_string(),
                "--data-dir",
            ])
            .arg(data)
            .env_remove("DATABASE_URL")
            .stdout(log_file)
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the platform")?;
        let last_error = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let sink = last_error.clone();
            let stderr = stderr.into_owned_fd().map(std::fs::File::from);
            if let Ok(file) = stderr {
                std::thread::spawn(move || {
                    for line in BufReader::new(file).lines().map_while(Result::ok) {
                        eprintln!("platform: {line}");
                        *sink.lock().unwrap_or_else(|e| e.into_inner()) = line;
                    }
                });
            }
        }
        Ok(Self { child, last_error })
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => {
                let last = self
                    .last_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                Some(if last.is_empty() {
                    status.to_string()
                } else {
                    last
                })
            }
            _ => None,
        }
    }

    async fn wait_ready(&mut self, base: &str) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(reason) = self.exited() {
                bail!("the platform did not start: {reason}");
            }
            if let Ok(res) = client.get(format!("{base}/ready")).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop().await;
                bail!("the platform was not ready after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then SIGKILL if it has not stopped after 10 s.
    async fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

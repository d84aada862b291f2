//! `banter demo`: the whole story in one command. Starts the platform as a
//! child process on fresh embedded storage, drives load with the loadgen
//! journeys, checks the SLO from the platform's own metrics and from the client's
//! run record, writes the reports and exits with the worse of the two verdicts,
//! naming every failed objective.
//!
//! The load generator runs on its own single-threaded runtime: on a small machine
//! it then takes at most one core, and the platform's latency is not the load
//! generator's CPU starvation.

use crate::platform::Platform;
use anyhow::{Context as _, bail};
use loadgen::profile::{Plan, ProfileName, Request};
use loadgen::{Journey, RunConfig};
use slo::check::{Report, Verdict};
use slo::render::check::{Format, render};
use slo::sources::scrape::{ScrapeSource, Snapshot};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Measured load duration (after a short warm-up), e.g. 60s or 2m.
    #[arg(long, default_value = "60s", value_parser = loadgen::profile::parse_duration)]
    duration: Duration,

    /// Concurrent virtual users (the `load` profile, closed model).
    #[arg(long, default_value_t = 50)]
    users: usize,

    /// Journey to run; repeat for several [default: seed-benchmark, chat,
    /// notifications and social, so every service gets traffic].
    #[arg(long = "journey", value_name = "NAME", value_parser = Journey::parse)]
    journeys: Vec<Journey>,

    /// Where run.json, slo.json, report.md, report.html and platform.log go.
    #[arg(long, default_value = "banter-demo", value_name = "DIR")]
    out: PathBuf,

    /// SLO spec to check (Sloth `prometheus/v1` YAML) [default: Banter's,
    /// p95 ≤ 200 ms and 99.9 % availability per service, journey correctness].
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,

    /// Objectives measured on fewer events than this report NO DATA (exit 2)
    /// instead of a verdict on a handful of requests [default: the spec's
    /// `min_events`, else 1]. The CI gate asks for 200.
    #[arg(long, value_name = "N", default_value_t = 0)]
    min_events: u64,

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
    let (mut spec, spec_name) = slo::objectives::load_or_builtin(args.spec.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for slo in &mut spec.slos {
        slo.min_events = slo.min_events.max(args.min_events);
    }
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
    let mut platform = Platform::start(port, data.path(), &out.join("platform.log"), &[], &[])?;
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
    let config = run_config(&base, journeys, plan, Some(metrics_port), true)?;
    let output = tokio::select! {
        r = run_load(config) => r.context("load run failed")?,
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
    let client = slo::objectives::check_run(&spec, &spec_name, &record, "run.json").await;

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
    println!("{}", render(&client, Format::Text));
    println!("{}", loadgen::report::summary(&record));
    println!("server view: {}", server.summary());
    println!("client view: {}", client.summary());
    println!();
    for path in [&report_md, &report_html, &run_json, &slo_json] {
        println!("wrote {}", path.display());
    }
    let (code, line) = verdict(&server, &client, record.interrupted);
    println!("{line}");
    Ok(code)
}

/// The demo's exit code, the worse of the two views (2 over 1 over 0), and the
/// line saying it with every failed objective named.
fn verdict(server: &Report, client: &Report, interrupted: bool) -> (i32, String) {
    let code = server.exit_code().max(client.exit_code());
    let failed = |view: &str, r: &Report| {
        let names = slo::objectives::failed(r);
        (!names.is_empty()).then(|| format!("{view}: {}", names.join(", ")))
    };
    let named: Vec<String> = [failed("server", server), failed("client", client)]
        .into_iter()
        .flatten()
        .collect();
    let detail = if named.is_empty() {
        String::new()
    } else {
        format!(" — {}", named.join("; "))
    };
    let line = match code {
        0 => "SLO met (server and client views): exit 0".to_owned(),
        1 => format!("SLO breached: exit 1{detail}"),
        _ if interrupted => format!("the run was interrupted: exit 2{detail}"),
        _ => format!("SLO could not be measured: exit 2{detail}"),
    };
    (code, line)
}

/// One load run of `journeys` on the platform at `base` (the demo; a benchmark would reuse it).
pub(crate) fn run_config(
    base: &str,
    journeys: Vec<Journey>,
    plan: Plan,
    metrics_port: Option<u16>,
    progress: bool,
) -> anyhow::Result<RunConfig> {
    Ok(RunConfig {
        targets: loadgen::target::Targets::single(base).map_err(anyhow::Error::msg)?,
        journeys,
        plan,
        settings: Default::default(),
        out: None,
        metrics_port,
        progress,
        slo_spec: None,
        max_stages: 1,
        rate_factor: 1.5,
    })
}

/// Runs the load on a runtime of its own with one thread, so the load
/// generator never takes more than one core from the platform.
pub(crate) async fn run_load(config: RunConfig) -> anyhow::Result<loadgen::RunOutput> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("loadgen".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(loadgen::run(&config)));
            let _ = tx.send(result);
        })
        .context("cannot start the load generator's thread")?;
    rx.await
        .map_err(|_| anyhow::anyhow!("the load generator stopped without a result"))?
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

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod tests {
    use slo::check::{Outcome, Report, Verdict};

    fn report(rows: &[(&str, Verdict)]) -> Report {
        Report {
            spec: "s".into(),
            service: "banter".into(),
            source: "t".into(),
            window: None,
            caveat: None,
            outcomes: rows
                .iter()
                .map(|(name, verdict)| Outcome {
                    name: (*name).into(),
                    service: None,
                    sli: "events",
                    objective_percent: 99.9,
                    required: true,
                    measured_percent: None,
                    budget_consumed_percent: None,
                    verdict: *verdict,
                    measurement: None,
                    message: None,
                })
                .collect(),
        }
    }

    #[test]
    fn the_exit_code_is_the_worse_view_and_every_failed_row_is_named() {
        let server = report(&[
            ("users-latency", Verdict::Pass),
            ("journey-correctness", Verdict::NotApplicable),
        ]);
        let client = report(&[
            ("users-latency", Verdict::Breach),
            ("journey-correctness", Verdict::Breach),
        ]);
        let (code, line) = super::verdict(&server, &client, false);
        assert_eq!(code, 1);
        assert_eq!(
            line,
            "SLO breached: exit 1 — client: users-latency, journey-correctness"
        );
        let (code, line) = super::verdict(&client, &server, false);
        assert_eq!(code, 1, "{line}");
        assert!(line.contains("server: users-latency, journey-correctness"));
        let no_data = report(&[("chat-latency", Verdict::NoData)]);
        let (code, line) = super::verdict(&no_data, &client, false);
        assert_eq!(code, 2);
        assert!(
            line.contains("server: chat-latency; client: users-latency"),
            "{line}"
        );
        let (code, line) = super::verdict(&server, &server, false);
        assert_eq!(
            (code, line.as_str()),
            (0, "SLO met (server and client views): exit 0")
        );
    }
}

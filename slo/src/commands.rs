//! What each `slo` subcommand does once its flags are parsed: read the
//! sources, evaluate, render, write, and return the exit code.

use super::*;

fn write_or_print(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub(super) async fn run_check(a: CheckArgs) -> Result<i32> {
    let (mut spec, spec_file) = slo::objectives::load_or_builtin(a.spec.as_deref())?;
    spec.select(&a.slos).map_err(|e| anyhow!(e))?;
    let windowed = a.from.is_some() || a.to.is_some() || a.window_of.is_some();
    if let Some(url) = &a.prometheus {
        check_url("--prometheus", url)?;
    }
    for url in &a.scrape {
        check_url("--scrape", url)?;
    }
    let source: Box<dyn Source> = if let Some(url) = &a.prometheus {
        let now = Utc::now();
        let (from, to) = match &a.window_of {
            Some(path) => {
                let r = runrecord::RunRecord::read(path)?;
                (r.window.start, r.window.end)
            }
            None => {
                let to = match &a.to {
                    Some(t) => parse_time(t, now).map_err(|e| anyhow!("--to: {e}"))?,
                    None => now,
                };
                let from = match &a.from {
                    Some(t) => parse_time(t, now).map_err(|e| anyhow!("--from: {e}"))?,
                    None => to - chrono::Duration::minutes(5),
                };
                (from, to)
            }
        };
        Box::new(PrometheusSource::connect(url, from, to).await?)
    } else if !a.scrape.is_empty() {
        if windowed {
            bail!(
                "--from/--to/--window-of apply to --prometheus; with --scrape the window runs from the --since snapshot to now"
            );
        }
        Box::new(ScrapeSource::scrape(&a.scrape, a.since.as_deref()).await?)
    } else if let Some(path) = &a.run {
        if windowed {
            bail!("--from/--to/--window-of apply to --prometheus; a run record has its own window");
        }
        Box::new(RunSource::read(path)?)
    } else {
        bail!("give a source: --prometheus URL, --scrape URL or --run FILE");
    };
    let report = check::check(&spec, &spec_file, source.as_ref()).await;
    let text = slo::render::check::render(&report, a.format);
    write_or_print(a.out.as_deref(), &text)?;
    if a.out.is_some() {
        eprintln!("{}", report.summary());
    }
    Ok(report.exit_code())
}

pub(super) async fn run_snapshot(a: SnapshotArgs) -> Result<i32> {
    for url in &a.scrape {
        check_url("--scrape", url)?;
    }
    let snap = Snapshot::scrape(&a.scrape).await?;
    snap.write(&a.out)?;
    eprintln!(
        "saved the metrics of {} endpoint(s) at {} to {}",
        snap.endpoints.len(),
        snap.taken_at.to_rfc3339(),
        a.out.display()
    );
    Ok(0)
}

/// One side of a comparison with --prometheus: a run record's window or FROM..TO.
async fn prometheus_run(url: &str, side: &str, a: &CompareArgs) -> Result<Run> {
    let (from, to) = if Path::new(side).is_file() {
        let r = runrecord::RunRecord::read(side)?;
        (r.window.start, r.window.end)
    } else {
        let (from, to) = side.split_once("..").ok_or_else(|| {
            anyhow!("`{side}` is neither a run record nor a window FROM..TO (e.g. now-10m..now)")
        })?;
        let now = Utc::now();
        (
            parse_time(from, now).map_err(|e| anyhow!("{side}: {e}"))?,
            parse_time(to, now).map_err(|e| anyhow!("{side}: {e}"))?,
        )
    };
    let source = PrometheusSource::connect(url, from, to).await?;
    Ok(source.run(side, &a.metric, &a.selector).await?)
}

pub(super) async fn run_compare(a: CompareArgs) -> Result<i32> {
    if let Some(url) = &a.prometheus {
        check_url("--prometheus", url)?;
    }
    let (base, cand) = match &a.prometheus {
        Some(url) => (
            prometheus_run(url, &a.base, &a).await?,
            prometheus_run(url, &a.cand, &a).await?,
        ),
        None => {
            let base = runrecord::RunRecord::read(&a.base)?;
            let cand = runrecord::RunRecord::read(&a.cand)?;
            let differences = compare::mismatches(&base, &cand);
            if !differences.is_empty() {
                let list = differences.join("\n  - ");
                if !a.force {
                    bail!(
                        "{} and {} are not the same experiment, so their deltas would mean nothing:\n  - {list}\nRun both the same way, or pass --force to compare anyway.",
                        a.base,
                        a.cand
                    );
                }
                eprintln!("slo: warning: comparing different experiments (--force):\n  - {list}");
            }
            (
                Run::from_record(&a.base, &base),
                Run::from_record(&a.cand, &cand),
            )
        }
    };
    let mut criteria = Vec::new();
    if let Some(path) = &a.criteria {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read criteria {}", path.display()))?;
        criteria = Criterion::parse_file(&text)
            .map_err(|e| anyhow!("criteria {}: {e}", path.display()))?;
    }
    for c in &a.criterion {
        criteria.push(Criterion::parse(c).map_err(|e| anyhow!("--criterion: {e}"))?);
    }
    if a.criteria.is_none() && a.criterion.is_empty() {
        criteria = Criterion::defaults();
    }
    let c = compare::compare(base, cand, criteria);
    if c.steps.is_empty() {
        bail!(
            "{} and {} have no step in common, nothing to compare",
            a.base,
            a.cand
        );
    }
    let md = slo::render::compare::markdown(&c);
    print!("{md}");
    if let Some(path) = &a.markdown {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        f.write_all(md.as_bytes())?;
    }
    if let Some(path) = &a.html {
        let html = slo::render::html::html(&c).map_err(|e| anyhow!(e))?;
        std::fs::write(path, html).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &a.json {
        std::fs::write(path, serde_json::to_string_pretty(&c)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(c.exit_code())
}

pub(super) fn run_rules(a: RulesArgs) -> Result<i32> {
    let spec = Spec::load(&a.spec)?;
    let yaml = slo::rules::to_yaml(&spec, &a.spec.display().to_string());
    write_or_print(a.out.as_deref(), &yaml)?;
    Ok(0)
}

//! Human views of a run record: the summary table printed after a run, a
//! Markdown report, and a self-contained HTML report with inline SVG charts
//! (latency percentiles per step, throughput over time), drawn with plotters
//! in the same style as `slo compare`'s reports.

use reportkit::markdown::{Table, left, right};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use runrecord::{RunRecord, Step};

mod charts;
mod errors;
mod timeline;

pub use reportkit::{escape_html, ms};

/// SPEC §7's latency objective, drawn for reference.
const SLO_MS: f64 = 200.0;

/// One row per step with the numbers every view shows.
struct Row<'a> {
    step: &'a Step,
    per_second: f64,
    p50: u64,
    p90: u64,
    p95: u64,
    p99: u64,
    max: u64,
}

impl Row<'_> {
    /// requests, req/s, p50, p90, p95, p99, max: the figures every view shows.
    fn figures(&self) -> [String; 7] {
        [
            self.step.requests.to_string(),
            format!("{:.1}", self.per_second),
            ms(self.p50),
            ms(self.p90),
            ms(self.p95),
            ms(self.p99),
            ms(self.max),
        ]
    }
}

fn rows(r: &RunRecord) -> Vec<Row<'_>> {
    let secs = r.window.seconds().max(1e-3);
    r.steps
        .iter()
        .map(|s| {
            let h = &s.latency;
            let q = |q| if h.count() == 0 { 0 } else { h.quantile_us(q) };
            Row {
                step: s,
                per_second: s.requests as f64 / secs,
                p50: q(0.5),
                p90: q(0.9),
                p95: q(0.95),
                p99: q(0.99),
                max: h.hdr().max(),
            }
        })
        .collect()
}

/// `3 (404 ×3)`: failed requests and their breakdown.
fn errors(s: &Step) -> String {
    if s.errors.total() == 0 {
        "0".into()
    } else {
        format!("{} ({})", s.errors.total(), errors::breakdown(s))
    }
}

fn targets(r: &RunRecord) -> String {
    r.targets
        .iter()
        .map(|t| {
            let mut s = t.url.clone();
            if let Some(service) = &t.service {
                s.push_str(&format!(" [{service}]"));
            }
            if let Some(sha) = &t.git_sha {
                s.push_str(&format!(" @ {sha}"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn parameters(r: &RunRecord) -> String {
    r.profile
        .parameters
        .iter()
        .filter(|(k, _)| k.as_str() != "stages")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The warning an interrupted run carries in every view.
fn interrupted(r: &RunRecord) -> Option<String> {
    r.interrupted.then(|| {
        format!(
            "Interrupted run: {:.1} s measured of {} requested; the figures cover the measured part only.",
            r.window.seconds(),
            r.requested_seconds
                .map_or_else(|| "the window".to_owned(), |s| format!("{s:.0} s"))
        )
    })
}

/// The table printed at the end of a run.
pub fn summary(r: &RunRecord) -> String {
    let rows = rows(r);
    let mut out = String::new();
    let key_w = rows
        .iter()
        .map(|x| x.step.key().len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "{:<key_w$}  {:>8}  {:>8}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  errors",
        "step", "requests", "req/s", "p50", "p90", "p95", "p99", "max"
    );
    for x in &rows {
        let figures: Vec<String> = x
            .figures()
            .iter()
            .zip([8, 8, 9, 9, 9, 9, 9])
            .map(|(f, w)| format!("{f:>w$}"))
            .collect();
        let _ = writeln!(
            out,
            "{:<key_w$}  {}  {}",
            x.step.key(),
            figures.join("  "),
            errors(x.step)
        );
    }
    let requests: u64 = r.steps.iter().map(|s| s.requests).sum();
    let failed: u64 = r.steps.iter().map(|s| s.errors.total()).sum();
    let _ = writeln!(
        out,
        "\n{requests} requests in {:.1} s ({:.1}/s), {failed} errors ({:.3} %); window {} → {}",
        r.window.seconds(),
        requests as f64 / r.window.seconds().max(1e-3),
        if requests == 0 {
            0.0
        } else {
            failed as f64 * 100.0 / requests as f64
        },
        r.window.start.format("%H:%M:%S"),
        r.window.end.format("%H:%M:%S")
    );
    for s in r.steps.iter().filter(|s| s.errors.total() > 0) {
        if let Some(f) = s.failures.first() {
            let _ = writeln!(
                out,
                "first failure of {}: {} {} → {}{}{}",
                s.key(),
                f.method,
                f.route,
                errors::outcome(f),
                f.body
                    .as_deref()
                    .map_or_else(String::new, |b| format!(" {}", b.replace('\n', " "))),
                f.request_id
                    .as_deref()
                    .map_or_else(String::new, |id| format!(" (request id {id})"))
            );
        }
    }
    if let Some(note) = interrupted(r) {
        let _ = writeln!(out, "{note}");
    }
    out
}

/// A capacity run's stages as table cells, and the highest rate that met the SLO.
struct Capacity {
    rows: Vec<[String; 5]>,
    highest: Option<String>,
}

fn capacity(r: &RunRecord) -> Option<Capacity> {
    let stages = r.profile.parameters.get("stages")?.as_array()?;
    let rows = stages
        .iter()
        .map(|s| {
            [
                s["rate_per_second"].to_string(),
                format!("{:.1}", s["achieved_per_second"].as_f64().unwrap_or(0.0)),
                format!("{:.1} ms", s["p95_ms"].as_f64().unwrap_or(0.0)),
                format!("{:.3} %", s["error_rate"].as_f64().unwrap_or(0.0) * 100.0),
                s["verdict"].as_str().unwrap_or("").to_owned(),
            ]
        })
        .collect();
    let highest = match r.profile.parameters.get("highest_rate_meeting_slo") {
        Some(v) if !v.is_null() => Some(format!("{v}/s")),
        _ => None,
    };
    Some(Capacity { rows, highest })
}

/// The run as Markdown.
pub fn markdown(r: &RunRecord) -> String {
    let mut out = format!(
        "# Load test run: {} ({})\n\n\
         - Tool: {} {}\n- Target: {}\n- Journeys: {}\n- Profile: `{}` ({})\n\
         - Measured window: {} → {} ({:.1} s, warm-up excluded), {} worker record(s)\n\n",
        r.journeys.join(", "),
        r.profile.name,
        r.tool.name,
        r.tool.version,
        targets(r),
        r.journeys.join(", "),
        r.profile.name,
        parameters(r),
        r.window.start.to_rfc3339(),
        r.window.end.to_rfc3339(),
        r.window.seconds(),
        r.workers
    );
    if let Some(note) = interrupted(r) {
        let _ = writeln!(out, "> ⚠️ **{note}**\n");
    }
    out.push_str(
        "Latency is measured by the client in HDR histograms (µs, 3 significant digits), \
         coordinated-omission aware. Errors: by HTTP status code, timeout, connect, body (failed check).\n\n",
    );
    let mut table = Table::new(&[
        left("journey"),
        left("step"),
        left("service"),
        right("requests"),
        right("req/s"),
        right("p50"),
        right("p90"),
        right("p95"),
        right("p99"),
        right("max"),
        left("errors"),
    ]);
    for x in rows(r) {
        let mut cells = vec![
            x.step.journey.clone().unwrap_or_default(),
            x.step.name.clone(),
            x.step.service.clone().unwrap_or_else(|| "—".to_owned()),
        ];
        cells.extend(x.figures());
        cells.push(errors(x.step));
        table.cells(cells);
    }
    out.push_str(&table.finish());
    out.push_str(&errors::markdown(r));
    if let Some(stages) = capacity(r) {
        out.push_str("\n## Capacity stages\n\n");
        let mut table = Table::new(&[
            right("rate (/s)"),
            right("achieved (/s)"),
            right("p95"),
            right("error rate"),
            left("verdict"),
        ]);
        for row in &stages.rows {
            table.cells(row);
        }
        out.push_str(&table.finish());
        let _ = writeln!(
            out,
            "\nHighest rate that met the SLO: {}",
            stages.highest.map_or_else(
                || "none (the first stage already breached)".into(),
                |v| format!("**{v}**")
            )
        );
    }
    out
}

/// The run as one self-contained HTML page (no scripts, no external assets).
pub fn html(r: &RunRecord) -> Result<String, String> {
    let title = format!(
        "Load test run: {} ({})",
        r.journeys.join(", "),
        r.profile.name
    );
    let mut out = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1100px; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }}
th:nth-child(-n+3), td:nth-child(-n+3) {{ text-align: left; }}
.bad {{ color: #cf222e; font-weight: bold; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 0.5rem; }}
figure.chart {{ margin: 0; }}
figure.chart figcaption {{ font-weight: 600; font-size: 0.95rem; }}
svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>{title}</h1>
<ul>
<li>Tool: {tool} {version}</li>
<li>Target: {targets}</li>
<li>Profile: <code>{profile}</code> ({parameters})</li>
<li>Measured window: {start} → {end} ({secs:.1} s, warm-up excluded), {workers} worker record(s)</li>
</ul>
<p>Latency is measured by the client in HDR histograms (µs, 3 significant digits), coordinated-omission aware. Errors: by HTTP status code, timeout, connect, body (failed check).</p>
"#,
        title = escape_html(&title),
        tool = escape_html(&r.tool.name),
        version = escape_html(&r.tool.version),
        targets = escape_html(&targets(r)),
        profile = escape_html(&r.profile.name),
        parameters = escape_html(&parameters(r)),
        start = r.window.start.to_rfc3339(),
        end = r.window.end.to_rfc3339(),
        secs = r.window.seconds(),
        workers = r.workers,
    );
    if let Some(note) = interrupted(r) {
        let _ = writeln!(out, "<p class=\"bad\">{}</p>", escape_html(&note));
    }
    out.push_str(&charts::latency_chart(r)?);
    out.push('\n');
    out.push_str(&charts::throughput_chart(r)?);
    out.push('\n');
    out.push_str(&timeline::load_section(r)?);
    out.push_str(&timeline::errors_section(r)?);
    out.push_str(&timeline::latency_section(r)?);
    out.push_str("\n<h2>Steps</h2>\n<table><tr><th>journey</th><th>step</th><th>service</th><th>requests</th><th>req/s</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th><th>errors</th></tr>\n");
    for x in rows(r) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td></tr>",
            escape_html(x.step.journey.as_deref().unwrap_or("")),
            escape_html(&x.step.name),
            escape_html(x.step.service.as_deref().unwrap_or("—")),
            x.figures().join("</td><td>"),
            if x.step.errors.total() > 0 {
                " class=\"bad\""
            } else {
                ""
            },
            escape_html(&errors(x.step))
        );
    }
    out.push_str("</table>\n");
    out.push_str(&errors::html(r));
    if let Some(stages) = capacity(r) {
        out.push_str("<h2>Capacity stages</h2>\n<table><tr><th>rate (/s)</th><th>achieved (/s)</th><th>p95</th><th>error rate</th><th>verdict</th></tr>\n");
        for row in &stages.rows {
            let cells: Vec<String> = row.iter().map(|c| escape_html(c)).collect();
            let _ = writeln!(out, "<tr><td>{}</td></tr>", cells.join("</td><td>"));
        }
        let _ = writeln!(
            out,
            "</table>\n<p>Highest rate that met the SLO: <strong>{}</strong></p>",
            stages.highest.as_deref().unwrap_or("none")
        );
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

/// Writes report.md and report.html into `dir`.
pub fn write(r: &RunRecord, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let md = dir.join("report.md");
    std::fs::write(&md, markdown(r))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", md.display()))?;
    let page = dir.join("report.html");
    std::fs::write(&page, html(r).map_err(anyhow::Error::msg)?)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", page.display()))?;
    Ok(vec![md, page])
}

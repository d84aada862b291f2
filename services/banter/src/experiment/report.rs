//! The experiment's reports: `report.json` (the whole [`Outcome`]),
//! `report.md`, and `report.html` with the timeline — latency, error rate, burn
//! rate and alert state, the fault window shaded on each.

use super::analysis::Outcome;
use anyhow::Context as _;
use reportkit::chart::{self, Line, Lines};
use reportkit::escape_html;
use reportkit::markdown::{Table, left};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writes the three reports into `out`; their paths.
pub fn write(outcome: &Outcome, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let json = out.join("report.json");
    std::fs::write(&json, serde_json::to_string_pretty(outcome)?)
        .with_context(|| format!("cannot write {}", json.display()))?;
    let md = out.join("report.md");
    std::fs::write(&md, markdown(outcome))
        .with_context(|| format!("cannot write {}", md.display()))?;
    let html_path = out.join("report.html");
    std::fs::write(&html_path, html(outcome).map_err(anyhow::Error::msg)?)
        .with_context(|| format!("cannot write {}", html_path.display()))?;
    Ok(vec![md, html_path, json])
}

fn opt(v: Option<f64>, digits: usize) -> String {
    // `+ 0.0` turns the -0 of a counter difference into 0.
    v.map_or("–".to_owned(), |v| format!("{:.digits$}", v + 0.0))
}

fn mark(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "MET",
        Some(false) => "NOT MET",
        None => "NOT EVALUATED",
    }
}

/// The verdict in one line.
pub fn verdict_line(o: &Outcome) -> String {
    match o.exit_code {
        0 => "expectations met: exit 0".to_owned(),
        1 => {
            let failed: Vec<&str> = o
                .checks
                .iter()
                .filter(|c| c.met == Some(false))
                .map(|c| c.expectation.as_str())
                .collect();
            format!("expectations NOT met: exit 1 — {}", failed.join("; "))
        }
        _ => "expectations could not all be evaluated: exit 2".to_owned(),
    }
}

pub fn markdown(o: &Outcome) -> String {
    let s = &o.scenario;
    let mut md = format!("# Experiment `{}`\n\n", s.name);
    if let Some(d) = &s.description {
        let _ = writeln!(md, "{}\n", d.trim());
    }
    let t = &s.timeline;
    let fault = s
        .fault
        .as_ref()
        .map_or("none (healthy run)".to_owned(), |f| {
            format!("`{}`", f.title())
        });
    let _ = writeln!(
        md,
        "- platform: {}\n- fault: {fault}\n- timeline: {} s steady, {} s fault, {} s recovery ({:.0} s observed, started {})\n- rules time-compressed ×{} (every range and `for:` divided by it); burn over a trailing {:.0} s window\n- alerts: {}\n",
        o.platform,
        t.steady.as_secs(),
        t.fault.as_secs(),
        t.recovery.as_secs(),
        o.observed_secs,
        o.started_at.to_rfc3339(),
        s.compress,
        o.burn_window_secs,
        o.alerting.note
    );
    md.push_str("## Expectations\n\n");
    let mut table = Table::new(&[left("expectation"), left("verdict"), left("detail")]);
    for c in &o.checks {
        table.row(&[&c.expectation, &mark(c.met), &c.detail]);
    }
    md.push_str(&table.finish());
    let _ = writeln!(md, "\n**{}**\n", verdict_line(o));
    if !o.fault_window.is_empty() {
        md.push_str("## What the fault window cost\n\nBurn = bad ratio / allowed ratio over the window; budget = share of a 30-day error budget at this traffic (compressed: as the compressed rules see it). Recovery = seconds after the fault ended until the trailing-window burn was ≤ 1 again.\n\n");
        let mut table = Table::new(&[
            left("objective"),
            left("target"),
            left("events"),
            left("bad"),
            left("burn"),
            left("budget spent"),
            left("compressed"),
            left("recovered after"),
        ]);
        for w in &o.fault_window {
            let recovered = match (w.breached, w.recovered_after_secs) {
                (false, _) => "never breached".to_owned(),
                (true, Some(r)) => format!("{r:.0} s"),
                (true, None) => "not recovered".to_owned(),
            };
            table.row(&[
                &w.name,
                &format_args!("{} %", w.objective_percent),
                &opt(w.events, 0),
                &opt(w.bad, 0),
                &format_args!("{}×", opt(w.burn, 2)),
                &format_args!("{} %", opt(w.budget_spent_percent, 4)),
                &format_args!("{} %", opt(w.budget_spent_compressed_percent, 3)),
                &recovered,
            ]);
        }
        md.push_str(&table.finish());
        md.push('\n');
    }
    md.push_str("## Alerts\n\n");
    if !o.alerting.evaluated {
        let _ = writeln!(md, "Not evaluated: {}\n", o.alerting.note);
    } else if o.alerts.iter().all(|a| a.firing.is_empty()) {
        md.push_str("None fired.\n\n");
    } else {
        let mut table = Table::new(&[left("alert"), left("fired at (s)"), left("stopped at (s)")]);
        for a in o.alerts.iter().filter(|a| !a.firing.is_empty()) {
            for (from, to) in &a.firing {
                table.row(&[
                    &a.title(),
                    &format_args!("{from:.0}"),
                    &format_args!("{to:.0}"),
                ]);
            }
        }
        md.push_str(&table.finish());
        md.push('\n');
    }
    md.push_str("## Events\n\n");
    if let Some(note) = &o.ledger_note {
        let _ = writeln!(md, "Ledger: {note}.\n");
    }
    let mut table = Table::new(&[
        left("topic"),
        left("group"),
        left("published"),
        left("handled"),
        left("redelivered (skipped)"),
        left("dead-lettered"),
        left("lost"),
        left("handled twice"),
    ]);
    for e in &o.events {
        table.row(&[
            &e.topic,
            &e.group,
            &e.published,
            &e.consumed,
            &e.redelivered,
            &e.dead_lettered,
            &e.lost,
            &e.duplicated,
        ]);
    }
    md.push_str(&table.finish());
    let _ = writeln!(
        md,
        "\nStill in outboxes at the end: {}. Client view: {} requests, {} failed.",
        o.outbox_backlog, o.client_requests, o.client_errors
    );
    md
}

fn points(times: &[f64], values: &[Option<f64>], scale: f64) -> Vec<(i64, f64)> {
    times
        .iter()
        .zip(values)
        .filter_map(|(t, v)| v.map(|v| (t.round() as i64, v * scale)))
        .collect()
}

/// A timeline chart; with `legend_below`, the legend is an HTML list under
/// it (many long alert names would cover the lines and the axis).
fn chart(
    o: &Outcome,
    title: &str,
    y: &str,
    lines: &[Line],
    legend_below: bool,
) -> Result<String, String> {
    let look = Lines {
        legend: if legend_below {
            None
        } else {
            Lines::default().legend
        },
        caption: Some(title),
        seconds: o.observed_secs.ceil() as i64 + 1,
        x_desc: Some("seconds into the experiment"),
        y_desc: Some(y),
        shade: o
            .fault
            .map(|f| (f.start as i64, f.end.ceil() as i64, "fault on")),
        ..Lines::default()
    };
    let svg = chart::lines(&look, lines)?;
    if !legend_below {
        return Ok(svg);
    }
    let items: String = lines
        .iter()
        .map(|l| {
            let c = l.color;
            format!(
                "<li><span class=\"swatch\" style=\"background:#{:02x}{:02x}{:02x}\"></span>{}</li>",
                c.0,
                c.1,
                c.2,
                escape_html(&l.name)
            )
        })
        .collect();
    Ok(format!("{svg}<ul class=\"legend\">{items}</ul>"))
}

/// The objectives to draw: those with traffic (and, for burn, any burn).
fn drawn(o: &Outcome, latency: bool) -> impl Iterator<Item = &super::observe::ObjectiveSeries> {
    o.objectives
        .iter()
        .filter(move |s| s.latency == latency && s.burn.iter().any(Option::is_some))
}

pub fn html(o: &Outcome) -> Result<String, String> {
    let colour = |i: usize| chart::SERIES[i % chart::SERIES.len()];
    let latency: Vec<Line> = drawn(o, true)
        .enumerate()
        .map(|(i, s)| Line::new(&s.name, colour(i), points(&o.times, &s.quantile_ms, 1.0)))
        .collect();
    let errors: Vec<Line> = drawn(o, false)
        .enumerate()
        .map(|(i, s)| Line::new(&s.name, colour(i), points(&o.times, &s.bad_ratio, 100.0)))
        .collect();
    let burn: Vec<Line> = o
        .objectives
        .iter()
        .filter(|s| s.burn.iter().any(|b| b.is_some_and(|b| b > 1.0)))
        .enumerate()
        .map(|(i, s)| Line::new(&s.name, colour(i), points(&o.times, &s.burn, 1.0)))
        .collect();
    // One band per alert series: 0 off, 0.5 pending, 1 firing, stacked.
    let seconds = o.observed_secs.ceil() as i64 + 1;
    let alerts: Vec<Line> = o
        .alerts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let base = i as f64 * 1.5;
            let pts = (0..seconds)
                .map(|t| {
                    let tf = t as f64;
                    let v = if a.firing.iter().any(|(f, to)| tf >= *f && tf < *to) {
                        1.0
                    } else if a.pending.iter().any(|p| (p - tf).abs() < 0.5) {
                        0.5
                    } else {
                        0.0
                    };
                    (t, base + v)
                })
                .collect();
            Line::new(a.title(), colour(i), pts)
        })
        .collect();
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>Experiment {}</h1><p class=\"verdict code{}\">{}</p>",
        escape_html(&o.scenario.name),
        o.exit_code,
        escape_html(&verdict_line(o))
    );
    let _ = write!(
        body,
        "<p>Rules time-compressed ×{}; alerts: {}</p>",
        o.scenario.compress,
        escape_html(&o.alerting.note)
    );
    body.push_str(
        "<table><thead><tr><th>expectation</th><th>verdict</th><th>detail</th></tr></thead><tbody>",
    );
    for c in &o.checks {
        let class = match c.met {
            Some(true) => "met",
            Some(false) => "unmet",
            None => "unknown",
        };
        let _ = write!(
            body,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&c.expectation),
            mark(c.met),
            escape_html(&c.detail)
        );
    }
    body.push_str("</tbody></table>");
    let sections = [
        (
            "Latency",
            "p95 per service, ms",
            &latency,
            "no latency data",
            false,
        ),
        (
            "Error rate",
            "5xx, % of requests",
            &errors,
            "no requests",
            false,
        ),
        (
            "Burn rate",
            "× the allowed rate",
            &burn,
            "no objective burned faster than allowed",
            false,
        ),
        (
            "Alert state",
            "stacked: low off, mid pending, high firing",
            &alerts,
            "no alert was pending or firing",
            true,
        ),
    ];
    for (title, y, lines, empty, legend_below) in sections {
        let _ = write!(body, "<section class=\"chart\"><h2>{title}</h2>");
        if lines.is_empty() {
            let _ = write!(body, "<p class=\"empty\">{empty}</p>");
        } else {
            body.push_str(&chart(o, title, y, lines, legend_below)?);
        }
        body.push_str("</section>");
    }
    let md = markdown(o);
    let detail = md
        .split_once("## What the fault window cost")
        .map_or("", |(_, rest)| rest);
    let _ = write!(
        body,
        "<section><h2>Details</h2><pre>{}</pre></section>",
        escape_html(detail)
    );
    Ok(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Experiment {}</title><style>body{{font-family:sans-serif;max-width:1000px;margin:auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px}}tr.met td:nth-child(2){{color:#1a7f37;font-weight:bold}}tr.unmet td:nth-child(2){{color:#cf222e;font-weight:bold}}.verdict{{font-weight:bold}}.code1{{color:#cf222e}}.code0{{color:#1a7f37}}pre{{white-space:pre-wrap}}ul.legend{{list-style:none;columns:2}}.swatch{{display:inline-block;width:14px;height:4px;margin-right:6px;vertical-align:middle}}</style></head><body>{body}</body></html>",
        escape_html(&o.scenario.name)
    ))
}

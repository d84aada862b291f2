//! `slo check` reports.

use std::fmt::Write as _;

use super::{escape_xml, human_seconds, percent};
use crate::check::{Outcome, Report, Verdict};

/// The output formats of `slo check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Junit,
}

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        Format::Markdown => markdown(report),
        Format::Junit => junit(report),
    }
}

fn measured(o: &Outcome) -> String {
    o.measured_percent.map_or("—".into(), percent)
}

fn budget(o: &Outcome) -> String {
    o.budget_consumed_percent
        .map_or("—".into(), |b| format!("{b:.0} %"))
}

/// What the objective means, e.g. `95 % ≤ 200.0 ms` or `99.9 % good`.
fn objective(o: &Outcome) -> String {
    match o.measurement.as_ref().and_then(|m| m.latency.as_ref()) {
        Some(l) => format!(
            "{} ≤ {}",
            percent(o.objective_percent),
            human_seconds(l.threshold_seconds)
        ),
        None => format!("{} good", percent(o.objective_percent)),
    }
}

/// The quantile estimate of a latency objective, e.g. `p95 ≈ 183.0 ms`.
fn estimate(o: &Outcome) -> String {
    match o.measurement.as_ref().and_then(|m| m.latency.as_ref()) {
        Some(l) => format!(
            "p{} ≈ {}",
            crate::render::compare::quantile_name(l.quantile),
            l.estimate_seconds.map_or("—".into(), human_seconds)
        ),
        None => match o.measurement.as_ref() {
            Some(m) => match (m.bad, m.total) {
                (Some(b), Some(t)) => {
                    format!("{:.0} bad of {:.0}", b.max(0.0) + 0.0, t.max(0.0) + 0.0)
                }
                _ => String::new(),
            },
            None => String::new(),
        },
    }
}

fn text(r: &Report) -> String {
    let mut rows = vec![[
        "objective".to_owned(),
        "service".to_owned(),
        "target".to_owned(),
        "measured".to_owned(),
        "detail".to_owned(),
        "budget used".to_owned(),
        "verdict".to_owned(),
    ]];
    for o in &r.outcomes {
        rows.push([
            o.name.clone(),
            o.service.clone().unwrap_or_else(|| "—".into()),
            objective(o),
            measured(o),
            estimate(o),
            budget(o),
            o.verdict.label().to_owned(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!(
        "SLO check of {} ({})\nsource: {}\n\n",
        r.service, r.spec, r.source
    );
    if let Some(caveat) = &r.caveat {
        let _ = writeln!(
            out,
            "WARNING: {caveat}; the verdict cannot be trusted (exit 2)\n"
        );
    }
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    for o in &r.outcomes {
        if let Some(msg) = &o.message {
            let _ = writeln!(out, "\n{}: {msg}", o.name);
        }
    }
    let _ = writeln!(out, "\n{}", r.summary());
    out
}

fn markdown(r: &Report) -> String {
    let mut out = format!(
        "### SLO check: {}\n\nSource: {}\n\n| objective | service | target | measured | detail | error budget used | verdict |\n|---|---|---|---:|---|---:|---|\n",
        r.service, r.source
    );
    if let Some(caveat) = &r.caveat {
        out = format!("> ⚠️ **{caveat}**: the verdict cannot be trusted.\n\n{out}");
    }
    for o in &r.outcomes {
        let icon = match o.verdict {
            Verdict::Pass => "✅",
            Verdict::Breach => "❌",
            Verdict::NoData | Verdict::Error => "⚠️",
            Verdict::NotApplicable => "➖",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {icon} {} |",
            o.name,
            o.service.as_deref().unwrap_or("—"),
            objective(o),
            measured(o),
            estimate(o),
            budget(o),
            o.verdict.label()
        );
    }
    for o in &r.outcomes {
        if let Some(msg) = &o.message {
            let _ = writeln!(out, "\n- **{}**: {}", o.name, msg.replace('\n', " "));
        }
    }
    let _ = writeln!(out, "\n{}", r.summary());
    out
}

fn junit(r: &Report) -> String {
    let failures = r
        .outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Breach)
        .count();
    let errors = r
        .outcomes
        .iter()
        .filter(|o| o.counts_against() && o.verdict != Verdict::Breach)
        .count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"slo\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\">\n  <testsuite name=\"{svc}\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\">\n    <properties><property name=\"source\" value=\"{src}\"/></properties>\n",
        n = r.outcomes.len(),
        svc = escape_xml(&r.service),
        src = escape_xml(&r.source)
    );
    for o in &r.outcomes {
        let detail = format!(
            "target {}, measured {}, {}, error budget used {}",
            objective(o),
            measured(o),
            estimate(o),
            budget(o)
        );
        let _ = write!(
            out,
            "    <testcase classname=\"slo.{}\" name=\"{}\">",
            escape_xml(o.service.as_deref().unwrap_or(&r.service)),
            escape_xml(&o.name)
        );
        match o.verdict {
            Verdict::Pass => {
                let _ = write!(out, "<system-out>{}</system-out>", escape_xml(&detail));
            }
            Verdict::Breach => {
                let _ = write!(
                    out,
                    "<failure message=\"objective breached\">{}</failure>",
                    escape_xml(&detail)
                );
            }
            Verdict::NoData | Verdict::Error if o.counts_against() => {
                let _ = write!(
                    out,
                    "<error message=\"{}\">{}</error>",
                    o.verdict.label(),
                    escape_xml(o.message.as_deref().unwrap_or(""))
                );
            }
            Verdict::NoData | Verdict::Error | Verdict::NotApplicable => {
                let _ = write!(
                    out,
                    "<skipped message=\"{}\"/>",
                    escape_xml(o.message.as_deref().unwrap_or(o.verdict.label()))
                );
            }
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

//! `slo compare` as Markdown (fit for a CI step summary).

use std::fmt::Write as _;

use super::human_seconds;
use crate::compare::{Comparison, Delta, Metric, StepComparison};

/// `0.95` → `95`, `0.999` → `99.9`.
pub fn quantile_name(q: f64) -> String {
    let p = q * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}

/// A metric's value for people.
pub fn value(m: Metric, v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    match m {
        Metric::Throughput => format!("{v:.1}/s"),
        Metric::ErrorRate => format!("{:.3} %", v * 100.0),
        _ => human_seconds(v),
    }
}

pub fn signed(m: Metric, v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let sign = if v >= 0.0 { "+" } else { "−" };
    match m {
        Metric::Throughput => format!("{sign}{:.1}/s", v.abs()),
        Metric::ErrorRate => format!("{sign}{:.3} pp", v.abs() * 100.0),
        _ => format!("{sign}{}", human_seconds(v.abs())),
    }
}

pub fn relative(v: f64) -> String {
    if v.is_finite() {
        format!("{:+.1} %", v * 100.0)
    } else {
        "—".into()
    }
}

pub fn interval(d: &Delta) -> String {
    match d.interval {
        Some((lo, hi)) => format!("[{}, {}]", signed(d.metric, lo), signed(d.metric, hi)),
        None => "—".into(),
    }
}

pub fn meaningful(d: &Delta) -> &'static str {
    match d.meaningful {
        Some(true) => "yes",
        Some(false) => "no",
        None => "—",
    }
}

/// The compact line of one step: p95 base → candidate, Δ p95 with its
/// interval, Δ error rate, Δ throughput.
pub fn summary_row(s: &StepComparison) -> [String; 4] {
    let find = |m: Metric| s.deltas.iter().find(|d| d.metric == m);
    let p95 = find(Metric::P95);
    let mark = |d: &Delta| if d.meaningful == Some(true) { " *" } else { "" };
    [
        p95.map_or("—".into(), |d| {
            format!("{} → {}", value(d.metric, d.base), value(d.metric, d.cand))
        }),
        p95.map_or("—".into(), |d| {
            format!("{} {}{}", relative(d.relative), interval(d), mark(d))
        }),
        find(Metric::ErrorRate).map_or("—".into(), |d| {
            format!("{}{}", signed(d.metric, d.absolute), mark(d))
        }),
        find(Metric::Throughput).map_or("—".into(), |d| relative(d.relative)),
    ]
}

pub fn markdown(c: &Comparison) -> String {
    let verdict = if c.passed() {
        "✅ pass"
    } else {
        "❌ regression"
    };
    let criteria: Vec<String> = c.criteria.iter().map(|x| format!("`{}`", x.text)).collect();
    let mut out = format!(
        "### Run comparison: {verdict}\n\nBase: `{}` · Candidate: `{}` · Criteria: {}\n\n\
         A latency delta is *meaningful* when its 95 % bootstrap interval excludes zero; \
         a criterion fails only on a meaningful delta.\n",
        c.base,
        c.cand,
        if criteria.is_empty() {
            "none".into()
        } else {
            criteria.join(", ")
        }
    );
    out.push_str(
        "\n| step | p95 base → candidate | Δ p95 (95 % interval) | Δ error rate | Δ throughput | |\n|---|---|---|---:|---:|---|\n",
    );
    for s in &c.steps {
        let row = summary_row(s);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            s.key,
            row[0],
            row[1],
            row[2],
            row[3],
            if s.passed() { "✅" } else { "❌" }
        );
    }
    out.push_str("\n\\* meaningful: noise cannot explain it.\n\n<details><summary>Details per step</summary>\n");
    for s in &c.steps {
        let _ = write!(
            out,
            "\n#### {} {}\n\n| metric | base | candidate | Δ | Δ % | 95 % interval of Δ | meaningful | criteria |\n|---|---:|---:|---:|---:|---|---|---|\n",
            if s.passed() { "✅" } else { "❌" },
            s.key
        );
        for d in &s.deltas {
            let crit = if d.failed.is_empty() {
                let any = c.criteria.iter().any(|x| x.metric == d.metric);
                if any { "ok".to_owned() } else { String::new() }
            } else {
                format!("**failed** {}", d.failed.join(", "))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                d.metric.name(),
                value(d.metric, d.base),
                value(d.metric, d.cand),
                signed(d.metric, d.absolute),
                relative(d.relative),
                interval(d),
                meaningful(d),
                crit
            );
        }
    }
    out.push_str("\n</details>\n");
    if !c.only_in_base.is_empty() {
        let _ = writeln!(
            out,
            "\nOnly in base (not compared): {}",
            c.only_in_base.join(", ")
        );
    }
    if !c.only_in_cand.is_empty() {
        let _ = writeln!(
            out,
            "\nOnly in candidate (not compared): {}",
            c.only_in_cand.join(", ")
        );
    }
    out
}

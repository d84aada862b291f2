//! Relative gates on a comparison (`p95 <= +10%`, `error_rate <= +0.1`):
//! parsing them from the command line and judging a delta against them.

use serde::Serialize;

use super::Metric;

/// A bound on a metric's delta, e.g. `p95 <= +10%`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Criterion {
    pub metric: Metric,
    /// `true` for `<=` (the delta may not exceed the bound), `false` for `>=`.
    pub at_most: bool,
    pub bound: Bound,
    pub text: String,
}

/// Relative (`+10%`) or absolute (`+20ms`, `+0.1pp`, `+5`) bound on a delta.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    Relative(f64),
    Absolute(f64),
}

impl Criterion {
    /// Parses `METRIC (<=|>=) VALUE`, where VALUE is `+10%`, `-5%`, `+20ms`
    /// (latency), `+0.1pp` (error rate, percentage points) or a plain number.
    pub fn parse(text: &str) -> Result<Criterion, String> {
        let t = text.trim();
        let usage = || {
            format!(
                "`{t}` is not a criterion; write METRIC <= VALUE or METRIC >= VALUE, with METRIC one of \
                 throughput, p50, p95, p99, error_rate and VALUE like +10%, +20ms or +0.1pp"
            )
        };
        let (lhs, rhs, at_most) = if let Some((l, r)) = t.split_once("<=") {
            (l, r, true)
        } else if let Some((l, r)) = t.split_once(">=") {
            (l, r, false)
        } else {
            return Err(usage());
        };
        let metric = Metric::parse(lhs.trim()).ok_or_else(usage)?;
        let v = rhs.trim().replace(' ', "");
        let bound = if let Some(n) = v.strip_suffix('%') {
            Bound::Relative(n.parse::<f64>().map_err(|_| usage())? / 100.0)
        } else if let Some(n) = v.strip_suffix("pp") {
            if metric != Metric::ErrorRate {
                return Err(format!("`{t}`: pp (percentage points) is for error_rate"));
            }
            Bound::Absolute(n.parse::<f64>().map_err(|_| usage())? / 100.0)
        } else if v.ends_with('s') {
            if metric.quantile().is_none() {
                return Err(format!("`{t}`: a duration bound is for p50, p95 or p99"));
            }
            let neg = v.starts_with('-');
            let secs = crate::spec::parse_duration_seconds(v.trim_start_matches(['+', '-']))?;
            Bound::Absolute(if neg { -secs } else { secs })
        } else {
            Bound::Absolute(v.parse::<f64>().map_err(|_| usage())?)
        };
        Ok(Criterion {
            metric,
            at_most,
            bound,
            text: t.to_owned(),
        })
    }

    /// Reads one criterion per line; `#` starts a comment.
    pub fn parse_file(text: &str) -> Result<Vec<Criterion>, String> {
        text.lines()
            .enumerate()
            .filter_map(|(i, l)| {
                let l = l.split('#').next().unwrap_or("").trim();
                (!l.is_empty())
                    .then(|| Criterion::parse(l).map_err(|e| format!("line {}: {e}", i + 1)))
            })
            .collect()
    }

    /// The defaults: p95 at most 10 % slower, error rate at most 0.1 points higher.
    pub fn defaults() -> Vec<Criterion> {
        ["p95 <= +10%", "error_rate <= +0.1pp"]
            .iter()
            .filter_map(|t| Criterion::parse(t).ok())
            .collect()
    }

    /// Whether a delta stays within the bound.
    pub(super) fn holds(&self, base: f64, delta: f64) -> bool {
        let limit = match self.bound {
            Bound::Relative(r) => base.abs() * r,
            Bound::Absolute(a) => a,
        };
        if self.at_most {
            delta <= limit + 1e-12
        } else {
            delta >= limit - 1e-12
        }
    }
}

//! `slo compare`: two runs side by side, step by step, with bootstrap intervals
//! so a latency delta is called meaningful only when noise cannot explain it.
//!
//! Each latency quantile's delta gets a 95 % interval from a Poisson bootstrap on
//! the two histograms (every bucket's count redrawn as Poisson(count), which is the
//! multinomial bootstrap for large samples without touching each sample). An error
//! rate delta is meaningful when a two-proportion z-test says so (|z| > 1.96).
//! Criteria such as `p95 <= +10%` fail a step only when the delta is past the
//! bound *and* meaningful.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};
use runrecord::RunRecord;
use serde::Serialize;

/// Bootstrap replicates per quantile.
const REPLICATES: usize = 400;

/// The measurable things of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Throughput,
    P50,
    P95,
    P99,
    ErrorRate,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::Throughput,
        Metric::P50,
        Metric::P95,
        Metric::P99,
        Metric::ErrorRate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::ErrorRate => "error_rate",
        }
    }

    fn quantile(self) -> Option<f64> {
        match self {
            Metric::P50 => Some(0.5),
            Metric::P95 => Some(0.95),
            Metric::P99 => Some(0.99),
            _ => None,
        }
    }

    fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// A latency distribution: `(seconds, count)` ascending. Points are exact values
/// (an HDR histogram) or, when `buckets` is set, the upper bounds of histogram
/// buckets (the last one `+Inf`) with the count of each bucket alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LatencyDistribution {
    pub points: Vec<(f64, f64)>,
    pub buckets: bool,
}

impl LatencyDistribution {
    pub fn total(&self) -> f64 {
        self.points.iter().map(|p| p.1).sum()
    }

    /// For exact values: the smallest value with at least `q` of the samples at
    /// or below it (HDR's definition, so it agrees with the run record's own
    /// percentiles). For buckets: `histogram_quantile`'s interpolation.
    pub fn quantile(&self, q: f64) -> f64 {
        quantile_of(&self.points, self.buckets, q)
    }
}

fn quantile_of(points: &[(f64, f64)], buckets: bool, q: f64) -> f64 {
    if buckets {
        let mut cumulative = 0.0;
        let pairs: Vec<(f64, f64)> = points
            .iter()
            .map(|(le, c)| {
                cumulative += c;
                (*le, cumulative)
            })
            .collect();
        return crate::math::Buckets::from_pairs(pairs).quantile(q);
    }
    let total: f64 = points.iter().map(|p| p.1).sum();
    if total <= 0.0 {
        return f64::NAN;
    }
    let rank = (q * total).max(1.0).min(total);
    let mut seen = 0.0;
    for p in points {
        seen += p.1;
        if seen >= rank - 1e-9 {
            return p.0;
        }
    }
    points.last().map_or(f64::NAN, |p| p.0)
}

/// One step of one run.
#[derive(Debug, Clone, Serialize)]
pub struct StepStats {
    pub key: String,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    #[serde(skip)]
    pub latency: LatencyDistribution,
    /// Requests per second since the window's start: `(offset s, requests)`.
    pub timeline: Vec<(i64, u64)>,
}

impl StepStats {
    pub fn value(&self, m: Metric) -> f64 {
        match m {
            Metric::Throughput => {
                if self.seconds > 0.0 {
                    self.requests as f64 / self.seconds
                } else {
                    f64::NAN
                }
            }
            Metric::ErrorRate => {
                if self.requests > 0 {
                    self.errors as f64 / self.requests as f64
                } else {
                    f64::NAN
                }
            }
            q => self.latency.quantile(q.quantile().unwrap_or(0.5)),
        }
    }
}

/// One run as compare sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub label: String,
    pub steps: Vec<StepStats>,
}

impl Run {
    pub fn from_record(label: &str, r: &RunRecord) -> Run {
        let seconds = r.window.seconds();
        let start = r.window.start.timestamp();
        let steps = r
            .steps
            .iter()
            .map(|s| StepStats {
                key: s.key(),
                requests: s.requests,
                errors: s.errors.total(),
                seconds,
                latency: LatencyDistribution {
                    buckets: false,
                    points: s
                        .latency
                        .buckets()
                        .into_iter()
                        .map(|(us, c)| (us as f64 / 1e6, c as f64))
                        .collect(),
                },
                timeline: s
                    .timeline
                    .iter()
                    .map(|x| (x.t - start, x.requests))
                    .collect(),
            })
            .collect();
        Run {
            label: label.to_owned(),
            steps,
        }
    }

    /// Requests per second of all steps together, by second of the window.
    pub fn total_timeline(&self) -> Vec<(i64, u64)> {
        let mut by: BTreeMap<i64, u64> = BTreeMap::new();
        for s in &self.steps {
            for (t, n) in &s.timeline {
                *by.entry(*t).or_default() += n;
            }
        }
        by.into_iter().collect()
    }
}

/// One metric of one step, compared.
#[derive(Debug, Clone, Serialize)]
pub struct Delta {
    pub metric: Metric,
    pub base: f64,
    pub cand: f64,
    pub absolute: f64,
    /// `absolute / base` (NaN when base is 0).
    pub relative: f64,
    /// 95 % interval of the delta (latency quantiles only).
    pub interval: Option<(f64, f64)>,
    /// Noise cannot explain the delta (latency: the interval excludes 0; error
    /// rate: two-proportion z-test; throughput: never tested, `None`).
    pub meaningful: Option<bool>,
    /// Criteria on this metric that failed.
    pub failed: Vec<String>,
}

/// One step compared.
#[derive(Debug, Clone, Serialize)]
pub struct StepComparison {
    pub key: String,
    pub deltas: Vec<Delta>,
}

impl StepComparison {
    pub fn passed(&self) -> bool {
        self.deltas.iter().all(|d| d.failed.is_empty())
    }
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub base: String,
    pub cand: String,
    pub criteria: Vec<Criterion>,
    pub steps: Vec<StepComparison>,
    pub only_in_base: Vec<String>,
    pub only_in_cand: Vec<String>,
    #[serde(skip)]
    pub base_run: Run,
    #[serde(skip)]
    pub cand_run: Run,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.steps.iter().all(StepComparison::passed)
    }

    /// 0 when every criterion holds, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.passed() { 0 } else { 1 }
    }
}

/// Redraws each bucket's count as Poisson(count).
fn resample(d: &LatencyDistribution, rng: &mut rand::rngs::StdRng) -> Vec<(f64, f64)> {
    d.points
        .iter()
        .map(|&(v, c)| {
            let c2 = if c > 0.0 {
                Poisson::new(c).map_or(c, |p| p.sample(rng))
            } else {
                0.0
            };
            (v, c2)
        })
        .collect()
}

/// 95 % bootstrap intervals of `quantile(cand) - quantile(base)` for each of
/// `qs`; `None` when either side has no sample.
pub fn bootstrap_deltas(
    base: &LatencyDistribution,
    cand: &LatencyDistribution,
    qs: &[f64],
    seed: u64,
) -> Option<Vec<(f64, f64)>> {
    if base.total() <= 0.0 || cand.total() <= 0.0 {
        return None;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut deltas: Vec<Vec<f64>> = vec![Vec::with_capacity(REPLICATES); qs.len()];
    for _ in 0..REPLICATES {
        let b = resample(base, &mut rng);
        let c = resample(cand, &mut rng);
        for (i, q) in qs.iter().enumerate() {
            let d = quantile_of(&c, cand.buckets, *q) - quantile_of(&b, base.buckets, *q);
            if d.is_finite() {
                deltas[i].push(d);
            }
        }
    }
    deltas
        .into_iter()
        .map(|mut v| {
            if v.is_empty() {
                return None;
            }
            v.sort_by(f64::total_cmp);
            let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
            Some((at(0.025), at(0.975)))
        })
        .collect()
}

/// Two-proportion z-test at 95 %.
fn proportions_differ(e1: u64, n1: u64, e2: u64, n2: u64) -> bool {
    if n1 == 0 || n2 == 0 {
        return false;
    }
    let (p1, p2) = (e1 as f64 / n1 as f64, e2 as f64 / n2 as f64);
    let p = (e1 + e2) as f64 / (n1 + n2) as f64;
    let se = (p * (1.0 - p) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    se > 0.0 && ((p2 - p1) / se).abs() > 1.96
}

/// Compares two runs step by step under `criteria`.
pub fn compare(base: Run, cand: Run, criteria: Vec<Criterion>) -> Comparison {
    let mut steps = Vec::new();
    let qs: Vec<f64> = Metric::ALL.iter().filter_map(|m| m.quantile()).collect();
    for (i, b) in base.steps.iter().enumerate() {
        let Some(c) = cand.steps.iter().find(|c| c.key == b.key) else {
            continue;
        };
        let intervals = bootstrap_deltas(&b.latency, &c.latency, &qs, 0x5107 + i as u64);
        let deltas = Metric::ALL
            .iter()
            .map(|&m| {
                let (bv, cv) = (b.value(m), c.value(m));
                let absolute = cv - bv;
                let relative = if bv != 0.0 { absolute / bv } else { f64::NAN };
                let (interval, meaningful) = match m.quantile() {
                    Some(q) => {
                        let iv = intervals
                            .as_ref()
                            .and_then(|all| qs.iter().position(|x| *x == q).map(|k| all[k]));
                        (iv, iv.map(|(lo, hi)| lo > 0.0 || hi < 0.0))
                    }
                    None if m == Metric::ErrorRate => (
                        None,
                        Some(proportions_differ(
                            b.errors, b.requests, c.errors, c.requests,
                        )),
                    ),
                    None => (None, None),
                };
                let failed = criteria
                    .iter()
                    .filter(|cr| cr.metric == m)
                    .filter(|_| bv.is_finite() && cv.is_finite())
                    .filter(|cr| !cr.holds(bv, absolute) && meaningful != Some(false))
                    .map(|cr| cr.text.clone())
                    .collect();
                Delta {
                    metric: m,
                    base: bv,
                    cand: cv,
                    absolute,
                    relative,
                    interval,
                    meaningful,
                    failed,
                }
            })
            .collect();
        steps.push(StepComparison {
            key: b.key.clone(),
            deltas,
        });
    }
    let keys = |r: &Run| r.steps.iter().map(|s| s.key.clone()).collect::<Vec<_>>();
    let (bk, ck) = (keys(&base), keys(&cand));
    Comparison {
        base: base.label.clone(),
        cand: cand.label.clone(),
        criteria,
        steps,
        only_in_base: bk.iter().filter(|k| !ck.contains(k)).cloned().collect(),
        only_in_cand: ck.iter().filter(|k| !bk.contains(k)).cloned().collect(),
        base_run: base,
        cand_run: cand,
    }
}

mod criteria;
mod experiment;
pub use criteria::{Bound, Criterion};
pub use experiment::mismatches;

#[cfg(test)]
mod tests;

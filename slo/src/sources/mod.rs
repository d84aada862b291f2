//! Where measurements come from. Every source answers the same question — "over
//! the window, how many events were good for this objective?" — behind [`Source`]:
//!
//! - [`prometheus`]: the Prometheus HTTP API, evaluating the spec's PromQL over a
//!   time window;
//! - [`scrape`]: `/metrics` endpoints scraped now, minus an optional snapshot taken
//!   earlier (`slo snapshot`), evaluated by [`crate::promql`];
//! - [`run`]: a load generator's run record (the client's view).

pub mod prometheus;
pub mod run;
pub mod scrape;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::math::Buckets;
use crate::promql::Labels;
use crate::spec::{Sli, Slo};

/// What a source measured for one objective.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Measurement {
    /// Events (requests) in the window, when the source can count them.
    pub total: Option<f64>,
    /// Bad events in the window, when the source can count them.
    pub bad: Option<f64>,
    /// Good events / all events; `None` when the window holds no event.
    pub good_ratio: Option<f64>,
    /// For latency objectives.
    pub latency: Option<Latency>,
    /// Anything the reader should know about how this was measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The source cannot see this kind of objective (e.g. journey correctness
    /// on a server's metrics).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_applicable: bool,
}

impl Measurement {
    /// What a source answers for an objective it cannot see.
    pub fn not_applicable(why: &str) -> Self {
        Self {
            not_applicable: true,
            note: Some(why.to_owned()),
            ..Self::default()
        }
    }
}

/// The latency side of a measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub threshold_seconds: f64,
    /// The quantile matching the objective (0.95 for a 95 % objective).
    pub quantile: f64,
    /// That quantile's estimate in seconds (`histogram_quantile` on buckets,
    /// the HDR value on a run record).
    pub estimate_seconds: Option<f64>,
    /// The window's cumulative buckets, when the source has buckets.
    #[serde(skip)]
    pub buckets: Option<Buckets>,
}

/// A source failed: unreachable, refused a query, or cannot evaluate it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// Why an HTTP request failed, in one line: the error's causes (each once)
/// and, for the common cases, what to do.
pub fn http_failure(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let cause = s.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = s.source();
    }
    if text.contains("Connection refused") {
        text.push_str(" (nothing listens there: is it running, is the port right?)");
    } else if [
        "InvalidContentType",
        "corrupt message",
        "wrong version number",
    ]
    .iter()
    .any(|t| text.contains(t))
    {
        text.push_str(" (the server does not speak TLS: use http://)");
    }
    text
}

/// Anything that can measure objectives over a window.
#[async_trait]
pub trait Source: Send + Sync {
    /// One line naming the source and its window, for reports.
    fn describe(&self) -> String;
    /// The measured window, when the source knows it.
    fn window(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)>;
    /// What to check when an objective has no events in the window.
    fn no_data_hint(&self) -> String {
        "is the service running, and is the window long enough?".into()
    }
    /// Why the window cannot be trusted, if it cannot (an interrupted run).
    fn caveat(&self) -> Option<String> {
        None
    }
    /// Measures one objective. `Ok` with `good_ratio: None` means "no data".
    async fn measure(&self, slo: &Slo) -> Result<Measurement, SourceError>;
}

/// A source that answers PromQL instant queries over its window.
#[async_trait]
pub trait PromqlSource: Send + Sync {
    /// What replaces `{{.window}}`, e.g. `300s`.
    fn range(&self) -> String;
    /// The window's length in seconds.
    fn window_seconds(&self) -> f64;
    async fn query(&self, promql: &str) -> Result<Vec<(Labels, f64)>, SourceError>;
}

fn sum(v: &[(Labels, f64)]) -> f64 {
    v.iter().map(|(_, x)| *x).filter(|x| !x.is_nan()).sum()
}

/// Measures an objective with PromQL: the shared logic of the Prometheus and
/// scrape sources.
pub async fn measure_promql(src: &dyn PromqlSource, slo: &Slo) -> Result<Measurement, SourceError> {
    let range = src.range();
    match &slo.sli {
        Sli::Journey { .. } => Ok(Measurement::not_applicable(
            "journey correctness is seen only by the client (a run record)",
        )),
        Sli::Events { .. } => {
            let (error_q, total_q) = slo.sli.event_queries(&range).unwrap_or_default();
            let total = src.query(&total_q).await?;
            // No error series at all is normal (nothing failed yet): it counts 0.
            let bad = sum(&src.query(&error_q).await?);
            let total = sum(&total);
            // Sloth's queries are rates; turn them back into counts for the reader.
            let scale = if total_q.contains("rate(") {
                src.window_seconds()
            } else {
                1.0
            };
            Ok(Measurement {
                total: Some(total * scale),
                bad: Some(bad * scale),
                good_ratio: (total > 0.0).then(|| (1.0 - bad / total).clamp(0.0, 1.0)),
                latency: None,
                note: None,
                not_applicable: false,
            })
        }
        Sli::Raw { .. } => {
            let v = src.query(&slo.sli.error_ratio_query(&range)).await?;
            let ratio = v.iter().map(|(_, x)| *x).find(|x| x.is_finite());
            Ok(Measurement {
                good_ratio: ratio.map(|r| (1.0 - r).clamp(0.0, 1.0)),
                note: (v.len() > 1)
                    .then(|| format!("the raw query returned {} series; used the first", v.len())),
                ..Measurement::default()
            })
        }
        Sli::Latency {
            metric,
            selector,
            threshold_seconds,
            ..
        } => {
            let q = format!("sum by (le) (increase({metric}_bucket{{{selector}}}[{range}]))");
            let rows = src.query(&q).await?;
            let mut pairs = Vec::new();
            for (labels, value) in rows {
                let Some(le) = labels.get("le") else { continue };
                let le: f64 = le.parse().map_err(|_| {
                    SourceError(format!(
                        "bucket bound le=\"{le}\" of {metric} is not a number"
                    ))
                })?;
                pairs.push((le, value));
            }
            let buckets = Buckets::from_pairs(pairs);
            let total = buckets.total();
            let good_ratio = if buckets.is_empty() {
                None
            } else {
                buckets
                    .good_ratio(*threshold_seconds)
                    .map_err(|e| SourceError(format!("{metric}: {e}")))?
            };
            let estimate = buckets.quantile(slo.objective);
            Ok(Measurement {
                total: Some(total),
                bad: good_ratio.map(|g| total * (1.0 - g)),
                good_ratio,
                latency: Some(Latency {
                    threshold_seconds: *threshold_seconds,
                    quantile: slo.objective,
                    estimate_seconds: estimate.is_finite().then_some(estimate),
                    buckets: Some(buckets),
                }),
                note: None,
                not_applicable: false,
            })
        }
    }
}

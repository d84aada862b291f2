//! The Prometheus HTTP API over a time window.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use std::collections::BTreeMap;

use super::{Measurement, PromqlSource, Source, SourceError, measure_promql};
use crate::compare::{LatencyDistribution, Run, StepStats};
use crate::math::Buckets;
use crate::promql::Labels;
use crate::spec::Slo;

/// Evaluates objectives with instant queries at the window's end, with the
/// window's length as the range (`increase(x[300s])`).
pub struct PrometheusSource {
    client: prometheus_http_query::Client,
    url: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl PrometheusSource {
    /// Connects and checks that Prometheus answers, so an unreachable server is
    /// reported once, clearly, before any objective is measured.
    pub async fn connect(
        url: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Self, SourceError> {
        if to <= from {
            return Err(SourceError(format!(
                "the window is empty: --from {from} is not before --to {to}"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| SourceError(format!("cannot build an HTTP client: {e}")))?;
        let client = prometheus_http_query::Client::from(http, url)
            .map_err(|e| SourceError(format!("invalid Prometheus URL {url}: {e}")))?;
        let source = Self {
            client,
            url: url.trim_end_matches('/').to_owned(),
            from,
            to,
        };
        source
            .query("vector(1)")
            .await
            .map_err(|e| SourceError(format!("cannot reach Prometheus at {}: {e}", source.url)))?;
        Ok(source)
    }

    /// The window as a run for `slo compare`: one step per service, method and
    /// route of histogram `metric` (base name) matching `selector`, with its
    /// buckets' increase over the window and its 5xx responses as errors.
    pub async fn run(&self, label: &str, metric: &str, selector: &str) -> Result<Run, SourceError> {
        let range = self.range();
        let by = "service, http_request_method, http_route";
        let sep = if selector.trim().is_empty() { "" } else { "," };
        let buckets = self
            .query(&format!(
                "sum by ({by}, le) (increase({metric}_bucket{{{selector}}}[{range}]))"
            ))
            .await?;
        let errors = self
            .query(&format!(
                "sum by ({by}) (increase({metric}_count{{{selector}{sep}http_response_status_code=~\"5..\"}}[{range}]))"
            ))
            .await?;
        let key = |l: &Labels| {
            let get = |k: &str| l.get(k).map_or("", String::as_str).to_owned();
            format!(
                "{} {} {}",
                get("service"),
                get("http_request_method"),
                get("http_route")
            )
            .trim()
            .to_owned()
        };
        let mut by_step: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for (labels, v) in &buckets {
            let Some(le) = labels.get("le").and_then(|x| x.parse::<f64>().ok()) else {
                continue;
            };
            by_step.entry(key(labels)).or_default().push((le, *v));
        }
        let seconds = self.window_seconds();
        let steps = by_step
            .into_iter()
            .map(|(k, pairs)| {
                let cumulative = Buckets::from_pairs(pairs);
                let mut prev = 0.0;
                let points = cumulative
                    .pairs()
                    .iter()
                    .map(|(le, c)| {
                        let own = (c - prev).max(0.0);
                        prev = prev.max(*c);
                        (*le, own)
                    })
                    .collect();
                let errors = errors
                    .iter()
                    .filter(|(l, _)| key(l) == k)
                    .map(|(_, v)| *v)
                    .sum::<f64>();
                StepStats {
                    key: k,
                    requests: cumulative.total().round() as u64,
                    errors: errors.round() as u64,
                    seconds,
                    latency: LatencyDistribution {
                        points,
                        buckets: true,
                    },
                    timeline: Vec::new(),
                }
            })
            .filter(|s| s.requests > 0)
            .collect();
        Ok(Run {
            label: label.to_owned(),
            steps,
        })
    }

    /// The raw instant query at the window's end (also used by tests and reports).
    pub async fn instant(&self, promql: &str) -> Result<Vec<(Labels, f64)>, SourceError> {
        self.query(promql).await
    }
}

#[async_trait]
impl PromqlSource for PrometheusSource {
    fn range(&self) -> String {
        format!("{}s", self.window_seconds() as i64)
    }

    /// Whole seconds, as in the range the queries use.
    fn window_seconds(&self) -> f64 {
        ((self.to - self.from).num_milliseconds() as f64 / 1000.0)
            .round()
            .max(1.0)
    }

    async fn query(&self, promql: &str) -> Result<Vec<(Labels, f64)>, SourceError> {
        let res = self
            .client
            .query(promql)
            .at(self.to.timestamp())
            .get()
            .await
            .map_err(|e| {
                SourceError(format!(
                    "Prometheus at {} refused `{promql}`: {}",
                    self.url,
                    super::http_failure(&e)
                ))
            })?;
        match res.data() {
            prometheus_http_query::response::Data::Vector(v) => Ok(v
                .iter()
                .map(|iv| {
                    let labels = iv
                        .metric()
                        .iter()
                        .filter(|(k, _)| k.as_str() != "__name__")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    (labels, iv.sample().value())
                })
                .collect()),
            prometheus_http_query::response::Data::Scalar(s) => {
                Ok(vec![(Labels::new(), s.value())])
            }
            prometheus_http_query::response::Data::Matrix(_) => Err(SourceError(format!(
                "`{promql}` returned a range vector; an SLI query must return an instant vector"
            ))),
        }
    }
}

#[async_trait]
impl Source for PrometheusSource {
    fn describe(&self) -> String {
        format!(
            "Prometheus {} from {} to {} ({})",
            self.url,
            self.from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.range()
        )
    }

    fn window(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        Some((self.from, self.to))
    }

    fn no_data_hint(&self) -> String {
        "is the service scraped (`up` is 1), and does the window span at least two scrapes? \
         Prometheus counts a series born inside the window only from its first scrape, so \
         warm every route up before the window starts"
            .into()
    }

    async fn measure(&self, slo: &Slo) -> Result<Measurement, SourceError> {
        measure_promql(self, slo).await
    }
}

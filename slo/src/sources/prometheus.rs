//! The Prometheus HTTP API over a time window.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Measurement, PromqlSource, Source, SourceError, measure_promql};
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

    /// The raw instant query at the window's end (also used by tests and reports).
    pub async fn instant(&self, promql: &str) -> Result<Vec<(Labels, f64)>, SourceError> {
        self.query(promql).await
    }
}

#[async_trait]
impl PromqlSource for PrometheusSource {
    fn range(&self) -> String {
        format!("{}s", self.window_seconds().round().max(1.0) as i64)
    }

    fn window_seconds(&self) -> f64 {
        (self.to - self.from).num_milliseconds() as f64 / 1000.0
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
                    "Prometheus at {} refused `{promql}`: {e}",
                    self.url
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

    async fn measure(&self, slo: &Slo) -> Result<Measurement, SourceError> {
        measure_promql(self, slo).await
    }
}

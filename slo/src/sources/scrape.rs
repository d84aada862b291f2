//! Direct scrapes of `/metrics` endpoints, optionally minus a snapshot taken
//! before the window (`slo snapshot`), so a window is measured without Prometheus.
//!
//! A snapshot file is the scraped text of each endpoint, each preceded by a line
//! `# slo-snapshot url=<URL> taken_at=<RFC 3339>`: still valid Prometheus text, so
//! `promtool check metrics` and people can read it.

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Measurement, PromqlSource, Source, SourceError, measure_promql};
use crate::promql::{self, Labels, Series};
use crate::spec::Slo;

const MARKER: &str = "# slo-snapshot ";

/// The metrics of one or more endpoints at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub taken_at: DateTime<Utc>,
    /// `(url, exposition text)` per endpoint.
    pub endpoints: Vec<(String, String)>,
}

/// `http://host:port` → `http://host:port/metrics`; a URL with a path is kept.
pub fn metrics_url(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let after_scheme = trimmed.split_once("://").map_or(trimmed, |(_, rest)| rest);
    if after_scheme.contains('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/metrics")
    }
}

impl Snapshot {
    /// Scrapes every URL now.
    pub async fn scrape(urls: &[String]) -> Result<Snapshot, SourceError> {
        if urls.is_empty() {
            return Err(SourceError("no --scrape URL given".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| SourceError(format!("cannot build an HTTP client: {e}")))?;
        let taken_at = Utc::now();
        let mut endpoints = Vec::new();
        for url in urls {
            let url = metrics_url(url);
            let res = http.get(&url).send().await.map_err(|e| {
                SourceError(format!("cannot scrape {url}: {}", super::http_failure(&e)))
            })?;
            if !res.status().is_success() {
                return Err(SourceError(format!(
                    "cannot scrape {url}: HTTP {}",
                    res.status()
                )));
            }
            let text = res
                .text()
                .await
                .map_err(|e| SourceError(format!("cannot read {url}: {e}")))?;
            endpoints.push((url, text));
        }
        Ok(Snapshot {
            taken_at,
            endpoints,
        })
    }

    /// The snapshot file text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (url, text) in &self.endpoints {
            out.push_str(&format!(
                "{MARKER}url={url} taken_at={}\n",
                self.taken_at.to_rfc3339()
            ));
            out.push_str(text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }

    pub fn write(&self, path: &Path) -> Result<(), SourceError> {
        std::fs::write(path, self.to_text())
            .map_err(|e| SourceError(format!("cannot write snapshot {}: {e}", path.display())))
    }

    pub fn read(path: &Path) -> Result<Snapshot, SourceError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SourceError(format!("cannot read snapshot {}: {e}", path.display())))?;
        Snapshot::parse(&text).map_err(|e| SourceError(format!("{}: {e}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Snapshot, String> {
        let mut taken_at = None;
        let mut endpoints: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix(MARKER) {
                let mut url = None;
                for field in rest.split_whitespace() {
                    if let Some(u) = field.strip_prefix("url=") {
                        url = Some(u.to_owned());
                    } else if let Some(t) = field.strip_prefix("taken_at=") {
                        taken_at = Some(
                            DateTime::parse_from_rfc3339(t)
                                .map_err(|e| format!("bad taken_at `{t}`: {e}"))?
                                .with_timezone(&Utc),
                        );
                    }
                }
                endpoints.push((
                    url.ok_or("a `# slo-snapshot` line has no url=")?,
                    String::new(),
                ));
            } else if let Some((_, body)) = endpoints.last_mut() {
                body.push_str(line);
                body.push('\n');
            } else if !line.trim().is_empty() {
                return Err(
                    "not a snapshot written by `slo snapshot` (no `# slo-snapshot` header)".into(),
                );
            }
        }
        match taken_at {
            Some(taken_at) if !endpoints.is_empty() => Ok(Snapshot {
                taken_at,
                endpoints,
            }),
            _ => {
                Err("not a snapshot written by `slo snapshot` (no `# slo-snapshot` header)".into())
            }
        }
    }

    /// Every sample as a flat series (`<histogram>_bucket{le=…}`, `_count`, `_sum`
    /// as Prometheus stores them), labelled with `instance` = the endpoint.
    pub fn series(&self) -> Result<Vec<Series>, SourceError> {
        let mut out = Vec::new();
        for (url, text) in &self.endpoints {
            let instance = url
                .split_once("://")
                .map_or(url.as_str(), |(_, r)| r)
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let scrape = prom_text_format_parser::Scrape::parse(text)
                .map_err(|e| SourceError(format!("cannot parse the metrics of {url}: {e:?}")))?;
            for metric in scrape.metrics {
                for sample in metric.samples {
                    let mut labels: Labels = sample
                        .labels
                        .iter()
                        .map(|l| (l.key.clone(), l.value.clone()))
                        .collect();
                    labels.insert("instance".into(), instance.clone());
                    use prom_text_format_parser::{Type, ValueType};
                    let suffix = match (metric.kind, sample.value.value_type) {
                        (Type::Histogram, ValueType::Sample) => "_bucket",
                        (_, ValueType::Sum) => "_sum",
                        (_, ValueType::Count) => "_count",
                        _ => "",
                    };
                    let value = sample.value.value.as_str().parse::<f64>().map_err(|_| {
                        SourceError(format!(
                            "{url}: `{}` is not a sample value",
                            sample.value.value.as_str()
                        ))
                    })?;
                    out.push(Series {
                        name: format!("{}{suffix}", metric.name),
                        labels,
                        value,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Scrapes taken now, minus the optional "before" snapshot.
pub struct ScrapeSource {
    before: Option<(DateTime<Utc>, Vec<Series>)>,
    after: (DateTime<Utc>, Vec<Series>),
    urls: Vec<String>,
    /// Endpoints whose process restarted after the snapshot.
    restarted: Vec<String>,
}

/// Whether the process behind `instance` restarted between two scrapes: its
/// `process_start_time_seconds` changed, or any counter went down. Then every
/// series of it counts from zero, as one histogram must reset as a whole.
fn restarted(before: &[Series], after: &[Series], instance: &str) -> bool {
    let of = |v: &[Series]| -> Vec<Series> {
        v.iter()
            .filter(|s| s.labels.get("instance").map(String::as_str) == Some(instance))
            .cloned()
            .collect()
    };
    let (b, a) = (of(before), of(after));
    let start = |v: &[Series]| {
        v.iter()
            .find(|s| s.name == "process_start_time_seconds")
            .map(|s| s.value)
    };
    if let (Some(x), Some(y)) = (start(&b), start(&a))
        && x != y
    {
        return true;
    }
    let counter =
        |n: &str| n.ends_with("_total") || n.ends_with("_count") || n.ends_with("_bucket");
    a.iter().filter(|s| counter(&s.name)).any(|s| {
        b.iter()
            .find(|p| p.name == s.name && p.labels == s.labels)
            .is_some_and(|p| s.value < p.value)
    })
}

impl ScrapeSource {
    /// Scrapes `urls` now; `since` is a snapshot of the same URLs taken at the
    /// window's start.
    pub async fn scrape(urls: &[String], since: Option<&Path>) -> Result<Self, SourceError> {
        let before = match since {
            Some(path) => Some(Snapshot::read(path)?),
            None => None,
        };
        let after = Snapshot::scrape(urls).await?;
        Self::from_snapshots(before.as_ref(), &after)
    }

    pub fn from_snapshots(
        before: Option<&Snapshot>,
        after: &Snapshot,
    ) -> Result<Self, SourceError> {
        let urls: Vec<String> = after.endpoints.iter().map(|(u, _)| u.clone()).collect();
        if let Some(before) = before {
            let mut was: Vec<&String> = before.endpoints.iter().map(|(u, _)| u).collect();
            let mut now: Vec<&String> = urls.iter().collect();
            was.sort();
            now.sort();
            if was != now {
                return Err(SourceError(format!(
                    "the --since snapshot was taken from {} but --scrape names {}; \
                     take both from the same endpoints",
                    was.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    now.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if before.taken_at >= after.taken_at {
                return Err(SourceError(
                    "the --since snapshot is not older than the scrape".into(),
                ));
            }
        }
        let after_series = after.series()?;
        let mut restarts = Vec::new();
        let before = match before {
            Some(b) => {
                let mut series = b.series()?;
                let instances: Vec<String> = after_series
                    .iter()
                    .filter_map(|s| s.labels.get("instance").cloned())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                for inst in instances {
                    if restarted(&series, &after_series, &inst) {
                        series.retain(|s| s.labels.get("instance") != Some(&inst));
                        restarts.push(inst);
                    }
                }
                Some((b.taken_at, series))
            }
            None => None,
        };
        Ok(Self {
            before,
            after: (after.taken_at, after_series),
            urls,
            restarted: restarts,
        })
    }
}

#[async_trait]
impl PromqlSource for ScrapeSource {
    fn range(&self) -> String {
        format!("{}s", self.window_seconds().round().max(1.0) as i64)
    }

    fn window_seconds(&self) -> f64 {
        match &self.before {
            Some((t, _)) => ((self.after.0 - *t).num_milliseconds() as f64 / 1000.0).max(0.001),
            // Since each process started: the length is unknown, and only
            // ratios matter; rates are then plain counts.
            None => 1.0,
        }
    }

    async fn query(&self, q: &str) -> Result<Vec<(Labels, f64)>, SourceError> {
        let empty = Vec::new();
        let w = promql::Window {
            before: self.before.as_ref().map_or(&empty, |(_, s)| s),
            after: &self.after.1,
            seconds: self.window_seconds(),
        };
        match promql::eval(q, &w).map_err(|e| SourceError(format!("`{q}`: {e}")))? {
            promql::Value::Vector(v) => Ok(v),
            promql::Value::Scalar(x) => Ok(vec![(Labels::new(), x)]),
        }
    }
}

#[async_trait]
impl Source for ScrapeSource {
    fn describe(&self) -> String {
        let urls = self.urls.join(", ");
        let text = match &self.before {
            Some((t, _)) => format!(
                "scrape of {urls} from {} (snapshot) to {}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                self.after
                    .0
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            None => format!("scrape of {urls}: everything since each process started"),
        };
        if self.restarted.is_empty() {
            text
        } else {
            format!(
                "{text}; {} restarted after the snapshot and counts from its restart",
                self.restarted.join(", ")
            )
        }
    }

    fn window(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.before.as_ref().map(|(t, _)| (*t, self.after.0))
    }

    fn no_data_hint(&self) -> String {
        "did the service get requests since the snapshot, and do the URLs serve its /metrics?"
            .into()
    }

    async fn measure(&self, slo: &Slo) -> Result<Measurement, SourceError> {
        measure_promql(self, slo).await
    }
}

#[cfg(test)]
mod tests;

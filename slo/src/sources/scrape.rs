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
mod tests {
    use super::*;

    const BEFORE: &str = r#"# HELP http_server_request_duration_seconds Duration.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="0.1"} 10
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="0.2"} 18
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="+Inf"} 20
http_server_request_duration_seconds_sum{service="users",http_route="/api/users/{user_id}"} 2.5
http_server_request_duration_seconds_count{service="users",http_route="/api/users/{user_id}"} 20
"#;
    const AFTER: &str = r#"# HELP http_server_request_duration_seconds Duration.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="0.1"} 60
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="0.2"} 108
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="+Inf"} 120
http_server_request_duration_seconds_sum{service="users",http_route="/api/users/{user_id}"} 12.5
http_server_request_duration_seconds_count{service="users",http_route="/api/users/{user_id}"} 120
http_server_request_duration_seconds_bucket{service="chat",http_route="/b",le="0.1"} 1
http_server_request_duration_seconds_bucket{service="chat",http_route="/b",le="0.2"} 1
http_server_request_duration_seconds_bucket{service="chat",http_route="/b",le="+Inf"} 1
http_server_request_duration_seconds_count{service="chat",http_route="/b"} 1
"#;

    fn snap(text: &str, secs: i64) -> Snapshot {
        Snapshot {
            taken_at: DateTime::from_timestamp(1_795_255_200 + secs, 0).unwrap(),
            endpoints: vec![("http://127.0.0.1:1/metrics".into(), text.into())],
        }
    }

    #[tokio::test]
    async fn measures_latency_between_two_snapshots() {
        let before = Snapshot::parse(&snap(BEFORE, 0).to_text()).unwrap();
        assert_eq!(before, snap(BEFORE, 0));
        let src = ScrapeSource::from_snapshots(Some(&before), &snap(AFTER, 10)).unwrap();
        let spec = crate::spec::latency_objectives(
            "http_server_request_duration_seconds",
            &[("users-latency", r#"service="users""#)],
        );
        let m = src.measure(&spec.slos[0]).await.unwrap();
        // 100 new requests, 90 of them ≤ 0.2 s.
        assert_eq!(m.total, Some(100.0));
        assert!((m.good_ratio.unwrap() - 0.9).abs() < 1e-12);
        let lat = m.latency.unwrap();
        // rank 95 in (0.2, +Inf]: the highest finite bound.
        assert_eq!(lat.estimate_seconds, Some(0.2));
        assert_eq!(src.range(), "10s");
    }

    #[tokio::test]
    async fn a_restart_between_the_scrapes_counts_from_zero() {
        let spec = crate::spec::latency_objectives(
            "http_server_request_duration_seconds",
            &[("users-latency", r#"service="users""#)],
        );
        // After a restart only 12 requests were counted, 9 within 0.2 s: the
        // +Inf bucket alone did not go down, but the histogram reset as a whole.
        let restarted = AFTER
            .replace("le=\"0.1\"} 60", "le=\"0.1\"} 5")
            .replace("le=\"0.2\"} 108", "le=\"0.2\"} 9")
            .replace("le=\"+Inf\"} 120", "le=\"+Inf\"} 21")
            .replace(
                "_count{service=\"users\",http_route=\"/api/users/{user_id}\"} 120",
                "_count{service=\"users\",http_route=\"/api/users/{user_id}\"} 21",
            );
        let src =
            ScrapeSource::from_snapshots(Some(&snap(BEFORE, 0)), &snap(&restarted, 10)).unwrap();
        let m = src.measure(&spec.slos[0]).await.unwrap();
        assert_eq!(m.total, Some(21.0));
        assert!((m.good_ratio.unwrap() - 9.0 / 21.0).abs() < 1e-12);
        assert!(src.describe().contains("restarted"), "{}", src.describe());
    }

    #[test]
    fn refuses_a_snapshot_of_other_endpoints() {
        let mut other = snap(BEFORE, 0);
        other.endpoints[0].0 = "http://127.0.0.1:2/metrics".into();
        let err = ScrapeSource::from_snapshots(Some(&other), &snap(AFTER, 10))
            .err()
            .unwrap();
        assert!(err.0.contains("same endpoints"), "{err}");
        assert!(Snapshot::parse("foo 1\n").is_err());
        assert_eq!(metrics_url("http://h:1"), "http://h:1/metrics");
        assert_eq!(metrics_url("http://h:1/x/metrics"), "http://h:1/x/metrics");
    }
}

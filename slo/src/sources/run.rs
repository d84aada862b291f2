//! A load generator's run record: the client's view of the window.
//!
//! Objectives are matched to steps by service: a step counts when its `service`
//! matches the objective's `service` label matcher (`service="users"`,
//! `service=~"users|chat"`); every step counts when the objective has none. A
//! latency objective reads the steps' HDR histograms; any other objective is read
//! as "failed requests / requests".

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use runrecord::{LatencyHistogram, RunRecord};

use super::{Latency, Measurement, Source, SourceError};
use crate::spec::{Sli, Slo};

pub struct RunSource {
    record: RunRecord,
    path: String,
}

impl RunSource {
    pub fn read(path: &Path) -> Result<Self, SourceError> {
        let record = RunRecord::read(path).map_err(|e| SourceError(e.to_string()))?;
        Ok(Self::new(record, &path.display().to_string()))
    }

    pub fn new(record: RunRecord, path: &str) -> Self {
        Self {
            record,
            path: path.to_owned(),
        }
    }
}

#[async_trait]
impl Source for RunSource {
    fn describe(&self) -> String {
        format!(
            "run record {} ({} {}, {} to {})",
            self.path,
            self.record.tool.name,
            self.record.tool.version,
            self.record
                .window
                .start
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.record
                .window
                .end
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }

    fn window(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        Some((self.record.window.start, self.record.window.end))
    }

    async fn measure(&self, slo: &Slo) -> Result<Measurement, SourceError> {
        let steps: Vec<_> = self
            .record
            .steps
            .iter()
            .filter(|s| match (&slo.service_matcher, &s.service) {
                (None, _) => true,
                (Some(m), Some(have)) => m.is_match(have),
                // A step spanning services (e.g. delivery through a stream) is
                // no one service's request.
                (Some(_), None) => false,
            })
            .collect();
        let names: Vec<String> = steps.iter().map(|s| s.key()).collect();
        let note = Some(if names.is_empty() {
            match (&slo.service, &slo.service_matcher) {
                (Some(service), _) => format!("no step of the run exercises service `{service}`"),
                (None, Some(m)) => format!("no step of the run exercises a service matching `{m}`"),
                (None, None) => "the run has no step".to_owned(),
            }
        } else {
            format!("client view of steps {}", names.join(", "))
        });
        match &slo.sli {
            Sli::Latency {
                threshold_seconds, ..
            } => {
                let mut h = LatencyHistogram::new();
                for s in &steps {
                    h.add(&s.latency).map_err(SourceError)?;
                }
                let total = h.count() as f64;
                let good = h.count_at_or_below_us((threshold_seconds * 1e6).round() as u64) as f64;
                let has_data = h.count() > 0;
                Ok(Measurement {
                    total: Some(total),
                    bad: Some(total - good),
                    good_ratio: has_data.then(|| good / total),
                    latency: Some(Latency {
                        threshold_seconds: *threshold_seconds,
                        quantile: slo.objective,
                        estimate_seconds: has_data
                            .then(|| h.quantile_us(slo.objective) as f64 / 1e6),
                        buckets: None,
                    }),
                    note,
                })
            }
            Sli::Events { .. } | Sli::Raw { .. } => {
                let total: u64 = steps.iter().map(|s| s.requests).sum();
                let bad: u64 = steps.iter().map(|s| s.errors.total()).sum();
                Ok(Measurement {
                    total: Some(total as f64),
                    bad: Some(bad as f64),
                    good_ratio: (total > 0).then(|| 1.0 - bad as f64 / total as f64),
                    latency: None,
                    note,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use runrecord::{Profile, Tool, Window};
    use std::time::Duration;

    #[tokio::test]
    async fn steps_are_picked_by_the_objectives_service_matcher() {
        let start = DateTime::from_timestamp(1_795_255_200, 0).unwrap();
        let mut r = RunRecord::new(
            Tool {
                name: "t".into(),
                version: "0".into(),
            },
            vec![],
            Profile {
                name: "smoke".into(),
                parameters: Default::default(),
            },
            Window {
                start,
                end: start + chrono::Duration::seconds(10),
            },
        );
        let ms = |n| Some(Duration::from_millis(n));
        for _ in 0..10 {
            r.step_mut(Some("j"), "login", Some("users"))
                .record(start, ms(10), None);
            r.step_mut(Some("j"), "send", Some("chat"))
                .record(start, ms(300), None);
            // Delivery through a stream spans services: no service's request.
            r.step_mut(Some("j"), "delivery", None)
                .record(start, ms(900), None);
        }
        let spec = crate::spec::Spec::parse(
            r#"
version: prometheus/v1
service: t
slos:
  - name: users-latency
    objective: 95
    sli: {latency: {metric: m, selector: 'service="users"', threshold: 200ms}}
  - name: overall-latency
    objective: 95
    sli: {latency: {metric: m, selector: 'service=~"users|chat"', threshold: 200ms}}
  - name: friends-latency
    objective: 95
    sli: {latency: {metric: m, selector: 'service="friends"', threshold: 200ms}}
"#,
            "t",
        )
        .unwrap();
        let src = RunSource::new(r, "run.json");
        let users = src.measure(&spec.slos[0]).await.unwrap();
        assert_eq!((users.total, users.good_ratio), (Some(10.0), Some(1.0)));
        let overall = src.measure(&spec.slos[1]).await.unwrap();
        assert_eq!((overall.total, overall.good_ratio), (Some(20.0), Some(0.5)));
        let friends = src.measure(&spec.slos[2]).await.unwrap();
        assert_eq!(friends.good_ratio, None);
        assert!(friends.note.unwrap().contains("service `friends`"));
    }
}

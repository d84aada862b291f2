//! A load generator's run record: the client's view of the window.
//!
//! Objectives are matched to steps by service: a step whose `service` equals the
//! objective's service counts (every step when the objective names none). A
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
            .filter(|s| match (&slo.service, &s.service) {
                (None, _) => true,
                (Some(want), Some(have)) => want == have,
                (Some(_), None) => false,
            })
            .collect();
        let names: Vec<String> = steps.iter().map(|s| s.key()).collect();
        let note = Some(if names.is_empty() {
            match &slo.service {
                Some(service) => format!("no step of the run exercises service `{service}`"),
                None => "the run has no step".to_owned(),
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

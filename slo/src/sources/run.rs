//! A load generator's run record: the client's view of the window.
//!
//! Objectives are matched to steps by service: a step counts when its `service`
//! matches the objective's `service` label matcher (`service="users"`,
//! `service=~"users|chat"`); every step counts when the objective has none. A
//! latency objective reads the steps' HDR histograms. An availability objective
//! (events or raw) counts the requests answered with a 5xx or not answered at
//! all (timeout, broken connection) as bad: the meaning the servers' metrics give
//! it, plus what only the client sees. Journey correctness counts every other
//! failure (an unexpected 4xx, a failed body check, a lost delivery) over all the
//! journeys' steps, so no failure is counted twice or dropped.

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use runrecord::{LatencyHistogram, RunRecord, Step};

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

    fn caveat(&self) -> Option<String> {
        self.record.interrupted.then(|| {
            format!(
                "the run was interrupted: {:.1} s measured of {} requested",
                self.record.window.seconds(),
                self.record
                    .requested_seconds
                    .map_or_else(|| "the window".to_owned(), |s| format!("{s:.0} s"))
            )
        })
    }

    async fn measure(&self, slo: &Slo) -> Result<Measurement, SourceError> {
        if let Sli::Journey { journeys } = &slo.sli {
            return Ok(self.correctness(journeys));
        }
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
                    not_applicable: false,
                })
            }
            Sli::Events { .. } | Sli::Raw { .. } | Sli::Journey { .. } => {
                let total: u64 = steps.iter().map(|s| s.requests).sum();
                let bad: u64 = steps.iter().map(|s| unavailable(s)).sum();
                Ok(Measurement {
                    total: Some(total as f64),
                    bad: Some(bad as f64),
                    good_ratio: (total > 0).then(|| 1.0 - bad as f64 / total as f64),
                    latency: None,
                    note,
                    not_applicable: false,
                })
            }
        }
    }
}

/// Requests of `step` that were bad for availability: answered with a 5xx, or
/// not answered at all. A status failure whose code the record does not keep
/// (an older writer) counts as bad: unknown is never good. A step that spans
/// services (a delivery through a stream) has no availability of its own.
fn unavailable(step: &Step) -> u64 {
    if step.service.is_none() {
        return 0;
    }
    let known_client_errors: u64 = step
        .error_statuses
        .iter()
        .filter(|(code, _)| !code.starts_with('5'))
        .map(|(_, n)| n)
        .sum();
    step.errors.status.saturating_sub(known_client_errors)
        + step.errors.timeout
        + step.errors.connect
}

impl RunSource {
    /// Journey correctness: every failure availability leaves out.
    fn correctness(&self, journeys: &[String]) -> Measurement {
        let steps: Vec<&Step> = self
            .record
            .steps
            .iter()
            .filter(|s| {
                journeys.is_empty() || s.journey.as_ref().is_some_and(|j| journeys.contains(j))
            })
            .collect();
        let total: u64 = steps.iter().map(|s| s.requests).sum();
        let bad: u64 = steps
            .iter()
            .map(|s| s.errors.total().saturating_sub(unavailable(s)))
            .sum();
        let mut kinds: Vec<String> = Vec::new();
        for s in &steps {
            let own = s.errors.total().saturating_sub(unavailable(s));
            if own > 0 {
                kinds.push(format!("{} {own}", s.key()));
            }
        }
        Measurement {
            total: Some(total as f64),
            bad: Some(bad as f64),
            good_ratio: (total > 0).then(|| 1.0 - bad as f64 / total as f64),
            latency: None,
            note: Some(if kinds.is_empty() {
                format!("{} steps, no unexpected answer", steps.len())
            } else {
                format!("unexpected answers: {}", kinds.join(", "))
            }),
            not_applicable: false,
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
        let spec = crate::spec::latency_objectives(
            "m",
            &[
                ("users-latency", r#"service="users""#),
                ("overall-latency", r#"service=~"users|chat""#),
                ("friends-latency", r#"service="friends""#),
            ],
        );
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

//! `slo check`: measure every objective with a source and decide.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::sources::{Measurement, Source};
use crate::spec::{Sli, Spec};

/// The decision for one objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Breach,
    /// The window holds no event for this objective: never a silent pass.
    NoData,
    /// The source could not measure it.
    Error,
    /// This source cannot see this kind of objective (journey correctness on a
    /// server's metrics): neither a pass nor a failure.
    NotApplicable,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Breach => "BREACH",
            Verdict::NoData => "NO DATA",
            Verdict::Error => "ERROR",
            Verdict::NotApplicable => "N/A",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub name: String,
    pub service: Option<String>,
    /// `latency`, `events` or `raw`.
    pub sli: &'static str,
    /// Target good ratio in percent (e.g. 99.9).
    pub objective_percent: f64,
    /// Whether "no data" fails the check.
    pub required: bool,
    /// Measured good ratio in percent.
    pub measured_percent: Option<f64>,
    /// Share of the error budget the window used (100 = all of it).
    pub budget_consumed_percent: Option<f64>,
    pub verdict: Verdict,
    pub measurement: Option<Measurement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Outcome {
    /// Whether this row fails the check: a breach, a source error, or no data
    /// for a required objective.
    pub fn counts_against(&self) -> bool {
        match self.verdict {
            Verdict::Breach | Verdict::Error => true,
            Verdict::NoData => self.required,
            Verdict::Pass | Verdict::NotApplicable => false,
        }
    }
}

/// The whole `slo check` result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub spec: String,
    pub service: String,
    pub source: String,
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Why the source's window cannot be trusted (an interrupted run): the
    /// check then exits 2 whatever the rows say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caveat: Option<String>,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// 0 when every objective passed, 2 when any could not be measured (a
    /// source error, or no data for a required objective) or the window has a
    /// caveat, otherwise 1 when any was breached. Optional objectives without
    /// data and objectives the source cannot see do not count.
    pub fn exit_code(&self) -> i32 {
        if self.caveat.is_some()
            || self.outcomes.iter().any(|o| {
                o.verdict == Verdict::Error || (o.verdict == Verdict::NoData && o.required)
            })
        {
            2
        } else if self.outcomes.iter().any(|o| o.verdict == Verdict::Breach) {
            1
        } else {
            0
        }
    }

    pub fn summary(&self) -> String {
        let count = |v: Verdict| self.outcomes.iter().filter(|o| o.verdict == v).count();
        let mut line = format!(
            "{} objectives: {} passed, {} breached, {} without data, {} errors",
            self.outcomes.len(),
            count(Verdict::Pass),
            count(Verdict::Breach),
            count(Verdict::NoData),
            count(Verdict::Error)
        );
        if count(Verdict::NotApplicable) > 0 {
            line.push_str(&format!(
                ", {} not measurable by this source",
                count(Verdict::NotApplicable)
            ));
        }
        let failed: Vec<&str> = self
            .outcomes
            .iter()
            .filter(|o| o.counts_against())
            .map(|o| o.name.as_str())
            .collect();
        if !failed.is_empty() {
            line.push_str(&format!(" (failed: {})", failed.join(", ")));
        }
        if let Some(caveat) = &self.caveat {
            line.push_str(&format!("; {caveat}"));
        }
        line
    }
}

/// Measures every objective of `spec` with `source`.
pub async fn check(spec: &Spec, spec_file: &str, source: &dyn Source) -> Report {
    let mut outcomes = Vec::new();
    for slo in &spec.slos {
        let sli = match slo.sli {
            Sli::Latency { .. } => "latency",
            Sli::Events { .. } => "events",
            Sli::Raw { .. } => "raw",
            Sli::Journey { .. } => "journey",
        };
        let mut outcome = Outcome {
            name: slo.name.clone(),
            service: slo.service.clone(),
            sli,
            objective_percent: slo.objective_percent(),
            required: slo.required,
            measured_percent: None,
            budget_consumed_percent: None,
            verdict: Verdict::Error,
            measurement: None,
            message: None,
        };
        match source.measure(slo).await {
            Err(e) => outcome.message = Some(e.0),
            Ok(m) if m.not_applicable => {
                outcome.verdict = Verdict::NotApplicable;
                outcome.message = m.note.clone();
                outcome.measurement = Some(m);
            }
            Ok(m) => {
                let too_few = m
                    .total
                    .filter(|t| *t > 0.0 && (t.round() as u64) < slo.min_events);
                match m.good_ratio.filter(|_| too_few.is_none()) {
                    None => {
                        outcome.verdict = Verdict::NoData;
                        let why = match (too_few, &m.note) {
                            (Some(n), _) => format!(
                                "only {n:.0} events in the window; the objective asks for at least {} (min_events)",
                                slo.min_events
                            ),
                            (None, Some(note)) => format!("no events in the window: {note}"),
                            (None, None) => {
                                format!("no events in the window: {}", source.no_data_hint())
                            }
                        };
                        outcome.message = Some(if slo.required {
                            why
                        } else {
                            format!("{why} (optional objective: does not fail the check)")
                        });
                    }
                    Some(good) => {
                        outcome.measured_percent = Some(good * 100.0);
                        outcome.budget_consumed_percent =
                            Some((1.0 - good) / slo.error_budget() * 100.0);
                        // Allow for float noise in ratios of counts.
                        outcome.verdict = if good + 1e-12 >= slo.objective {
                            Verdict::Pass
                        } else {
                            Verdict::Breach
                        };
                        // Journey correctness spans steps: say which ones failed.
                        if outcome.verdict == Verdict::Breach && !slo.is_server_side() {
                            outcome.message = m.note.clone();
                        }
                    }
                }
                outcome.measurement = Some(m);
            }
        }
        outcomes.push(outcome);
    }
    Report {
        spec: spec_file.to_owned(),
        service: spec.service.clone(),
        source: source.describe(),
        window: source.window(),
        caveat: source.caveat(),
        outcomes,
    }
}

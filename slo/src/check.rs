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
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Breach => "BREACH",
            Verdict::NoData => "NO DATA",
            Verdict::Error => "ERROR",
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
    /// Measured good ratio in percent.
    pub measured_percent: Option<f64>,
    /// Share of the error budget the window used (100 = all of it).
    pub budget_consumed_percent: Option<f64>,
    pub verdict: Verdict,
    pub measurement: Option<Measurement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The whole `slo check` result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub spec: String,
    pub service: String,
    pub source: String,
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// 0 when every objective passed, 2 when any could not be measured (no data
    /// or a source error), otherwise 1 when any was breached.
    pub fn exit_code(&self) -> i32 {
        if self
            .outcomes
            .iter()
            .any(|o| matches!(o.verdict, Verdict::NoData | Verdict::Error))
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
        format!(
            "{} objectives: {} passed, {} breached, {} without data, {} errors",
            self.outcomes.len(),
            count(Verdict::Pass),
            count(Verdict::Breach),
            count(Verdict::NoData),
            count(Verdict::Error)
        )
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
        };
        let mut outcome = Outcome {
            name: slo.name.clone(),
            service: slo.service.clone(),
            sli,
            objective_percent: slo.objective_percent(),
            measured_percent: None,
            budget_consumed_percent: None,
            verdict: Verdict::Error,
            measurement: None,
            message: None,
        };
        match source.measure(slo).await {
            Err(e) => outcome.message = Some(e.0),
            Ok(m) => {
                match m.good_ratio {
                    None => {
                        outcome.verdict = Verdict::NoData;
                        outcome.message = Some(match &m.note {
                            Some(note) => format!("no events in the window: {note}"),
                            None => format!("no events in the window: {}", source.no_data_hint()),
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
        outcomes,
    }
}

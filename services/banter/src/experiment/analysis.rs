//! The experiment's result, everything the reports show: the objectives over
//! time, what the fault window cost each of them and how long each took to get
//! back within target, the alerts, the event ledger and the verdicts.

use super::observe::{self, EventAccount, ObjectiveSeries, Sample};
use super::scenario::Scenario;
use super::verdict::{AlertFinding, Check, FaultWindow};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Seconds in the 30-day SLO period the burn-rate alerts assume.
const PERIOD_SECS: f64 = 30.0 * 86_400.0;

#[derive(Debug, Serialize)]
pub struct Outcome {
    /// What ran: the embedded platform or the split deployment.
    pub platform: String,
    /// What the event ledger leaves out, and why (none: every group).
    pub ledger_note: Option<String>,
    pub scenario: Scenario,
    pub started_at: DateTime<Utc>,
    /// Seconds observed (the load, then the drain).
    pub observed_secs: f64,
    pub fault: Option<FaultWindow>,
    /// The trailing window of the burn series, seconds.
    pub burn_window_secs: f64,
    pub alerting: Alerting,
    /// Sample times (seconds from the start) of the series in `objectives`.
    pub times: Vec<f64>,
    pub objectives: Vec<ObjectiveSeries>,
    /// Per objective, what the fault window cost (empty without a fault).
    pub fault_window: Vec<WindowCost>,
    pub alerts: Vec<AlertFinding>,
    pub events: Vec<EventAccount>,
    pub outbox_backlog: u64,
    /// The load generator's view: requests and failed requests.
    pub client_requests: u64,
    pub client_errors: u64,
    pub checks: Vec<Check>,
    pub exit_code: i32,
}

/// Whether a Prometheus evaluated the rules, and how.
#[derive(Debug, Serialize)]
pub struct Alerting {
    pub evaluated: bool,
    pub note: String,
    pub rule_files: Vec<String>,
    pub rule_groups: usize,
    /// Rules whose evaluation failed (should be none).
    pub broken_rules: Vec<String>,
}

/// One objective during the fault window.
#[derive(Debug, Serialize)]
pub struct WindowCost {
    pub name: String,
    pub objective_percent: f64,
    pub events: Option<f64>,
    pub bad: Option<f64>,
    /// Bad ratio / allowed ratio over the window.
    pub burn: Option<f64>,
    /// Share of a 30-day error budget the window spent, at this traffic.
    pub budget_spent_percent: Option<f64>,
    /// The same as the compressed rules see it (the window stands for
    /// `compress` times as long).
    pub budget_spent_compressed_percent: Option<f64>,
    /// Seconds after the fault ended until the trailing-window burn was back
    /// within target (≤ 1); `None` when it never left it or never came back.
    pub recovered_after_secs: Option<f64>,
    /// Whether the trailing-window burn exceeded 1 during the fault.
    pub breached: bool,
}

/// What the fault window cost each objective, and how long each took to recover.
pub async fn fault_costs(
    scenario: &Scenario,
    spec: &slo::spec::Spec,
    samples: &[Sample],
    fault: FaultWindow,
    times: &[f64],
    objectives: &[ObjectiveSeries],
) -> Vec<WindowCost> {
    let (Some(from), Some(to)) = (
        observe::at(samples, fault.start),
        observe::at(samples, fault.end),
    ) else {
        return Vec::new();
    };
    let report = observe::check_between(spec, &from.snapshot, &to.snapshot).await;
    let secs = (to.t - from.t).max(0.0);
    objectives
        .iter()
        .map(|series| {
            let outcome = report
                .as_ref()
                .and_then(|r| r.outcomes.iter().find(|o| o.name == series.name));
            let (bad, events, burn) = outcome.map(observe::burn_of).unwrap_or_default();
            let spent = burn.map(|b| b * secs / PERIOD_SECS * 100.0);
            let during = |t: f64| t >= fault.start && t <= fault.end + 1.0;
            let breached = times
                .iter()
                .zip(&series.burn)
                .any(|(t, b)| during(*t) && b.is_some_and(|b| b > 1.0));
            let recovered_after_secs = breached
                .then(|| {
                    times
                        .iter()
                        .zip(&series.burn)
                        .find(|(t, b)| **t > fault.end && b.is_none_or(|b| b <= 1.0))
                        .map(|(t, _)| t - fault.end)
                })
                .flatten();
            WindowCost {
                name: series.name.clone(),
                objective_percent: series.objective_percent,
                events,
                bad,
                burn,
                budget_spent_percent: spent,
                budget_spent_compressed_percent: spent.map(|s| s * scenario.compress),
                recovered_after_secs,
                breached,
            }
        })
        .collect()
}

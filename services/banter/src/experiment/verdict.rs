//! From what was observed to what the scenario expected: when each alert
//! fired and stopped (seconds from the experiment's start), and one line per
//! expectation, met or not.

use super::observe::EventAccount;
use super::prometheus::AlertSeries;
use super::scenario::Expect;
use serde::Serialize;
use std::collections::BTreeMap;

/// One alert series as the experiment saw it, times relative to the start.
#[derive(Debug, Clone, Serialize)]
pub struct AlertFinding {
    pub alert: String,
    pub labels: BTreeMap<String, String>,
    /// Contiguous stretches of firing, `[from, to)` in seconds.
    pub firing: Vec<(f64, f64)>,
    /// Seconds pending (the rule's `for:` running).
    pub pending: Vec<f64>,
}

impl AlertFinding {
    pub fn from_series(series: &AlertSeries, start_unix: i64) -> Self {
        let mut times: Vec<i64> = series.firing.clone();
        times.sort_unstable();
        times.dedup();
        let mut firing: Vec<(f64, f64)> = Vec::new();
        for t in times {
            let rel = (t - start_unix) as f64;
            match firing.last_mut() {
                Some(last) if rel <= last.1 + 0.5 => last.1 = rel + 1.0,
                _ => firing.push((rel, rel + 1.0)),
            }
        }
        Self {
            alert: series.alert.clone(),
            labels: series.labels.clone(),
            firing,
            pending: series
                .pending
                .iter()
                .map(|t| (t - start_unix) as f64)
                .collect(),
        }
    }

    fn matches(&self, alert: &str, labels: &BTreeMap<String, String>) -> bool {
        self.alert == alert && labels.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }

    /// A name with the labels that tell series apart (service, severity, …).
    pub fn title(&self) -> String {
        let keep: Vec<String> = self
            .labels
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k.as_str(),
                    "service" | "process" | "sloth_severity" | "topic" | "group" | "db_system"
                )
            })
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if keep.is_empty() {
            self.alert.clone()
        } else {
            format!("{}{{{}}}", self.alert, keep.join(","))
        }
    }
}

/// The fault's window in seconds from the start, if there was a fault.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FaultWindow {
    pub start: f64,
    pub end: f64,
}

/// One expectation and whether it held.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub expectation: String,
    /// `None`: could not be evaluated (no Prometheus).
    pub met: Option<bool>,
    pub detail: String,
    /// For alerts: seconds from the fault's start to firing, and from its end to resolution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_detect_secs: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_after_secs: Option<f64>,
}

/// Every expectation of `expect`, judged. `alerts` is `None` when no
/// Prometheus evaluated the rules; `end` is when observation stopped.
pub fn judge(
    expect: &Expect,
    alerts: Option<&[AlertFinding]>,
    fault: Option<FaultWindow>,
    end: f64,
    events: &[EventAccount],
    backlog: u64,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for e in &expect.fires {
        let label_text: Vec<String> = e.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut expectation = format!(
            "{}{} fires within {} s of the fault's start",
            e.alert,
            if label_text.is_empty() {
                String::new()
            } else {
                format!("{{{}}}", label_text.join(","))
            },
            e.within.as_secs_f64()
        );
        if let Some(r) = e.resolves_within {
            expectation.push_str(&format!(
                " and resolves within {} s of its end",
                r.as_secs_f64()
            ));
        }
        let (Some(alerts), Some(fault)) = (alerts, fault) else {
            checks.push(Check {
                expectation,
                met: None,
                detail: "not evaluated: no Prometheus ran the rules".into(),
                time_to_detect_secs: None,
                resolved_after_secs: None,
            });
            continue;
        };
        let stretches: Vec<(f64, f64)> = alerts
            .iter()
            .filter(|a| a.matches(&e.alert, &e.labels))
            .flat_map(|a| a.firing.iter().copied())
            .filter(|(_, to)| *to > fault.start)
            .collect();
        let first = stretches
            .iter()
            .map(|(from, _)| from.max(fault.start))
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.min(t))));
        let last_end = stretches
            .iter()
            .map(|(_, to)| *to)
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
        let ttd = first.map(|t| t - fault.start);
        // Still firing when observation stopped: not resolved.
        let resolved = last_end
            .filter(|t| *t < end - 1.0)
            .map(|t| (t - fault.end).max(0.0));
        let fired_in_time = ttd.is_some_and(|d| d <= e.within.as_secs_f64());
        let resolved_in_time = e
            .resolves_within
            .is_none_or(|r| resolved.is_some_and(|d| d <= r.as_secs_f64()));
        let detail = match (ttd, resolved) {
            (None, _) => "never fired".to_owned(),
            (Some(d), Some(r)) => {
                format!("fired {d:.0} s after the fault started, resolved {r:.0} s after it ended")
            }
            (Some(d), None) => {
                format!("fired {d:.0} s after the fault started, still firing at the end")
            }
        };
        checks.push(Check {
            expectation,
            met: Some(fired_in_time && resolved_in_time),
            detail,
            time_to_detect_secs: ttd,
            resolved_after_secs: resolved,
        });
    }
    if expect.quiet {
        let expectation = "no alert fires".to_owned();
        checks.push(match alerts {
            None => Check {
                expectation,
                met: None,
                detail: "not evaluated: no Prometheus ran the rules".into(),
                time_to_detect_secs: None,
                resolved_after_secs: None,
            },
            Some(alerts) => {
                let fired: Vec<String> = alerts
                    .iter()
                    .filter(|a| !a.firing.is_empty())
                    .map(|a| format!("{} at {:.0} s", a.title(), a.firing[0].0))
                    .collect();
                Check {
                    expectation,
                    met: Some(fired.is_empty()),
                    detail: if fired.is_empty() {
                        "none fired".into()
                    } else {
                        format!("fired: {}", fired.join(", "))
                    },
                    time_to_detect_secs: None,
                    resolved_after_secs: None,
                }
            }
        });
    }
    if expect.no_event_lost {
        let lost: u64 = events.iter().map(|a| a.lost).sum();
        let dup: u64 = events.iter().map(|a| a.duplicated).sum();
        let published: u64 = events.iter().map(|a| a.published).sum();
        let bad: Vec<String> = events
            .iter()
            .filter(|a| a.lost > 0 || a.duplicated > 0)
            .map(|a| {
                format!(
                    "{} → {}: {} published, {} handled",
                    a.topic, a.group, a.published, a.consumed
                )
            })
            .collect();
        checks.push(Check {
            expectation: "no event lost or handled twice".into(),
            met: Some(lost == 0 && dup == 0 && backlog == 0 && !events.is_empty()),
            detail: if events.is_empty() {
                "no consumer reported anything: the ledger is empty".into()
            } else if bad.is_empty() && backlog == 0 {
                format!(
                    "{published} deliveries over {} consumer groups, all handled once",
                    events.len()
                )
            } else {
                format!(
                    "{lost} lost, {dup} handled twice, {backlog} still in outboxes; {}",
                    bad.join("; ")
                )
            },
            time_to_detect_secs: None,
            resolved_after_secs: None,
        });
    }
    checks
}

/// 0: every expectation met; 1: one was not; 2: one could not be evaluated.
pub fn exit_code(checks: &[Check]) -> i32 {
    if checks.iter().any(|c| c.met == Some(false)) {
        1
    } else if checks.iter().any(|c| c.met.is_none()) {
        2
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::scenario::AlertExpectation;
    use std::time::Duration;

    fn series(alert: &str, firing: Vec<i64>) -> AlertSeries {
        AlertSeries {
            alert: alert.into(),
            labels: [("service".to_owned(), "chat".to_owned())].into(),
            firing,
            pending: vec![],
        }
    }

    fn expect(within: u64, resolves: Option<u64>) -> Expect {
        Expect {
            fires: vec![AlertExpectation {
                alert: "A".into(),
                labels: [("service".to_owned(), "chat".to_owned())].into(),
                within: Duration::from_secs(within),
                resolves_within: resolves.map(Duration::from_secs),
            }],
            quiet: false,
            no_event_lost: false,
        }
    }

    #[test]
    fn time_to_detect_and_resolve_are_measured_from_the_fault_window() {
        let found = [AlertFinding::from_series(
            &series("A", (1_015..1_041).collect()),
            1_000,
        )];
        assert_eq!(found[0].firing, vec![(15.0, 41.0)]);
        let fault = Some(FaultWindow {
            start: 10.0,
            end: 30.0,
        });
        let checks = judge(&expect(10, Some(20)), Some(&found), fault, 60.0, &[], 0);
        assert_eq!(checks[0].met, Some(true), "{checks:?}");
        assert_eq!(checks[0].time_to_detect_secs, Some(5.0));
        assert_eq!(checks[0].resolved_after_secs, Some(11.0));
        let late = judge(&expect(4, None), Some(&found), fault, 60.0, &[], 0);
        assert_eq!(late[0].met, Some(false));
        let unresolved = judge(&expect(10, Some(20)), Some(&found), fault, 41.5, &[], 0);
        assert_eq!(unresolved[0].met, Some(false), "{unresolved:?}");
        let no_prometheus = judge(&expect(10, None), None, fault, 60.0, &[], 0);
        assert_eq!(no_prometheus[0].met, None);
        assert_eq!(exit_code(&no_prometheus), 2);
        assert_eq!(exit_code(&late), 1);
        assert_eq!(exit_code(&checks), 0);
    }

    #[test]
    fn a_lost_event_fails_the_ledger() {
        let account = |consumed| EventAccount {
            topic: "t".into(),
            group: "g".into(),
            published: 5,
            consumed,
            redelivered: 0,
            dead_lettered: 0,
            lost: 5u64.saturating_sub(consumed),
            duplicated: consumed.saturating_sub(5),
        };
        let e = Expect {
            no_event_lost: true,
            ..Expect::default()
        };
        assert_eq!(
            judge(&e, None, None, 1.0, &[account(5)], 0)[0].met,
            Some(true)
        );
        assert_eq!(
            judge(&e, None, None, 1.0, &[account(4)], 0)[0].met,
            Some(false)
        );
        assert_eq!(
            judge(&e, None, None, 1.0, &[account(6)], 0)[0].met,
            Some(false)
        );
        assert_eq!(
            judge(&e, None, None, 1.0, &[account(5)], 3)[0].met,
            Some(false)
        );
    }
}

//! The SLO spec: Sloth's `prometheus/v1` YAML, plus a latency SLI on a histogram.
//!
//! ```yaml
//! version: prometheus/v1
//! service: banter
//! slos:
//!   - name: users-availability
//!     objective: 99.9
//!     sli:
//!       events:
//!         error_query: sum(rate(http_server_request_duration_seconds_count{service="users",http_response_status_code=~"5.."}[{{.window}}]))
//!         total_query: sum(rate(http_server_request_duration_seconds_count{service="users"}[{{.window}}]))
//!   - name: users-latency
//!     objective: 95
//!     sli:
//!       latency:
//!         metric: http_server_request_duration_seconds
//!         selector: service="users"
//!         threshold: 200ms
//! ```
//!
//! `sli.events` and `sli.raw` are Sloth's; `sli.latency` is this tool's extension
//! ("`objective` % of requests take at most `threshold`"): `slo rules` turns it into
//! events queries on the histogram's bucket at the threshold. Its optional
//! `buckets` lists the histogram's bounds (default: the platform's,
//! [`DEFAULT_BUCKETS`]); the threshold must be one of them.
//!
//! Two more extensions:
//!
//! - `sli.journey: {}` — journey correctness, which only the client sees: the
//!   share of the journeys' requests and deliveries that did not fail for a reason
//!   availability leaves out (an unexpected 4xx, a failed body check, a message
//!   that never arrived on a stream). Servers' sources report it as "n/a".
//! - `required: false` — a window without events for this objective is reported as
//!   NO DATA without failing the check (default `true`: no data exits 2).
//! - `min_events: N` — fewer than N events in the window is NO DATA too: a p95
//!   needs enough requests to mean something (default: at least one).
//!
//! # One meaning per objective
//!
//! Every source counts the same events. Availability: a request is bad when it is
//! answered with a server error (5xx); the client also counts requests that got no
//! answer at all (timeout, broken connection), which the server cannot see. 4xx
//! answers are the caller's business for availability; when a journey did not
//! expect one, journey correctness counts it. Latency: a request is good when it
//! was answered within the threshold, whatever its status.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use promql_parser::label::Matcher;
use serde::Deserialize;

/// The only spec version understood (Sloth's).
pub const VERSION: &str = "prometheus/v1";

/// A spec that failed to load, with the field at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub file: String,
    /// Path of the bad field, e.g. `slos[2].sli.latency.threshold` (empty when
    /// the file as a whole is at fault).
    pub field: String,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "invalid SLO spec {}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "invalid SLO spec {}: {}: {}",
                self.file, self.field, self.message
            )
        }
    }
}

impl std::error::Error for SpecError {}

/// The latency histogram bounds of Banter's services (seconds), as
/// `services/kit` declares them; a latency threshold must be one of them.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75, 1.0, 2.5,
    5.0, 10.0,
];

/// Sloth's `alerting` block: names, labels and annotations of the generated alerts.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Alerting {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub page_alert: AlertOptions,
    #[serde(default)]
    pub ticket_alert: AlertOptions,
}

/// One of Sloth's `page_alert` / `ticket_alert` blocks.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertOptions {
    #[serde(default)]
    pub disable: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A loaded, validated spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub service: String,
    pub labels: BTreeMap<String, String>,
    pub slos: Vec<Slo>,
}

/// One objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub name: String,
    /// Target good ratio in 0..1 (the YAML's percentage / 100).
    pub objective: f64,
    /// A window without events fails the check (`required: true`, the default).
    pub required: bool,
    /// Fewer events than this in the window is "no data" (a p95 of a handful
    /// of requests is noise); 0, the default, asks for at least one.
    pub min_events: u64,
    pub description: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// The `service` this objective is about (its `service` label, or the
    /// `service="…"` matcher of its queries), if any.
    pub service: Option<String>,
    /// The `service` label matcher of its queries (`service=~"a|b"` too), which
    /// picks a run record's steps by their service.
    pub service_matcher: Option<Matcher>,
    pub sli: Sli,
    pub alerting: Alerting,
}

/// How good and bad events are counted.
#[derive(Debug, Clone, PartialEq)]
pub enum Sli {
    /// Sloth's events SLI: PromQL with a `{{.window}}` placeholder.
    Events {
        error_query: String,
        total_query: String,
    },
    /// Sloth's raw SLI: one PromQL error ratio.
    Raw { error_ratio_query: String },
    /// Requests of histogram `metric` (base name) matching `selector` that took at
    /// most `threshold_seconds` are good.
    Latency {
        metric: String,
        selector: String,
        threshold_seconds: f64,
        /// The histogram's finite bucket bounds, ascending.
        buckets: Vec<f64>,
    },
    /// Journey correctness: only a run record (the client) can measure it.
    Journey { journeys: Vec<String> },
}

impl Slo {
    /// The objective as a percentage, as written in the spec.
    pub fn objective_percent(&self) -> f64 {
        self.objective * 100.0
    }

    /// The error budget: the bad ratio the objective allows.
    pub fn error_budget(&self) -> f64 {
        1.0 - self.objective
    }

    pub fn is_latency(&self) -> bool {
        matches!(self.sli, Sli::Latency { .. })
    }

    /// Whether a server's metrics (Prometheus, `/metrics`) can measure it; only
    /// journey correctness cannot.
    pub fn is_server_side(&self) -> bool {
        !matches!(self.sli, Sli::Journey { .. })
    }
}

impl Sli {
    /// (error, total) PromQL for a window such as `5m`; a latency SLI becomes
    /// "all requests minus those in the threshold's bucket".
    pub fn event_queries(&self, window: &str) -> Option<(String, String)> {
        match self {
            Sli::Events {
                error_query,
                total_query,
            } => Some((
                with_window(error_query, window),
                with_window(total_query, window),
            )),
            Sli::Raw { .. } | Sli::Journey { .. } => None,
            Sli::Latency {
                metric,
                selector,
                threshold_seconds,
                ..
            } => {
                let total = format!("sum(rate({metric}_count{{{selector}}}[{window}]))");
                let sep = if selector.trim().is_empty() { "" } else { "," };
                let good = format!(
                    "sum(rate({metric}_bucket{{{selector}{sep}le=~\"{}\"}}[{window}]))",
                    le_regex(*threshold_seconds)
                );
                Some((format!("({total} - {good})"), total))
            }
        }
    }

    /// The error-ratio PromQL for a window.
    pub fn error_ratio_query(&self, window: &str) -> String {
        match self {
            Sli::Raw { error_ratio_query } => with_window(error_ratio_query, window),
            _ => {
                // `or on() vector(0)`: no error series at all (nothing failed yet)
                // is a ratio of 0, not an empty result.
                let (error, total) = self.event_queries(window).unwrap_or_default();
                format!("(({error}) or on() vector(0))\n/\n({total})")
            }
        }
    }
}

impl Spec {
    /// Reads and validates a spec file.
    pub fn load(path: impl AsRef<Path>) -> Result<Spec, SpecError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            file: file.clone(),
            field: String::new(),
            message: format!("cannot read it: {e}"),
        })?;
        Spec::parse(&text, &file)
    }

    /// The objectives a server's metrics can measure (the ones with alert rules).
    pub fn server_side(&self) -> impl Iterator<Item = &Slo> {
        self.slos.iter().filter(|s| s.is_server_side())
    }

    /// Keeps only the objectives named in `names` (all when empty); an unknown
    /// name is an error.
    pub fn select(&mut self, names: &[String]) -> Result<(), String> {
        if names.is_empty() {
            return Ok(());
        }
        for n in names {
            if !self.slos.iter().any(|s| &s.name == n) {
                let known: Vec<_> = self.slos.iter().map(|s| s.name.as_str()).collect();
                return Err(format!(
                    "no objective named `{n}` in the spec (it has: {})",
                    known.join(", ")
                ));
            }
        }
        self.slos.retain(|s| names.contains(&s.name));
        Ok(())
    }
}

mod parse;
mod text;
pub use text::{format_seconds, le_regex, parse_duration_seconds, parse_threshold, with_window};
use text::{has_window, label_matcher, valid_metric_name, valid_name};

#[cfg(test)]
mod tests;

/// A spec of latency objectives (95 % of `metric`'s requests ≤ 200 ms), one
/// per `(name, selector)`: what the sources' tests measure with.
#[cfg(test)]
pub(crate) fn latency_objectives(metric: &str, objectives: &[(&str, &str)]) -> Spec {
    let mut yaml = String::from("version: prometheus/v1\nservice: t\nslos:\n");
    for (name, selector) in objectives {
        yaml.push_str(&format!(
            "  - name: {name}\n    objective: 95\n    sli: {{latency: {{metric: {metric}, selector: '{selector}', threshold: 200ms}}}}\n"
        ));
    }
    Spec::parse(&yaml, "t").unwrap_or_else(|e| panic!("{e}"))
}

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

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use promql_parser::label::{MatchOp, Matcher};
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    version: String,
    service: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    slos: Vec<RawSlo>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlo {
    name: String,
    objective: f64,
    #[serde(default = "yes")]
    required: bool,
    #[serde(default)]
    min_events: u64,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    sli: RawSli,
    #[serde(default)]
    alerting: Alerting,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSli {
    events: Option<RawEvents>,
    raw: Option<RawRatio>,
    latency: Option<RawLatency>,
    journey: Option<RawJourney>,
    plugin: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJourney {
    /// Only these journeys (all when empty).
    #[serde(default)]
    journeys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvents {
    error_query: String,
    total_query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRatio {
    error_ratio_query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLatency {
    metric: String,
    #[serde(default)]
    selector: String,
    threshold: serde_yaml_ng::Value,
    #[serde(default)]
    buckets: Option<Vec<f64>>,
}

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

    /// Parses and validates spec text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Spec, SpecError> {
        let err = |field: String, message: String| SpecError {
            file: file.to_owned(),
            field,
            message,
        };
        let raw: RawSpec = serde_yaml_ng::from_str(text).map_err(|e| {
            // serde_yaml_ng prefixes the path of the bad field ("slos[0].sli: …").
            let message = e.to_string();
            match message.split_once(": ") {
                Some((field, rest))
                    if !field.contains(' ') && (field.contains('.') || field.contains('[')) =>
                {
                    err(field.to_owned(), rest.to_owned())
                }
                _ => err(String::new(), message),
            }
        })?;
        if raw.version != VERSION {
            return Err(err(
                "version".into(),
                format!("must be `{VERSION}`, got `{}`", raw.version),
            ));
        }
        if raw.service.trim().is_empty() {
            return Err(err("service".into(), "must not be empty".into()));
        }
        if raw.slos.is_empty() {
            return Err(err("slos".into(), "lists no objective".into()));
        }
        let mut names = HashSet::new();
        let mut slos = Vec::new();
        for (i, s) in raw.slos.into_iter().enumerate() {
            let at = |field: &str| format!("slos[{i}].{field}");
            if !valid_name(&s.name) {
                return Err(err(
                    at("name"),
                    format!("`{}` must be letters, digits, `_` or `-`", s.name),
                ));
            }
            if !names.insert(s.name.clone()) {
                return Err(err(at("name"), format!("`{}` is used twice", s.name)));
            }
            if !(s.objective > 0.0 && s.objective < 100.0) {
                return Err(err(
                    at("objective"),
                    format!(
                        "must be a percentage between 0 and 100 (exclusive), e.g. 99.9; got {}",
                        s.objective
                    ),
                ));
            }
            let given = [
                s.sli.events.is_some(),
                s.sli.raw.is_some(),
                s.sli.latency.is_some(),
                s.sli.journey.is_some(),
                s.sli.plugin.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if given != 1 {
                return Err(err(
                    at("sli"),
                    format!(
                        "needs exactly one of `events`, `raw`, `latency` or `journey`, got {given}"
                    ),
                ));
            }
            let check_query = |field: String, q: &str| -> Result<(), SpecError> {
                if !has_window(q) {
                    return Err(err(
                        field,
                        "must contain the `{{.window}}` placeholder, e.g. `rate(x[{{.window}}])`"
                            .into(),
                    ));
                }
                promql_parser::parser::parse(&with_window(q, "5m"))
                    .map(|_| ())
                    .map_err(|e| err(field, format!("is not valid PromQL: {e}")))
            };
            let sli = if let Some(ev) = s.sli.events {
                check_query(at("sli.events.error_query"), &ev.error_query)?;
                check_query(at("sli.events.total_query"), &ev.total_query)?;
                Sli::Events {
                    error_query: ev.error_query.trim().to_owned(),
                    total_query: ev.total_query.trim().to_owned(),
                }
            } else if let Some(raw) = s.sli.raw {
                check_query(at("sli.raw.error_ratio_query"), &raw.error_ratio_query)?;
                Sli::Raw {
                    error_ratio_query: raw.error_ratio_query.trim().to_owned(),
                }
            } else if let Some(lat) = s.sli.latency {
                let metric = lat.metric.trim().to_owned();
                if !valid_metric_name(&metric) {
                    return Err(err(
                        at("sli.latency.metric"),
                        format!("`{metric}` is not a metric name"),
                    ));
                }
                if metric.ends_with("_bucket") || metric.ends_with("_count") {
                    return Err(err(
                        at("sli.latency.metric"),
                        format!(
                            "give the histogram's base name, e.g. `{}`",
                            metric
                                .trim_end_matches("_bucket")
                                .trim_end_matches("_count")
                        ),
                    ));
                }
                let selector = lat.selector.trim().to_owned();
                if let Err(e) =
                    promql_parser::parser::parse(&format!("{metric}_count{{{selector}}}"))
                {
                    return Err(err(
                        at("sli.latency.selector"),
                        format!("is not a PromQL label selector such as `service=\"users\"`: {e}"),
                    ));
                }
                let threshold_seconds = parse_threshold(&lat.threshold)
                    .map_err(|m| err(at("sli.latency.threshold"), m))?;
                let mut buckets = lat.buckets.unwrap_or_else(|| DEFAULT_BUCKETS.to_vec());
                buckets.retain(|b| b.is_finite());
                buckets.sort_by(f64::total_cmp);
                if buckets.is_empty() {
                    return Err(err(
                        at("sli.latency.buckets"),
                        "lists no finite bound".into(),
                    ));
                }
                if !buckets
                    .iter()
                    .any(|b| (b - threshold_seconds).abs() <= threshold_seconds * 1e-9)
                {
                    return Err(err(
                        at("sli.latency.threshold"),
                        crate::math::not_a_bucket_bound(threshold_seconds, &buckets),
                    ));
                }
                Sli::Latency {
                    metric,
                    selector,
                    threshold_seconds,
                    buckets,
                }
            } else if let Some(j) = s.sli.journey {
                Sli::Journey {
                    journeys: j.journeys,
                }
            } else {
                return Err(err(
                    at("sli.plugin"),
                    "Sloth SLI plugins are not supported; use `events`, `raw`, `latency` or `journey`"
                        .into(),
                ));
            };
            let service_matcher = match s.labels.get("service") {
                Some(v) => Some(Matcher::new(MatchOp::Equal, "service", v)),
                None => match &sli {
                    Sli::Events { total_query, .. } => {
                        label_matcher(&with_window(total_query, "5m"), "service")
                    }
                    Sli::Raw { error_ratio_query } => {
                        label_matcher(&with_window(error_ratio_query, "5m"), "service")
                    }
                    Sli::Latency {
                        metric, selector, ..
                    } => label_matcher(&format!("{metric}_count{{{selector}}}"), "service"),
                    Sli::Journey { .. } => None,
                },
            };
            let service = service_matcher
                .as_ref()
                .filter(|m| matches!(m.op, MatchOp::Equal))
                .map(|m| m.value.clone());
            slos.push(Slo {
                name: s.name,
                objective: s.objective / 100.0,
                required: s.required,
                min_events: s.min_events,
                description: s.description,
                labels: s.labels,
                service,
                service_matcher,
                sli,
                alerting: s.alerting,
            });
        }
        Ok(Spec {
            service: raw.service,
            labels: raw.labels,
            slos,
        })
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

mod text;
pub use text::{format_seconds, le_regex, parse_duration_seconds, parse_threshold, with_window};
use text::{has_window, label_matcher, valid_metric_name, valid_name};

#[cfg(test)]
mod tests;

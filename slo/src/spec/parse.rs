//! From YAML text to a validated [`Spec`]: the file's shape as serde reads it
//! (unknown fields refused), then every rule a spec must keep, each error
//! naming the file and the field.

use std::collections::{BTreeMap, HashSet};

use promql_parser::label::{MatchOp, Matcher};
use serde::Deserialize;

use super::*;

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

impl Spec {
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
}

//! `slo rules`: Prometheus recording rules and multi-window multi-burn-rate alerts
//! for every objective, in Sloth's layout and naming (`slo:sli_error:ratio_rate5m`,
//! `sloth_id`, `sloth_service`, `sloth_slo`, `sloth_window`, `sloth_severity`), so
//! Sloth's dashboards work on them.
//!
//! Alerts follow the Google SRE workbook over a 30-day period: **page** when the
//! budget burns 14.4× too fast over 1 h and 5 m, or 6× over 6 h and 30 m; **ticket**
//! when it burns 3× over 1 d and 2 h, or 1× over 3 d and 6 h.
//!
//! Objectives only a client can measure (`sli.journey`) have no PromQL and get no
//! rules: see [`Spec::server_side`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::spec::{Slo, Spec};

/// Windows with a recorded error ratio.
pub const WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];
/// The SLO period.
pub const PERIOD: &str = "30d";
const PERIOD_DAYS: u32 = 30;

/// A long window, a short window and the burn factor both must exceed.
pub type BurnCondition = (&'static str, &'static str, f64);

/// Severity and its two conditions (either fires the alert).
pub const ALERTS: [(&str, [BurnCondition; 2]); 2] = [
    ("page", [("1h", "5m", 14.4), ("6h", "30m", 6.0)]),
    ("ticket", [("1d", "2h", 3.0), ("3d", "6h", 1.0)]),
];

#[derive(Debug, Serialize)]
pub struct RuleFile {
    pub groups: Vec<Group>,
}

#[derive(Debug, Serialize)]
pub struct Group {
    pub name: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Serialize)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub expr: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `<service>-<slo>`, the `sloth_id` label.
pub fn slo_id(spec: &Spec, slo: &Slo) -> String {
    format!("{}-{}", spec.service, slo.name)
}

/// The labels identifying an objective's series.
pub fn id_labels(spec: &Spec, slo: &Slo) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("sloth_id".into(), slo_id(spec, slo));
    l.insert("sloth_service".into(), spec.service.clone());
    l.insert("sloth_slo".into(), slo.name.clone());
    l
}

/// The alert's name: `alerting.name`, or `SLO` + the objective's name in camel case.
pub fn alert_name(slo: &Slo) -> String {
    slo.alerting.name.clone().unwrap_or_else(|| {
        let camel: String = slo
            .name
            .split(['-', '_'])
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        format!("SLO{camel}ErrorBudgetBurn")
    })
}

/// Labels an alert of `severity` carries besides those of its expression.
pub fn alert_labels(spec: &Spec, slo: &Slo, severity: &str) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = spec.labels.clone();
    l.extend(slo.labels.clone());
    l.extend(slo.alerting.labels.clone());
    l.insert("sloth_severity".into(), severity.into());
    let opts = if severity == "page" {
        &slo.alerting.page_alert
    } else {
        &slo.alerting.ticket_alert
    };
    l.extend(opts.labels.clone());
    l
}

/// Annotations of an alert of `severity`.
pub fn alert_annotations(spec: &Spec, slo: &Slo, severity: &str) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert(
        "title".into(),
        format!(
            "({severity}) {} {} SLO error budget burn rate is too fast.",
            spec.service, slo.name
        ),
    );
    a.insert(
        "summary".into(),
        format!(
            "{} is burning its error budget (objective {} %) too fast.",
            slo.name,
            slo.objective_percent()
        ),
    );
    if let Some(d) = &slo.description {
        a.insert("description".into(), d.clone());
    }
    a.extend(slo.alerting.annotations.clone());
    let opts = if severity == "page" {
        &slo.alerting.page_alert
    } else {
        &slo.alerting.ticket_alert
    };
    a.extend(opts.annotations.clone());
    a
}

fn selector(labels: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Every group for every objective.
pub fn generate(spec: &Spec) -> RuleFile {
    let mut groups = Vec::new();
    for slo in spec.server_side() {
        let id = slo_id(spec, slo);
        let ids = id_labels(spec, slo);
        let sel = selector(&ids);
        let with = |extra: &[(&str, String)]| {
            let mut l = ids.clone();
            l.extend(slo.labels.clone());
            for (k, v) in extra {
                l.insert((*k).into(), v.clone());
            }
            l
        };

        let mut sli = Vec::new();
        for w in WINDOWS {
            sli.push(Rule {
                record: Some(format!("slo:sli_error:ratio_rate{w}")),
                alert: None,
                expr: slo.sli.error_ratio_query(w),
                labels: with(&[("sloth_window", w.into())]),
                annotations: BTreeMap::new(),
            });
        }
        sli.push(Rule {
            record: Some(format!("slo:sli_error:ratio_rate{PERIOD}")),
            alert: None,
            expr: format!(
                "sum_over_time(slo:sli_error:ratio_rate5m{sel}[{PERIOD}])\n/ ignoring (sloth_window)\ncount_over_time(slo:sli_error:ratio_rate5m{sel}[{PERIOD}])"
            ),
            labels: with(&[("sloth_window", PERIOD.into())]),
            annotations: BTreeMap::new(),
        });
        groups.push(Group {
            name: format!("slo-sli-recordings-{id}"),
            rules: sli,
        });

        let budget = slo.error_budget();
        let meta = vec![
            ("slo:objective:ratio", format!("vector({})", slo.objective)),
            (
                "slo:error_budget:ratio",
                format!("vector(1-{})", slo.objective),
            ),
            ("slo:time_period:days", format!("vector({PERIOD_DAYS})")),
            (
                "slo:current_burn_rate:ratio",
                format!(
                    "slo:sli_error:ratio_rate5m{sel}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{sel}"
                ),
            ),
            (
                "slo:period_burn_rate:ratio",
                format!(
                    "slo:sli_error:ratio_rate{PERIOD}{sel}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{sel}"
                ),
            ),
            (
                "slo:period_error_budget_remaining:ratio",
                format!("1 - slo:period_burn_rate:ratio{sel}"),
            ),
        ];
        groups.push(Group {
            name: format!("slo-meta-recordings-{id}"),
            rules: meta
                .into_iter()
                .map(|(record, expr)| Rule {
                    record: Some(record.into()),
                    alert: None,
                    expr,
                    labels: with(&[]),
                    annotations: BTreeMap::new(),
                })
                .collect(),
        });

        let mut alerts = Vec::new();
        for (severity, pairs) in ALERTS {
            let disabled = if severity == "page" {
                slo.alerting.page_alert.disable
            } else {
                slo.alerting.ticket_alert.disable
            };
            if disabled {
                continue;
            }
            let window = |w: &str, factor: f64| {
                format!(
                    "max(slo:sli_error:ratio_rate{w}{sel} > ({factor} * {budget})) without (sloth_window)"
                )
            };
            let terms: Vec<String> = pairs
                .iter()
                .map(|(long, short, f)| {
                    format!(
                        "(\n  {}\n  and\n  {}\n)",
                        window(short, *f),
                        window(long, *f)
                    )
                })
                .collect();
            alerts.push(Rule {
                record: None,
                alert: Some(alert_name(slo)),
                expr: terms.join("\nor\n"),
                labels: alert_labels(spec, slo, severity),
                annotations: alert_annotations(spec, slo, severity),
            });
        }
        if !alerts.is_empty() {
            groups.push(Group {
                name: format!("slo-alerts-{id}"),
                rules: alerts,
            });
        }
    }
    RuleFile { groups }
}

/// The rule file as YAML, with a header saying where it came from.
pub fn to_yaml(spec: &Spec, spec_file: &str) -> String {
    let body = serde_yaml_ng::to_string(&generate(spec)).unwrap_or_default();
    format!(
        "# Generated by `slo rules --spec {spec_file}`: do not edit, regenerate.\n# Multi-window multi-burn-rate alerts over a {PERIOD} period (Google SRE workbook).\n{body}"
    )
}

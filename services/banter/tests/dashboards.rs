//! Dashboards and alerts, proven against real data (SPEC §8).
//!
//! - The rule files pass `promtool check rules`, their unit tests pass `promtool
//!   test rules`, every alert is tested firing and silent, has a summary, a
//!   description and a runbook section, and routes to page or ticket.
//! - `alerts/slo.rules.yml` is what `slo rules` generates from the spec today.
//! - Every dashboard panel has a title, a unit and a data-source variable, and
//!   references only metrics the platform (or the load generator, or a recording
//!   rule) exposes.
//! - A real Prometheus, configured from `deploy/prometheus.yml` and loading the
//!   rules, scrapes the embedded platform and the load generator under a short
//!   load; every PromQL expression of every panel, variable and rule is evaluated:
//!   all parse, and every panel returns data except those listed in
//!   [`NOT_EXERCISED`] and [`MAY_BE_EMPTY`], with the reason.
//!
//! Prometheus and promtool come from the Debian package `prometheus`; without
//! them the tests fail, they never skip.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use promql_parser::parser::Expr;
use promql_parser::util::{ExprVisitor, walk_expr};
use serde_json::{Value, json};
use slo::rules;
use slo::spec::Spec;
use support::Banter;
use support::prometheus::{Prometheus, promtool};

/// Panels that stay empty on a healthy platform, and why. Checked to be empty,
/// so the list cannot go stale.
const NOT_EXERCISED: &[(&str, &str, &str)] = &[(
    "banter-messaging",
    "Dead letters by consumer",
    "a healthy run dead-letters nothing (messaging_dead_lettered_total has no series until \
     the first dead letter); alerts/tests/banter.test.yml feeds one to BanterDeadLetters",
)];

/// Panels whose data depends on the machine: evaluated (they must parse and run),
/// data optional.
const MAY_BE_EMPTY: &[(&str, &str, &str)] = &[
    (
        "banter-slo",
        "SLO alerts firing",
        "ALERTS exists only while an alert fires: none should on a healthy platform, but a \
         slow CI machine may legitimately burn the latency budget",
    ),
    (
        "banter-experiment",
        "Alerts firing or pending",
        "ALERTS exists only while an alert is pending or firing: services/banter/tests/\
         experiments.rs makes them fire with faults",
    ),
];

const SERVICES: [&str; 5] = ["users", "friends", "chat", "notifications", "posts"];
const RATE_INTERVAL: &str = "30s";
const PASSWORD: &str = "Passw0rd!";
const SLO_TESTS: &str = "alerts/tests/slo.test.yml";
const UPDATE_SLO_TESTS: &str = "BANTER_UPDATE_ALERT_TESTS";
const REGENERATE: &str = "cargo run -p banter-slo --bin slo -- rules --spec slo/specs/banter.yaml --out alerts/slo.rules.yml";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml(rel: &str) -> Value {
    serde_yaml_ng::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Files of `dir` (relative to the root) ending in `suffix`, sorted.
fn files(dir: &str, suffix: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    out.sort();
    out
}

// ----------------------------------------------------------------- dashboards

struct Dashboard {
    file: String,
    json: Value,
}

fn dashboards() -> Vec<Dashboard> {
    let all: Vec<Dashboard> = files("dashboards", ".json")
        .into_iter()
        .map(|file| Dashboard {
            json: serde_json::from_str(&read(&file)).unwrap_or_else(|e| panic!("{file}: {e}")),
            file,
        })
        .collect();
    assert!(all.len() >= 7, "seven dashboards of SPEC §8");
    all
}

impl Dashboard {
    fn uid(&self) -> &str {
        self.json["uid"].as_str().unwrap_or_default()
    }

    /// Every panel that shows data: rows are containers (their collapsed
    /// children count).
    fn panels(&self) -> Vec<&Value> {
        let mut out = Vec::new();
        for p in self.json["panels"].as_array().into_iter().flatten() {
            if p["type"] == "row" {
                out.extend(p["panels"].as_array().into_iter().flatten());
            } else {
                out.push(p);
            }
        }
        out
    }

    fn variables(&self) -> Vec<&Value> {
        self.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .collect()
    }

    /// The data-source type (`prometheus`, `loki`) a `${name}` reference selects.
    fn datasource_type(&self, reference: &Value) -> Option<String> {
        let uid = reference["uid"].as_str()?;
        let name = uid.strip_prefix("${")?.strip_suffix('}')?;
        self.variables()
            .into_iter()
            .find(|v| v["type"] == "datasource" && v["name"] == name)
            .and_then(|v| v["query"].as_str().map(str::to_owned))
            .filter(|kind| reference["type"] == kind.as_str())
    }

    /// Every query of every panel: (panel title, data-source type, expression).
    fn queries(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for p in self.panels() {
            let title = p["title"].as_str().unwrap_or_default().to_owned();
            for t in p["targets"].as_array().into_iter().flatten() {
                let ds = if t["datasource"].is_object() {
                    &t["datasource"]
                } else {
                    &p["datasource"]
                };
                let kind = self.datasource_type(ds).unwrap_or_default();
                out.push((
                    title.clone(),
                    kind,
                    t["expr"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
        out
    }

    /// PromQL annotations: (name, expression).
    fn annotation_queries(&self) -> Vec<(String, String)> {
        self.json["annotations"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let expr = a["expr"].as_str()?;
                Some((
                    a["name"].as_str().unwrap_or_default().to_owned(),
                    expr.to_owned(),
                ))
            })
            .collect()
    }

    /// Variable values to evaluate with: a multi-value variable's "All" value;
    /// a single-value service variable once per service.
    fn assignments(&self) -> Vec<BTreeMap<String, String>> {
        let mut base = BTreeMap::new();
        let mut per_service = false;
        for v in self.variables() {
            let name = v["name"].as_str().unwrap().to_owned();
            match v["type"].as_str().unwrap() {
                "datasource" => {}
                "textbox" => {
                    base.insert(name, String::new());
                }
                _ if v["includeAll"] == true => {
                    base.insert(name, v["allValue"].as_str().unwrap_or(".*").to_owned());
                }
                _ if name == "service" => per_service = true,
                other => panic!("{}: variable {name} ({other}) has no test value", self.file),
            }
        }
        if !per_service {
            return vec![base];
        }
        SERVICES
            .iter()
            .map(|s| {
                let mut a = base.clone();
                a.insert("service".into(), (*s).into());
                a
            })
            .collect()
    }
}

/// Grafana's substitution of variables and interval macros.
fn substitute(expr: &str, vars: &BTreeMap<String, String>, range: &str) -> String {
    let mut out = expr
        .replace("$__rate_interval", RATE_INTERVAL)
        .replace("$__range", range)
        .replace("$__interval", "5s");
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for name in names {
        out = out
            .replace(&format!("${{{name}}}"), &vars[name])
            .replace(&format!("${name}"), &vars[name]);
    }
    assert!(!out.contains('$'), "unsubstituted variable in {out}");
    out
}

/// Metric names a PromQL expression selects.
fn metric_names(expr: &str) -> Result<BTreeSet<String>, String> {
    struct Names(BTreeSet<String>);
    impl ExprVisitor for Names {
        type Error = ();
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
            let vs = match e {
                Expr::VectorSelector(vs) => Some(vs),
                Expr::MatrixSelector(ms) => Some(&ms.vs),
                _ => None,
            };
            if let Some(name) = vs.and_then(|vs| vs.name.clone()) {
                self.0.insert(name);
            }
            Ok(true)
        }
    }
    let ast = promql_parser::parser::parse(expr)?;
    let mut names = Names(BTreeSet::new());
    let _ = walk_expr(&mut names, &ast);
    Ok(names.0)
}

/// `label_values(metric{...}, label)` as an instant query of the label's values.
fn variable_query(q: &str) -> Option<(String, String)> {
    let inner = q.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    let (selector, label) = inner.rsplit_once(',')?;
    Some((
        format!("count by ({}) ({})", label.trim(), selector.trim()),
        label.trim().to_owned(),
    ))
}

/// Numbers of every `thresholds` object in a panel's field config (defaults and
/// overrides).
fn threshold_values(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "thresholds" || (k == "value" && x["steps"].is_array()) {
                    for s in x["steps"].as_array().into_iter().flatten() {
                        out.extend(s["value"].as_f64());
                    }
                }
                threshold_values(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| threshold_values(x, out)),
        _ => {}
    }
}

/// What the platform can expose: metric macros in the services' source (a
/// series appears once the thing happens), plus a live scrape (process metrics
/// come from a library).
fn platform_metrics(scrape: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in scrape.lines().filter(|l| !l.starts_with('#')) {
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        if end > 0 {
            names.insert(line[..end].to_owned());
        }
    }
    let mut stack = vec![root().join("services")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("tests") && !path.ends_with("target") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let src = std::fs::read_to_string(&path).unwrap();
            for kind in ["counter!(", "gauge!(", "histogram!("] {
                for (at, _) in src.match_indices(kind) {
                    let rest = src[at + kind.len()..].trim_start();
                    let Some(rest) = rest.strip_prefix('"') else {
                        continue;
                    };
                    let name = &rest[..rest.find('"').unwrap()];
                    if kind == "histogram!(" {
                        for suffix in ["_bucket", "_sum", "_count"] {
                            names.insert(format!("{name}{suffix}"));
                        }
                    } else {
                        names.insert(name.to_owned());
                    }
                }
            }
        }
    }
    names
}

/// What the load generator exposes on --metrics-port (its exposition source).
fn loadgen_metrics() -> BTreeSet<String> {
    let src = read("loadgen/src/metrics.rs");
    src.match_indices("loadgen_")
        .map(|(at, _)| {
            src[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|n| n.len() > "loadgen_".len())
        .collect()
}

// ----------------------------------------------------------------- rules

fn rule_files() -> Vec<String> {
    files("alerts", ".rules.yml")
}

/// Every rule of every rule file: (file, rule).
fn all_rules() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for file in rule_files() {
        for g in yaml(&file)["groups"].as_array().unwrap() {
            for r in g["rules"].as_array().unwrap() {
                out.push((file.clone(), r.clone()));
            }
        }
    }
    out
}

fn recorded_names() -> BTreeSet<String> {
    all_rules()
        .iter()
        .filter_map(|(_, r)| r["record"].as_str().map(str::to_owned))
        .collect()
}

/// The receiver alertmanager.yml routes `labels` to (first matching child route).
fn receiver_for(route: &Value, labels: &BTreeMap<&str, &str>) -> String {
    for child in route["routes"].as_array().into_iter().flatten() {
        let matches = child["matchers"].as_array().into_iter().flatten().all(|m| {
            let m = m.as_str().unwrap();
            let (k, v) = m.split_once('=').unwrap();
            labels.get(k.trim()).copied().unwrap_or_default() == v.trim().trim_matches('"')
        });
        if matches {
            return receiver_for(child, labels);
        }
    }
    route["receiver"].as_str().unwrap().to_owned()
}

#[test]
fn rule_files_pass_promtool_and_every_alert_is_tested_documented_and_routed() {
    let root = root();
    for file in rule_files() {
        let out = promtool(&["check", "rules", &file], &root);
        assert!(out.contains("SUCCESS"), "{out}");
    }
    // The generated burn-rate alerts' tests are generated too, from the same spec:
    // fast burn pages (and tickets), slow burn only tickets, healthy is silent.
    let generated = format!(
        "# Generated from slo/specs/banter.yaml by services/banter/tests/dashboards.rs: do not edit.\n\
         # Regenerate (after `slo rules`): {UPDATE_SLO_TESTS}=1 cargo test -p banter --test dashboards\n\
         # Every objective: a fast burn pages and tickets, a slow burn only tickets, a healthy\n\
         # service is silent.\n{}",
        serde_yaml_ng::to_string(&slo_alert_tests()).unwrap()
    );
    if std::env::var_os(UPDATE_SLO_TESTS).is_some() {
        std::fs::write(root.join(SLO_TESTS), &generated).unwrap();
    }
    assert!(
        read(SLO_TESTS) == generated,
        "{SLO_TESTS} is stale: regenerate it with\n  {UPDATE_SLO_TESTS}=1 cargo test -p banter --test dashboards"
    );
    let tests = files("alerts/tests", ".test.yml");
    assert!(tests.contains(&SLO_TESTS.to_owned()));
    for file in &tests {
        let out = promtool(&["test", "rules", file], &root);
        assert!(out.contains("SUCCESS"), "{out}");
    }

    // Hand-written alerts: each fires in a test and stays silent in another.
    let mut fired = BTreeSet::new();
    let mut silent = BTreeSet::new();
    for file in &tests {
        for t in yaml(file)["tests"].as_array().unwrap() {
            for a in t["alert_rule_test"].as_array().into_iter().flatten() {
                let name = a["alertname"].as_str().unwrap().to_owned();
                if a["exp_alerts"].as_array().is_some_and(|e| !e.is_empty()) {
                    fired.insert(name);
                } else {
                    silent.insert(name);
                }
            }
        }
    }
    let runbook = read("docs/runbook.md");
    let alertmanager = yaml("alerts/alertmanager.yml");
    let mut symptoms = 0;
    for (file, rule) in all_rules() {
        let Some(name) = rule["alert"].as_str() else {
            continue;
        };
        let generated = file.ends_with("slo.rules.yml");
        let a = &rule["annotations"];
        for key in ["summary", "description"] {
            assert!(
                a[key].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: no {key}"
            );
        }
        assert!(
            runbook.contains(&format!("`{name}`")) || runbook.contains(&format!("## {name}\n")),
            "{name}: no section in docs/runbook.md"
        );
        let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
        let expected = match severity {
            "critical" => "page",
            "warning" => "ticket",
            other => panic!("{name}: severity {other:?} is neither critical nor warning"),
        };
        let labels = BTreeMap::from([("alertname", name), ("severity", severity)]);
        assert_eq!(
            receiver_for(&alertmanager["route"], &labels),
            expected,
            "{name}"
        );
        if generated {
            continue; // covered by the generated test below
        }
        symptoms += 1;
        assert!(
            a["description"].as_str().unwrap().contains("{{ $value"),
            "{name}: the description gives the value"
        );
        let url = a["runbook_url"].as_str().unwrap();
        let anchor = url.strip_prefix("docs/runbook.md#").unwrap();
        assert_eq!(anchor, name.to_lowercase(), "{name}: runbook_url");
        assert!(
            runbook.contains(&format!("## {name}\n")),
            "{name}: runbook heading"
        );
        assert!(fired.contains(name), "{name} never fires in alerts/tests");
        assert!(silent.contains(name), "{name} is never tested silent");
    }
    assert_eq!(
        symptoms, 7,
        "service down, error rate, p95, pool, lag, outbox, dead letters"
    );
}

/// `promtool test rules` input for every objective of the shipped spec against
/// alerts/slo.rules.yml.
fn slo_alert_tests() -> Value {
    let spec = Spec::load(root().join("slo/specs/banter.yaml")).unwrap();
    // Per minute and service: `failed` of 1000 requests are 5xx, `fast` of
    // them within 200 ms.
    let traffic = |failed: u64, fast: u64, minutes: u64| -> Vec<Value> {
        let mut s = Vec::new();
        for svc in SERVICES {
            let series = |name: &str, labels: &str, per_minute: u64| {
                json!({
                    "series": format!("http_server_request_duration_seconds_{name}{{service=\"{svc}\",{labels}}}"),
                    "values": format!("0+{per_minute}x{minutes}"),
                })
            };
            s.push(series(
                "count",
                r#"http_response_status_code="200""#,
                1000 - failed,
            ));
            s.push(series(
                "count",
                r#"http_response_status_code="500""#,
                failed,
            ));
            s.push(series(
                "bucket",
                r#"http_response_status_code="200",le="0.2""#,
                fast,
            ));
        }
        s
    };
    let expect = |severities: &[&str], at: &str| -> Vec<Value> {
        spec.server_side()
            .map(|slo| {
                let alerts: Vec<Value> = severities
                    .iter()
                    .map(|sev| {
                        let mut labels = rules::id_labels(&spec, slo);
                        labels.extend(rules::alert_labels(&spec, slo, sev));
                        json!({
                            "exp_labels": labels,
                            "exp_annotations": rules::alert_annotations(&spec, slo, sev),
                        })
                    })
                    .collect();
                json!({"eval_time": at, "alertname": rules::alert_name(slo), "exp_alerts": alerts})
            })
            .collect()
    };
    json!({
        "rule_files": ["../slo.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": "fast burn: 10 % errors, 90 % slow — page and ticket",
                "interval": "1m",
                "input_series": traffic(100, 100, 60),
                "alert_rule_test": expect(&["page", "ticket"], "10m"),
            },
            {
                "name": "slow burn: 0.2 % errors (2× budget), 8 % slow (1.6×) — ticket only",
                "interval": "1m",
                "input_series": traffic(2, 920, 460),
                "alert_rule_test": ([expect(&["ticket"], "30m"), expect(&["ticket"], "7h")].concat()),
            },
            {
                "name": "healthy: no errors, 1 % slow — silent",
                "interval": "1m",
                "input_series": traffic(0, 990, 460),
                "alert_rule_test": ([expect(&[], "10m"), expect(&[], "7h")].concat()),
            },
        ],
    })
}

#[test]
fn slo_rules_are_what_slo_rules_generates_from_the_spec() {
    let spec = Spec::load(root().join("slo/specs/banter.yaml")).unwrap();
    let fresh = rules::to_yaml(&spec, "slo/specs/banter.yaml");
    assert!(
        read("alerts/slo.rules.yml") == fresh,
        "alerts/slo.rules.yml is stale: regenerate it with\n  {REGENERATE}"
    );
}

#[test]
fn prometheus_config_is_valid_and_loads_every_rule_file() {
    let out = promtool(&["check", "config", "deploy/prometheus.yml"], &root());
    for file in rule_files() {
        let name = file.trim_start_matches("alerts/");
        assert!(
            out.contains(name),
            "deploy/prometheus.yml does not load {file}:\n{out}"
        );
    }
    let jobs: Vec<String> = yaml("deploy/prometheus.yml")["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_name"].as_str().unwrap().to_owned())
        .collect();
    for job in ["banter", "banter-split", "loadgen"] {
        assert!(jobs.iter().any(|j| j == job), "no job {job}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_lint() {
    let app = Banter::start(&[], &[]).await;
    let scrape = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    drop(app);
    let mut known = platform_metrics(&scrape);
    known.extend(loadgen_metrics());
    known.extend(recorded_names());
    // Series Prometheus itself makes.
    known.extend(["up", "ALERTS", "ALERTS_FOR_STATE"].map(str::to_owned));
    let loki_labels = loki_labels();

    let mut problems = Vec::new();
    let mut uids = BTreeSet::new();
    for d in dashboards() {
        let f = &d.file;
        assert!(uids.insert(d.uid().to_owned()), "{f}: duplicate uid");
        assert!(
            d.json["schemaVersion"].as_u64().unwrap_or(0) >= 39,
            "{f}: schemaVersion"
        );
        assert!(
            d.json["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{f}: title"
        );
        let mut ids = BTreeSet::new();
        for p in d.panels() {
            let title = p["title"].as_str().unwrap_or_default();
            let at = format!("{f}: panel {title:?}");
            assert!(ids.insert(p["id"].as_u64().unwrap()), "{at}: duplicate id");
            if title.is_empty() {
                problems.push(format!("{at}: no title"));
            }
            if d.datasource_type(&p["datasource"]).is_none() {
                problems.push(format!("{at}: datasource is not a data-source variable"));
            }
            let unit = p["fieldConfig"]["defaults"]["unit"]
                .as_str()
                .unwrap_or_default();
            // A logs panel shows lines: Grafana has no unit for it.
            if unit.is_empty() && p["type"] != "logs" {
                problems.push(format!("{at}: no unit"));
            }
            let targets = p["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                problems.push(format!("{at}: no query"));
            }
            let mut thresholds = Vec::new();
            threshold_values(&p["fieldConfig"], &mut thresholds);
            for t in &targets {
                let expr = t["expr"].as_str().unwrap_or_default();
                if t["datasource"].is_object() && d.datasource_type(&t["datasource"]).is_none() {
                    problems.push(format!("{at}: a query's datasource is not a variable"));
                }
                let graphs = ["timeseries", "bargauge"].contains(&p["type"].as_str().unwrap());
                let legend = t["legendFormat"].as_str().unwrap_or_default();
                if graphs && (legend.is_empty() || legend == "__auto") {
                    problems.push(format!("{at}: query {expr:?} has no legend"));
                }
                // Thresholds at the SLO: 200 ms on request latency, 0.1 % on 5xx share.
                let latency = (expr.contains("histogram_quantile")
                    && expr.contains("http_server_request_duration_seconds"))
                    || expr.contains("loadgen_step_latency_seconds");
                if latency && !thresholds.contains(&0.2) {
                    problems.push(format!("{at}: latency without a threshold at 0.2 s"));
                }
                let errors = expr.contains(r#"http_response_status_code!~"5..""#)
                    || (expr.contains("loadgen_errors_total") && unit == "percentunit");
                if errors && !thresholds.contains(&0.001) {
                    problems.push(format!("{at}: error share without a threshold at 0.1 %"));
                }
            }
        }
        for (panel, kind, expr) in d.queries() {
            let at = format!("{f}: panel {panel:?}");
            match kind.as_str() {
                "prometheus" => {
                    let vars = d.assignments().remove(0);
                    match metric_names(&substitute(&expr, &vars, "1h")) {
                        Err(e) => problems.push(format!("{at}: {expr}: {e}")),
                        Ok(names) => {
                            for n in names.difference(&known) {
                                problems.push(format!("{at}: metric {n} is not exposed"));
                            }
                        }
                    }
                }
                "loki" => {
                    let selector = &expr[expr.find('{').unwrap()..=expr.find('}').unwrap()];
                    for part in selector.trim_matches(['{', '}']).split(',') {
                        let label = part.split(['=', '!']).next().unwrap().trim();
                        if !loki_labels.contains(label) {
                            problems.push(format!("{at}: Loki label {label} is not shipped"));
                        }
                    }
                }
                other => problems.push(format!("{at}: unknown datasource type {other:?}")),
            }
        }
        check_operator_links(&d, &mut problems);
        for (name, expr) in d.annotation_queries() {
            match metric_names(&substitute(&expr, &d.assignments().remove(0), "1h")) {
                Err(e) => problems.push(format!("{f}: annotation {name:?}: {expr}: {e}")),
                Ok(names) => {
                    for n in names.difference(&known) {
                        problems.push(format!(
                            "{f}: annotation {name:?}: metric {n} is not exposed"
                        ));
                    }
                }
            }
        }
        for v in d.variables() {
            if let Some(q) = v["definition"].as_str() {
                let (query, _) = variable_query(q)
                    .unwrap_or_else(|| panic!("{f}: variable query {q} is not label_values"));
                for n in metric_names(&query).unwrap().difference(&known) {
                    problems.push(format!(
                        "{f}: variable {}: metric {n} is not exposed",
                        v["name"]
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // Every dashboard is provisioned from the directory the provider reads.
    let provider = yaml("dashboards/provisioning/dashboards/banter.yml");
    assert_eq!(provider["providers"][0]["type"], "file");
    let sources = yaml("dashboards/provisioning/datasources/banter.yml");
    let types: BTreeSet<&str> = sources["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, BTreeSet::from(["loki", "prometheus", "tempo"]));
}

/// What an operator needs to get from a panel to the right process, bucket,
/// log line or trace: an instance variable where several instances run,
/// per-instance panels, a latency heatmap, exemplars on latency panels, data
/// links to Loki and Tempo, and the load-test window as an annotation.
fn check_operator_links(d: &Dashboard, problems: &mut Vec<String>) {
    let f = &d.file;
    let uid = d.uid();
    let var = |name: &str| d.variables().into_iter().find(|v| v["name"] == name);
    let exprs: Vec<String> = d.queries().into_iter().map(|(_, _, e)| e).collect();
    if [
        "banter-overview",
        "banter-service",
        "banter-messaging",
        "banter-database",
    ]
    .contains(&uid)
    {
        match var("instance") {
            None => problems.push(format!("{f}: no instance variable")),
            Some(v) => {
                if v["includeAll"] != true || v["multi"] != true {
                    problems.push(format!(
                        "{f}: the instance variable should allow All and several"
                    ));
                }
            }
        }
        if !exprs.iter().any(|e| e.contains(r#"instance=~"$instance""#)) {
            problems.push(format!("{f}: no query filters on $instance"));
        }
        if uid != "banter-overview" && !exprs.iter().any(|e| e.contains("by (instance")) {
            problems.push(format!("{f}: no per-instance panel"));
        }
    }
    let per_instance = |needle: &str| {
        exprs
            .iter()
            .any(|e| e.contains("by (instance") && e.contains(needle))
    };
    for (dashboard, metric) in [
        ("banter-messaging", "messaging_consumer_lag"),
        ("banter-messaging", "sse_connections_active"),
        ("banter-database", "db_client_connections_usage"),
        (
            "banter-service",
            "http_server_request_duration_seconds_bucket",
        ),
    ] {
        if uid == dashboard && !per_instance(metric) {
            problems.push(format!("{f}: no per-instance panel of {metric}"));
        }
    }
    if uid == "banter-service" {
        let heatmap = d.panels().into_iter().find(|p| p["type"] == "heatmap");
        match heatmap {
            None => problems.push(format!("{f}: no latency heatmap")),
            Some(p) => {
                let t = &p["targets"][0];
                let expr = t["expr"].as_str().unwrap_or_default();
                if !(expr.contains("http_server_request_duration_seconds_bucket")
                    && expr.contains("by (le)")
                    && expr.contains(r#"service="$service""#)
                    && t["format"] == "heatmap")
                {
                    problems.push(format!("{f}: the heatmap should plot the service's duration buckets by le, format heatmap: {t}"));
                }
            }
        }
        for p in d.panels() {
            let links = p["fieldConfig"]["defaults"]["links"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let urls: Vec<&str> = links.iter().filter_map(|l| l["url"].as_str()).collect();
            let title = &p["title"];
            let to_loki = urls.iter().any(|u| {
                u.contains(r#""datasource":"${loki}""#) && u.contains(r#"service=\"${service}\""#)
            });
            let to_tempo = urls.iter().any(|u| {
                u.contains(r#""datasource":"${tempo}""#)
                    && u.contains(r#"span.service=\"${service}\""#)
            });
            if !(to_loki && to_tempo) {
                problems.push(format!("{f}: panel {title}: no data links to the service's logs (Loki) and traces (Tempo)"));
            }
            if !urls
                .iter()
                .all(|u| u.contains("${__from}") || u.contains("${__url_time_range}"))
            {
                problems.push(format!(
                    "{f}: panel {title}: a data link drops the time window"
                ));
            }
        }
        for (name, kind) in [("loki", "loki"), ("tempo", "tempo")] {
            if var(name).is_none_or(|v| v["type"] != "datasource" || v["query"] != kind) {
                problems.push(format!(
                    "{f}: data links need a {kind} data-source variable ${name}"
                ));
            }
        }
    }
    // Exemplars on every server latency graph: a slow point links to its trace.
    for p in d.panels() {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap_or_default();
            if p["type"] == "timeseries"
                && expr.contains("histogram_quantile")
                && expr.contains("http_server_request_duration_seconds")
                && t["exemplar"] != true
            {
                problems.push(format!(
                    "{f}: panel {}: latency without exemplars",
                    p["title"]
                ));
            }
        }
    }
    if ["banter-overview", "banter-service", "banter-loadtest"].contains(&uid)
        && !d
            .annotation_queries()
            .iter()
            .any(|(_, e)| e.contains("loadgen_measuring"))
    {
        problems.push(format!(
            "{f}: no load-test annotation from loadgen_measuring"
        ));
    }
    if uid == "banter-loadtest" {
        for e in &exprs {
            if e.contains("loadgen_step_latency_seconds") && e.contains("quantile=") {
                problems.push(format!("{f}: {e}: a quantile since the start of the run; use rate() of loadgen_step_duration_seconds_bucket"));
            }
        }
        if !exprs
            .iter()
            .any(|e| e.contains("rate(loadgen_step_duration_seconds_bucket"))
        {
            problems.push(format!("{f}: client latency is not rate-windowed"));
        }
        let about = d.json["description"].as_str().unwrap_or_default();
        if !(about.contains("--metrics-port") && about.contains("banter demo")) {
            problems.push(format!(
                "{f}: the description should say where its metrics come from"
            ));
        }
    }
}

/// Labels the platform puts on its Loki streams (services/kit telemetry).
fn loki_labels() -> BTreeSet<String> {
    let src = read("services/kit/src/telemetry/mod.rs");
    let labels: BTreeSet<String> = src
        .match_indices(".label(\"")
        .map(|(at, _)| {
            let rest = &src[at + 8..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect();
    assert!(labels.contains("service"), "{labels:?}");
    labels
}

// ----------------------------------------------------------------- end to end

/// The shipped deploy/prometheus.yml, pointed at this test's processes: 1 s
/// scrapes and evaluation, rule files by absolute path, no Alertmanager.
/// `resolve(job, labels)` gives the address of each static target group (by its
/// job and labels) or drops it (a deployment that is not running here).
fn prometheus_config(resolve: impl Fn(&str, &Value) -> Option<String>, own_port: u16) -> String {
    let mut c = yaml("deploy/prometheus.yml");
    c["global"]["scrape_interval"] = json!("1s");
    c["global"]["evaluation_interval"] = json!("1s");
    c.as_object_mut().unwrap().remove("alerting");
    let deploy = root().join("deploy");
    let rules: Vec<Value> = c["rule_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| json!(deploy.join(f.as_str().unwrap()).canonicalize().unwrap()))
        .collect();
    c["rule_files"] = json!(rules);
    let mut jobs = Vec::new();
    for job in c["scrape_configs"].as_array().unwrap() {
        let name = job["job_name"].as_str().unwrap();
        let groups: Vec<Value> = job["static_configs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|g| {
                let target = if name == "prometheus" {
                    Some(format!("127.0.0.1:{own_port}"))
                } else {
                    resolve(name, &g["labels"])
                }?;
                let mut g = g.clone();
                g["targets"] = json!([target]);
                Some(g)
            })
            .collect();
        if !groups.is_empty() {
            let mut job = job.clone();
            job["scrape_interval"] = json!("1s");
            job["static_configs"] = json!(groups);
            jobs.push(job);
        }
    }
    c["scrape_configs"] = json!(jobs);
    serde_yaml_ng::to_string(&c).unwrap()
}

/// The split deployment: one process per service, as deploy/prometheus.yml's
/// `banter-split` job scrapes them. Each target reports its own service, and the
/// overview's target count and per-service panels read them as they read the
/// all-in-one process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_split_deployment_is_scraped_one_process_per_service() {
    let mut apps = BTreeMap::new();
    for service in SERVICES {
        apps.insert(service, Banter::start(&["--target", service], &[]).await);
    }
    let addresses: BTreeMap<&str, String> = apps
        .iter()
        .map(|(s, app)| (*s, app.base.trim_start_matches("http://").to_owned()))
        .collect();
    let prom = Prometheus::start_with(|port| {
        prometheus_config(
            |job, labels| {
                (job == "banter-split")
                    .then(|| addresses[labels["target"].as_str().unwrap()].clone())
            },
            port,
        )
    })
    .await;
    prom.wait_for_job("banter-split", SERVICES.len()).await;
    let res = prom
        .api("query", &[("query", r#"build_info{job="banter-split"}"#)])
        .await;
    let mut seen = BTreeSet::new();
    for s in res["data"]["result"].as_array().unwrap() {
        // The scrape label of the target and the service the process reports agree.
        assert_eq!(s["metric"]["target"], s["metric"]["service"], "{s}");
        assert_eq!(s["metric"]["deployment"], "split");
        seen.insert(s["metric"]["service"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, SERVICES.map(str::to_owned).into(), "{res}");
    let overview = dashboards()
        .into_iter()
        .find(|d| d.uid() == "banter-overview")
        .unwrap();
    let (_, _, targets_up) = overview
        .queries()
        .into_iter()
        .find(|(panel, _, _)| panel == "Targets up")
        .unwrap();
    let targets_up = substitute(&targets_up, &overview.assignments()[0], "1h");
    let res = prom.api("query", &[("query", targets_up.as_str())]).await;
    assert_eq!(
        res["data"]["result"][0]["value"][1],
        SERVICES.len().to_string(),
        "{res}"
    );
    drop(prom);
    for (_, app) in apps {
        app.stop().await;
    }
}

/// Requests the load generator does not make, so every service also answers a
/// 4xx, and streams that stay open while Prometheus scrapes.
async fn side_traffic(base: String) -> Vec<reqwest::Response> {
    let c = reqwest::Client::new();
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for name in ["dash_a", "dash_b"] {
        let res = c
            .post(format!("{base}/api/auth/register"))
            .json(&json!({"email": format!("{name}@example.com"), "username": name, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        ids.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
        let res = c
            .post(format!("{base}/api/auth/login/json"))
            .json(&json!({"email": format!("{name}@example.com"), "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        tokens.push(
            res.json::<Value>().await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let a = &tokens[0];
    for path in [
        "/api/users/987654".to_owned(),
        format!("/api/chat-rooms/check/{}", ids[0]),
        "/api/chat-rooms/987654".to_owned(),
        "/api/notifications?limit=many".to_owned(),
        "/api/posts/987654".to_owned(),
    ] {
        let res = c
            .get(format!("{base}{path}"))
            .bearer_auth(a)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{path}: {}", res.status());
    }
    let res = c
        .post(format!("{base}/api/friends/request"))
        .bearer_auth(a)
        .json(&json!({"user_id_2": ids[0]}))
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_client_error(),
        "self request: {}",
        res.status()
    );
    let mut streams = Vec::new();
    for (t, path) in [
        (a, "/api/notifications/stream"),
        (a, "/api/online-status/stream"),
    ] {
        let res = c
            .get(format!("{base}{path}"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        streams.push(res);
    }
    streams
}

fn has_data(result: &Value) -> bool {
    result.as_array().into_iter().flatten().any(|s| {
        s["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(f64::is_finite)
    })
}

fn listed<'a>(list: &'a [(&str, &str, &str)], uid: &str, panel: &str) -> Option<&'a str> {
    list.iter()
        .find(|(u, p, _)| *u == uid && *p == panel)
        .map(|(_, _, why)| *why)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_and_rule_evaluates_on_a_real_prometheus_under_load() {
    let started = std::time::Instant::now();
    // A fault that changes nothing this load touches (no journey writes posts),
    // on for the whole run: the fault annotations and the experiment
    // dashboard's fault panel need a `fault_active` series to mark.
    let app = Banter::start(&["--fault", "bus-stall:posts"], &[]).await;
    let banter = app.base.trim_start_matches("http://").to_owned();
    let loadgen_port = support::free_port();
    let loadgen = format!("127.0.0.1:{loadgen_port}");
    // Only the embedded deployment runs here: the split job's targets are dropped.
    let prom = Prometheus::start_with(|port| {
        prometheus_config(
            |job, _| match job {
                "banter" => Some(banter.clone()),
                "loadgen" => Some(loadgen.clone()),
                _ => None,
            },
            port,
        )
    })
    .await;
    prom.wait_for_job("banter", 1).await;

    // A short load: every loadgen journey (every service, the bus, SSE), with
    // its client-side metrics exposed, plus some 4xx and open streams.
    let streams = tokio::spawn(side_traffic(app.base.clone()));
    let plan = loadgen::Plan::new(
        loadgen::ProfileName::Smoke,
        &loadgen::profile::Request {
            users: Some(4),
            rate: None,
            duration: Some(Duration::from_secs(12)),
            warmup: Some(Duration::from_secs(1)),
        },
    )
    .unwrap();
    let config = loadgen::RunConfig {
        targets: loadgen::target::Targets::single(&app.base).unwrap(),
        journeys: loadgen::Journey::ALL.to_vec(),
        plan,
        settings: loadgen::context::JourneySettings::default(),
        out: None,
        metrics_port: Some(loadgen_port),
        progress: false,
        slo_spec: None,
        max_stages: 1,
        rate_factor: 1.5,
    };
    let output = loadgen::run(&config).await.unwrap();
    // The load generator's endpoint closed with the run: evaluate just before.
    let eval_at = chrono::Utc::now() - chrono::TimeDelta::milliseconds(2500);
    let open_streams = streams.await.unwrap();
    println!("{}", loadgen::report::summary(&output.record));
    // The social journey gave the posts service its traffic: posts written
    // (201) and home timelines read (200), with nothing failed.
    for step in ["social/compose-post", "social/read-home-timeline"] {
        let s = output.record.step(step).unwrap_or_else(|| panic!("{step}"));
        assert!(s.requests > 0, "{step}");
        assert_eq!(s.errors.total(), 0, "{step}: {:?}", s.errors);
    }
    let time = format!("{:.3}", eval_at.timestamp_millis() as f64 / 1000.0);
    let range = format!("{}s", started.elapsed().as_secs() + 5);
    let query = |q: String| {
        let prom = &prom;
        let time = time.clone();
        async move {
            prom.api("query", &[("query", q.as_str()), ("time", time.as_str())])
                .await
        }
    };

    let mut problems = Vec::new();
    let mut empty = Vec::new();
    let mut evaluated = 0;
    for d in dashboards() {
        let uid = d.uid().to_owned();
        for vars in d.assignments() {
            for (panel, kind, expr) in d.queries() {
                if kind != "prometheus" {
                    continue; // LogQL: checked against real log lines below
                }
                let q = substitute(&expr, &vars, &range);
                let res = query(q.clone()).await;
                evaluated += 1;
                let at = format!("{uid} / {panel} {vars:?}");
                if res["status"] != "success" {
                    problems.push(format!("{at}: {q}\n  {}", res["error"]));
                    continue;
                }
                let data = has_data(&res["data"]["result"]);
                match (listed(NOT_EXERCISED, &uid, &panel), data) {
                    (Some(why), true) => problems.push(format!(
                        "{at}: listed as not exercised ({why}) but has data: update the list"
                    )),
                    (None, false) if listed(MAY_BE_EMPTY, &uid, &panel).is_none() => {
                        empty.push(format!("{at}: no data: {q}"));
                    }
                    _ => {}
                }
            }
        }
        for v in d.variables() {
            let Some((q, label)) = v["definition"].as_str().and_then(variable_query) else {
                continue;
            };
            let q = substitute(&q, &d.assignments()[0], &range);
            let res = query(q.clone()).await;
            let values: BTreeSet<&str> = res["data"]["result"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["metric"][&label].as_str())
                .collect();
            if values.is_empty() {
                empty.push(format!("{uid}: variable {}: no values from {q}", v["name"]));
            }
            if label == "service"
                && v["name"] == "service"
                && !v["includeAll"].as_bool().unwrap_or(false)
            {
                assert_eq!(values, BTreeSet::from(SERVICES), "{uid}: service variable");
            }
        }
    }

    // The load-test window annotates the dashboards (a range query, as Grafana runs it).
    let start = format!(
        "{:.3}",
        (chrono::Utc::now().timestamp_millis() as f64 / 1000.0) - started.elapsed().as_secs_f64()
    );
    for d in dashboards() {
        for (name, expr) in d.annotation_queries() {
            let res = prom
                .api(
                    "query_range",
                    &[
                        ("query", expr.as_str()),
                        ("start", start.as_str()),
                        ("end", time.as_str()),
                        ("step", "1"),
                    ],
                )
                .await;
            evaluated += 1;
            let points = res["data"]["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| s["values"].as_array().map_or(0, Vec::len))
                .sum::<usize>();
            if res["status"] != "success" || points == 0 {
                problems.push(format!(
                    "{}: annotation {name:?} ({expr}) marks nothing during the run: {res}",
                    d.uid()
                ));
            }
        }
    }
    // Exemplars: Prometheus scraped OpenMetrics and kept trace ids on the
    // duration buckets, and each is a request the platform logged.
    let exemplars = prom
        .api(
            "query_exemplars",
            &[
                ("query", "http_server_request_duration_seconds_bucket"),
                ("start", start.as_str()),
                ("end", time.as_str()),
            ],
        )
        .await;
    let trace_ids: BTreeSet<String> = exemplars["data"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
        .collect();
    if trace_ids.len() < 5 {
        problems.push(format!(
            "Prometheus kept {} exemplars: {exemplars}",
            trace_ids.len()
        ));
    }
    {
        let lines = app.lines.lock().unwrap();
        let logged = |id: &String| {
            lines
                .iter()
                .any(|l| l.contains(&format!(r#""trace_id":"{id}""#)))
        };
        if let Some(id) = trace_ids.iter().find(|id| !logged(id)) {
            problems.push(format!(
                "exemplar trace {id} is no request the platform logged"
            ));
        }
    }

    // Every rule: loaded and healthy in Prometheus, and its expression evaluates.
    let loaded = prom.api("rules", &[]).await;
    let mut healthy = 0;
    for g in loaded["data"]["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            if r["health"] == "ok" {
                healthy += 1;
            } else {
                problems.push(format!(
                    "rule {} is {}: {}",
                    r["name"], r["health"], r["lastError"]
                ));
            }
        }
    }
    let rules = all_rules();
    assert_eq!(healthy, rules.len(), "Prometheus loaded every rule");
    for (file, r) in &rules {
        let expr = r["expr"].as_str().unwrap();
        let res = query(expr.to_owned()).await;
        evaluated += 1;
        if res["status"] != "success" {
            problems.push(format!("{file}: {expr}: {}", res["error"]));
        }
    }
    // Recording rules record every objective from real data.
    let res = query("count by (sloth_slo) (slo:sli_error:ratio_rate5m)".into()).await;
    let spec = Spec::load(root().join("slo/specs/banter.yaml")).unwrap();
    assert_eq!(
        res["data"]["result"].as_array().unwrap().len(),
        spec.server_side().count(),
        "an error ratio for every objective: {res}"
    );

    // Logs: the fields the Loki queries use exist in the platform's real lines,
    // and the trace link of the Loki data source matches them.
    check_log_lines(&app.lines.lock().unwrap(), &mut problems);

    println!(
        "evaluated {evaluated} expressions in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    for (uid, panel, why) in NOT_EXERCISED.iter().chain(MAY_BE_EMPTY) {
        println!("not required to have data: {uid} / {panel}: {why}");
    }
    problems.extend(empty);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n\nPrometheus log:\n{}",
        problems.len(),
        problems.join("\n"),
        prom.log()
    );
    drop(open_streams);
    drop(prom);
    app.stop().await;
}

/// The Loki queries' JSON fields (after `| json`, dots become underscores) and
/// the trace link's pattern, against log lines the platform really wrote.
fn check_log_lines(lines: &[String], problems: &mut Vec<String>) {
    let parsed: Vec<(&String, Value)> = lines
        .iter()
        .filter_map(|l| Some((l, serde_json::from_str(l).ok()?)))
        .collect();
    let Some((raw, completed)) = parsed
        .iter()
        .find(|(_, v)| v["message"] == "request completed" && v["trace_id"].is_string())
    else {
        problems.push("no `request completed` log line with a trace_id".into());
        return;
    };
    let fields: BTreeSet<String> = completed
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.replace('.', "_"))
        .collect();
    let logs = read("dashboards/logs.json");
    for field in [
        "level",
        "message",
        "duration_ms",
        "http_request_method",
        "http_route",
        "http_response_status_code",
        "trace_id",
    ] {
        assert!(
            logs.contains(field),
            "logs.json no longer uses {field}: update this list"
        );
        if !fields.contains(field) {
            problems.push(format!("log lines have no field {field}: {raw}"));
        }
    }
    let levels: BTreeSet<&str> = parsed
        .iter()
        .filter_map(|(_, v)| v["level"].as_str())
        .collect();
    for level in &levels {
        if !["error", "warn", "info", "debug", "trace"].contains(level) {
            problems.push(format!(
                "log level {level:?} is not an option of the level variable"
            ));
        }
    }
    // derivedFields matcherRegex `"trace_id":"([0-9a-f]{32})"`, on the raw line.
    let sources = read("dashboards/provisioning/datasources/banter.yml");
    assert!(sources.contains(r#"matcherRegex: '"trace_id":"([0-9a-f]{32})"'"#));
    let id = raw
        .split_once(r#""trace_id":""#)
        .map(|(_, rest)| &rest[..rest.find('"').unwrap_or(0)])
        .unwrap_or_default();
    if id.len() != 32
        || !id
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    {
        problems.push(format!("the trace link pattern does not match: {raw}"));
    }
}

//! `slo rules` output checked by the real `promtool` (Debian package
//! `prometheus`): it must load, and its page alert must fire on a fast burn and
//! stay silent at a healthy error ratio.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use slo::rules;
use slo::spec::Spec;

fn on_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not on PATH: install the Debian package `prometheus` (./test.sh does)"
            )
        })
}

fn promtool(args: &[&str], dir: &Path) -> String {
    let out = Command::new(on_path("promtool"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

fn spec() -> Spec {
    Spec::load(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/banter.yaml")).unwrap()
}

fn write_rules(dir: &Path, spec: &Spec) {
    std::fs::write(dir.join("rules.yml"), rules::to_yaml(spec, "banter.yaml")).unwrap();
}

#[test]
fn promtool_accepts_the_rules_of_the_shipped_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec();
    write_rules(dir.path(), &spec);
    let out = promtool(&["check", "rules", "rules.yml"], dir.path());
    // 8 error-ratio windows + 6 meta records + 1 page and 1 ticket alert per objective
    // a server can measure (journey correctness is the client's alone).
    let expected = spec.server_side().count() * 16;
    assert!(
        out.contains(&format!("SUCCESS: {expected} rules found")),
        "{out}"
    );
}

/// The alerts `slo rules` promises for `slo` at `severity`, as promtool expects them.
fn expected_alert(spec: &Spec, name: &str, severity: &str) -> Value {
    let slo = spec.slos.iter().find(|s| s.name == name).unwrap();
    let mut labels = rules::id_labels(spec, slo);
    labels.extend(rules::alert_labels(spec, slo, severity));
    json!({
        "exp_labels": labels,
        "exp_annotations": rules::alert_annotations(spec, slo, severity),
    })
}

fn series(name: &str, labels: &str, values: &str) -> Value {
    json!({ "series": format!("{name}{{{labels}}}"), "values": values })
}

const COUNT: &str = "http_server_request_duration_seconds_count";
const BUCKET: &str = "http_server_request_duration_seconds_bucket";

/// Per minute: `ok` 200s and `failed` 500s, `fast` of all of them within 200 ms.
fn traffic(ok: u64, failed: u64, fast: u64) -> Vec<Value> {
    vec![
        series(
            COUNT,
            r#"service="users",http_response_status_code="200""#,
            &format!("0+{ok}x180"),
        ),
        series(
            COUNT,
            r#"service="users",http_response_status_code="500""#,
            &format!("0+{failed}x180"),
        ),
        series(
            BUCKET,
            r#"service="users",http_response_status_code="200",le="0.2""#,
            &format!("0+{fast}x180"),
        ),
        // Other services' traffic must not count.
        series(
            COUNT,
            r#"service="chat",http_response_status_code="500""#,
            "0+1000x180",
        ),
    ]
}

#[test]
fn page_alert_fires_on_a_fast_burn_and_stays_silent_when_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec();
    spec.select(&["users-availability".into(), "users-latency".into()])
        .unwrap();
    write_rules(dir.path(), &spec);
    let availability = rules::alert_name(&spec.slos[1]);
    let latency = rules::alert_name(&spec.slos[0]);
    assert_eq!(availability, "SLOUsersAvailabilityErrorBudgetBurn");

    let tests = json!({
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": "10 % errors and 90 % slow requests burn both budgets fast",
                "interval": "1m",
                "input_series": traffic(900, 100, 100),
                "alert_rule_test": [
                    { "eval_time": "10m", "alertname": availability, "exp_alerts": [
                        expected_alert(&spec, "users-availability", "page"),
                        expected_alert(&spec, "users-availability", "ticket"),
                    ]},
                    { "eval_time": "10m", "alertname": latency, "exp_alerts": [
                        expected_alert(&spec, "users-latency", "page"),
                        expected_alert(&spec, "users-latency", "ticket"),
                    ]},
                ],
            },
            {
                "name": "0.01 % errors and 99 % fast requests stay silent",
                "interval": "1m",
                "input_series": traffic(9999, 1, 9900),
                "alert_rule_test": [
                    { "eval_time": "10m", "alertname": availability, "exp_alerts": [] },
                    { "eval_time": "3h", "alertname": availability, "exp_alerts": [] },
                    { "eval_time": "10m", "alertname": latency, "exp_alerts": [] },
                    { "eval_time": "3h", "alertname": latency, "exp_alerts": [] },
                ],
            },
            {
                "name": "no server error at all is a ratio of 0, not missing",
                "interval": "1m",
                "input_series": [series(COUNT, r#"service="users",http_response_status_code="200""#, "0+100x30")],
                "promql_expr_test": [{
                    "expr": r#"slo:sli_error:ratio_rate5m{sloth_slo="users-availability"}"#,
                    "eval_time": "10m",
                    "exp_samples": [{
                        "labels": r#"slo:sli_error:ratio_rate5m{sloth_id="banter-users-availability",sloth_service="banter",sloth_slo="users-availability",sloth_window="5m"}"#,
                        "value": 0,
                    }],
                }],
            },
        ],
    });
    std::fs::write(
        dir.path().join("tests.yml"),
        serde_yaml_ng::to_string(&tests).unwrap(),
    )
    .unwrap();
    let out = promtool(&["test", "rules", "tests.yml"], dir.path());
    assert!(out.contains("SUCCESS"), "{out}");
}

//! The scenario library (experiments/) run for real by `banter experiment`:
//! the embedded platform under load, a real Prometheus (on PATH; the test fails
//! without it, as CI installs it) evaluating alerts/banter.rules.yml and the
//! generated SLO rules time-compressed ×60, the fault switched on and off
//! through the admin surface. The healthy run fires no alert; each fault
//! scenario fires its alert within the scenario's bound (and resolves where it
//! says so); no acknowledged event is lost in any of them. The HTML report of
//! a fault run renders in headless Chromium with its shaded timeline.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Run beside the healthy scenario: freezing the process costs no CPU.
const BESIDE_HEALTHY: &str = "target-down";
/// The fault scenarios run together afterwards (each on its own ports and data).
const FAULTS: [&str; 4] = [
    "high-error-rate",
    "outbox-backlog",
    "dead-letters",
    "slo-chat-availability",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `banter experiment experiments/<name>.yaml` from the repository's
/// root; its exit code, its report.json and its output directory.
async fn experiment(name: &str, out: &Path) -> (i32, Value, PathBuf) {
    let dir = out.join(name);
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_banter"))
        .current_dir(root())
        .args(["experiment", &format!("experiments/{name}.yaml"), "--out"])
        .arg(&dir)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!(
        "---- {name} ({:.0} s)\n{stdout}",
        started.elapsed().as_secs_f64()
    );
    let report = std::fs::read_to_string(dir.join("report.json"))
        .unwrap_or_else(|e| panic!("{name}: no report.json ({e}):\n{stdout}\n{stderr}"));
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_str(&report).unwrap(),
        dir,
    )
}

/// Every expectation of the report met, and the event ledger whole.
fn assert_met(name: &str, code: i32, report: &Value) {
    let checks = report["checks"].as_array().unwrap();
    let unmet: Vec<&Value> = checks.iter().filter(|c| c["met"] != true).collect();
    assert!(
        unmet.is_empty() && code == 0,
        "{name}: exit {code}, unmet: {unmet:#?}\nalerts: {:#}",
        report["alerts"]
    );
    assert_eq!(report["alerting"]["evaluated"], true, "{name}");
    assert_eq!(
        report["alerting"]["broken_rules"],
        Value::Array(vec![]),
        "{name}"
    );
    let events = report["events"].as_array().unwrap();
    assert!(!events.is_empty(), "{name}: no consumer group reported");
    for e in events {
        assert_eq!(e["lost"], 0, "{name}: {e}");
        assert_eq!(e["duplicated"], 0, "{name}: {e}");
    }
    assert!(
        events
            .iter()
            .map(|e| e["published"].as_u64().unwrap())
            .sum::<u64>()
            > 0,
        "{name}: the load published no event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_is_quiet_and_each_fault_fires_its_alert_in_time() {
    support::prometheus::on_path("prometheus");
    let out = tempfile::tempdir().unwrap();

    let ((code, healthy, _), beside) = tokio::join!(
        experiment("healthy", out.path()),
        experiment(BESIDE_HEALTHY, out.path())
    );
    assert_met("healthy", code, &healthy);
    assert_eq!(healthy["checks"][0]["expectation"], "no alert fires");

    let mut runs = futures::future::join_all(FAULTS.map(|name| experiment(name, out.path()))).await;
    runs.push(beside);
    let names = FAULTS.iter().chain([&BESIDE_HEALTHY]);
    let mut table = Vec::new();
    for (name, (code, report, _)) in names.zip(&runs) {
        assert_met(name, code.to_owned(), report);
        for c in report["checks"].as_array().unwrap() {
            if let Some(ttd) = c["time_to_detect_secs"].as_f64() {
                table.push(format!(
                    "{name}: {} — detected after {ttd:.0} s, resolved {} s after the fault",
                    c["expectation"], c["resolved_after_secs"]
                ));
            }
        }
        // The fault window cost something, and what it cost is in the report.
        let costs = report["fault_window"].as_array().unwrap();
        if *name != "target-down" {
            assert!(
                costs
                    .iter()
                    .any(|c| c["burn"].as_f64().is_some_and(|b| b > 1.0))
                    || *name == "outbox-backlog"
                    || *name == "dead-letters",
                "{name}: no objective burned during the fault: {costs:#?}"
            );
        }
    }
    println!("{}", table.join("\n"));

    // The timeline renders: four charts, the fault window shaded and named.
    let (_, _, dir) = &runs[0];
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("fault on"), "no shaded fault window");
    let found = support::browser::probe(&html);
    assert!(found["charts"].as_u64().unwrap() >= 4, "{found}");
    for file in [
        "report.md",
        "run.json",
        "platform.log",
        "prometheus/prometheus.yml",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
}

#[test]
fn a_scenario_with_a_mistake_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "load: {users: 2}\ntimeline: {steady: 10s, fault: 10s, recovery: 10s}\n\
         fault: {kind: disk-full, service: chat}\nexpect: {}\n",
    )
    .unwrap();
    let out = support::command()
        .current_dir(root())
        .arg("experiment")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown fault kind `disk-full`"),
        "{stderr}"
    );
}

/// Every alert of the rule files is expected by a scenario, and the runbook
/// tells how to run each scenario.
#[test]
fn every_alert_has_a_scenario_and_the_runbook_names_it() {
    let read = |rel: &str| std::fs::read_to_string(root().join(rel)).unwrap();
    let mut alerts = std::collections::BTreeSet::new();
    for file in ["alerts/banter.rules.yml", "alerts/slo.rules.yml"] {
        let rules: Value = serde_yaml_ng::from_str(&read(file)).unwrap();
        for group in rules["groups"].as_array().unwrap() {
            for rule in group["rules"].as_array().unwrap() {
                if let Some(name) = rule["alert"].as_str() {
                    alerts.insert(name.to_owned());
                }
            }
        }
    }
    let runbook = read("docs/runbook.md");
    let mut covered = std::collections::BTreeSet::new();
    let mut quiet = 0;
    for entry in std::fs::read_dir(root().join("experiments")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let scenario: Value =
            serde_yaml_ng::from_str(&read(&format!("experiments/{name}"))).unwrap();
        assert!(
            runbook.contains(&format!("banter experiment experiments/{name}")),
            "docs/runbook.md does not tell how to run experiments/{name}"
        );
        if scenario["expect"]["quiet"] == true {
            quiet += 1;
        }
        for fire in scenario["expect"]["fires"].as_array().into_iter().flatten() {
            covered.insert(fire["alert"].as_str().unwrap().to_owned());
        }
    }
    let missing: Vec<&String> = alerts.difference(&covered).collect();
    assert!(missing.is_empty(), "alerts without a scenario: {missing:?}");
    assert_eq!(quiet, 1, "one healthy scenario, on which no alert may fire");
}

//! `banter experiment experiments/kill-instance.yaml --cluster` run for real:
//! the experiment starts the split deployment itself (deploy/local-cluster.sh
//! up, with this debug binary, on free ports, throw-away databases and Redis
//! keys), drives load through the gateway, kills chat-1 (SIGKILL) and restarts
//! it, and its own Prometheus, scraping every process with the compressed
//! rules, sees BanterTargetDown{process="chat-1"} fire and resolve; the event
//! ledger, summed over every process and both lives of chat-1, loses nothing.
//! Afterwards nothing of the cluster runs and its databases are gone.
//!
//! Needs what the script needs (PostgreSQL and Redis on 127.0.0.1, `tansu`,
//! `nginx`, `prometheus`); fails with the experiment's message when one is
//! missing.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[test]
fn kill_instance_needs_the_split_deployment() {
    let out = support::command()
        .current_dir(root())
        .args(["experiment", "experiments/kill-instance.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("run with --cluster"), "{stderr}");
}

/// The command lines of every process running now.
fn command_lines() -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_fires_target_down_and_loses_no_event() {
    support::prometheus::on_path("prometheus");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("kill-instance");
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_banter"))
        .current_dir(root())
        .args(["experiment", "experiments/kill-instance.yaml", "--cluster"])
        .arg("--out")
        .arg(&dir)
        .env_remove("DATABASE_URL")
        .env_remove("BANTER_CLUSTER_PORT_BASE")
        .env("DATABASE_ADMIN_URL", testkit::pg_admin_url())
        .env("REDIS_URL", "redis://127.0.0.1:6379")
        // Ten debug builds starting at once on a small machine.
        .env("BANTER_CLUSTER_READY_TIMEOUT", "240")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!(
        "---- kill-instance --cluster ({:.0} s)\n{stdout}\n{stderr}",
        started.elapsed().as_secs_f64()
    );
    let state = dir.join("cluster");
    let report = match std::fs::read_to_string(dir.join("report.json")) {
        Ok(report) => report,
        Err(e) => {
            let _ = tmp.keep();
            panic!(
                "no report.json ({e}); logs kept in {}:\n{stderr}",
                state.display()
            )
        }
    };
    let report: Value = serde_json::from_str(&report).unwrap();

    // Every expectation met: the alert fired for chat-1 in time and resolved,
    // and the ledger is whole.
    let checks = report["checks"].as_array().unwrap();
    let unmet: Vec<&Value> = checks.iter().filter(|c| c["met"] != true).collect();
    assert!(
        unmet.is_empty() && output.status.code() == Some(0),
        "exit {:?}, unmet: {unmet:#?}\nalerts: {:#}\nevents: {:#}",
        output.status.code(),
        report["alerts"],
        report["events"]
    );
    assert_eq!(report["alerting"]["evaluated"], true);
    assert_eq!(report["alerting"]["broken_rules"], Value::Array(vec![]));
    let down: Vec<&Value> = report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["alert"] == "BanterTargetDown")
        .collect();
    assert!(
        down.iter()
            .any(|a| a["labels"]["process"] == "chat-1" && a["labels"]["job"] == "banter-split"),
        "{down:#?}"
    );
    // Only chat-1 was down: every other process was scraped throughout.
    assert!(
        down.iter().all(|a| a["labels"]["process"] == "chat-1"),
        "{down:#?}"
    );

    // The ledger: durable groups of several services, each event of every
    // topic handled, nothing twice, and chat's own events among them.
    let events = report["events"].as_array().unwrap();
    assert!(
        events.len() >= 3,
        "too few consumer groups reported: {events:#?}"
    );
    for e in events {
        assert_eq!(e["lost"], 0, "{e}");
        assert_eq!(e["duplicated"], 0, "{e}");
        assert!(
            !e["group"].as_str().unwrap().ends_with("-sse"),
            "a live group is judged: {e}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e["topic"] == "message.events" && e["published"].as_u64().unwrap() > 0),
        "chat published no message event: {events:#?}"
    );
    assert!(
        report["platform"]
            .as_str()
            .unwrap()
            .starts_with("split deployment")
    );
    assert!(report["client_requests"].as_u64().unwrap() > 0);

    // The cluster is down: no process of it left, its ports free, its
    // databases dropped.
    let env = std::fs::read_to_string(state.join("cluster.env")).unwrap();
    let base: u16 = std::fs::read_to_string(state.join("run/port-base"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let state_text = state.to_string_lossy().into_owned();
    let kafka = format!("127.0.0.1:{}", base + 2);
    let instance_ports: Vec<String> = env
        .lines()
        .filter(|l| l.contains("_URL=") && !l.starts_with("GATEWAY") && !l.starts_with("PROM"))
        .map(|l| l.rsplit(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(instance_ports.len(), 10, "{env}");
    for line in command_lines() {
        assert!(
            !line.contains(&state_text)
                && !line.contains(&kafka)
                && !instance_ports
                    .iter()
                    .any(|p| line.contains(&format!("--port {p} "))),
            "still running after the experiment: {line}"
        );
    }
    for port in (base..base + 3).chain(instance_ports.iter().map(|p| p.parse().unwrap())) {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still answers after the experiment"
        );
    }
    let settings = std::fs::read_to_string(state.join("run/settings")).unwrap();
    let prefix = settings
        .lines()
        .find_map(|l| l.strip_prefix("declare -- DB_PREFIX="))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    assert!(prefix.starts_with("banter_exp_"), "{prefix}");
    let listed = std::process::Command::new("psql")
        .arg(testkit::pg_admin_url())
        .arg("-XAtqc")
        .arg(format!(
            "SELECT datname FROM pg_database WHERE starts_with(datname, '{prefix}')"
        ))
        .output()
        .unwrap();
    assert!(listed.status.success());
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).trim(),
        "",
        "databases left behind"
    );
}

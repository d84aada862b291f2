//! `banter demo` as a newcomer runs it: progress, a verdict table, reports,
//! and the SLO's exit code — including a failing one.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;

fn demo(out: &std::path::Path, extra: &[&str]) -> Output {
    support::command()
        .args(["demo", "--duration", "3s", "--users", "4", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn the_demo_reports_and_exits_with_the_slo_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ok");
    let run = demo(&out, &[]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        run.status.code(),
        Some(0),
        "SLO met at a light load:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("==> starting the platform") && stderr.contains("measuring"),
        "progress is shown: {stderr}"
    );
    // goose's own lines ("4 users hatched.", "[WARN] caught ctrl-c") stay out.
    assert!(
        !stdout.contains("hatched") && !stderr.contains("hatched"),
        "{stdout}"
    );
    // The progress clock never reads past its phase ("[24s/23s]").
    let mut clocks = 0;
    for line in stderr
        .lines()
        .filter(|l| l.starts_with("[measuring") || l.starts_with("[warm-up"))
    {
        let clock = &line[1..line.find(']').unwrap()];
        let (done, of) = clock
            .split_whitespace()
            .last()
            .unwrap()
            .split_once('/')
            .unwrap();
        let secs = |t: &str| t.trim_end_matches('s').parse::<u64>().unwrap();
        assert!(secs(done) <= secs(of), "{line}");
        clocks += 1;
    }
    assert!(clocks > 0, "progress lines with a clock: {stderr}");
    assert!(
        stderr.contains("client-side metrics on http://127.0.0.1:"),
        "the demo exposes the client's metrics: {stderr}"
    );
    for service in ["users", "friends", "chat", "notifications", "posts"] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{service}-latency")))
            .unwrap_or_else(|| panic!("{service} row in {stdout}"));
        assert!(row.contains("p95") && row.contains("PASS"), "{row}");
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("{service}-availability")) && l.contains("PASS"))
        );
    }
    for file in [
        "run.json",
        "slo.json",
        "report.md",
        "report.html",
        "platform.log",
    ] {
        assert!(out.join(file).is_file(), "{file} written");
    }
    assert!(
        stdout.contains(&format!(
            "wrote {}",
            out.canonicalize().unwrap().join("report.html").display()
        )),
        "{stdout}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("SLO verdict"),
        "the HTML report has charts and the verdict"
    );
    let slo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("slo.json")).unwrap()).unwrap();
    assert!(slo["server"]["outcomes"].as_array().unwrap().len() >= 8);
    assert!(slo["client"]["outcomes"].is_array());

    // A deliberately impossible objective: exit 1, and the report names it.
    let spec = dir.path().join("impossible.yaml");
    let default_spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../slo/specs/banter.yaml"
    ))
    .unwrap();
    std::fs::write(
        &spec,
        default_spec.replace("threshold: 200ms", "threshold: 1ms"),
    )
    .unwrap();
    let out = dir.path().join("impossible");
    let run = demo(&out, &["--spec", spec.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "breach exits 1:\n{stdout}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let breached = report
        .lines()
        .find(|l| l.starts_with("| users-latency"))
        .unwrap();
    assert!(breached.contains("BREACH"), "{breached}");
    assert!(stdout.contains("SLO breached"));
}

#[test]
fn a_port_in_use_is_reported_in_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let run = demo(dir.path(), &["--port", &port]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    let last = stderr.trim().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: the platform did not start") && last.contains("already in use"),
        "{stderr}"
    );
}

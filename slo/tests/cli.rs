//! The `slo` binary as CI uses it: exit codes, messages, reports.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use runrecord::{ErrorKind, Profile, RunRecord, Target, Tool, Window};

fn slo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slo"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/banter.yaml");

/// A run of the users service: two steps of `n` requests around `median_ms`.
fn write_run(path: &Path, seed: u64, median_ms: f64, n: usize, errors_every: usize) {
    let start = DateTime::<Utc>::from_timestamp(1_795_255_200, 0).unwrap();
    let mut r = RunRecord::new(
        Tool {
            name: "test".into(),
            version: "0".into(),
        },
        vec![Target {
            url: "http://127.0.0.1:8000".into(),
            service: None,
            git_sha: None,
        }],
        Profile {
            name: "load".into(),
            parameters: Default::default(),
        },
        Window {
            start,
            end: start + chrono::Duration::seconds(30),
        },
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for step in ["login", "get profile"] {
        for i in 0..n {
            let ms =
                median_ms * (0.6 + 0.8 * rng.r#gen::<f64>()) * (1.0 + rng.r#gen::<f64>().powi(8));
            let at = start + chrono::Duration::milliseconds((i * 30_000 / n) as i64);
            let error = (errors_every > 0 && i % errors_every == 0).then_some(ErrorKind::Status);
            r.step_mut(Some("seed-benchmark"), step, Some("users"))
                .record(at, Some(Duration::from_secs_f64(ms / 1000.0)), error);
        }
    }
    r.write(path).unwrap();
}

#[test]
fn help_teaches_with_examples() {
    let o = slo(&["--help"]);
    assert!(o.status.success());
    let t = text(&o);
    for want in [
        "Exit codes",
        "slo snapshot --scrape",
        "slo compare",
        "slo rules",
    ] {
        assert!(t.contains(want), "--help lacks {want}:\n{t}");
    }
    for sub in ["check", "snapshot", "compare", "rules"] {
        let t = text(&slo(&[sub, "--help"]));
        assert!(
            t.contains("Examples:"),
            "{sub} --help has no examples:\n{t}"
        );
    }
}

#[test]
fn a_broken_spec_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let good = std::fs::read_to_string(SPEC).unwrap();
    std::fs::write(&bad, good.replacen("objective: 95", "objective: 950", 1)).unwrap();
    let o = slo(&[
        "check",
        "--spec",
        bad.to_str().unwrap(),
        "--prometheus",
        "http://127.0.0.1:1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("slos[0].objective: must be a percentage"),
        "{}",
        text(&o)
    );

    let o = slo(&["rules", "--spec", "/nonexistent.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot read it"), "{}", text(&o));
}

#[test]
fn an_unreachable_source_exits_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let o = slo(&["check", "--spec", SPEC, "--prometheus", &url]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("cannot reach Prometheus at {url}")),
        "{}",
        text(&o)
    );
    let o = slo(&["check", "--spec", SPEC, "--scrape", &url]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("cannot scrape"), "{}", text(&o));
    let o = slo(&["check", "--spec", SPEC]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn check_on_a_run_record() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run.json");
    write_run(&run, 1, 20.0, 2000, 0);
    let run = run.to_str().unwrap();
    let users = ["--slo", "users-latency", "--slo", "users-availability"];

    let o = slo(&[&["check", "--spec", SPEC, "--run", run], &users[..]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("users-latency") && text(&o).contains("PASS"),
        "{}",
        text(&o)
    );

    // Every format renders.
    for (format, want) in [
        ("json", "\"verdict\": \"pass\""),
        ("markdown", "| users-latency |"),
        ("junit", "<testcase"),
    ] {
        let out = dir.path().join(format!("report.{format}"));
        let o = slo(&[
            &[
                "check",
                "--spec",
                SPEC,
                "--run",
                run,
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
            &users[..],
        ]
        .concat());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let report = std::fs::read_to_string(&out).unwrap();
        assert!(report.contains(want), "{format}: {report}");
    }

    // 1 ms is impossible: breach, exit 1.
    let strict = dir.path().join("strict.yaml");
    std::fs::write(
        &strict,
        std::fs::read_to_string(SPEC)
            .unwrap()
            .replace("threshold: 200ms", "threshold: 1ms"),
    )
    .unwrap();
    let o = slo(&[
        &["check", "--spec", strict.to_str().unwrap(), "--run", run],
        &users[..],
    ]
    .concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("BREACH"), "{}", text(&o));

    // 5 % errors breach 99.9 %.
    let failing = dir.path().join("failing.json");
    write_run(&failing, 1, 20.0, 2000, 20);
    let o = slo(&[
        &["check", "--spec", SPEC, "--run", failing.to_str().unwrap()],
        &users[..],
    ]
    .concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    // The whole spec: the run never touched chat, so no data, exit 2.
    let o = slo(&["check", "--spec", SPEC, "--run", run]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("NO DATA"), "{}", text(&o));
    assert!(
        text(&o).contains("no step of the run exercises service `chat`"),
        "{}",
        text(&o)
    );
}

#[test]
fn compare_flags_a_slower_run_and_passes_the_same_build() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    write_run(Path::new(&p("base.json")), 1, 40.0, 3000, 0);
    write_run(Path::new(&p("same.json")), 2, 40.0, 3000, 0);
    write_run(Path::new(&p("slow.json")), 3, 52.0, 3000, 0);

    let o = slo(&[
        "compare",
        &p("base.json"),
        &p("same.json"),
        "--html",
        &p("same.html"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("✅ pass"), "{}", text(&o));

    let o = slo(&[
        "compare",
        &p("base.json"),
        &p("slow.json"),
        "--html",
        &p("slow.html"),
        "--markdown",
        &p("summary.md"),
        "--json",
        &p("cmp.json"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let md = std::fs::read_to_string(p("summary.md")).unwrap();
    assert!(md.contains("**failed** p95 <= +10%"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("cmp.json")).unwrap()).unwrap();
    let p95 = &json["steps"][0]["deltas"][2];
    assert_eq!(p95["metric"], "p95");
    assert_eq!(p95["meaningful"], true);
    assert!(p95["relative"].as_f64().unwrap() > 0.2, "{p95}");
    let html = std::fs::read_to_string(p("slow.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.matches("<svg").count() == 2);
    assert!(
        !html.contains("<script") && !html.contains("http://")
            || html.contains("http://www.w3.org/2000/svg")
    );

    // A generous criterion lets the slower run pass.
    let o = slo(&[
        "compare",
        &p("base.json"),
        &p("slow.json"),
        "--criterion",
        "p95 <= +50%",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A bad criterion is unusable input.
    let o = slo(&[
        "compare",
        &p("base.json"),
        &p("slow.json"),
        "--criterion",
        "p95 < 10",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn snapshot_needs_a_reachable_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("before.prom");
    let o = slo(&[
        "snapshot",
        "--scrape",
        "http://127.0.0.1:1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!out.exists());
}

/// `BIN args | head -1`, made deterministic: stdout is a pipe whose reading
/// end is already closed, so the first write fails with EPIPE.
fn into_closed_pipe(bin: &str, args: &[&str]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(bin)
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Ends with exit 0 and nothing on stderr, never a panic (101).
fn assert_quiet_end(what: &str, (status, stderr): (std::process::ExitStatus, String)) {
    assert!(status.success(), "{what}: {status}, stderr: {stderr}");
    assert_eq!(stderr, "", "{what} said something on stderr");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let bin = env!("CARGO_BIN_EXE_slo");
    assert_quiet_end(
        "slo rules | head -1",
        into_closed_pipe(bin, &["rules", "--spec", SPEC]),
    );
    assert_quiet_end("slo --help | head -1", into_closed_pipe(bin, &["--help"]));
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let bash = slo(&["completions", "bash"]);
    assert!(bash.status.success());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("slo.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    // Loaded by a real bash, it completes the subcommands.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && COMP_WORDS=(slo c) COMP_CWORD=1 && _slo slo c slo && echo \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    let said = text(&out);
    assert!(said.contains("check") && said.contains("compare"), "{said}");
    assert!(
        String::from_utf8_lossy(&slo(&["completions", "zsh"]).stdout).starts_with("#compdef slo")
    );
    assert!(
        String::from_utf8_lossy(&slo(&["completions", "fish"]).stdout).contains("complete -c slo")
    );
}

#[test]
fn a_url_without_scheme_says_how_to_write_it() {
    for (flag, sub) in [("--prometheus", "check"), ("--scrape", "check")] {
        let o = slo(&[sub, "--spec", SPEC, flag, "127.0.0.1:9090"]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).trim(),
            format!(
                "slo: error: {flag} \"127.0.0.1:9090\" has no scheme: write it as http://127.0.0.1:9090"
            )
        );
    }
    // Each cause once: "(os error 2)" is not repeated.
    let o = slo(&[
        "compare",
        "/nonexistent/base.json",
        "/nonexistent/cand.json",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("(os error 2)").count(), 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

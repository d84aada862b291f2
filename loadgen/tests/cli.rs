//! The `loadgen` binary as a user meets it: help, bad flags, an unreachable
//! target, merging worker records, rendering reports, pipes and completions.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use rand::{Rng, SeedableRng};
use runrecord::{ErrorKind, Profile, RunRecord, Target, Tool, Window};

fn loadgen(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .env_remove("LOADGEN_TARGET_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_explains_commands_journeys_and_profiles() {
    let (code, out, _) = loadgen(&["--help"]);
    assert_eq!(code, 0);
    for word in [
        "run",
        "merge",
        "report",
        "seed-benchmark",
        "social",
        "capacity",
    ] {
        assert!(out.contains(word), "{word} missing from:\n{out}");
    }
    let (code, out, _) = loadgen(&["run", "--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--target-url",
        "--users",
        "--rate",
        "--duration",
        "--journey",
        "--profile",
        "--out",
        "--users-url",
        "--friends-url",
        "--chat-url",
        "--notifications-url",
        "--posts-url",
        "--social-accounts",
        "--social-follows",
        "--metrics-port",
    ] {
        assert!(out.contains(flag), "{flag} missing from:\n{out}");
    }
}

#[test]
fn bad_flags_get_clear_errors() {
    let (code, _, err) = loadgen(&["run"]);
    assert_eq!(code, 2);
    assert!(err.contains("--target-url"), "{err}");
    let (code, _, err) = loadgen(&["run", "--target-url", "localhost:8000"]);
    assert_eq!(code, 2);
    assert!(err.contains("http"), "{err}");
    let (code, _, err) = loadgen(&[
        "run",
        "--target-url",
        "http://127.0.0.1:1",
        "--profile",
        "huge",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown profile") && err.contains("smoke"),
        "{err}"
    );
    let (code, _, err) = loadgen(&[
        "run",
        "--target-url",
        "http://127.0.0.1:1",
        "--journey",
        "x",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("seed-benchmark"), "{err}");
    let (code, _, err) = loadgen(&[
        "run",
        "--target-url",
        "http://127.0.0.1:1",
        "--duration",
        "soon",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("duration"), "{err}");
    let (code, _, err) = loadgen(&[
        "run",
        "--target-url",
        "http://127.0.0.1:1",
        "--users",
        "3",
        "--rate",
        "x",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("rate"), "{err}");
    // Split services: every one needs a URL, posts included.
    let mut split = vec!["run"];
    for flag in [
        "--users-url",
        "--friends-url",
        "--chat-url",
        "--notifications-url",
    ] {
        split.extend([flag, "http://127.0.0.1:1"]);
    }
    let (code, _, err) = loadgen(&split);
    assert_eq!(code, 2);
    assert!(
        err.contains("posts") && err.contains("--posts-url"),
        "{err}"
    );
    let (code, _, err) = loadgen(&[
        "run",
        "--target-url",
        "http://127.0.0.1:1",
        "--social-accounts",
        "10",
        "--social-follows",
        "9",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--social-follows"), "{err}");
}

#[test]
fn an_unreachable_target_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (code, _, err) = loadgen(&[
        "run",
        "--target-url",
        &url,
        "--duration",
        "2s",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot reach") && err.contains(&url), "{err}");
    assert!(err.contains("banter serve"), "{err}");
    assert!(!out.join("run.json").exists());
}

type Sample = (u64, Option<ErrorKind>);

/// A record over a fixed window holding the samples `(index, sample)`, two
/// steps taking turns, sample `i` finishing `10 * i` ms into the window (so a
/// sample lands in the same second whichever worker recorded it).
fn record<'a>(samples: impl IntoIterator<Item = (usize, &'a Sample)>) -> RunRecord {
    let start = Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap();
    let mut r = RunRecord::new(
        Tool {
            name: "banter-loadgen".into(),
            version: "test".into(),
        },
        vec![Target {
            url: "http://127.0.0.1:8000".into(),
            service: None,
            git_sha: Some("abc1234".into()),
        }],
        Profile {
            name: "load".into(),
            parameters: Default::default(),
        },
        Window {
            start,
            end: start + chrono::Duration::seconds(60),
        },
    );
    for (i, (us, err)) in samples {
        let name = if i % 3 == 0 { "login" } else { "send-message" };
        let at = start + chrono::Duration::milliseconds(10 * i as i64);
        r.step_mut(Some("seed-benchmark"), name, Some("users"))
            .record(at, Some(Duration::from_micros(*us)), *err);
    }
    r
}

#[test]
fn merge_is_lossless() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let samples: Vec<Sample> = (0..5000)
        .map(|_| {
            // Mostly fast, a long tail up to 2 s.
            let us = (rng.gen_range(0.0f64..1.0).powi(4) * 2_000_000.0) as u64 + 300;
            let err = match rng.gen_range(0..100) {
                0 => Some(ErrorKind::Status),
                1 => Some(ErrorKind::Timeout),
                _ => None,
            };
            (us, err)
        })
        .collect();
    // Two workers taking every other sample; one record with every sample.
    let single = record(samples.iter().enumerate());
    let worker_a = record(samples.iter().enumerate().step_by(2));
    let worker_b = record(samples.iter().enumerate().skip(1).step_by(2));
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb, pm) = (
        dir.path().join("a.json"),
        dir.path().join("b.json"),
        dir.path().join("merged.json"),
    );
    worker_a.write(&pa).unwrap();
    worker_b.write(&pb).unwrap();
    let (code, out, err) = loadgen(&[
        "merge",
        pa.to_str().unwrap(),
        pb.to_str().unwrap(),
        "-o",
        pm.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let merged = RunRecord::read(&pm).unwrap();
    assert_eq!(merged.workers, 2);
    assert_eq!(merged.window, single.window);
    assert_eq!(merged.steps.len(), single.steps.len());
    for s in &single.steps {
        let m = merged.step(&s.key()).unwrap();
        assert_eq!(m.requests, s.requests, "{}", s.key());
        assert_eq!(m.errors, s.errors, "{}", s.key());
        assert_eq!(m.timeline, s.timeline, "{}", s.key());
        assert_eq!(m.latency.count(), s.latency.count(), "{}", s.key());
        for q in [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(
                m.latency.quantile_us(q),
                s.latency.quantile_us(q),
                "{} q{q}",
                s.key()
            );
        }
        assert_eq!(m.latency.buckets(), s.latency.buckets(), "{}", s.key());
    }
}

#[test]
fn report_renders_markdown_and_html_with_charts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    let samples = [
        (1200, None),
        (250_000, Some(ErrorKind::Body)),
        (3000, None),
        (900, None),
    ];
    record(samples.iter().enumerate()).write(&path).unwrap();
    let (code, out, err) = loadgen(&["report", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("seed-benchmark/login"), "{out}");
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        md.contains("| seed-benchmark | send-message | users |"),
        "{md}"
    );
    assert!(md.contains("abc1234"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    // The two overview charts, then the charts over time (issue 14): errors over
    // time here (a body check failed); this record has no per-second latency.
    assert!(html.matches("<svg").count() >= 2, "two charts expected");
    assert!(html.contains("Latency per step") && html.contains("Throughput"));
    assert!(html.contains("Errors over time") && html.contains("timeout, connect, body"));
    assert!(!html.contains("<script"), "self-contained, no scripts");
    let (code, _, err) = loadgen(&["report", dir.path().join("missing.json").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.json"), "{err}");
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
    let bin = env!("CARGO_BIN_EXE_loadgen");
    assert_quiet_end(
        "loadgen report --help | head -1",
        into_closed_pipe(bin, &["report", "--help"]),
    );
    assert_quiet_end(
        "loadgen --help | head -1",
        into_closed_pipe(bin, &["--help"]),
    );
    assert_quiet_end(
        "loadgen completions bash | head -1",
        into_closed_pipe(bin, &["completions", "bash"]),
    );
    // A summary printed with println! after the work is done.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    record([(0, &(5000, None))]).write(&path).unwrap();
    assert_quiet_end(
        "loadgen report run.json | head -1",
        into_closed_pipe(bin, &["report", path.to_str().unwrap()]),
    );
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let (code, bash, _) = loadgen(&["completions", "bash"]);
    assert_eq!(code, 0);
    // Loaded by a real bash, it completes the subcommands.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("loadgen.bash");
    std::fs::write(&script, &bash).unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p loadgen && COMP_WORDS=(loadgen r) COMP_CWORD=1 COMP_LINE='loadgen r' COMP_POINT=9 && _loadgen loadgen r loadgen && echo \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("run") && said.contains("report"), "{said}");
    let (_, zsh, _) = loadgen(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef loadgen"), "{zsh}");
    let (_, fish, _) = loadgen(&["completions", "fish"]);
    assert!(
        fish.contains("complete -c loadgen") && fish.contains("merge"),
        "{fish}"
    );
}

#[test]
fn url_mistakes_get_one_line_that_says_what_to_do() {
    let (code, _, err) = loadgen(&["run", "--target-url", "127.0.0.1:18300", "--duration", "2s"]);
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        "loadgen: --target-url \"127.0.0.1:18300\" has no scheme: write it as http://127.0.0.1:18300"
    );

    // https:// against a plain-HTTP server.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in server.incoming().flatten() {
            use std::io::Write;
            let mut conn = conn;
            let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let url = format!("https://127.0.0.1:{port}");
    let (code, _, err) = loadgen(&["run", "--target-url", &url, "--duration", "2s", "-q"]);
    assert_eq!(code, 2);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains(&format!("does not speak TLS; use http://127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn workers_are_documented_checked_and_merged_only_when_all_are_there() {
    let (code, out, _) = loadgen(&["run", "--help"]);
    assert_eq!(code, 0);
    for text in [
        "--worker <I/N>",
        "Distributed runs",
        "JOB_COMPLETION_INDEX",
        "loadgen merge",
    ] {
        assert!(out.contains(text), "{text} missing from:\n{out}");
    }
    for (bad, why) in [("3/3", "0 ≤ I < N"), ("1", "I/N"), ("0/0", "I/N")] {
        let (code, _, err) =
            loadgen(&["run", "--target-url", "http://127.0.0.1:1", "--worker", bad]);
        assert_eq!(code, 2, "{bad}");
        assert!(err.contains(why), "{bad}: {err}");
    }
    let (code, _, err) = loadgen(&[
        "run",
        "--target-url",
        "http://127.0.0.1:1",
        "--users",
        "2",
        "--worker",
        "0/3",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("2 users cannot be shared by 3 workers"),
        "{err}"
    );
    let (code, _, err) = loadgen(&[
        "run",
        "--target-url",
        "http://127.0.0.1:1",
        "--profile",
        "capacity",
        "--worker",
        "0/2",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("without --worker"), "{err}");

    // Three worker records: merged only as a complete set, into the whole run.
    let dir = tempfile::tempdir().unwrap();
    let samples: Vec<Sample> = (0..90).map(|i| (1000 + i * 37, None)).collect();
    let paths: Vec<String> = (0..3)
        .map(|w| {
            let mut r = record(samples.iter().enumerate().skip(w).step_by(3));
            let p = &mut r.profile.parameters;
            p.insert("worker".into(), serde_json::json!(format!("{w}/3")));
            p.insert("users".into(), serde_json::json!(4 - usize::from(w > 0)));
            let path = dir.path().join(format!("w{w}.json"));
            r.write(&path).unwrap();
            path.display().to_string()
        })
        .collect();
    let out = dir.path().join("all.json").display().to_string();
    let (code, _, err) = loadgen(&["merge", &paths[0], &paths[2], "-o", &out]);
    assert_eq!(code, 2);
    assert!(err.contains("worker 1/3 missing"), "{err}");
    let (code, _, err) = loadgen(&[
        "merge", &paths[0], &paths[1], &paths[2], &paths[1], "-o", &out,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("both worker 1/3"), "{err}");
    let (code, stdout, err) = loadgen(&["merge", &paths[0], &paths[1], &paths[2], "-o", &out]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("3 workers"), "{stdout}");
    let merged = RunRecord::read(&out).unwrap();
    assert_eq!(merged.profile.parameters["users"], 10);
    assert!(!merged.profile.parameters.contains_key("worker"));
    let whole = record(samples.iter().enumerate());
    for s in &whole.steps {
        let m = merged.step(&s.key()).unwrap();
        assert_eq!(
            (m.requests, m.latency.buckets()),
            (s.requests, s.latency.buckets())
        );
    }
}

//! Honest records and comparisons, through the `slo` binary: the built-in spec
//! for `check --run`, interrupted runs, runs that are not the same experiment,
//! thresholds that are not bucket bounds, optional objectives, and the help's
//! examples that need only files, run as written.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use chrono::{DateTime, Utc};
use runrecord::{ErrorKind, Failure, Profile, RunRecord, Target, Tool, Window};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/banter.yaml");
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn slo_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slo"))
        .args(args)
        .current_dir(dir)
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

/// Every service and journey with 200 fast requests each; `not_found` of the
/// friend requests answered 404.
fn full_run(journeys: &[&str], users: u64, not_found: u64) -> RunRecord {
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
            parameters: [("users".to_owned(), serde_json::json!(users))].into(),
        },
        Window {
            start,
            end: start + chrono::Duration::seconds(30),
        },
    );
    for (step, service) in [
        ("login", "users"),
        ("send-friend-request", "friends"),
        ("send-message", "chat"),
        ("unread-count", "notifications"),
        ("read-home-timeline", "posts"),
    ] {
        for i in 0..200u64 {
            let at = start + chrono::Duration::milliseconds(i as i64 * 100);
            let failed = step == "send-friend-request" && i < not_found;
            let s = r.step_mut(Some(journeys[0]), step, Some(service));
            if failed {
                s.record(at, Some(Duration::from_millis(4)), Some(ErrorKind::Status));
                s.note_failure(Failure {
                    at,
                    kind: "status".into(),
                    method: "POST".into(),
                    route: "/api/friends/request".into(),
                    status: Some(404),
                    body: Some("{\"code\":\"user_not_found\"}".into()),
                    request_id: Some(format!("r{i}")),
                    trace_id: None,
                });
            } else {
                s.record(at, Some(Duration::from_millis(4 + i % 7)), None);
            }
        }
    }
    r.journeys = journeys.iter().map(|j| j.to_string()).collect();
    r
}

#[test]
fn check_run_uses_the_built_in_spec_and_a_404_is_a_journey_failure() {
    let dir = tempfile::tempdir().unwrap();
    full_run(&["seed-benchmark"], 50, 3)
        .write(dir.path().join("run.json"))
        .unwrap();
    let o = slo_in(dir.path(), &["check", "--run", "run.json"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("slo/specs/banter.yaml (built in)"), "{t}");
    let row = |name: &str| {
        t.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {t}"))
            .to_owned()
    };
    // One meaning: 404s are not an availability problem of friends...
    assert!(row("friends-availability").contains("PASS"), "{t}");
    // ...but the journey did not get what it expected, and the summary says which row.
    assert!(row("journey-correctness").contains("BREACH"), "{t}");
    assert!(t.contains("(failed: journey-correctness)"), "{t}");
    assert!(t.contains("seed-benchmark/send-friend-request 3"), "{t}");
}

#[test]
fn an_interrupted_run_says_so_and_never_passes() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = full_run(&["seed-benchmark"], 50, 0);
    r.interrupted = true;
    r.requested_seconds = Some(60.0);
    r.write(dir.path().join("run.json")).unwrap();
    let o = slo_in(dir.path(), &["check", "--run", "run.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("the run was interrupted: 30.0 s measured of 60 s requested"),
        "{}",
        text(&o)
    );
}

#[test]
fn compare_refuses_different_experiments_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    full_run(&["seed-benchmark"], 50, 0)
        .write(dir.path().join("base.json"))
        .unwrap();
    full_run(&["seed-benchmark", "chat"], 20, 0)
        .write(dir.path().join("other.json"))
        .unwrap();
    let o = slo_in(dir.path(), &["compare", "base.json", "other.json"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    for want in [
        "are not the same experiment",
        "journeys differ: [seed-benchmark] vs [seed-benchmark, chat]",
        "profile parameter users differs: 50 vs 20",
        "--force",
    ] {
        assert!(t.contains(want), "{want} in {t}");
    }
    let o = slo_in(
        dir.path(),
        &["compare", "base.json", "other.json", "--force"],
    );
    assert!(
        text(&o).contains("comparing different experiments"),
        "{}",
        text(&o)
    );
    assert_ne!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn rules_and_check_reject_a_threshold_between_buckets_alike() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("180.yaml");
    std::fs::write(
        &spec,
        std::fs::read_to_string(SPEC)
            .unwrap()
            .replacen("threshold: 200ms", "threshold: 180ms", 1),
    )
    .unwrap();
    full_run(&["seed-benchmark"], 50, 0)
        .write(dir.path().join("run.json"))
        .unwrap();
    let rules = slo_in(dir.path(), &["rules", "--spec", "180.yaml"]);
    let check = slo_in(
        dir.path(),
        &["check", "--spec", "180.yaml", "--run", "run.json"],
    );
    let want = "slos[0].sli.latency.threshold: the threshold 0.18s is not a bucket bound";
    for o in [&rules, &check] {
        assert_eq!(o.status.code(), Some(2), "{}", text(o));
        assert!(text(o).contains(want), "{}", text(o));
    }
    // The same message as a check on measured buckets gives.
    let measured =
        slo::math::Buckets::from_pairs(vec![(0.1, 1.0), (0.2, 2.0), (f64::INFINITY, 2.0)])
            .good_ratio(0.18)
            .unwrap_err();
    let line = text(&check);
    let declared = line.split(": the threshold").nth(1).unwrap();
    assert!(
        measured.starts_with(
            "the threshold 0.18s is not a bucket bound of the histogram, so the share"
        )
    );
    assert!(declared.starts_with(" 0.18s is not a bucket bound of the histogram, so the share"));
}

#[test]
fn an_optional_objective_without_traffic_does_not_fail_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = full_run(&["seed-benchmark"], 50, 0);
    r.steps
        .retain(|s| s.service.as_deref() != Some("notifications"));
    r.write(dir.path().join("run.json")).unwrap();
    // Required (the default): no data exits 2, naming the rows.
    let o = slo_in(dir.path(), &["check", "--run", "run.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("failed: notifications-latency, notifications-availability"),
        "{}",
        text(&o)
    );
    // Optional: reported as NO DATA, the check passes.
    let spec = std::fs::read_to_string(SPEC)
        .unwrap()
        .replace(
            "  - name: notifications-latency\n    objective: 95\n",
            "  - name: notifications-latency\n    objective: 95\n    required: false\n",
        )
        .replace(
            "  - name: notifications-availability\n    objective: 99.9\n",
            "  - name: notifications-availability\n    objective: 99.9\n    required: false\n",
        );
    std::fs::write(dir.path().join("optional.yaml"), spec).unwrap();
    let o = slo_in(
        dir.path(),
        &["check", "--spec", "optional.yaml", "--run", "run.json"],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let row = t
        .lines()
        .find(|l| l.starts_with("notifications-latency"))
        .unwrap();
    assert!(row.contains("NO DATA"), "{row}");
    assert!(
        t.contains("optional objective: does not fail the check"),
        "{t}"
    );
}

#[test]
fn the_help_examples_that_need_only_files_run_as_written() {
    // `slo check --help`: slo check --run run.json --format markdown >> "$GITHUB_STEP_SUMMARY"
    let dir = tempfile::tempdir().unwrap();
    full_run(&["seed-benchmark"], 50, 0)
        .write(dir.path().join("run.json"))
        .unwrap();
    let o = slo_in(
        dir.path(),
        &[
            "check", "--run", "run.json", "--format", "junit", "--out", "slo.xml",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(dir.path().join("slo.xml").is_file());
    // `slo rules --help`, from the repository root, as the README runs it.
    let out = dir.path().join("slo.rules.yml");
    let o = slo_in(
        Path::new(ROOT),
        &[
            "rules",
            "--spec",
            "slo/specs/banter.yaml",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // `slo compare --help`: slo compare main.json branch.json
    full_run(&["seed-benchmark"], 50, 0)
        .write(dir.path().join("main.json"))
        .unwrap();
    full_run(&["seed-benchmark"], 50, 0)
        .write(dir.path().join("branch.json"))
        .unwrap();
    let o = slo_in(dir.path(), &["compare", "main.json", "branch.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn too_few_events_for_a_p95_is_no_data_not_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    full_run(&["seed-benchmark"], 50, 0)
        .write(dir.path().join("run.json"))
        .unwrap();
    let spec = std::fs::read_to_string(SPEC).unwrap().replacen(
        "  - name: users-latency\n    objective: 95\n",
        "  - name: users-latency\n    objective: 95\n    min_events: 1000\n",
        1,
    );
    std::fs::write(dir.path().join("min.yaml"), spec).unwrap();
    let o = slo_in(
        dir.path(),
        &[
            "check",
            "--spec",
            "min.yaml",
            "--run",
            "run.json",
            "--slo",
            "users-latency",
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("only 200 events in the window; the objective asks for at least 1000"),
        "{t}"
    );
}

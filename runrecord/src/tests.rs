use super::*;
use chrono::TimeZone;
use rand::{Rng, SeedableRng};
use std::time::Duration;

fn at(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_255_200 + s, 0).unwrap()
}

fn empty(start: i64, end: i64) -> RunRecord {
    RunRecord::new(
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
            name: "smoke".into(),
            parameters: BTreeMap::new(),
        },
        Window {
            start: at(start),
            end: at(end),
        },
    )
}

/// Samples of the form (second, latency µs, error?).
fn samples(seed: u64, n: usize) -> Vec<(i64, u64, Option<ErrorKind>)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let second = rng.gen_range(0..60);
            let us = rng.gen_range(200..250_000);
            let error = match rng.gen_range(0..100) {
                0 => Some(ErrorKind::Status),
                1 => Some(ErrorKind::Timeout),
                2 => Some(ErrorKind::Body),
                _ => None,
            };
            (second, us, error)
        })
        .collect()
}

fn record_into(r: &mut RunRecord, step: &str, data: &[(i64, u64, Option<ErrorKind>)]) {
    for &(second, us, error) in data {
        r.step_mut(Some("seed"), step, Some("users")).record(
            at(second),
            Some(Duration::from_micros(us)),
            error,
        );
    }
}

#[test]
fn merging_workers_equals_one_record_of_all_samples() {
    let a = samples(1, 5_000);
    let b = samples(2, 7_000);
    let c = samples(3, 3_000);

    let mut one = empty(0, 60);
    record_into(&mut one, "login", &a);
    record_into(&mut one, "login", &b);
    record_into(&mut one, "search", &c);

    let mut wa = empty(0, 59);
    record_into(&mut wa, "login", &a);
    let mut wb = empty(1, 60);
    record_into(&mut wb, "login", &b);
    record_into(&mut wb, "search", &c);

    // Through the file format, as parallel workers would hand them over.
    let wa = RunRecord::from_json(&wa.to_json(), "a").unwrap();
    let wb = RunRecord::from_json(&wb.to_json(), "b").unwrap();
    let merged = RunRecord::merge_all(&[wa, wb]).unwrap().unwrap();

    assert_eq!(merged.workers, 2);
    assert_eq!(merged.window, one.window);
    assert_eq!(merged.steps.len(), 2);
    for step in &one.steps {
        let m = merged.step(&step.key()).unwrap();
        assert_eq!(m.requests, step.requests);
        assert_eq!(m.errors, step.errors);
        assert_eq!(m.timeline, step.timeline);
        for q in [0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(
                m.latency.quantile_us(q),
                step.latency.quantile_us(q),
                "q={q}"
            );
        }
        assert_eq!(m.latency.buckets(), step.latency.buckets());
    }
    assert_eq!(merged.step("seed/login").unwrap().requests, 12_000);
}

#[test]
fn round_trips_through_a_file() {
    let mut r = empty(0, 10);
    record_into(&mut r, "login", &samples(7, 1000));
    r.step_mut(Some("seed"), "login", None)
        .record(at(3), None, Some(ErrorKind::Connect));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    r.write(&path).unwrap();
    let back = RunRecord::read(&path).unwrap();
    assert_eq!(back, r);
    let step = back.step("seed/login").unwrap();
    assert_eq!(step.requests, 1001);
    assert_eq!(step.latency.count(), 1000);
    assert_eq!(step.errors.connect, 1);
    assert_eq!(step.service.as_deref(), Some("users"));
}

#[test]
fn histograms_keep_three_significant_digits() {
    let mut h = LatencyHistogram::new();
    for us in [1_000, 2_000, 200_000, 200_199, 5_000_000] {
        h.record_us(us);
    }
    let h = LatencyHistogram::from_base64(&h.to_base64()).unwrap();
    assert_eq!(h.count(), 5);
    assert_eq!(h.count_at_or_below_us(200_000), 3);
    let p50 = h.quantile_us(0.5) as f64;
    assert!((p50 - 200_000.0).abs() / 200_000.0 < 0.001, "{p50}");
}

#[test]
fn clear_errors_for_bad_files() {
    let err = RunRecord::read("/nonexistent/run.json").unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot read run record /nonexistent/run.json")
    );

    let err = RunRecord::from_json("{\"format_version\": 9}", "x.json").unwrap_err();
    assert!(err.to_string().contains("format_version 9"), "{err}");

    let err = RunRecord::from_json("not json", "x.json").unwrap_err();
    assert!(
        err.to_string().contains("x.json is not a valid run record"),
        "{err}"
    );

    let mut v: serde_json::Value = serde_json::from_str(&empty(0, 1).to_json()).unwrap();
    v["steps"] = serde_json::json!([{"name": "a", "requests": 1, "errors": {"status":0,"timeout":0,"connect":0,"body":0},
        "latency_us": "!!!", "timeline": []}]);
    let err = RunRecord::from_json(&v.to_string(), "x.json").unwrap_err();
    assert!(err.to_string().contains("not base64"), "{err}");
}

fn failure(second: i64, status: u16) -> Failure {
    Failure {
        at: at(second),
        kind: "status".into(),
        method: "POST".into(),
        route: "/api/friends/request".into(),
        status: Some(status),
        body: Some(excerpt(&"x".repeat(1000))),
        request_id: Some(format!("req-{second}")),
        trace_id: None,
    }
}

#[test]
fn failures_keep_status_codes_and_a_bounded_sample_across_merges() {
    let mut a = empty(0, 60);
    let mut b = empty(0, 60);
    for (r, n) in [(&mut a, 8), (&mut b, 7)] {
        for i in 0..n {
            let step = r.step_mut(Some("seed"), "send-friend-request", Some("friends"));
            step.record(
                at(i),
                Some(Duration::from_millis(3)),
                Some(ErrorKind::Status),
            );
            step.note_failure(failure(i, if i == 0 { 500 } else { 404 }));
        }
    }
    a.merge(&b).unwrap();
    let step = a.step("seed/send-friend-request").unwrap();
    assert_eq!(step.errors.status, 15);
    assert_eq!(step.error_statuses.get("404"), Some(&13));
    assert_eq!(step.error_statuses.get("500"), Some(&2));
    assert_eq!(step.server_errors(), 2);
    assert_eq!(step.failures.len(), MAX_FAILURES_PER_STEP);
    let body = step.failures[0].body.as_deref().unwrap();
    assert_eq!(
        body.chars().count(),
        MAX_BODY_EXCERPT + 1,
        "cut, with an ellipsis"
    );
    // The details survive a round trip through JSON.
    let back = RunRecord::from_json(&a.to_json(), "t").unwrap();
    assert_eq!(back, a);
}

#[test]
fn records_without_the_diagnostic_fields_still_read() {
    let mut r = empty(0, 10);
    r.step_mut(Some("seed"), "login", Some("users")).record(
        at(1),
        Some(Duration::from_millis(3)),
        None,
    );
    let json = r.to_json();
    assert!(!json.contains("error_statuses") && !json.contains("interrupted"));
    let back = RunRecord::from_json(&json, "t").unwrap();
    assert!(!back.interrupted && back.steps[0].failures.is_empty());
    let mut cut = r.clone();
    cut.interrupted = true;
    cut.requested_seconds = Some(30.0);
    let mut merged = r.clone();
    merged.merge(&cut).unwrap();
    assert!(
        merged.interrupted,
        "a merge with an interrupted worker is interrupted"
    );
}

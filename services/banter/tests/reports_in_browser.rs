//! The HTML reports in a real browser (Debian's headless `chromium`, found on
//! PATH; the test fails without it, as CI installs it): `loadgen`'s run report
//! of 40 steps in four journeys, with errors and load samples, and `slo
//! compare`'s report of the same 40 steps against a slower run, load offline
//! with no console error, every chart renders non-empty, and no two labels of
//! a chart overlap.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::browser::probe;

use chrono::{DateTime, Utc};
use runrecord::{
    ErrorKind, Failure, LoadSample, Percentiles, Profile, RunRecord, Target, Tool, Window,
};

/// 4 journeys × 10 steps over 60 s: latency drifting up (times `slower`), a
/// burst of 404s and a few timeouts, users ramping up.
fn forty_steps(slower: u64) -> RunRecord {
    let start = DateTime::<Utc>::from_timestamp(1_795_255_200, 0).unwrap();
    let mut r = RunRecord::new(
        Tool {
            name: "banter-loadgen".into(),
            version: "0".into(),
        },
        vec![Target {
            url: "http://127.0.0.1:8000".into(),
            service: None,
            git_sha: Some("4e64a6c".into()),
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
    for j in 0..4 {
        let journey = format!("journey-number-{j}");
        for k in 0..10 {
            let name = format!("a-rather-long-step-name-{k}");
            let step = r.step_mut(Some(&journey), &name, Some("users"));
            for t in 0..60i64 {
                let at = start + chrono::Duration::seconds(t);
                for n in 0..5u64 {
                    let ms = (5 + (t as u64) / 4 + n * 3 + k) * slower;
                    let error = (k == 3 && (20..25).contains(&t) && n == 0)
                        .then_some(ErrorKind::Status)
                        .or((k == 7 && t == 40 && n == 1).then_some(ErrorKind::Timeout));
                    step.record(at, Some(Duration::from_millis(ms)), error);
                    if let Some(kind) = error {
                        step.note_failure(Failure {
                            at,
                            kind: kind.as_str().into(),
                            method: "POST".into(),
                            route: "/api/friends/request".into(),
                            status: (kind == ErrorKind::Status).then_some(404),
                            body: Some(
                                "{\"code\":\"NOT_FOUND\",\"detail\":\"<user> not found\"}".into(),
                            ),
                            request_id: Some(format!("req-{t}")),
                            trace_id: None,
                        });
                    }
                }
                let base = 5_000 + t as u64 * 250 + k * 1000;
                step.set_second_latency(
                    start.timestamp() + t,
                    Percentiles {
                        p50: base,
                        p95: base * 2,
                        p99: base * 3,
                    },
                );
            }
        }
        r.journeys.push(journey);
    }
    r.load = (0..60)
        .map(|t| LoadSample {
            t: start.timestamp() + t,
            users: (t as u64).min(50),
            streams: (t as u64 / 2).min(25),
        })
        .collect();
    r
}

#[test]
fn the_run_report_renders_in_headless_chromium() {
    let found = probe(&loadgen::report::html(&forty_steps(1)).unwrap());
    // Steps bar chart, throughput, users, errors, and one chart per step.
    assert!(found["charts"].as_u64().unwrap() >= 44, "{found}");
}

#[test]
fn the_compare_report_renders_in_headless_chromium_and_stays_compact() {
    use slo::compare::{Criterion, Run, compare};
    let base = forty_steps(1);
    let cand = forty_steps(2);
    let c = compare(
        Run::from_record("base.json", &base),
        Run::from_record("cand.json", &cand),
        Criterion::defaults(),
    );
    assert_eq!(c.steps.len(), 40);
    let html = slo::render::html::html(&c).unwrap();
    let found = probe(&html);
    assert_eq!(found["charts"], 2, "{found}");
    // Every step's interval is drawn: a whisker per step.
    assert!(html.contains("95 % bootstrap interval"));
    // The Markdown summary: one table line per step before the details.
    let md = slo::render::compare::markdown(&c);
    let summary = &md[..md.find("<details>").unwrap()];
    assert!(summary.lines().count() <= 40 + 12, "{summary}");
    assert_eq!(
        summary.matches("| journey-number-").count(),
        40,
        "{summary}"
    );
}

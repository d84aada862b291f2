use super::*;
use chrono::{DateTime, Utc};
use rand::Rng;
use runrecord::{Profile, RunRecord, Target, Tool, Window};
use std::time::Duration;

/// A synthetic run: `n` requests per step, latencies log-normal-ish around
/// `median_ms`, `error_every`-th request failing.
pub fn synthetic_run(seed: u64, median_ms: f64, n: usize, error_every: usize) -> RunRecord {
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
            end: start + chrono::Duration::seconds(60),
        },
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for step in ["login", "search"] {
        for i in 0..n {
            // Sum of uniforms: a bell around the median with a right tail.
            let u: f64 = (0..4).map(|_| rng.r#gen::<f64>()).sum::<f64>() / 2.0;
            let ms = median_ms * u.exp() / 1f64.exp() * (1.0 + rng.r#gen::<f64>() * 0.2);
            let at = start + chrono::Duration::milliseconds((i * 60_000 / n) as i64);
            let error =
                (error_every > 0 && i % error_every == 0).then_some(runrecord::ErrorKind::Status);
            r.step_mut(Some("seed"), step, Some("users")).record(
                at,
                Some(Duration::from_secs_f64(ms / 1000.0)),
                error,
            );
        }
    }
    r
}

fn run(label: &str, r: &RunRecord) -> Run {
    Run::from_record(label, r)
}

#[test]
fn same_build_passes() {
    for seed in 0..5 {
        let a = synthetic_run(seed, 40.0, 3000, 0);
        let b = synthetic_run(seed + 100, 40.0, 3000, 0);
        let c = compare(run("a", &a), run("b", &b), Criterion::defaults());
        assert!(
            c.passed(),
            "seed {seed}: {}",
            crate::render::compare::markdown(&c)
        );
        assert_eq!(c.exit_code(), 0);
    }
}

#[test]
fn a_slower_candidate_is_a_meaningful_p95_regression() {
    let a = synthetic_run(1, 40.0, 3000, 0);
    let b = synthetic_run(2, 50.0, 3000, 0);
    let c = compare(run("a", &a), run("b", &b), Criterion::defaults());
    assert_eq!(c.exit_code(), 1);
    for s in &c.steps {
        let p95 = s.deltas.iter().find(|d| d.metric == Metric::P95).unwrap();
        assert!(p95.relative > 0.15, "{p95:?}");
        assert_eq!(p95.meaningful, Some(true), "{p95:?}");
        let (lo, _) = p95.interval.unwrap();
        assert!(lo > 0.0);
        assert_eq!(p95.failed, vec!["p95 <= +10%".to_owned()]);
    }
    // Percentiles equal the run record's own HDR percentiles.
    let step = &a.steps[0];
    let p95 = c.steps[0]
        .deltas
        .iter()
        .find(|d| d.metric == Metric::P95)
        .unwrap();
    assert_eq!(p95.base, step.latency.quantile_us(0.95) as f64 / 1e6);
    // Markdown and HTML render.
    let md = crate::render::compare::markdown(&c);
    assert!(
        md.contains("❌ regression") && md.contains("**failed** p95 <= +10%"),
        "{md}"
    );
    let html = crate::render::html::html(&c).unwrap();
    assert!(
        html.contains("<svg") && html.contains("Throughput"),
        "{}",
        &html[..500]
    );
}

#[test]
fn error_rate_criterion() {
    let a = synthetic_run(1, 40.0, 3000, 0);
    let b = synthetic_run(2, 40.0, 3000, 20);
    let c = compare(run("a", &a), run("b", &b), Criterion::defaults());
    assert_eq!(c.exit_code(), 1);
    let d = c.steps[0]
        .deltas
        .iter()
        .find(|d| d.metric == Metric::ErrorRate)
        .unwrap();
    assert_eq!(d.meaningful, Some(true));
    assert!((d.cand - 0.05).abs() < 1e-9, "{d:?}");
}

#[test]
fn parses_criteria() {
    let c = Criterion::parse("p95 <= +10%").unwrap();
    assert_eq!(
        (c.metric, c.at_most, c.bound),
        (Metric::P95, true, Bound::Relative(0.1))
    );
    let c = Criterion::parse("p99<=+50ms").unwrap();
    assert_eq!(c.bound, Bound::Absolute(0.05));
    let c = Criterion::parse("error_rate <= +0.1pp").unwrap();
    assert!(matches!(c.bound, Bound::Absolute(x) if (x - 0.001).abs() < 1e-12));
    let c = Criterion::parse("throughput >= -5%").unwrap();
    assert!(!c.at_most);
    assert!(c.holds(100.0, -4.0) && !c.holds(100.0, -6.0));
    assert!(Criterion::parse("p97 <= 1").is_err());
    assert!(Criterion::parse("throughput <= +1pp").is_err());
    let all = Criterion::parse_file("# gate\np95 <= +10%\n\np99 <= +20% # tail\n").unwrap();
    assert_eq!(all.len(), 2);
    let err = Criterion::parse_file("p95 <= +10%\nbogus\n").unwrap_err();
    assert!(err.starts_with("line 2:"), "{err}");
}

//! Distributed load without Kubernetes: three `--worker I/3` shares of one run
//! against the embedded platform at once, their run records merged the way
//! `loadgen merge` does (`loadgen::worker::merge`) and checked the way
//! `slo check --run` does. The merge must be lossless: counts are the sums of
//! the parts, and each step's merged histogram is the histogram of every
//! sample the workers recorded. (The workers run as tasks of this test: the
//! `loadgen` binary is not built for the `banter` package's tests; its
//! `--worker` flag and `merge` command are covered by loadgen/tests/cli.rs.)
#![allow(clippy::unwrap_used)]

mod support;

use loadgen::context::JourneySettings;
use loadgen::journeys::social::graph::GraphSize;
use loadgen::profile::{ProfileName, Request};
use loadgen::target::Targets;
use loadgen::worker::Worker;
use loadgen::{Journey, RunConfig};
use runrecord::{LatencyHistogram, RunRecord};
use std::collections::BTreeMap;
use std::time::Duration;

const WORKERS: usize = 3;

fn config(base: &str, worker: Worker, out: &std::path::Path) -> RunConfig {
    // The whole run: 12 users (4 per worker, one per journey), measured from
    // the start so the sign-ups count.
    let whole = Request {
        users: Some(12),
        rate: None,
        duration: Some(Duration::from_secs(8)),
        warmup: Some(Duration::ZERO),
    };
    RunConfig {
        targets: Targets::single(base).unwrap(),
        journeys: Journey::ALL.to_vec(),
        plan: worker.plan(ProfileName::Smoke, &whole).unwrap(),
        // Each worker's social user seeds a community of its own: a small one.
        settings: JourneySettings {
            social: GraphSize {
                accounts: 10,
                follows: 2,
            },
            ..JourneySettings::default()
        },
        out: Some(out.join(format!("worker-{}", worker.index))),
        metrics_port: None,
        progress: false,
        slo_spec: None,
        max_stages: 1,
        rate_factor: 1.5,
    }
}

/// A step's error counters, by path.
fn error_counts(errors: &impl serde::Serialize) -> Vec<(String, u64)> {
    counts(&serde_json::to_value(errors).unwrap(), "")
}

/// The counters in a JSON value, by path (lists, such as samples of
/// failures, are bounded rather than summed: left out).
fn counts(value: &serde_json::Value, path: &str) -> Vec<(String, u64)> {
    match value {
        serde_json::Value::Number(n) => vec![(path.to_owned(), n.as_u64().unwrap_or(0))],
        serde_json::Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| counts(v, &format!("{path}.{k}")))
            .collect(),
        _ => Vec::new(),
    }
}

/// The histogram of every sample in `parts`, recorded one value at a time.
fn all_samples<'a>(parts: impl Iterator<Item = &'a LatencyHistogram>) -> LatencyHistogram {
    let mut all = LatencyHistogram::new();
    for part in parts {
        for (value, count) in part.buckets() {
            for _ in 0..count {
                all.record_us(value);
            }
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_merge_into_the_sum_of_their_parts() {
    let app = support::Banter::start(&[], &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let runs = (0..WORKERS).map(|index| {
        let cfg = config(
            &app.base,
            Worker {
                index,
                count: WORKERS,
            },
            dir.path(),
        );
        async move { loadgen::run(&cfg).await.unwrap() }
    });
    futures::future::join_all(runs).await;

    // What each worker wrote, as `loadgen merge` reads it.
    let parts: Vec<(String, RunRecord)> = (0..WORKERS)
        .map(|i| {
            let path = dir.path().join(format!("worker-{i}/run.json"));
            (path.display().to_string(), RunRecord::read(&path).unwrap())
        })
        .collect();
    for (i, (_, part)) in parts.iter().enumerate() {
        let p = &part.profile.parameters;
        assert_eq!(p["worker"], format!("{i}/{WORKERS}"));
        assert_eq!(p["users"], 4, "worker {i} runs a third of the users");
        let requests: u64 = part.steps.iter().map(|s| s.requests).sum();
        assert!(requests > 0, "worker {i} sent nothing");
    }
    let merged = loadgen::worker::merge(&parts).unwrap();
    assert_eq!(merged.workers, WORKERS as u32);
    assert_eq!(
        merged.profile.parameters["users"], 12,
        "the whole run's users"
    );
    assert!(!merged.profile.parameters.contains_key("worker"));

    // Every step: counts, errors, per-second series and histogram add up.
    let mut keys: Vec<String> = parts
        .iter()
        .flat_map(|(_, r)| r.steps.iter().map(|s| s.key()))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(merged.steps.len(), keys.len());
    for key in &keys {
        let m = merged.step(key).unwrap();
        let mine: Vec<&runrecord::Step> = parts.iter().filter_map(|(_, r)| r.step(key)).collect();
        assert_eq!(
            m.requests,
            mine.iter().map(|s| s.requests).sum::<u64>(),
            "{key}"
        );
        // Every error count the record keeps (by kind, status, …), whatever its shape.
        let mut of_parts: BTreeMap<String, u64> = BTreeMap::new();
        for part in &mine {
            for (path, n) in error_counts(&part.errors) {
                *of_parts.entry(path).or_default() += n;
            }
        }
        let merged_errors: BTreeMap<String, u64> = error_counts(&m.errors).into_iter().collect();
        assert_eq!(merged_errors, of_parts, "{key} errors");
        let mut seconds: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
        for s in mine.iter().flat_map(|s| &s.timeline) {
            let e = seconds.entry(s.t).or_default();
            e.0 += s.requests;
            e.1 += s.errors;
        }
        let merged_seconds: BTreeMap<i64, (u64, u64)> = m
            .timeline
            .iter()
            .map(|s| (s.t, (s.requests, s.errors)))
            .collect();
        assert_eq!(merged_seconds, seconds, "{key} per-second series");
        let all = all_samples(mine.iter().map(|s| &s.latency));
        assert_eq!(m.latency.count(), all.count(), "{key}");
        assert!(
            m.latency == all,
            "{key}: the merged histogram is not that of all samples"
        );
        for q in [0.5, 0.95, 0.99, 1.0] {
            assert_eq!(m.latency.quantile_us(q), all.quantile_us(q), "{key} q{q}");
        }
    }
    let total: u64 = merged.steps.iter().map(|s| s.latency.count()).sum();
    assert!(total > 50, "a run worth merging: {total} samples");

    // `slo check --run` on the merged record counts what the parts count.
    let spec = slo::objectives::builtin();
    let check = |record: &RunRecord| {
        let source = slo::sources::run::RunSource::new(record.clone(), "run.json");
        let spec = &spec;
        async move { slo::check::check(spec, "banter.yaml", &source).await }
    };
    let merged_report = check(&merged).await;
    println!("{}", merged_report.summary());
    let mut part_totals: BTreeMap<String, f64> = BTreeMap::new();
    for (_, part) in &parts {
        for o in check(part).await.outcomes {
            let total = o.measurement.and_then(|m| m.total).unwrap_or(0.0);
            *part_totals.entry(o.name).or_default() += total;
        }
    }
    // Objectives the spec does not require (none in Banter's; a spec may
    // mark one whose traffic no journey sends) may have no data in any part.
    let optional: Vec<&str> = spec
        .slos
        .iter()
        .filter(|slo| !slo.required)
        .map(|slo| slo.name.as_str())
        .collect();
    for o in &merged_report.outcomes {
        if optional.contains(&o.name.as_str()) {
            continue;
        }
        assert!(
            !matches!(
                o.verdict,
                slo::check::Verdict::NoData | slo::check::Verdict::Error
            ),
            "{}: {:?} {:?}",
            o.name,
            o.verdict,
            o.message
        );
        let total = o.measurement.as_ref().and_then(|m| m.total).unwrap();
        assert_eq!(
            total, part_totals[&o.name],
            "{}: events of the parts",
            o.name
        );
    }

    // An incomplete or doubled set of workers is refused, not merged.
    let err = loadgen::worker::merge(&parts[..2]).unwrap_err();
    assert!(err.contains("worker 2/3 missing"), "{err}");
    let doubled = [parts.clone(), parts[..1].to_vec()].concat();
    let err = loadgen::worker::merge(&doubled).unwrap_err();
    assert!(err.contains("both worker 0/3"), "{err}");
}

//! Whether two run records are the same experiment: a comparison of different
//! journeys, loads or targets would report deltas that mean nothing.

use runrecord::RunRecord;

/// What makes `cand` a different experiment from `base`, one line each (empty
/// when they compare).
pub fn mismatches(base: &RunRecord, cand: &RunRecord) -> Vec<String> {
    let mut out = Vec::new();
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    if sorted(&base.journeys) != sorted(&cand.journeys) {
        out.push(format!(
            "journeys differ: [{}] vs [{}]",
            base.journeys.join(", "),
            cand.journeys.join(", ")
        ));
    }
    if base.profile.name != cand.profile.name {
        out.push(format!(
            "profiles differ: {} vs {}",
            base.profile.name, cand.profile.name
        ));
    }
    // The measured window's length may differ by design (`--duration`); the load
    // shape may not.
    for (key, b) in &base.profile.parameters {
        if matches!(
            key.as_str(),
            "duration_seconds"
                | "warmup_seconds"
                | "test_plan"
                | "stages"
                | "highest_rate_meeting_slo"
        ) {
            continue;
        }
        match cand.profile.parameters.get(key) {
            Some(c) if c == b => {}
            Some(c) => out.push(format!("profile parameter {key} differs: {b} vs {c}")),
            None => out.push(format!(
                "profile parameter {key}={b} is missing from the candidate"
            )),
        }
    }
    let urls = |r: &RunRecord| {
        let mut v: Vec<String> = r
            .targets
            .iter()
            .map(|t| {
                format!(
                    "{}{}",
                    t.url,
                    t.service
                        .as_deref()
                        .map_or(String::new(), |s| format!(" [{s}]"))
                )
            })
            .collect();
        v.sort();
        v
    };
    if urls(base) != urls(cand) {
        out.push(format!(
            "targets differ: {} vs {}",
            urls(base).join(", "),
            urls(cand).join(", ")
        ));
    }
    for (name, r) in [("the baseline", base), ("the candidate", cand)] {
        if r.interrupted {
            out.push(format!(
                "{name} was interrupted ({:.1} s measured)",
                r.window.seconds()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mismatches;
    use runrecord::{Profile, RunRecord, Target, Tool, Window};

    fn record(journey: &str, users: u64, url: &str) -> RunRecord {
        let start = chrono::DateTime::from_timestamp(1_795_255_200, 0).unwrap_or_default();
        let mut r = RunRecord::new(
            Tool {
                name: "t".into(),
                version: "0".into(),
            },
            vec![Target {
                url: url.into(),
                service: None,
                git_sha: None,
            }],
            Profile {
                name: "load".into(),
                parameters: [
                    ("users".to_owned(), serde_json::json!(users)),
                    ("duration_seconds".to_owned(), serde_json::json!(users * 3)),
                ]
                .into(),
            },
            Window {
                start,
                end: start + chrono::Duration::seconds(30),
            },
        );
        r.journeys = vec![journey.into()];
        r
    }

    #[test]
    fn different_experiments_are_named_and_durations_may_differ() {
        let base = record("seed-benchmark", 50, "http://a");
        assert!(mismatches(&base, &record("seed-benchmark", 50, "http://a")).is_empty());
        let other = record("chat", 20, "http://b");
        let why = mismatches(&base, &other).join("\n");
        for want in [
            "journeys differ",
            "users differs: 50 vs 20",
            "targets differ",
        ] {
            assert!(why.contains(want), "{want} in {why}");
        }
        assert!(!why.contains("duration"), "{why}");
        let mut cut = record("seed-benchmark", 50, "http://a");
        cut.interrupted = true;
        assert!(mismatches(&base, &cut)[0].contains("the candidate was interrupted"));
    }
}

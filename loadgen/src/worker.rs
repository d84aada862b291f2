//! Distributed load: one run split over N `loadgen run --worker I/N`
//! processes (on one machine or as a Kubernetes Indexed Job), each running the
//! same profile with its share of the users or of the arrival rate, and the
//! merge of their run records that checks every worker is there exactly once.
//!
//! Worker indices count from 0, like Kubernetes' `JOB_COMPLETION_INDEX`, so a
//! Job can pass `--worker $(JOB_COMPLETION_INDEX)/N` unchanged.

use std::collections::BTreeMap;

use runrecord::RunRecord;
use serde_json::{Value, json};

use crate::profile::{Plan, ProfileName, Request};

/// The run-record parameter naming a worker's place (`"1/3"`).
pub const PARAMETER: &str = "worker";

/// Worker `index` of `count` (0 ≤ index < count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Worker {
    pub index: usize,
    pub count: usize,
}

/// Most workers accepted (each needs at least one user).
pub const MAX_WORKERS: usize = 1000;

impl Worker {
    /// `I/N`, e.g. `0/3`, `1/3`, `2/3`.
    pub fn parse(raw: &str) -> Result<Worker, String> {
        let bad = || {
            format!(
                "{raw:?} is not a worker: expected I/N with 0 ≤ I < N ≤ {MAX_WORKERS}, e.g. 0/3 \
                 (indices count from 0, like JOB_COMPLETION_INDEX)"
            )
        };
        let (i, n) = raw.trim().split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || count > MAX_WORKERS || index >= count {
            return Err(bad());
        }
        Ok(Worker { index, count })
    }

    /// This worker's part of `total` things shared as evenly as possible: the
    /// first `total % count` workers take one more, so the parts add up to
    /// `total` exactly.
    pub fn share(&self, total: usize) -> usize {
        total / self.count + usize::from(self.index < total % self.count)
    }

    /// The plan of this worker: the profile of the whole run with its share of
    /// the users (closed model: --users, or the profile's default; for spike
    /// and stress, of the peak and of the step) or of the arrival rate (open
    /// model: --rate, and of --users when it sizes the pool).
    pub fn plan(&self, profile: ProfileName, whole: &Request) -> Result<Plan, String> {
        if profile == ProfileName::Capacity {
            return Err(
                "the capacity profile cannot be split over workers: each stage's verdict needs \
                 every request of that stage; run it in one process (without --worker)"
                    .into(),
            );
        }
        // Validate the whole run first, so errors name the flags as given.
        Plan::new(profile, whole)?;
        let mut mine = whole.clone();
        match whole.rate {
            Some(rate) => {
                mine.rate = Some(rate / self.count as f64);
                mine.users = whole.users.map(|pool| self.share(pool));
            }
            None => {
                let users = whole.users.unwrap_or_else(|| profile.default_users());
                if users < self.count {
                    return Err(format!(
                        "{users} users cannot be shared by {} workers: give --users at least {}",
                        self.count, self.count
                    ));
                }
                mine.users = Some(self.share(users));
            }
        }
        if mine.users == Some(0) {
            return Err(format!(
                "a pool of {} users cannot be shared by {} workers: give --users at least {} (or leave it out)",
                whole.users.unwrap_or(0),
                self.count,
                self.count
            ));
        }
        let mut plan = Plan::new(profile, &mine)?;
        plan.worker = Some(*self);
        Ok(plan)
    }
}

impl std::fmt::Display for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The worker a record says it came from (`None`: a whole run).
pub fn of(record: &RunRecord) -> Result<Option<Worker>, String> {
    match record.profile.parameters.get(PARAMETER) {
        None => Ok(None),
        Some(Value::String(s)) => Worker::parse(s).map(Some),
        Some(other) => Err(format!("profile parameter {PARAMETER} is {other}, not I/N")),
    }
}

/// Merges the records of one distributed run. When they come from `--worker`
/// processes, every worker 0..N-1 must be there exactly once (a missing or
/// doubled record would silently under- or over-state the load); the merged
/// record then describes the whole run: users, pool and rate add up and the
/// worker parameter goes.
pub fn merge(records: &[(String, RunRecord)]) -> Result<RunRecord, String> {
    let mut seen: BTreeMap<usize, &str> = BTreeMap::new();
    let mut count = None;
    let mut untagged = Vec::new();
    for (name, record) in records {
        match of(record).map_err(|e| format!("{name}: {e}"))? {
            None => untagged.push(name.as_str()),
            Some(w) => {
                if let Some(n) = count
                    && n != w.count
                {
                    return Err(format!(
                        "{name} is worker {w} but other records are of {n} workers: \
                         merge the records of one run"
                    ));
                }
                count = Some(w.count);
                if let Some(first) = seen.insert(w.index, name) {
                    return Err(format!(
                        "{first} and {name} are both worker {w}: each worker's record once"
                    ));
                }
            }
        }
    }
    if let Some(n) = count {
        if !untagged.is_empty() {
            return Err(format!(
                "{} {} not from a `--worker` process, the others are: merge the records of one run",
                untagged.join(", "),
                if untagged.len() == 1 { "is" } else { "are" }
            ));
        }
        let missing: Vec<String> = (0..n)
            .filter(|i| !seen.contains_key(i))
            .map(|i| format!("{i}/{n}"))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "worker {} missing: a merge of {} of {n} workers would understate the load; \
                 pass every worker's run.json",
                missing.join(", "),
                seen.len()
            ));
        }
    }
    let all: Vec<RunRecord> = records.iter().map(|(_, r)| r.clone()).collect();
    let mut merged = RunRecord::merge_all(&all)
        .map_err(|e| e.to_string())?
        .ok_or("nothing to merge")?;
    if count.is_some() {
        let parameters = &mut merged.profile.parameters;
        for key in ["users", "pool_users", "rate_per_second"] {
            let values: Vec<f64> = all
                .iter()
                .filter_map(|r| r.profile.parameters.get(key).and_then(Value::as_f64))
                .collect();
            if values.len() == all.len() {
                let sum: f64 = values.iter().sum();
                let value = if key == "rate_per_second" {
                    json!(sum)
                } else {
                    json!(sum.round() as u64)
                };
                parameters.insert(key.into(), value);
            }
        }
        parameters.remove(PARAMETER);
        // Each worker ran its own goose plan; the merged record has no one plan.
        parameters.remove("test_plan");
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn worker_parses_zero_based_indices_and_rejects_the_rest() {
        assert_eq!(Worker::parse("0/3"), Ok(Worker { index: 0, count: 3 }));
        assert_eq!(Worker::parse(" 2/3 "), Ok(Worker { index: 2, count: 3 }));
        for bad in ["3/3", "1/0", "-1/3", "a/3", "1", "1/3/4", ""] {
            let err = Worker::parse(bad).unwrap_err();
            assert!(err.contains("I/N") && err.contains("0/3"), "{bad}: {err}");
        }
    }

    #[test]
    fn shares_add_up_to_the_whole() {
        for total in [3, 7, 50, 101] {
            for count in 1..=6.min(total) {
                let parts: Vec<usize> = (0..count)
                    .map(|index| Worker { index, count }.share(total))
                    .collect();
                assert_eq!(parts.iter().sum::<usize>(), total, "{total}/{count}");
                assert!(parts.iter().max().unwrap_or(&0) - parts.iter().min().unwrap_or(&0) <= 1);
            }
        }
    }

    #[test]
    fn closed_and_open_plans_take_their_share() {
        let w = |index| Worker { index, count: 3 };
        let whole = Request {
            users: Some(7),
            duration: Some(Duration::from_secs(20)),
            ..Request::default()
        };
        let users: Vec<usize> = (0..3)
            .map(|i| w(i).plan(ProfileName::Load, &whole).map(|p| p.users()))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(users, [3, 2, 2]);
        // The profile's default (50 users) is shared too.
        let p = w(0)
            .plan(ProfileName::Load, &Request::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.users(), 17);
        assert_eq!(p.parameters()[PARAMETER], json!("0/3"));
        let open = Request {
            rate: Some(30.0),
            ..Request::default()
        };
        let p = w(1)
            .plan(ProfileName::Load, &open)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.parameters()["rate_per_second"], json!(10.0));
        let few = Request {
            users: Some(2),
            ..Request::default()
        };
        let err = w(0).plan(ProfileName::Smoke, &few).unwrap_err();
        assert!(err.contains("at least 3"), "{err}");
        let err = w(0)
            .plan(ProfileName::Capacity, &Request::default())
            .unwrap_err();
        assert!(err.contains("without --worker"), "{err}");
    }
}

//! Load profiles: how many users (closed model) or iterations per second (open
//! model) over how long, as a goose test plan plus a measured window.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

/// The profiles of SPEC §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileName {
    Smoke,
    Load,
    /// The original k6 benchmark's ramping-vus: 10 s up to 50, 1 min, 10 s down.
    SeedBenchmark,
    Spike,
    Stress,
    Soak,
    Capacity,
}

impl ProfileName {
    pub const ALL: [ProfileName; 7] = [
        ProfileName::Smoke,
        ProfileName::Load,
        ProfileName::SeedBenchmark,
        ProfileName::Spike,
        ProfileName::Stress,
        ProfileName::Soak,
        ProfileName::Capacity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Smoke => "smoke",
            ProfileName::Load => "load",
            ProfileName::SeedBenchmark => "seed-benchmark",
            ProfileName::Spike => "spike",
            ProfileName::Stress => "stress",
            ProfileName::Soak => "soak",
            ProfileName::Capacity => "capacity",
        }
    }

    /// Users (the peak for spike, the step for stress), measured seconds and
    /// warm-up seconds when the command line gives none.
    fn defaults(self) -> (usize, u64, u64) {
        match self {
            ProfileName::Smoke => (2, 10, 3),
            ProfileName::Load => (50, 60, 5),
            // k6 measured the ramps too: no warm-up, 80 s in all.
            ProfileName::SeedBenchmark => (50, 80, 0),
            ProfileName::Spike => (50, 60, 5),
            ProfileName::Stress => (50, 120, 5),
            ProfileName::Soak => (50, 1800, 10),
            ProfileName::Capacity => (0, 20, 5),
        }
    }

    /// What --users means when it is not given.
    pub fn default_users(self) -> usize {
        self.defaults().0
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == raw)
            .ok_or_else(|| {
                format!(
                    "unknown profile {raw:?}; known: {}",
                    Self::ALL.map(|p| p.as_str()).join(", ")
                )
            })
    }
}

/// Closed model: a fixed population of users, each starting its next
/// iteration when the previous one ends. Open model: iterations arrive at a
/// fixed rate whatever the response times, served by a pool of users.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    Closed { users: usize },
    Open { rate: f64, pool: usize },
}

/// One goose run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub profile: ProfileName,
    pub model: Model,
    /// Goose test plan: `users,time;users,time;…`.
    pub test_plan: String,
    /// Time to start the users (the open model's arrivals start after it).
    pub ramp: Duration,
    /// Excluded from the measurement; starts with the ramp.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Set when this process runs one worker's share of a distributed run.
    pub worker: Option<crate::worker::Worker>,
}

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub users: Option<usize>,
    pub rate: Option<f64>,
    pub duration: Option<Duration>,
    pub warmup: Option<Duration>,
}

/// Longest measured window accepted (a soak is long, not endless).
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// Most users or pool size accepted.
pub const MAX_USERS: usize = 10_000;

fn secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil() as u64
}

/// The seed-benchmark profile's ramp up and ramp down (k6's stages).
pub const SEED_BENCHMARK_RAMP: Duration = Duration::from_secs(10);

/// Pool size for an open-model rate: enough users for iterations of ~2 s.
pub fn pool_for(rate: f64) -> usize {
    ((rate * 2.0).ceil() as usize).clamp(4, MAX_USERS)
}

/// Pool size for an open-model rate when iterations last about
/// `iteration_seconds` (a journey with pauses keeps its user longer).
pub fn pool_for_iterations(rate: f64, iteration_seconds: f64) -> usize {
    ((rate * iteration_seconds.max(2.0)).ceil() as usize).clamp(4, MAX_USERS)
}

impl Plan {
    /// The plan for `profile`, with the user's overrides.
    pub fn new(profile: ProfileName, req: &Request) -> Result<Plan, String> {
        if let Some(d) = req.duration
            && (d.is_zero() || d > MAX_DURATION)
        {
            return Err("--duration must be between 1s and 24h".into());
        }
        if req.users == Some(0) || req.users.is_some_and(|u| u > MAX_USERS) {
            return Err(format!("--users must be between 1 and {MAX_USERS}"));
        }
        if let Some(r) = req.rate
            && !(r > 0.0 && r <= 100_000.0)
        {
            return Err("--rate must be a positive number of iterations per second".into());
        }
        let (default_users, default_duration, default_warmup) = profile.defaults();
        let duration = req
            .duration
            .unwrap_or(Duration::from_secs(default_duration));
        let warmup = req.warmup.unwrap_or(Duration::from_secs(default_warmup));
        let d = secs(duration).max(1);
        let w = secs(warmup);
        let (model, ramp, test_plan) = match (profile, req.rate) {
            (ProfileName::Capacity, _) | (_, Some(_)) => {
                let rate = req.rate.unwrap_or(10.0);
                let pool = req.users.unwrap_or_else(|| pool_for(rate));
                let ramp = w.clamp(1, 5).min(w.max(1));
                let hold = (w + d + 1).saturating_sub(ramp).max(1);
                (
                    Model::Open { rate, pool },
                    ramp,
                    format!("{pool},{ramp}s;{pool},{hold}s;0,0s"),
                )
            }
            (ProfileName::SeedBenchmark, None) => {
                let users = req.users.unwrap_or(default_users);
                let edge = SEED_BENCHMARK_RAMP.as_secs();
                let hold = d.saturating_sub(2 * edge).max(1);
                // The ramp down is the window's last stretch: the plan holds no
                // user past it, so the window must close when goose stops. It
                // is also the plan's last step: after a step down to 0 users,
                // a further `0,0s` step leaves goose idling in its "maintain"
                // phase for ever instead of stopping.
                (
                    Model::Closed { users },
                    edge,
                    format!("{users},{edge}s;{users},{hold}s;0,{edge}s"),
                )
            }
            (ProfileName::Spike, None) => {
                let peak = req.users.unwrap_or(default_users);
                let base = (peak / 5).max(1);
                let ramp = w.clamp(1, 5);
                let third = (d / 3).max(1);
                let tail = (d + 1).saturating_sub(2 * third + 2).max(1);
                (
                    Model::Closed { users: peak },
                    ramp,
                    format!(
                        "{base},{ramp}s;{base},{}s;{peak},1s;{peak},{third}s;{base},1s;{base},{tail}s;0,0s",
                        (w + third).saturating_sub(ramp).max(1)
                    ),
                )
            }
            (ProfileName::Stress, None) => {
                let step_users = req.users.unwrap_or(default_users);
                let ramp = w.clamp(1, 5);
                let stage = (d / 4).max(1);
                let mut plan = format!("{step_users},{ramp}s");
                let mut hold = (w + stage).saturating_sub(ramp).max(1);
                for k in 1..=4 {
                    let users = step_users * k;
                    plan.push_str(&format!(";{users},{hold}s"));
                    if k < 4 {
                        plan.push_str(&format!(";{},1s", step_users * (k + 1)));
                    }
                    // The last stage runs a second past the window's end.
                    hold = if k == 3 {
                        stage.max(1)
                    } else {
                        stage.saturating_sub(1).max(1)
                    };
                }
                plan.push_str(";0,0s");
                (
                    Model::Closed {
                        users: step_users * 4,
                    },
                    ramp,
                    plan,
                )
            }
            _ => {
                let users = req.users.unwrap_or(default_users);
                // Start users at ≤ 10/s (sign-ups hash passwords on purpose),
                // within the warm-up.
                let ramp = ((users as u64).div_ceil(10)).clamp(1, w.max(1));
                let hold = (w + d + 1).saturating_sub(ramp).max(1);
                (
                    Model::Closed { users },
                    ramp,
                    format!("{users},{ramp}s;{users},{hold}s;0,0s"),
                )
            }
        };
        Ok(Plan {
            profile,
            model,
            test_plan,
            ramp: Duration::from_secs(ramp),
            warmup: Duration::from_secs(w),
            duration: Duration::from_secs(d),
            worker: None,
        })
    }

    /// The open model at another rate (capacity stages).
    pub fn at_rate(&self, rate: f64, pool: Option<usize>) -> Plan {
        let req = Request {
            users: pool,
            rate: Some(rate),
            duration: Some(self.duration),
            warmup: Some(self.warmup),
        };
        let mut plan = Plan::new(ProfileName::Capacity, &req).unwrap_or_else(|_| self.clone());
        plan.profile = self.profile;
        plan
    }

    /// The peak number of goose users.
    pub fn users(&self) -> usize {
        match self.model {
            Model::Closed { users } => users,
            Model::Open { pool, .. } => pool,
        }
    }

    /// For the run record's `profile.parameters`.
    pub fn parameters(&self) -> BTreeMap<String, Value> {
        let mut p = BTreeMap::new();
        match self.model {
            Model::Closed { users } => {
                p.insert("model".into(), json!("closed"));
                p.insert("users".into(), json!(users));
            }
            Model::Open { rate, pool } => {
                p.insert("model".into(), json!("open"));
                p.insert("rate_per_second".into(), json!(rate));
                p.insert("pool_users".into(), json!(pool));
            }
        }
        p.insert("duration_seconds".into(), json!(self.duration.as_secs()));
        p.insert("warmup_seconds".into(), json!(self.warmup.as_secs()));
        p.insert("test_plan".into(), json!(self.test_plan));
        if let Some(worker) = self.worker {
            p.insert(crate::worker::PARAMETER.into(), json!(worker.to_string()));
        }
        p
    }
}

/// `20s`, `5m`, `1h30m`, `1m30s`, `500ms` or plain seconds (`90`).
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let s = raw.trim();
    let bad = || format!("{raw:?} is not a duration (examples: 20s, 5m, 1h30m, 90)");
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(n) = s.parse::<f64>() {
        return (n.is_finite() && n >= 0.0)
            .then(|| Duration::from_secs_f64(n))
            .ok_or_else(bad);
    }
    let mut total = 0.0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().map_err(|_| bad())?;
        num.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return Err(bad()),
        };
        total += n * unit;
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

/// `50`, `50/s` or `3000/m`.
pub fn parse_rate(raw: &str) -> Result<f64, String> {
    let bad = || format!("{raw:?} is not a rate (examples: 50, 50/s, 3000/m)");
    let (n, per) = match raw.trim().split_once('/') {
        Some((n, unit)) => (
            n,
            match unit.trim() {
                "s" | "sec" => 1.0,
                "m" | "min" => 60.0,
                _ => return Err(bad()),
            },
        ),
        None => (raw.trim(), 1.0),
    };
    let n: f64 = n.trim().parse().map_err(|_| bad())?;
    if !(n.is_finite() && n > 0.0) {
        return Err(bad());
    }
    Ok(n / per)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates_parse() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_rate("50/s"), Ok(50.0));
        assert_eq!(parse_rate("120/m"), Ok(2.0));
        assert!(parse_rate("-1").is_err());
    }

    #[test]
    fn load_is_fifty_users_with_a_warmup() {
        let p = Plan::new(
            ProfileName::Load,
            &Request {
                duration: Some(Duration::from_secs(20)),
                ..Request::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.model, Model::Closed { users: 50 });
        assert_eq!(p.test_plan, "50,5s;50,21s;0,0s");
        assert!(p.warmup >= p.ramp);
    }

    #[test]
    fn the_seed_benchmark_profile_is_k6s_ramping_vus() {
        let p = Plan::new(ProfileName::SeedBenchmark, &Request::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.model, Model::Closed { users: 50 });
        assert_eq!(p.test_plan, "50,10s;50,60s;0,10s");
        assert_eq!(
            (p.warmup, p.duration),
            (Duration::ZERO, Duration::from_secs(80))
        );
        // A pausing journey keeps its user longer: a bigger pool for the same rate.
        assert_eq!(pool_for_iterations(20.0, 4.0), 80);
        assert_eq!(pool_for_iterations(20.0, 1.0), pool_for(20.0));
    }

    #[test]
    fn a_rate_selects_the_open_model() {
        let p = Plan::new(
            ProfileName::Load,
            &Request {
                rate: Some(20.0),
                ..Request::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p.model,
            Model::Open {
                rate: 20.0,
                pool: 40
            }
        );
    }

    #[test]
    fn every_profile_makes_a_valid_goose_plan() {
        for profile in ProfileName::ALL {
            let p = Plan::new(profile, &Request::default()).unwrap_or_else(|e| panic!("{e}"));
            // Every plan ends at 0 users, and with one step to them: two
            // 0-user steps in a row leave goose idling instead of stopping.
            assert!(
                p.test_plan.ends_with(";0,0s") || p.test_plan.ends_with(";0,10s"),
                "{}",
                p.test_plan
            );
            assert!(!p.test_plan.contains("0,10s;0,"), "{}", p.test_plan);
            for step in p.test_plan.split(';') {
                let (u, t) = step.split_once(',').unwrap_or_else(|| panic!("{step}"));
                assert!(u.parse::<usize>().is_ok() && t.ends_with('s'), "{step}");
            }
        }
    }
}

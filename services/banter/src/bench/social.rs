//! The social side (issue 19): part g, the fan-out cost as an author's
//! follower count grows ([`fanout`](super::fanout)), and part h, the social
//! journey's capacity on this machine — home-timeline reads per second with
//! their p95 under 200 ms.
//!
//! Part h offers the journey's actions at fixed rates (open model: arrivals
//! do not wait for answers, so a slow platform cannot slow the offered
//! load), each rate on a fresh platform, doubling until the home timeline's
//! p95 passes 200 ms or errors appear. Each run seeds the journey's default
//! community first (during the warm-up) and then runs DeathStarBench's mix.

use super::fanout::{self, Row, Storage};
use super::runs::{self, LoadRun, Setup};
use loadgen::Journey;
use loadgen::profile::{ProfileName, Request};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// The home-timeline step of the journey, as the run record keys it.
pub const HOME_TIMELINE: &str = "social/read-home-timeline";

/// Offered actions per second, in order; the run stops at the first rate
/// that breaks the objective.
const RATES: &[f64] = &[50.0, 100.0, 200.0, 400.0, 800.0, 1600.0];

/// One offered rate of part h.
#[derive(Debug, Clone, Serialize)]
pub struct RateRun {
    pub offered_per_second: f64,
    pub timeline_reads_per_second: f64,
    pub timeline_p50_ms: f64,
    pub timeline_p95_ms: f64,
    /// Requests of every step and their errors.
    pub requests_per_second: f64,
    pub errors: u64,
    pub worst_step: String,
    pub worst_step_p95_ms: f64,
    /// The home timeline's p95 under 200 ms and no error.
    pub held: bool,
    pub run: LoadRun,
}

impl RateRun {
    fn of(offered: f64, run: LoadRun) -> Self {
        let home = run.steps.iter().find(|s| s.step == HOME_TIMELINE);
        let (reads, p50, p95) = home.map_or((0, 0.0, f64::INFINITY), |s| {
            (s.requests, s.p50_ms, s.p95_ms)
        });
        let worst = run
            .steps
            .iter()
            .max_by(|a, b| a.p95_ms.total_cmp(&b.p95_ms))
            .map_or((String::new(), 0.0), |s| (s.step.clone(), s.p95_ms));
        Self {
            offered_per_second: offered,
            timeline_reads_per_second: reads as f64 / run.seconds,
            timeline_p50_ms: p50,
            timeline_p95_ms: p95,
            requests_per_second: run.requests_per_second,
            errors: run.errors,
            worst_step: worst.0,
            worst_step_p95_ms: worst.1,
            held: p95 < 200.0 && run.errors == 0,
            run,
        }
    }
}

/// Parts g and h.
#[derive(Debug, Serialize)]
pub struct SocialResults {
    pub fanout: Vec<(Storage, Result<Vec<Row>, String>)>,
    pub capacity: Vec<RateRun>,
    pub capacity_seconds: u64,
}

impl SocialResults {
    /// The most home-timeline reads per second measured within the objective.
    pub fn capacity(&self) -> Option<&RateRun> {
        self.capacity.iter().filter(|r| r.held).max_by(|a, b| {
            a.timeline_reads_per_second
                .total_cmp(&b.timeline_reads_per_second)
        })
    }
}

/// Runs parts g and h; `secs` is each rate's measured window.
pub async fn run(
    out: &Path,
    postgres: &str,
    redis: &str,
    secs: u64,
) -> anyhow::Result<SocialResults> {
    let fanout = fanout::run(postgres, redis).await;
    let mut capacity = Vec::new();
    for &rate in RATES {
        super::step(&format!(
            "social journey capacity: {rate} actions/s offered, {secs}s"
        ));
        let setup = Setup::new(&format!("social-{rate}"), &[]);
        let request = Request {
            rate: Some(rate),
            duration: Some(Duration::from_secs(secs)),
            // The community is seeded (about 200 requests) in the warm-up.
            warmup: Some(Duration::from_secs(10)),
            ..Default::default()
        };
        let run =
            runs::load_plan(&setup, out, ProfileName::Load, &[Journey::Social], &request).await?;
        let step = RateRun::of(rate, run);
        let held = step.held;
        capacity.push(step);
        if !held {
            break;
        }
    }
    Ok(SocialResults {
        fanout,
        capacity,
        capacity_seconds: secs,
    })
}

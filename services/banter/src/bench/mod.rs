//! `banter bench`: the performance figures of SPEC §10 in one bounded command,
//! written as `bench.json` and `bench.md` (docs/benchmarks.md explains them).
//!
//! Every run starts a fresh platform (`banter serve --target all`) as a child
//! process and drives it with loadgen (on one thread of this process) or wrk.
//! Comparisons (telemetry on/off) alternate A B A B in one invocation and
//! quote medians, because the machine is shared and noisy. `--short` (the
//! default, a few minutes, run by `.ci/run`) fails on a regression past the
//! ratios in [`gates`]; `--long` measures capacity in more steps and soaks
//! each storage for 20 minutes, and measures the social side too (parts g
//! and h, [`social`]); `--social` measures only that.

mod fanout;
mod measure;
mod report;
mod runs;
mod social;

use anyhow::Context as _;
use loadgen::Journey;
use loadgen::profile::{ProfileName, Request};
use runs::{LoadRun, RouteRun, Setup};
use serde::Serialize;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// A few minutes (the default): the CI gate.
    #[arg(long, conflicts_with = "long")]
    short: bool,

    /// About 40 minutes: more capacity steps, longer comparisons, a
    /// 20-minute soak on each storage, both at once, and the social parts
    /// (g, h): docs/benchmarks.md.
    #[arg(long)]
    long: bool,

    /// Only the social parts, a few minutes: the fan-out cost as an author's
    /// follower count grows (10, 1 000, 10 000; SQLite, PostgreSQL, and
    /// PostgreSQL with Redis) and the social journey's capacity (home
    /// timeline reads/s with p95 < 200 ms).
    #[arg(long, conflicts_with_all = ["short", "long", "soak"])]
    social: bool,

    /// Length of the memory soak, overriding the mode's (1m short, 20m long).
    #[arg(long, value_name = "DURATION", value_parser = loadgen::profile::parse_duration)]
    soak: Option<std::time::Duration>,

    /// Where bench.json, bench.md and the platforms' logs go.
    #[arg(long, default_value = "bench-out", value_name = "DIR")]
    out: PathBuf,

    /// PostgreSQL server for the PostgreSQL memory run; a database
    /// `banter_bench` is created on it (and replaced on the next run).
    #[arg(
        long,
        env = "BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres",
        value_name = "URL"
    )]
    postgres: String,

    /// Redis server for the fan-out cost with timelines in Redis (part g);
    /// its keys go under a prefix of the run and are removed after it.
    #[arg(
        long,
        env = "BENCH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        value_name = "URL"
    )]
    redis: String,
}

/// How long each part runs, in seconds.
struct Durations {
    seed: u64,
    capacity_users: &'static [usize],
    capacity: u64,
    route: u64,
    journey: u64,
    soak: u64,
    /// Each offered rate of the social journey's capacity (part h).
    social: u64,
}

const SHORT: Durations = Durations {
    seed: 40,
    capacity_users: &[110],
    capacity: 30,
    route: 8,
    journey: 20,
    soak: 60,
    social: 20,
};

const LONG: Durations = Durations {
    seed: 80,
    capacity_users: &[100, 110, 150, 200],
    capacity: 40,
    route: 15,
    journey: 45,
    soak: 20 * 60,
    social: 30,
};

/// Rounds of the telemetry comparison (A B each) on the hot route and on the
/// seed journey.
const HOT_ROUTE_ROUNDS: usize = 3;
const JOURNEY_ROUNDS: usize = 2;

/// The short mode's regression gates: ratios and bounds that a regression
/// would cross on any machine, not absolute times.
pub mod gates {
    /// Hot route, req/s off ÷ on: the access log, metrics and a span exported
    /// over OTLP on every request of a route that does almost nothing else.
    /// A tripwire for a gross regression (a log write back on the request's
    /// thread, a synchronous export), not a target: the figure is stated in
    /// every report (issue 15), and it moves with the machine — 1.40 to 1.63
    /// in four runs of 2026-11-30, 1.97 on the CI machine of 2026-12-01
    /// (rounds of 1.76 and 2.21 back to back, CPU per request 1.99: that
    /// machine pays more for the exporter's and the log writer's threads).
    /// Telemetry costing twice what it does today lands past 2.5 on any of
    /// those machines.
    pub const HOT_ROUTE_THROUGHPUT: f64 = 2.5;
    /// Seed journey at a fixed arrival rate (open model), req/s off ÷ on
    /// (SPEC §10: ≤ 3 %): with telemetry on the platform still serves every
    /// journey that arrives, when they arrive.
    pub const JOURNEY_THROUGHPUT: f64 = 1.03;
    /// Resident memory under the load profile, MiB (SPEC §10: < 100 MB).
    pub const RSS_MIB: f64 = 100.0;
    /// loadgen's CPU per request ÷ wrk's.
    pub const LOADGEN_OVER_WRK: f64 = 25.0;
}

/// Users whose load the telemetry comparison's seed journey offers: 50
/// (SPEC's load), or fewer on a machine whose hashing ceiling 50 users would
/// crowd (more than half of it offered). Near saturation the throughput
/// follows the CPU, and "off ÷ on" would measure how slow the machine is that
/// day rather than what telemetry costs (a run whose argon2id took 25 ms a
/// hash instead of 12.7 gave 1.063 at 50 users).
pub fn comparison_users(hashing_ceiling: f64, paused_per_journey: f64) -> usize {
    let half = 0.5 * hashing_ceiling * paused_per_journey;
    (half.floor() as usize).clamp(10, 50)
}

/// The comparison's seed journey as an open model: journeys arrive at the
/// rate `users` would start them with the original pauses, on a clock of
/// their own, whatever the response times. A closed model (users that wait
/// for their answers) offers less when answers slow down, so its "off ÷ on"
/// moved with the machine's noise (1.035 on a run whose every other figure
/// was healthy); arrivals on a clock make throughput a question of whether
/// the platform keeps up, and CPU per request the measure of the cost.
pub fn comparison_plan(users: usize, paused_per_journey: f64, secs: u64) -> Request {
    let rate = users as f64 / paused_per_journey.max(0.1);
    Request {
        rate: Some(rate),
        // Enough users for journeys that take twice their pauses.
        users: Some(loadgen::profile::pool_for_iterations(
            rate,
            2.0 * paused_per_journey,
        )),
        duration: Some(std::time::Duration::from_secs(secs)),
        ..Default::default()
    }
}

/// Telemetry on and off, alternated: the A and B runs and their medians.
#[derive(Debug, Serialize)]
pub struct Alternated<T> {
    pub on: Vec<T>,
    pub off: Vec<T>,
}

#[derive(Debug, Serialize)]
pub struct Results {
    pub mode: &'static str,
    pub soak_seconds: u64,
    pub git_sha: &'static str,
    pub date: String,
    pub machine: String,
    pub seed: LoadRun,
    pub think_time_ceiling: f64,
    pub capacity: Vec<(usize, LoadRun)>,
    pub hash_seconds: f64,
    pub hashing_ceiling: f64,
    pub cores: usize,
    pub route: Alternated<RouteRun>,
    pub journey: Alternated<LoadRun>,
    /// Users whose load the telemetry comparison's seed journey offers (see
    /// [`comparison_users`]), and its arrival rate, journeys/s ([`comparison_plan`]).
    pub journey_users: usize,
    pub journey_rate: f64,
    pub soak_sqlite: LoadRun,
    pub soak_postgres: Result<LoadRun, String>,
    /// Parts g and h (the long mode).
    pub social: Option<social::SocialResults>,
}

/// What `--social` measured.
#[derive(Debug, Serialize)]
pub struct SocialOnly {
    pub mode: &'static str,
    pub git_sha: &'static str,
    pub date: String,
    pub machine: String,
    pub social: social::SocialResults,
}

fn step(msg: &str) {
    eprintln!("==> {msg}");
}

/// Runs the benchmark; returns the exit code (1: a gate failed).
pub async fn run(args: BenchArgs) -> anyhow::Result<i32> {
    let d = if args.long { &LONG } else { &SHORT };
    let soak = args.soak.map_or(d.soak, |s| s.as_secs().max(1));
    let mode = if args.long { "long" } else { "short" };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let out = args.out.canonicalize().unwrap_or(args.out.clone());
    if args.social {
        let results = SocialOnly {
            mode: "social",
            git_sha: kit::GIT_SHA,
            date: now(),
            machine: report::machine(),
            social: social::run(&out, &args.postgres, &args.redis, SHORT.social).await?,
        };
        let markdown = report::social_only(&results);
        write(&out, &results, &markdown)?;
        return Ok(0);
    }
    let seed_only = [Journey::SeedBenchmark];
    let on = Setup::new("on", &[]);

    step(&format!("seed-benchmark journey, 50 users, {}s", d.seed));
    let seed = runs::load(
        &on,
        &out,
        ProfileName::SeedBenchmark,
        &seed_only,
        50,
        d.seed,
    )
    .await?;
    let paused = loadgen::journeys::seed_benchmark::paused_per_iteration().as_secs_f64();

    let mut capacity = Vec::new();
    for &users in d.capacity_users {
        step(&format!("capacity: {users} users, {}s", d.capacity));
        let setup = Setup::new(&format!("capacity-{users}"), &[]);
        let run = runs::load(
            &setup,
            &out,
            ProfileName::Load,
            &seed_only,
            users,
            d.capacity,
        )
        .await?;
        capacity.push((users, run));
    }
    let hash_seconds = runs::hash_seconds().await?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let hashing_ceiling = cores as f64 / (4.0 * hash_seconds);
    let journey_users = comparison_users(hashing_ceiling, paused);
    let journey_plan = comparison_plan(journey_users, paused, d.journey);

    let sink = runs::trace_sink().await?;
    let traced = Setup::new("telemetry-on", &["--otlp-endpoint", &sink]);
    let untraced = Setup::new("telemetry-off", &["--telemetry", "off"]);
    let unlimited = |s: &Setup| {
        let mut s = s.clone();
        s.args
            .extend(["--api-rate-limit".to_owned(), "0".to_owned()]);
        s
    };
    let mut route = Alternated {
        on: vec![],
        off: vec![],
    };
    let mut journey = Alternated {
        on: vec![],
        off: vec![],
    };
    // The hot route is short and its ratio swings with the machine (runs of
    // one day measured 1.76 and 2.21 back to back): three rounds, the median.
    for round in 1..=HOT_ROUTE_ROUNDS {
        for (setup, on) in [(&traced, true), (&untraced, false)] {
            let label = if on { "on" } else { "off" };
            step(&format!(
                "telemetry {label}, round {round}: hot route (wrk, {}s)",
                d.route
            ));
            let r = runs::hot_route(&unlimited(setup), &out, d.route).await?;
            let rs = if on { &mut route.on } else { &mut route.off };
            rs.push(r);
            if round > JOURNEY_ROUNDS {
                continue;
            }
            step(&format!(
                "telemetry {label}, round {round}: seed journey, {:.2} journeys/s (open model), {}s",
                journey_plan.rate.unwrap_or_default(),
                d.journey
            ));
            let j =
                runs::load_plan(setup, &out, ProfileName::Load, &seed_only, &journey_plan).await?;
            let js = if on {
                &mut journey.on
            } else {
                &mut journey.off
            };
            js.push(j);
        }
    }

    // Both storages soak at once: the soak is about memory over time, and
    // one after the other they would double the long mode's length.
    let all = Journey::ALL.to_vec();
    step(&format!(
        "soak on SQLite and on PostgreSQL at once: every journey, 50 users each, {}s",
        soak
    ));
    let sqlite = Setup::new("soak-sqlite", &[]);
    let postgres = async {
        let url = runs::fresh_postgres(&args.postgres, "banter_bench").await?;
        let setup = Setup::new("soak-postgres", &["--database-url", &url]);
        runs::load(&setup, &out, ProfileName::Load, &all, 50, soak).await
    };
    let (soak_sqlite, soak_postgres) = tokio::join!(
        runs::load(&sqlite, &out, ProfileName::Load, &all, 50, soak),
        postgres
    );
    let soak_sqlite = soak_sqlite?;
    let soak_postgres = soak_postgres.map_err(|e| format!("{e:#}"));
    let social = if args.long {
        Some(social::run(&out, &args.postgres, &args.redis, d.social).await?)
    } else {
        None
    };

    let results = Results {
        mode,
        soak_seconds: soak,
        git_sha: kit::GIT_SHA,
        date: now(),
        machine: report::machine(),
        think_time_ceiling: 50.0 / paused,
        seed,
        capacity,
        hash_seconds,
        hashing_ceiling,
        cores,
        route,
        journey,
        journey_users,
        journey_rate: journey_plan.rate.unwrap_or_default(),
        soak_sqlite,
        soak_postgres,
        social,
    };
    let (markdown, failed) = report::markdown(&results);
    write(&out, &results, &markdown)?;
    if failed.is_empty() {
        println!("every gate held");
        Ok(0)
    } else {
        println!("gates failed: {}", failed.join("; "));
        Ok(1)
    }
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Writes bench.json and bench.md into `out` and shows the Markdown.
fn write(out: &std::path::Path, results: &impl Serialize, markdown: &str) -> anyhow::Result<()> {
    let json = out.join("bench.json");
    std::fs::write(&json, serde_json::to_string_pretty(results)?)
        .with_context(|| format!("cannot write {}", json.display()))?;
    let md = out.join("bench.md");
    std::fs::write(&md, markdown).with_context(|| format!("cannot write {}", md.display()))?;
    println!("{markdown}");
    println!("wrote {}\nwrote {}", md.display(), json.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{comparison_plan, comparison_users};

    #[test]
    fn the_comparison_load_stays_below_half_the_hashing_ceiling() {
        // A healthy 2-core machine (12.7 ms a hash): SPEC's 50 users.
        assert_eq!(comparison_users(2.0 / (4.0 * 0.0127), 3.0), 50);
        // Hashing twice as slow: 29 users offer ~10 journeys/s of ~20.
        assert_eq!(comparison_users(2.0 / (4.0 * 0.0253), 3.0), 29);
        assert_eq!(comparison_users(0.5, 3.0), 10, "never a token load");
    }

    #[test]
    fn the_comparison_offers_journeys_on_a_clock() {
        let plan = comparison_plan(50, 3.0, 45);
        let rate = plan.rate.expect("an open model");
        assert!((rate - 50.0 / 3.0).abs() < 1e-9, "{rate}");
        // 6 s a journey at 16.7 a second: 100 users in flight at most.
        assert_eq!(plan.users, Some(100));
        assert_eq!(plan.duration, Some(std::time::Duration::from_secs(45)));
    }
}

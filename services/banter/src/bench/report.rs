//! `bench.md`: the results as Markdown tables, and the gates they pass or fail.

use super::fanout::{FOLLOWERS, Mode};
use super::measure::median;
use super::runs::{LoadRun, RouteRun};
use super::social::SocialResults;
use super::{Alternated, Results, SocialOnly, gates};
use reportkit::markdown::{Table, left, right};
use std::fmt::Write as _;

/// CPU model, core count and memory of this machine.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {mem_gib:.1} GiB")
}

fn medians<T>(runs: &Alternated<T>, f: impl Fn(&T) -> f64) -> (f64, f64) {
    let m = |v: &[T]| median(&v.iter().map(&f).collect::<Vec<_>>());
    (m(&runs.on), m(&runs.off))
}

fn steps_table(out: &mut String, run: &LoadRun) {
    let mut t = Table::new(&[
        left("step"),
        right("requests"),
        right("errors"),
        right("p50 ms"),
        right("p95 ms"),
        right("p99 ms"),
    ]);
    for s in &run.steps {
        t.row(&[
            &s.step,
            &s.requests,
            &s.errors,
            &format_args!("{:.1}", s.p50_ms),
            &format_args!("{:.1}", s.p95_ms),
            &format_args!("{:.1}", s.p99_ms),
        ]);
    }
    out.push_str(&t.finish());
}

fn alternated<T>(
    out: &mut String,
    runs: &Alternated<T>,
    tput: impl Fn(&T) -> f64,
    cpu: impl Fn(&T) -> f64,
) {
    let mut t = Table::new(&[
        left("run"),
        left("telemetry"),
        right("req/s"),
        right("server CPU µs/request"),
    ]);
    for (i, (on, off)) in runs.on.iter().zip(&runs.off).enumerate() {
        for (run, ab, label) in [(on, "A", "on"), (off, "B", "off")] {
            t.row(&[
                &format_args!("{} {ab}", i + 1),
                &label,
                &format_args!("{:.1}", tput(run)),
                &format_args!("{:.1}", cpu(run)),
            ]);
        }
    }
    let (t_on, t_off) = medians(runs, &tput);
    let (c_on, c_off) = medians(runs, &cpu);
    t.row(&[
        &"median",
        &"on / off",
        &format_args!("{t_on:.1} / {t_off:.1}"),
        &format_args!("{c_on:.1} / {c_off:.1}"),
    ]);
    out.push_str(&t.finish());
    let _ = writeln!(
        out,
        "\nThroughput off ÷ on: **{:.3}**; server CPU per request on ÷ off: **{:.3}**.\n",
        t_off / t_on.max(1e-9),
        c_on / c_off.max(1e-9)
    );
}

/// The report and the names of the gates that failed.
pub fn markdown(r: &Results) -> (String, Vec<String>) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Banter benchmark ({} mode)\n\ncommit `{}`, {}, {}; argon2id took {:.1} ms a hash on this run \
         (the machine's speed of the day: docs/benchmarks.md). Load generator and platform share the machine; \
         comparisons alternate A B A B in this one run and quote medians.\n",
        r.mode,
        r.git_sha,
        r.machine,
        r.date,
        r.hash_seconds * 1000.0
    );
    let _ = writeln!(
        out,
        "## a. seed-benchmark journey, 50 users (pauses as the original)\n\n{:.2} journeys/s against a think-time ceiling of {:.2} \
         (50 users ÷ {:.1} s of pauses per journey): {:.0} %. {} requests, {} errors.\n",
        r.seed.journeys_per_second,
        r.think_time_ceiling,
        50.0 / r.think_time_ceiling,
        100.0 * r.seed.journeys_per_second / r.think_time_ceiling,
        r.seed.requests,
        r.seed.errors
    );
    steps_table(&mut out, &r.seed);

    out.push_str("\n## b. capacity (seed-benchmark journey, closed model)\n\n");
    let mut t = Table::new(&[
        right("users"),
        right("journeys/s"),
        right("worst step p95 ms"),
        right("errors"),
    ]);
    let mut points: Vec<(usize, &LoadRun)> = vec![(50, &r.seed)];
    points.extend(r.capacity.iter().map(|(u, run)| (*u, run)));
    for (users, run) in &points {
        t.row(&[
            users,
            &format_args!("{:.2}", run.journeys_per_second),
            &format_args!("{:.1}", run.worst_p95_ms()),
            &run.errors,
        ]);
    }
    out.push_str(&t.finish());
    let held = points
        .iter()
        .filter(|(_, run)| run.worst_p95_ms() < 200.0)
        .map(|(u, _)| *u)
        .max();
    let plateau = points
        .iter()
        .map(|(_, run)| run.journeys_per_second)
        .fold(0.0, f64::max);
    let _ = writeln!(
        out,
        "\nHighest user count measured with every step's p95 < 200 ms: **{}**. Highest throughput: {plateau:.2} journeys/s; \
         hashing ceiling {} cores ÷ (4 hashes × {:.1} ms) = **{:.1} journeys/s**.\n",
        held.map_or("none".to_owned(), |u| u.to_string()),
        r.cores,
        r.hash_seconds * 1000.0,
        r.hashing_ceiling
    );

    out.push_str("## c. telemetry on vs off\n\nOn: metrics, JSON logs at the default level, traces exported to a local OTLP receiver. Off: `--telemetry off` (benchmarks only).\n\n### hot route: `GET /api/profile/me`, wrk 8 connections, rate limit off\n\n");
    alternated(
        &mut out,
        &r.route,
        |x: &RouteRun| x.requests_per_second,
        |x| x.server_cpu_us_per_request,
    );
    let _ = write!(
        out,
        "### seed-benchmark journey, {:.2} journeys/s arriving on a clock (open model; the load of {} users with the original pauses)\n\n",
        r.journey_rate, r.journey_users
    );
    alternated(
        &mut out,
        &r.journey,
        |x: &LoadRun| x.requests_per_second,
        |x| x.server_cpu_us_per_request,
    );

    let _ = writeln!(
        out,
        "## d. memory (RSS of the platform process)\n\nSoak: {} s on each storage, both at once.\n",
        r.soak_seconds
    );
    let mut t = Table::new(&[
        left("run"),
        right("peak MiB"),
        right("last MiB"),
        right("slope after warm-up, MiB/min"),
        right("samples"),
    ]);
    let mut memory = vec![
        ("seed-benchmark, 50 users, SQLite", &r.seed),
        ("soak, every journey, SQLite", &r.soak_sqlite),
    ];
    if let Ok(pg) = &r.soak_postgres {
        memory.push(("soak, every journey, PostgreSQL", pg));
    }
    for (name, run) in &memory {
        let m = run.memory;
        t.row(&[
            name,
            &format_args!("{:.1}", m.peak_mib),
            &format_args!("{:.1}", m.last_mib),
            &format_args!("{:+.3}", m.slope_mib_per_min),
            &m.samples,
        ]);
    }
    out.push_str(&t.finish());
    if let Err(e) = &r.soak_postgres {
        let _ = writeln!(out, "\nPostgreSQL soak NOT MEASURED: {e}");
    }

    let wrk = median(
        &r.route
            .on
            .iter()
            .map(|x| x.client_cpu_us_per_request)
            .collect::<Vec<_>>(),
    );
    let loadgen = r.seed.client_cpu_us_per_request;
    let loadgen_ratio = loadgen / wrk.max(1e-9);
    let _ = writeln!(
        out,
        "\n## e. the load generator's own cost\n\nloadgen: {loadgen:.1} µs CPU per request (seed-benchmark journey, run a); \
         wrk: {wrk:.1} µs per request (hot route, median of the telemetry-on runs). Ratio **{loadgen_ratio:.1}**. \
         (loadgen cannot replay a single route: its figure is over the journey's mixed requests.)\n\n\
         ## f. split deployment\n\nMeasured separately with `deploy/local-cluster.sh`: see [scaling.md](scaling.md).\n"
    );
    if let Some(social) = &r.social {
        social_sections(&mut out, social);
    }

    let (route_on, route_off) = medians(&r.route, |x| x.requests_per_second);
    let (journey_on, journey_off) = medians(&r.journey, |x| x.requests_per_second);
    let peak = memory
        .iter()
        .map(|(_, run)| run.memory.peak_mib)
        .fold(0.0, f64::max);
    let checks = [
        (
            "hot route throughput off ÷ on",
            route_off / route_on.max(1e-9),
            gates::HOT_ROUTE_THROUGHPUT,
        ),
        (
            "seed journey throughput off ÷ on",
            journey_off / journey_on.max(1e-9),
            gates::JOURNEY_THROUGHPUT,
        ),
        ("peak RSS MiB", peak, gates::RSS_MIB),
        (
            "loadgen ÷ wrk CPU per request",
            loadgen_ratio,
            gates::LOADGEN_OVER_WRK,
        ),
        (
            "errors in the seed-benchmark run",
            r.seed.errors as f64,
            0.0,
        ),
    ];
    out.push_str("## gates\n\n");
    let mut t = Table::new(&[
        left("check"),
        right("measured"),
        right("limit"),
        left("verdict"),
    ]);
    let mut failed = Vec::new();
    for (name, value, limit) in checks {
        let ok = value <= limit;
        if !ok {
            failed.push(format!("{name} {value:.3} > {limit}"));
        }
        t.row(&[
            &name,
            &format_args!("{value:.3}"),
            &limit,
            &if ok { "pass" } else { "FAIL" },
        ]);
    }
    out.push_str(&t.finish());
    (out, failed)
}

/// `banter bench --social`'s report.
pub fn social_only(r: &SocialOnly) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Banter benchmark (social parts)\n\ncommit `{}`, {}, {}.\n",
        r.git_sha, r.machine, r.date
    );
    social_sections(&mut out, &r.social);
    out
}

/// Parts g (fan-out cost) and h (the social journey's capacity).
fn social_sections(out: &mut String, r: &SocialResults) {
    let _ = writeln!(
        out,
        "## g. fan-out cost as an author's follower count grows\n\n\
         The posts module in the bench's process on a fresh database, its use cases called directly (no HTTP); \
         followers written through its store. Per author: one post not timed, then the timed ones; \
         entries counted in storage (the author's and the followers' timelines) before and after. \
         \"read\" is a follower's first page of home timeline. \"{}\" is the default; \"{}\" is what the hybrid avoids.\n",
        Mode::Hybrid.label(),
        Mode::AllOnWrite.label()
    );
    for (storage, rows) in &r.fanout {
        let _ = writeln!(out, "### {}\n", storage.label());
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                let _ = writeln!(out, "NOT MEASURED: {e}\n");
                continue;
            }
        };
        let mut t = Table::new(&[
            right("followers"),
            left("mode"),
            left("fanned out"),
            right("create p50 ms"),
            right("create p95 ms"),
            right("entries written per post"),
            right("read p50 ms"),
            right("read p95 ms"),
        ]);
        for followers in FOLLOWERS {
            for row in rows.iter().filter(|row| row.followers == followers) {
                t.row(&[
                    &row.followers,
                    &row.mode.label(),
                    &if row.fanned_out_on_write {
                        "on write"
                    } else {
                        "on read"
                    },
                    &format_args!("{:.2}", row.create_p50_ms),
                    &format_args!("{:.2}", row.create_p95_ms),
                    &format_args!("{:.0}", row.entries_per_post),
                    &format_args!("{:.2}", row.read_p50_ms),
                    &format_args!("{:.2}", row.read_p95_ms),
                ]);
            }
        }
        out.push_str(&t.finish());
        let seed: f64 = rows
            .iter()
            .filter(|row| row.mode == Mode::Hybrid)
            .map(|row| row.seed_seconds)
            .sum();
        let _ = writeln!(
            out,
            "\nFollowers seeded through the store in {seed:.1} s ({} follows).\n",
            FOLLOWERS.iter().sum::<usize>()
        );
    }

    let _ = writeln!(
        out,
        "## h. social journey capacity\n\n\
         DeathStarBench's mix (10 % compose, 60 % home timeline, 30 % user timeline, plus likes, comments, follows) \
         offered at fixed rates of actions per second (open model), each on a fresh platform (SQLite), {} s measured \
         after a 10 s warm-up that seeds the journey's community; doubling until the home timeline's p95 reaches \
         200 ms or a request fails.\n",
        r.capacity_seconds
    );
    let mut t = Table::new(&[
        right("offered actions/s"),
        right("home timeline reads/s"),
        right("home p50 ms"),
        right("home p95 ms"),
        right("all requests/s"),
        right("errors"),
        left("worst step (p95 ms)"),
    ]);
    for run in &r.capacity {
        t.row(&[
            &format_args!("{:.0}", run.offered_per_second),
            &format_args!("{:.1}", run.timeline_reads_per_second),
            &format_args!("{:.1}", run.timeline_p50_ms),
            &format_args!("{:.1}", run.timeline_p95_ms),
            &format_args!("{:.1}", run.requests_per_second),
            &run.errors,
            &format_args!("{} ({:.1})", run.worst_step, run.worst_step_p95_ms),
        ]);
    }
    out.push_str(&t.finish());
    match r.capacity() {
        Some(best) => {
            let _ = writeln!(
                out,
                "\nCapacity: **{:.0} home timeline reads/s** with p95 {:.1} ms and no error (offered {:.0} actions/s).\n",
                best.timeline_reads_per_second, best.timeline_p95_ms, best.offered_per_second
            );
        }
        None => out.push_str("\nNo rate held p95 < 200 ms without errors.\n\n"),
    }
}

//! `loadgen`: run journeys against Banter, merge worker records, render reports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use loadgen::context::JourneySettings;
use loadgen::journeys::social::graph::GraphSize;
use loadgen::profile::{self, Plan, ProfileName, Request};
use loadgen::target::Targets;
use loadgen::worker::{self, Worker};
use loadgen::{Journey, RunConfig, report};
use runrecord::RunRecord;

#[derive(Parser)]
#[command(
    name = "loadgen",
    version,
    about = "Load generator for Banter: goose user journeys, HDR latency per step, run records and reports.",
    long_about = "Load generator for Banter: runs user journeys (goose scenarios) against Banter's HTTP API, \
measures every step's latency on the client in HDR histograms, and writes a versioned run record \
(run.json) plus report.md and report.html.\n\n\
Journeys: seed-benchmark (the original k6 benchmark, step for step with its sleeps), \
chat (steady chat traffic with SSE delivery latency), notifications (friend-request and message flows through the notification stream), \
social (DeathStarBench's social network mix on a seeded power-law follower graph: compose posts, read home and user timelines, \
likes, comments, follows; every post checked in a follower's home timeline by the next request). \
Without --journey, all four run together, so every service gets traffic.\n\
Profiles: smoke, load (50 users), seed-benchmark (the k6 ramping-vus: 10 s to 50 users, 1 min, 10 s down), \
spike, stress, soak, capacity (raises the arrival rate until the SLO breaks).\n\n\
Example:\n  banter serve &\n  loadgen run --target-url http://127.0.0.1:8000 --profile load --duration 20s --out runs/first\n  \
loadgen report runs/first/run.json\n  slo check --run runs/first/run.json"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const RUN_HELP: &str = "\
Models: --users alone is the closed model (each user starts its next iteration when the last one
ended, with think times); --rate is the open model (iterations arrive at a fixed rate whatever the
response times, and latency counts from when an iteration was due, so queueing is never hidden).

Profiles (defaults; --users, --rate, --duration and --warmup override them):
  smoke     2 users, 10 s measured after 3 s warm-up
  load      50 users, 60 s after 5 s
  seed-benchmark
            the original k6 ramping-vus: 10 s ramp to --users (50), hold, 10 s ramp down;
            all 80 s measured as k6 did (--duration sets the total)
  spike     --users is the peak (50): a fifth of it, the peak for a third of the window, back down
  stress    steps of --users (50) up to 4 times that over the window (120 s)
  soak      50 users for 30 min after 10 s (at most 24 h)
  capacity  open model from --rate (10/s), times --rate-factor each stage of --duration (20 s),
            until the SLO (p95 < 200 ms, errors < 0.1 %) breaks; reports the highest rate that held

Distributed runs (more load than one machine makes): start the same command N times, on one or
several machines, each with --worker I/N (I = 0 … N-1, like Kubernetes' JOB_COMPLETION_INDEX) and
its own --out. Worker I runs the same profile with its share of --users (or of the profile's
default users; spike and stress share the peak and the step) or, with --rate, of the arrival rate;
the shares add up to the whole. Then merge the records (every worker exactly once) and check:
  run='loadgen run --target-url http://127.0.0.1:8000 --users 40 --duration 30s -j seed-benchmark -j chat -j notifications -j social'
  $run --worker 0/3 --out runs/w0 & $run --worker 1/3 --out runs/w1 & $run --worker 2/3 --out runs/w2 & wait
  loadgen merge runs/w0/run.json runs/w1/run.json runs/w2/run.json --output runs/all/run.json
  slo check --spec slo/specs/banter.yaml --run runs/all/run.json
Start the workers together: the merged window runs from the first start to the last end.
deploy/k8s/load runs the same as a Kubernetes Indexed Job. The capacity profile runs in one process.

The social journey first seeds a community: --social-accounts accounts (30), each following
--social-follows others (4) picked by popularity (Zipf: the few most popular accounts get most
of the follows, most accounts one or two), and one post each. That is about
accounts × (3 + follows) requests, sent one at a time before the journey's users start (they
wait for it; keep it inside --warmup): a few seconds at the defaults, a few minutes for
2 000 accounts following 10 each (the most followed then has over a thousand followers).

Output: run.json (the run record; `slo check --run` reads it), report.md, report.html. Failed
requests are kept per step by kind and status code, with a sample (route, status, body, request id).
Exit status: 0 done (see the error counts), 2 bad flags or unreachable target, 130 the run was
interrupted (Ctrl-C): the record is still written, marked `interrupted`.

Examples:
  loadgen run --target-url http://127.0.0.1:8000 --profile smoke
  loadgen run --target-url http://127.0.0.1:8000 --journey seed-benchmark --profile seed-benchmark
  loadgen run --target-url http://127.0.0.1:8000 --rate 20/s --duration 1m --journey chat
  loadgen run --target-url http://127.0.0.1:8000 --journey social --social-accounts 2000 --social-follows 10
  loadgen run --target-url http://127.0.0.1:8000 --posts-url http://127.0.0.1:8006 --journey social";

#[derive(Subcommand)]
enum Command {
    /// Run journeys against a target and write run.json, report.md and report.html.
    #[command(after_help = RUN_HELP)]
    Run(Box<RunArgs>),
    /// Merge run records of parallel workers into one (lossless: counts and histograms add up).
    ///
    /// Records of `loadgen run --worker I/N` must include every worker 0..N-1
    /// exactly once (exit 2 otherwise); the merged record's users and rate are
    /// the whole run's.
    Merge {
        /// Run records to merge.
        #[arg(required = true, num_args = 1..)]
        records: Vec<PathBuf>,
        /// Where to write the merged record.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Render report.md and report.html from a run record.
    Report {
        /// The run record (run.json).
        record: PathBuf,
        /// Directory for the reports [default: the record's directory].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print a shell completion script, e.g. `loadgen completions bash > ~/.local/share/bash-completion/completions/loadgen`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Base URL serving every service (e.g. http://127.0.0.1:8000 for `banter serve`).
    #[arg(long, env = "LOADGEN_TARGET_URL")]
    target_url: Option<String>,
    /// URL of the users service (overrides --target-url for it).
    #[arg(long)]
    users_url: Option<String>,
    /// URL of the friends service.
    #[arg(long)]
    friends_url: Option<String>,
    /// URL of the chat service.
    #[arg(long)]
    chat_url: Option<String>,
    /// URL of the notifications service.
    #[arg(long)]
    notifications_url: Option<String>,
    /// URL of the posts service.
    #[arg(long)]
    posts_url: Option<String>,
    /// Closed model: number of virtual users (with --rate: the pool size).
    #[arg(long, short = 'u')]
    users: Option<usize>,
    /// Open model: iterations (journey starts) per second, e.g. 20 or 20/s or 600/m.
    #[arg(long, short = 'r', value_parser = profile::parse_rate)]
    rate: Option<f64>,
    /// Length of the measured window, e.g. 20s, 5m, 1h [default: per profile].
    #[arg(long, short = 'd', value_parser = profile::parse_duration)]
    duration: Option<Duration>,
    /// Warm-up before the window (users start, excluded from the record) [default: per profile].
    #[arg(long, value_parser = profile::parse_duration)]
    warmup: Option<Duration>,
    /// Journey to run (repeatable): seed-benchmark, chat, notifications, social [default:
    /// all four, so every service gets traffic].
    #[arg(long = "journey", short = 'j', value_parser = Journey::parse)]
    journeys: Vec<Journey>,
    /// Load profile: smoke, load, seed-benchmark, spike, stress, soak, capacity.
    #[arg(long, short = 'p', default_value = "load", value_parser = ProfileName::parse)]
    profile: ProfileName,
    /// Output directory [default: runs/<UTC time>].
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Serve client-side metrics in Prometheus format on 127.0.0.1:PORT/metrics during the run.
    #[arg(long)]
    metrics_port: Option<u16>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = profile::parse_duration)]
    timeout: Duration,
    /// How long to wait for an event on a stream before counting a timeout.
    #[arg(long, default_value = "10s", value_parser = profile::parse_duration)]
    event_timeout: Duration,
    /// chat: share of users (0-1) whose partner holds an SSE stream.
    #[arg(long, default_value_t = 0.5)]
    stream_share: f64,
    /// social: accounts in the community seeded before the journey starts.
    #[arg(long, default_value_t = GraphSize::default().accounts, value_name = "N")]
    social_accounts: usize,
    /// social: how many others each seeded account follows (by popularity).
    #[arg(long, default_value_t = GraphSize::default().follows, value_name = "N")]
    social_follows: usize,
    /// capacity: SLO spec (Sloth YAML) deciding whether a stage held [default: Banter's SPEC §7].
    #[arg(long)]
    slo_spec: Option<PathBuf>,
    /// capacity: most stages to try.
    #[arg(long, default_value_t = 8)]
    max_stages: usize,
    /// capacity: each stage's rate is the previous one times this.
    #[arg(long, default_value_t = 1.5)]
    rate_factor: f64,
    /// Run worker I's share of a run split over N processes (I/N, I from 0):
    /// its part of the users or arrival rate; see "Distributed runs" below.
    #[arg(long, env = "LOADGEN_WORKER", value_name = "I/N", value_parser = Worker::parse)]
    worker: Option<Worker>,
    /// No progress lines while running.
    #[arg(long, short = 'q')]
    quiet: bool,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("loadgen: {msg}");
    ExitCode::from(2)
}

async fn run(args: RunArgs) -> ExitCode {
    let targets = match Targets::new(
        args.target_url.as_deref(),
        [
            args.users_url.as_deref(),
            args.friends_url.as_deref(),
            args.chat_url.as_deref(),
            args.notifications_url.as_deref(),
            args.posts_url.as_deref(),
        ],
    ) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    if args.users.is_some() && args.rate.is_some() && args.profile != ProfileName::Capacity {
        eprintln!(
            "loadgen: note: with --rate, --users is the size of the user pool serving the arrivals"
        );
    }
    if !(0.0..=1.0).contains(&args.stream_share) {
        return fail("--stream-share must be between 0 and 1");
    }
    let social = GraphSize {
        accounts: args.social_accounts,
        follows: args.social_follows,
    };
    if let Err(e) = social.check() {
        return fail(e);
    }
    let request = Request {
        users: args.users,
        rate: args.rate,
        duration: args.duration,
        warmup: args.warmup,
    };
    let plan = match args.worker {
        Some(worker) => worker.plan(args.profile, &request),
        None => Plan::new(args.profile, &request),
    };
    let plan = match plan {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let journeys = if args.journeys.is_empty() {
        Journey::ALL.to_vec()
    } else {
        args.journeys
    };
    // The open model's pool, unless given, must cover the journeys' pauses.
    let plan = match plan.model {
        profile::Model::Open { rate, .. } if args.users.is_none() => plan.at_rate(
            rate,
            Some(profile::pool_for_iterations(
                rate,
                loadgen::run::longest_iteration(&journeys),
            )),
        ),
        _ => plan,
    };
    if plan.users() < journeys.len() {
        return fail(format!(
            "{} journeys need at least {} users (goose gives each user one journey)",
            journeys.len(),
            journeys.len()
        ));
    }
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from("runs").join(chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string())
    });
    let cfg = RunConfig {
        targets,
        journeys,
        plan,
        settings: JourneySettings {
            stream_share: args.stream_share,
            event_timeout: args.event_timeout,
            request_timeout: args.timeout,
            social,
        },
        out: Some(out),
        metrics_port: args.metrics_port,
        progress: !args.quiet,
        slo_spec: args.slo_spec,
        max_stages: args.max_stages,
        rate_factor: args.rate_factor,
    };
    if !args.quiet {
        eprintln!(
            "loadgen: {} on {} — profile {}{} (goose plan {}), {}s warm-up + {}s measured",
            cfg.journeys
                .iter()
                .map(|j| j.name())
                .collect::<Vec<_>>()
                .join(", "),
            cfg.targets.host(),
            cfg.plan.profile.as_str(),
            cfg.plan
                .worker
                .map(|w| format!(", worker {w}"))
                .unwrap_or_default(),
            cfg.plan.test_plan,
            cfg.plan.warmup.as_secs(),
            cfg.plan.duration.as_secs()
        );
    }
    match loadgen::run(&cfg).await {
        Err(e) => fail(e),
        Ok(output) => {
            println!("\n{}", report::summary(&output.record));
            if let Some(c) = &output.capacity {
                match c.highest_rate {
                    Some(r) => println!("capacity: highest arrival rate meeting the SLO: {r}/s"),
                    None => println!("capacity: even the first stage breached the SLO"),
                }
            }
            for f in &output.files {
                println!("wrote {}", f.display());
            }
            if output.record.interrupted {
                eprintln!(
                    "loadgen: the run was interrupted: {:.1} s measured of {} s requested (run.json says `interrupted: true`)",
                    output.record.window.seconds(),
                    cfg.plan.duration.as_secs()
                );
                return ExitCode::from(130);
            }
            ExitCode::SUCCESS
        }
    }
}

fn merge(records: &[PathBuf], output: &PathBuf) -> ExitCode {
    let mut all = Vec::new();
    for path in records {
        match RunRecord::read(path) {
            Ok(r) => all.push((path.display().to_string(), r)),
            Err(e) => return fail(e),
        }
    }
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return fail(format!("cannot create {}: {e}", dir.display()));
    }
    match worker::merge(&all) {
        Ok(merged) => match merged.write(output) {
            Ok(()) => {
                println!(
                    "merged {} records ({} workers) into {}",
                    all.len(),
                    merged.workers,
                    output.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Err(e) => fail(e),
    }
}

fn render(record: &PathBuf, out: Option<PathBuf>) -> ExitCode {
    let r = match RunRecord::read(record) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let dir = out.unwrap_or_else(|| {
        record
            .parent()
            .map(PathBuf::from)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    });
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return fail(format!("cannot create {}: {e}", dir.display()));
    }
    match report::write(&r, &dir) {
        Ok(files) => {
            print!("{}", report::summary(&r));
            for f in files {
                println!("wrote {}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn print_completions(shell: clap_complete::Shell) -> ExitCode {
    use clap::CommandFactory;
    // Generated into memory: the generator panics on a failed write.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "loadgen", &mut script);
    let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    reportkit::exit_quietly_when_stdout_closes();
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            let args = *args;
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => return fail(format!("cannot start the async runtime: {e}")),
            };
            runtime.block_on(run(args))
        }
        Command::Merge { records, output } => merge(&records, &output),
        Command::Report { record, out } => render(&record, out),
        Command::Completions { shell } => print_completions(shell),
    }
}

#[cfg(test)]
mod help_examples {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// Every `loadgen …` line of the help (no quoting needed in them) parses.
    #[test]
    fn every_help_example_parses_as_written() {
        let mut cmd = Cli::command();
        let mut helps = vec![cmd.render_long_help().to_string()];
        helps.extend(
            cmd.find_subcommand_mut("run")
                .map(|s| s.render_long_help().to_string()),
        );
        let mut seen = 0;
        for line in helps.iter().flat_map(|h| h.lines()).map(str::trim) {
            if !line.starts_with("loadgen ") {
                continue;
            }
            let argv: Vec<&str> = line.split_whitespace().collect();
            if let Err(e) = Cli::try_parse_from(&argv) {
                panic!("`{line}` does not parse: {e}");
            }
            seen += 1;
        }
        assert!(seen >= 5, "only {seen} examples");
    }
}

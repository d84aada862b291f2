//! The `slo` command line. Exit codes: 0 pass, 1 breach or regression, 2 unusable
//! input (invalid spec, unreachable source, no data, bad arguments).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use clap::{Args, Parser, Subcommand};

use slo::check;
use slo::compare::{self, Criterion, Run};
use slo::render::check::Format;
use slo::sources::Source;
use slo::sources::prometheus::PrometheusSource;
use slo::sources::run::RunSource;
use slo::sources::scrape::{ScrapeSource, Snapshot};
use slo::spec::Spec;
use slo::time::parse_time;

mod commands;
use commands::{run_check, run_compare, run_rules, run_snapshot};

const ABOUT: &str =
    "Check service-level objectives, gate CI, compare load-test runs, generate alert rules.";

const LONG_ABOUT: &str = "\
Check service-level objectives against Prometheus, live /metrics endpoints or a
load-generator run record; gate CI with the exit code; compare two runs; generate
Prometheus recording rules and burn-rate alerts from the same Sloth-style spec.

Exit codes: 0 every objective met (or no regression), 1 an objective breached (or a
comparison criterion failed), 2 unusable input: invalid spec, unreachable source,
no data in the window, bad arguments. A check never passes silently.";

const AFTER_HELP: &str = "\
Examples:
  # Is the platform meeting its objectives over the last 15 minutes?
  slo check --spec slo/specs/banter.yaml --prometheus http://127.0.0.1:9090 --from now-15m

  # Without Prometheus: snapshot, run the load, then check the window since the snapshot
  slo snapshot --scrape http://127.0.0.1:8000 -o before.prom
  ...run the load...
  slo check --spec slo/specs/banter.yaml --scrape http://127.0.0.1:8000 --since before.prom

  # The client's view of a load-generator run (built-in spec), as a JUnit report for CI
  slo check --run run.json --format junit --out slo.xml

  # Did the candidate get slower?
  slo compare base.json cand.json --criterion 'p95 <= +10%' --html report.html

  # Alert rules for Prometheus
  slo rules --spec slo/specs/banter.yaml --out alerts/slo.rules.yml";

#[derive(Parser)]
#[command(name = "slo", version, about = ABOUT, long_about = LONG_ABOUT, after_long_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Check(CheckArgs),
    Snapshot(SnapshotArgs),
    Compare(CompareArgs),
    Rules(RulesArgs),
    /// Print a shell completion script, e.g. `slo completions bash > ~/.local/share/bash-completion/completions/slo`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Measure every objective of a spec and decide: exit 0 pass, 1 breach, 2 unusable.
///
/// Each objective is measured over a window by exactly one source:
///
/// - `--prometheus URL`: the spec's PromQL evaluated by Prometheus at --to, with the
///   window (--from..--to, default the last 5 minutes, or --window-of a run record)
///   as the range.
///
/// - `--scrape URL...`: /metrics of each URL scraped now, minus the snapshot given
///   with --since (from `slo snapshot`); without --since, everything since each
///   process started. No Prometheus needed.
///
/// - `--run FILE`: a load-generator run record, the client's view. Steps are matched
///   to objectives by service; latency objectives read the steps' HDR histograms,
///   other objectives count failed requests.
///
/// A latency objective is reported both as the exact share of requests at or under
/// the threshold (the histogram bucket at the threshold, so the threshold must be a
/// bucket bound) and as a quantile estimate (`histogram_quantile`'s interpolation).
/// "Budget used" is the bad ratio over the allowed bad ratio: 100 % means the
/// window used exactly the error budget. An objective with no events in the window
/// is NO DATA and makes the check exit 2, unless the spec marks it `required: false`.
/// Objectives a source cannot see (journey correctness on server metrics) are N/A.
///
/// Every source gives an objective the same meaning: availability counts 5xx
/// answers as bad (the client also counts requests that got no answer); latency
/// counts answers within the threshold as good; journey correctness (run records
/// only) counts unexpected 4xx answers, failed body checks and lost deliveries.
/// A run record of an interrupted run makes the check exit 2.
#[derive(Args)]
#[command(after_long_help = "\
Examples:
  slo check --spec slo/specs/banter.yaml --prometheus http://127.0.0.1:9090 --from now-10m
  slo check --spec slo/specs/banter.yaml --prometheus http://127.0.0.1:9090 --window-of run.json
  slo check --spec slo/specs/banter.yaml --scrape http://127.0.0.1:8000 --since before.prom \\
            --slo users-latency --slo users-availability
  slo check --run run.json --format markdown >> \"$GITHUB_STEP_SUMMARY\"")]
struct CheckArgs {
    /// The SLO spec (Sloth `prometheus/v1` YAML) [default: Banter's built-in
    /// slo/specs/banter.yaml].
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Prometheus base URL, e.g. http://127.0.0.1:9090.
    #[arg(long, value_name = "URL", group = "source")]
    prometheus: Option<String>,
    /// A /metrics endpoint (or a base URL; /metrics is appended). Repeatable.
    #[arg(long, value_name = "URL", group = "source", num_args = 1..)]
    scrape: Vec<String>,
    /// With --scrape: the snapshot taken at the window's start (`slo snapshot`).
    #[arg(long, value_name = "FILE", requires = "scrape")]
    since: Option<PathBuf>,
    /// A load-generator run record.
    #[arg(long, value_name = "FILE", group = "source")]
    run: Option<PathBuf>,
    /// Window start for --prometheus: now-15m, RFC 3339 or Unix seconds [default: now-5m].
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    from: Option<String>,
    /// Window end for --prometheus [default: now].
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    to: Option<String>,
    /// For --prometheus: use the measured window of this run record.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "to"])]
    window_of: Option<PathBuf>,
    /// Check only this objective (by name). Repeatable.
    #[arg(long = "slo", value_name = "NAME")]
    slos: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the report here instead of standard output (a summary still goes to
    /// standard error).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Save the current /metrics of one or more endpoints, to measure a window later.
///
/// `slo check --scrape URL --since FILE` then measures what happened between this
/// snapshot and the check, without Prometheus. The file is Prometheus text with a
/// `# slo-snapshot url=… taken_at=…` line before each endpoint.
#[derive(Args)]
#[command(after_long_help = "\
Examples:
  slo snapshot --scrape http://127.0.0.1:8000 -o before.prom
  slo snapshot --scrape http://127.0.0.1:8005/metrics http://127.0.0.1:8003/metrics -o before.prom")]
struct SnapshotArgs {
    /// A /metrics endpoint (or a base URL). Repeatable.
    #[arg(long, value_name = "URL", required = true, num_args = 1..)]
    scrape: Vec<String>,
    /// Where to write the snapshot.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: PathBuf,
}

/// Compare two runs step by step; exit 1 when a criterion fails.
///
/// The runs are two run records, or with --prometheus two windows of Prometheus
/// (each step then is a service, method and route, and latency intervals come from
/// the histogram buckets). For every step both runs have: throughput, p50/p95/p99 latency and error rate,
/// with absolute and relative deltas. Each latency delta gets a 95 % bootstrap
/// interval (bucket counts of the HDR histograms redrawn 400 times); it is
/// meaningful when the interval excludes zero. An error-rate delta is meaningful by
/// a two-proportion z-test. A criterion fails a step only when the delta is past its
/// bound and meaningful, so two runs of the same build pass (throughput has no
/// noise test: its bound alone decides).
///
/// Criteria are `METRIC <= VALUE` or `METRIC >= VALUE` with METRIC one of
/// throughput, p50, p95, p99, error_rate and VALUE relative (+10%) or absolute
/// (+20ms, +0.1pp for error rate). Default: `p95 <= +10%` and `error_rate <= +0.1pp`.
#[derive(Args)]
#[command(after_long_help = "\
Examples:
  slo compare main.json branch.json
  slo compare main.json branch.json --criterion 'p95 <= +10%' --criterion 'p99 <= +25%'
  slo compare main.json branch.json --criteria slo/criteria.txt --html report.html \\
              --markdown \"$GITHUB_STEP_SUMMARY\"
  slo compare --prometheus http://127.0.0.1:9090 \\
              2026-11-21T10:00:00Z..2026-11-21T10:10:00Z now-10m..now

A criteria file holds one criterion per line; `#` starts a comment:
  p95 <= +10%
  p99 <= +50ms
  error_rate <= +0.1pp
  throughput >= -5%")]
struct CompareArgs {
    /// The baseline: a run record, or with --prometheus a window FROM..TO (or a
    /// run record, whose window is used).
    base: String,
    /// The candidate, like BASE.
    cand: String,
    /// Compare two windows of this Prometheus instead of two run records: one
    /// step per service, method and route of the latency histogram.
    #[arg(long, value_name = "URL")]
    prometheus: Option<String>,
    /// With --prometheus: the latency histogram (base name).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "http_server_request_duration_seconds"
    )]
    metric: String,
    /// With --prometheus: PromQL label matchers selecting the series (the default
    /// leaves out the all-in-one process's own /metrics, /health and /ready).
    #[arg(long, value_name = "MATCHERS", default_value = "service!=\"banter\"")]
    selector: String,
    /// A file of criteria, one per line (replaces the defaults).
    #[arg(long, value_name = "FILE")]
    criteria: Option<PathBuf>,
    /// One criterion, e.g. 'p95 <= +10%' (repeatable; replaces the defaults).
    #[arg(long, value_name = "EXPR")]
    criterion: Vec<String>,
    /// Also write the Markdown report to FILE (appends when FILE exists, for CI step summaries).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write a self-contained HTML report with charts to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write the comparison as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Compare run records even when their journeys, profile or targets differ,
    /// or one was interrupted (refused otherwise, exit 2).
    #[arg(long)]
    force: bool,
}

/// Generate Prometheus recording rules and multi-window multi-burn-rate alerts.
///
/// For each objective: its error ratio over 5m, 30m, 1h, 2h, 6h, 1d, 3d and the 30d
/// period (`slo:sli_error:ratio_rate<window>`, Sloth's names and labels), budget
/// metadata, and one alert with a page and a ticket severity (`sloth_severity`):
/// page at 14.4× burn over 1h and 5m or 6× over 6h and 30m; ticket at 3× over 1d
/// and 2h or 1× over 3d and 6h. Latency objectives become "requests minus those in
/// the threshold's bucket" over all requests, so a threshold must be a bucket bound
/// (the spec's `buckets`, default the platform's): otherwise the spec is refused
/// with the same message `slo check` gives. Objectives only a client can measure
/// (journey correctness) get no rules. Check the output with `promtool check rules`.
#[derive(Args)]
#[command(after_long_help = "\
Examples:
  slo rules --spec slo/specs/banter.yaml > slo.rules.yml && promtool check rules slo.rules.yml")]
struct RulesArgs {
    /// The SLO spec.
    #[arg(long, value_name = "FILE")]
    spec: PathBuf,
    /// Write the rules here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// The error and its causes on one line, each cause once (a message often
/// repeats its source's text already).
fn one_line(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text.replace('\n', " ")
}

/// A URL flag's value must say http:// or https://.
fn check_url(flag: &str, raw: &str) -> Result<()> {
    if !raw.contains("://") {
        bail!("{flag} {raw:?} has no scheme: write it as http://{raw}");
    }
    Ok(())
}

fn print_completions(shell: clap_complete::Shell) -> Result<i32> {
    use clap::CommandFactory;
    // Generated into memory: the generator panics on a failed write.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "slo", &mut script);
    std::io::Write::write_all(&mut std::io::stdout(), &script)?;
    Ok(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    reportkit::exit_quietly_when_stdout_closes();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Completions { shell } => print_completions(shell),
        Command::Check(a) => run_check(a).await,
        Command::Snapshot(a) => run_snapshot(a).await,
        Command::Compare(a) => run_compare(a).await,
        Command::Rules(a) => run_rules(a),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("slo: error: {}", one_line(&e));
            ExitCode::from(2)
        }
    }
}

/// Every example in `--help` is a command line this parser accepts as written.
#[cfg(test)]
mod help_examples {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// Shell words of one command line, up to a redirection or `&&`.
    fn words(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut in_word = false;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, ' ') => {
                    if in_word {
                        out.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                (None, c) => {
                    word.push(c);
                    in_word = true;
                }
            }
        }
        if in_word {
            out.push(word);
        }
        let end = out
            .iter()
            .position(|w| matches!(w.as_str(), ">" | ">>" | "&&" | "|"))
            .unwrap_or(out.len());
        out.truncate(end);
        out
    }

    /// The `slo …` lines of a help text, continuation lines joined.
    fn examples(help: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut pending: Option<String> = None;
        for line in help.lines().map(str::trim) {
            if let Some(mut cmd) = pending.take() {
                cmd.push(' ');
                cmd.push_str(line.trim_end_matches('\\').trim());
                if line.ends_with('\\') {
                    pending = Some(cmd);
                } else {
                    out.push(cmd);
                }
            } else if line.starts_with("slo ") {
                let cmd = line.trim_end_matches('\\').trim().to_owned();
                if line.ends_with('\\') {
                    pending = Some(cmd);
                } else {
                    out.push(cmd);
                }
            }
        }
        out
    }

    #[test]
    fn every_help_example_parses_as_written() {
        let mut cmd = Cli::command();
        let mut helps = vec![cmd.render_long_help().to_string()];
        for sub in ["check", "snapshot", "compare", "rules"] {
            let sub = cmd
                .find_subcommand_mut(sub)
                .map(|s| s.render_long_help().to_string());
            helps.extend(sub);
        }
        let mut seen = 0;
        for help in &helps {
            for example in examples(help) {
                let argv = words(&example);
                if let Err(e) = Cli::try_parse_from(&argv) {
                    panic!("`{example}` does not parse: {e}");
                }
                seen += 1;
            }
        }
        assert!(seen >= 12, "only {seen} examples found");
    }
}

//! `banter`: the one binary of the platform. `banter serve --target all` runs
//! every service in one process on embedded storage; `--target <service>`
//! runs one service alone (the distributed deployment). Which services exist
//! is [`MODULES`], a table: `serve` knows nothing else about them.

mod bench;
mod completions;
mod demo;
mod experiment;
mod platform;
mod ports;
mod serve;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use kit::module::Registration;

/// Every service this binary can run. A new service is its own crate plus
/// one line here.
const MODULES: &[Registration] = &[
    Registration::of::<users::Users>(),
    Registration::of::<friends::Friends>(),
    Registration::of::<chat::Chat>(),
    Registration::of::<notifications::Notifications>(),
    Registration::of::<posts::Posts>(),
];

#[derive(Parser, Debug)]
#[command(
    name = "banter",
    version = kit::LONG_VERSION,
    about = "Banter: an observability-first chat platform",
    long_about = "Banter: an observability-first chat platform.\n\n\
        Every option can also be set with the environment variable shown next to it; \
        flags win over the environment, which wins over defaults.\n\n\
        Quick start:\n  banter serve                      # every service on http://127.0.0.1:8000\n  \
        banter serve --target users       # the users service alone on :8005\n  \
        open http://127.0.0.1:8000/docs   # the API, browsable"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run services over HTTP until Ctrl-C or SIGTERM.
    Serve(Box<serve::ServeArgs>),
    /// Start the platform, drive load, check the SLO and write reports
    /// (exit 0: SLO met, 1: breached, 2: could not measure).
    Demo(demo::DemoArgs),
    /// Run a fault experiment from a scenario file: load, a fault window,
    /// recovery; report SLO burn, alerts (time to detect), recovery and lost
    /// events (exit 0: expectations met, 1: not met, 2: could not run).
    Experiment(experiment::ExperimentArgs),
    /// Measure SPEC §10's targets (seed journey, capacity, telemetry cost,
    /// memory, loadgen's own cost) and write bench.md and bench.json
    /// (exit 1: a regression gate failed, 2: could not measure).
    Bench(bench::BenchArgs),
    /// Print a shell completion script (bash, zsh, fish, …).
    Completions(completions::CompletionsArgs),
}

/// Two malloc arenas, not glibc's default of eight per core: with the
/// default the platform's resident memory kept climbing over a soak while
/// its live heap stayed ~30 MiB (heaptrack) — memory freed by the many
/// threads that allocate (blocking hashing threads, one SQLite worker per
/// connection, reopened after idling) stayed in arenas of their own.
/// mimalloc held more still. docs/benchmarks.md ("Memory") has the figures.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // the workspace's one exception: see Cargo.toml [workspace.lints]
fn bound_malloc_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; it runs first thing
    // in main, before this process starts any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn bound_malloc_arenas() {}

/// The command line, with each module's flags and `--target` values taken
/// from [`MODULES`].
fn command() -> clap::Command {
    Cli::command().mut_subcommand("serve", |serve| serve::command(serve, MODULES))
}

fn main() -> std::process::ExitCode {
    bound_malloc_arenas();
    reportkit::exit_quietly_when_stdout_closes();
    let matches = command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    if let Command::Completions(args) = &cli.command {
        let _ = completions::print(args, command(), "banter");
        return std::process::ExitCode::SUCCESS;
    }
    if let Command::Demo(args) = &cli.command
        && let Some(Err(e)) = args.port.map(ports::ensure_free)
    {
        eprintln!("error: {e}");
        return std::process::ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => {
                let flags = matches.subcommand_matches("serve").unwrap_or(&matches);
                let plan = serve::plan(MODULES, &args.target, flags).unwrap_or_else(|e| e.exit());
                if let Err(msg) = serve::check_faults(&args, &plan) {
                    command()
                        .error(clap::error::ErrorKind::ValueValidation, msg)
                        .exit();
                }
                serve::serve(*args, plan).await.map(|()| 0)
            }
            Command::Demo(args) => demo::run(args).await,
            Command::Experiment(args) => experiment::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Completions(_) => Ok(0),
        }
    });
    match result {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_consistent() {
        super::command().debug_assert();
    }
}

//! `banter serve`: the modules `--target` picks from the module table, on
//! the adapters the flags choose (SQLite or PostgreSQL, in-process bus or
//! Kafka, memory or Redis), served over HTTP until a shutdown signal.

use anyhow::Context as _;
use clap::ValueEnum;
use kit::config::{StorageConfig, TelemetryConfig};
use kit::context::Context;
use kit::db::Database;
use kit::module::{Assembly, Module, Planned, Registration};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// `--target` for every service of the table in one process.
const ALL: &str = "all";

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayMode {
    On,
    Paused,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Services to run in this process (`all`, or one service; see --help).
    #[arg(long, env = "BANTER_TARGET", default_value = ALL)]
    pub target: String,

    /// TCP port to listen on [default: 8000 for `all`, 8005 for `users`].
    #[arg(long, env = "BANTER_PORT", value_name = "N")]
    port: Option<u16>,

    /// Address to listen on; use 0.0.0.0 to accept connections from other hosts.
    #[arg(
        long,
        env = "BANTER_HOST",
        default_value = "127.0.0.1",
        value_name = "IP"
    )]
    host: IpAddr,

    /// Seconds to let in-flight requests finish after a shutdown signal.
    #[arg(
        long,
        env = "BANTER_DRAIN_SECS",
        default_value_t = 10,
        value_name = "SECS"
    )]
    drain_secs: u64,

    /// `paused` keeps events in the outboxes instead of publishing them
    /// (operations and crash tests); they go out once a normal process runs.
    #[arg(long, env = "BANTER_OUTBOX_RELAY", value_enum, default_value_t = RelayMode::On, hide = true)]
    outbox_relay: RelayMode,

    /// Opens the admin surface (`/admin/faults`: list, switch on and off
    /// faults) to callers sending `Authorization: Bearer <SECRET>`; at least
    /// 16 characters (`openssl rand -hex 16`). Unset, there is no admin
    /// surface (404).
    #[arg(long, env = "BANTER_ADMIN_SECRET", value_name = "SECRET", hide_env_values = true, value_parser = kit::faults::admin::parse_secret)]
    admin_secret: Option<kit::faults::admin::AdminSecret>,

    /// Switches a fault on at start (repeatable), for scripted experiments.
    #[arg(long = "fault", value_name = kit::faults::FLAG_SYNTAX, value_parser = kit::faults::parse_flag, long_help = FAULT_HELP)]
    faults: Vec<kit::faults::FaultSpec>,

    #[command(flatten)]
    storage: StorageConfig,

    #[command(flatten)]
    redis: kit::redis::RedisConfig,

    #[command(flatten)]
    kafka: kit::events::KafkaConfig,

    #[command(flatten)]
    auth: kit::auth::AuthConfig,

    #[command(flatten)]
    telemetry: TelemetryConfig,

    #[command(flatten)]
    connections: kit::config::ConnectionLimits,
}

const FAULT_HELP: &str = "Switches a fault on at start (repeatable), for scripted experiments; \
faults are off otherwise. Syntax: KIND:SERVICE[:key=value,...], SERVICE one this process runs.\n\n\
Kinds and their parameters (every kind also takes duration=30s|500ms|2m, after which it \
switches itself off; without it the fault stays on until switched off at /admin/faults):\n  \
db-latency         latency_ms=N or MIN..MAX (default 250), share=0..1 (default 1)\n  \
http-errors        share=0..1 (default 1), route=TEMPLATE (default: every route)\n  \
http-latency       latency_ms=N or MIN..MAX (default 250), share, route: answers held that long\n  \
bus-stall          (none): the service's outbox relay holds its events\n  \
consumer-failures  share=0..1 (default 1), consumer=TOPIC|GROUP (default all)\n  \
cpu-starvation     threads=N (default 1): busy threads take cores\n  \
memory-growth      mb_per_sec=N (default 10), max_mb=N (default 512)\n  \
dependency-down    dependency=redis (default): Redis fails (needs --redis-url)\n\n\
Examples:\n  \
--fault db-latency:users:latency_ms=100..300,share=0.5\n  \
--fault http-errors:chat:share=0.2,route=/api/chat/rooms,duration=2m\n  \
--fault bus-stall:friends:duration=30s\n\n\
A malformed fault is refused at start (exit 2). At run time, with --admin-secret S:\n  \
curl -H 'Authorization: Bearer S' -d '{\"kind\":\"bus-stall\",\"service\":\"chat\"}' \\\n    \
http://127.0.0.1:8000/admin/faults     # GET lists, DELETE /admin/faults/ID ends one";

/// Refuses `--fault`s naming a service the plan does not run (exit 2).
pub fn check_faults(args: &ServeArgs, plan: &Plan) -> Result<(), String> {
    for spec in &args.faults {
        if matches!(spec.fault, kit::faults::Fault::DependencyDown { .. })
            && args.redis.redis_url.is_none()
        {
            return Err(format!(
                "--fault {}: {}",
                spec.fault.kind(),
                kit::faults::FaultError::NoRedis
            ));
        }
        if !plan.modules.iter().any(|m| m.name() == spec.service) {
            let known: Vec<&str> = plan.modules.iter().map(Planned::name).collect();
            return Err(format!(
                "--fault {}: this process runs no service `{}`; it runs {}",
                spec.fault.kind(),
                spec.service,
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// `serve`'s command line: every module's flags, `--target` limited to the
/// modules' names. A module's flags arrive with its settings struct's doc
/// comment as the command's about: `serve` keeps its own.
pub fn command(serve: clap::Command, modules: &[Registration]) -> clap::Command {
    let (about, long_about) = (serve.get_about().cloned(), serve.get_long_about().cloned());
    let serve = serve.mut_arg("target", |arg| {
        arg.value_parser(target_values(modules))
            .long_help(target_help(modules))
    });
    let serve = modules
        .iter()
        .fold(serve, |serve, module| (module.augment)(serve));
    let serve = match about {
        Some(text) => serve.about(text),
        None => serve.about(None::<&str>),
    };
    match long_about {
        Some(text) => serve.long_about(text),
        None => serve.long_about(None::<&str>),
    }
}

/// The values `--target` accepts: `all` and every module's name.
pub fn target_values(modules: &[Registration]) -> clap::builder::PossibleValuesParser {
    let names = std::iter::once(ALL).chain(modules.iter().map(|m| m.name));
    clap::builder::PossibleValuesParser::new(names)
}

pub fn target_help(modules: &[Registration]) -> String {
    let mut help = String::from(
        "Services to run in this process. A single service needs the other services' \
         events: give every process the same `--kafka-brokers`, `--redis-url` and \
         PostgreSQL server, and `--users-url` so it can verify tokens \
         (deploy/local-cluster.sh starts such a deployment).\n\n  all: every service on \
         one port with the in-process event bus (port 8000)",
    );
    for m in modules {
        help.push_str(&format!("\n  {}: {} (port {})", m.name, m.title(), m.port));
    }
    help
}

/// What this process runs: (health title, `service` label of the
/// infrastructure routes, default port, the modules with their config).
pub struct Plan {
    title: String,
    label: &'static str,
    port: u16,
    modules: Vec<Planned>,
}

pub fn plan(
    modules: &[Registration],
    target: &str,
    flags: &clap::ArgMatches,
) -> Result<Plan, clap::Error> {
    let picked: Vec<&Registration> = modules
        .iter()
        .filter(|m| target == ALL || m.name == target)
        .collect();
    let (title, label, port) = match picked.as_slice() {
        [one] if target != ALL => (one.title(), one.name, one.port),
        _ => ("Banter Platform".to_owned(), "banter", 8000),
    };
    Ok(Plan {
        title,
        label,
        port,
        modules: picked
            .iter()
            .map(|m| (m.plan)(flags))
            .collect::<Result<_, _>>()?,
    })
}

/// How long `serve` waits for the Kafka brokers at startup.
const KAFKA_PATIENCE: Duration = Duration::from_secs(30);

pub async fn serve(args: ServeArgs, plan: Plan) -> anyhow::Result<()> {
    let telemetry = kit::telemetry::init(plan.label, &args.telemetry)?;
    let addr = SocketAddr::new(args.host, args.port.unwrap_or(plan.port));
    // Bind first: a port in use is the most common startup failure.
    let listener = kit::server::bind(addr).await?;

    // Revocations, rate limits and presence: in Redis when --redis-url is set.
    let mut ctx = Context::from_config(&args.redis)
        .await
        .context("connecting to Redis")?
        .with_kafka(&args.kafka, KAFKA_PATIENCE)
        .await
        .context("connecting to Kafka")?;
    ctx.relay_paused = args.outbox_relay == RelayMode::Paused;
    ctx.admin_secret = args.admin_secret.clone();
    // Processes without the users service verify tokens with its public
    // keys; the users service holds the signing key itself.
    let mut auth = args.auth.clone();
    if plan.modules.iter().any(|m| m.name() == users::Users::NAME) {
        auth.users_url = None;
    } else if auth.users_url.is_none() {
        tracing::warn!(
            "no --users-url: this process cannot verify access tokens (every authenticated request gets 401)"
        );
    }
    // The owners read models ask (users; friends too, unless chat is given
    // --friends-url) are reached at this URL: a gateway routes both.
    ctx.owners = kit::owners::Owners::new(auth.users_url.clone());
    let key_check = kit::auth::configure(&ctx.verifier, &auth, ctx.limiter.clone())
        .context("configuring token keys")?;

    let mut modules = Vec::with_capacity(plan.modules.len());
    for planned in plan.modules {
        let db = Database::connect(&args.storage, planned.name()).await?;
        modules.push((planned, db));
    }
    let assembly = Assembly::build(&ctx, modules).await?;
    for spec in &args.faults {
        ctx.faults.switch_on(spec.clone())?;
    }
    let running = assembly.start();
    let router = running.router(&plan.title, plan.label, key_check.into_iter().collect());

    let storage = match &args.storage.database_url {
        Some(url) => kit::db::redact_url(url),
        None => format!("sqlite in {}", args.storage.data_dir.display()),
    };
    tracing::info!(
        target_set = args.target,
        %addr,
        storage,
        bus = ctx.bus.name(),
        shared_state = ctx.state_store(),
        version = kit::VERSION,
        git_sha = kit::GIT_SHA,
        "banter listening on http://{addr} (API docs at http://{addr}/docs)"
    );
    let drain = Duration::from_secs(args.drain_secs);
    let shutdown = ctx.shutdown.clone();
    let signal = async move {
        kit::server::shutdown_signal().await;
        // Ends SSE streams so connections can drain.
        shutdown.cancel();
    };
    kit::server::run(listener, router, signal, drain, &args.connections).await?;
    ctx.stop(drain).await;
    running.close().await;
    tracing::info!("stopped");
    telemetry.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn serve_says_what_it_does_whatever_modules_add() {
        let mut command = crate::command();
        let serve = command.find_subcommand_mut("serve").expect("serve");
        let about = serve.get_about().map(ToString::to_string);
        assert_eq!(
            about.as_deref(),
            Some("Run services over HTTP until Ctrl-C or SIGTERM")
        );
        let help = serve.render_long_help().to_string();
        assert!(help.starts_with("Run services over HTTP"), "{help}");
        assert!(!help.contains("Settings of the"), "{help}");
    }
}

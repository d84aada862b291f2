//! `banter`: the one binary of the platform. `banter serve --target all` runs
//! every service in one process on embedded storage; `--target <service>`
//! runs one service alone (the distributed deployment).

mod completions;
mod demo;
mod pipe;
mod ports;

use anyhow::Context as _;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use kit::config::{StorageConfig, TelemetryConfig};
use kit::context::Context;
use kit::db::Database;
use kit::platform::Platform;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

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
    Serve(Box<ServeArgs>),
    /// Start the platform, drive load, check the SLO and write reports
    /// (exit 0: SLO met, 1: breached, 2: could not measure).
    Demo(demo::DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, …).
    Completions(completions::CompletionsArgs),
}

/// Which services this process runs.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Every service on one port with the in-process event bus (port 8000).
    All,
    /// Accounts, tokens, profiles, presence (port 8005).
    Users,
    /// Friend requests, friendships, blocks (port 8003).
    Friends,
    /// Rooms, messages, room streams (port 8002).
    Chat,
    /// Notifications from other services' events (port 8004).
    Notifications,
}

impl Target {
    fn default_port(self) -> u16 {
        match self {
            Self::All => 8000,
            Self::Users => 8005,
            Self::Friends => 8003,
            Self::Chat => 8002,
            Self::Notifications => 8004,
        }
    }
    fn label(self) -> &'static str {
        match self {
            Self::All => "banter",
            Self::Users => "users",
            Self::Friends => "friends",
            Self::Chat => "chat",
            Self::Notifications => "notifications",
        }
    }
    fn title(self) -> &'static str {
        match self {
            Self::All => "Banter Platform",
            Self::Users => "Users Service",
            Self::Friends => "Friends Service",
            Self::Chat => "Chat Service",
            Self::Notifications => "Notifications Service",
        }
    }
    fn runs(self, service: Target) -> bool {
        self == Self::All || self == service
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum RelayMode {
    On,
    Paused,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Services to run in this process. A single service needs the other
    /// services' events: give every process the same `--kafka-brokers`,
    /// `--redis-url` and PostgreSQL server, and `--users-url` so it can verify
    /// tokens (deploy/local-cluster.sh starts such a deployment).
    #[arg(long, value_enum, env = "BANTER_TARGET", default_value_t = Target::All)]
    target: Target,

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

    #[command(flatten)]
    storage: StorageConfig,

    #[command(flatten)]
    redis: kit::redis::RedisConfig,

    #[command(flatten)]
    kafka: kit::events::KafkaConfig,

    #[command(flatten)]
    auth: kit::auth::AuthConfig,

    #[command(flatten)]
    users: users::Config,

    #[command(flatten)]
    friends: friends::Config,

    #[command(flatten)]
    chat: chat::Config,

    #[command(flatten)]
    notifications: notifications::Config,

    #[command(flatten)]
    telemetry: TelemetryConfig,
}

fn main() -> std::process::ExitCode {
    pipe::exit_quietly_when_stdout_closes();
    let cli = Cli::parse();
    if let Command::Completions(args) = &cli.command {
        let _ = completions::print(args, Cli::command(), "banter");
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
            Command::Serve(args) => serve(*args).await.map(|()| 0),
            Command::Demo(args) => demo::run(args).await,
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

/// How long `serve` waits for the Kafka brokers at startup.
const KAFKA_PATIENCE: Duration = Duration::from_secs(30);

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let telemetry = kit::telemetry::init(args.target.label(), &args.telemetry)?;
    let port = args.port.unwrap_or_else(|| args.target.default_port());
    let addr = SocketAddr::new(args.host, port);
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
    let mut platform = Platform::new(args.target.title(), args.target.label());
    for check in ctx.checks() {
        platform = platform.check(check);
    }
    // Split friends/chat/notifications verify tokens with the users service's
    // public keys; users (and `all`) hold the signing key themselves.
    let mut auth = args.auth.clone();
    if args.target.runs(Target::Users) {
        auth.users_url = None;
    } else if auth.users_url.is_none() {
        tracing::warn!(
            "no --users-url: this process cannot verify access tokens (every authenticated request gets 401)"
        );
    }
    ctx.users = kit::users::UsersDirectory::new(auth.users_url.clone());
    if let Some(check) = kit::auth::configure(&ctx.verifier, &auth, ctx.limiter.clone())
        .context("configuring token keys")?
    {
        platform = platform.check(check);
    }
    let mut databases = Vec::new();

    let mut connect = async |service: &str| -> anyhow::Result<Database> {
        let db = Database::connect(&args.storage, service).await?;
        databases.push(db.clone());
        Ok(db)
    };
    let target = args.target;
    let users = match target.runs(Target::Users) {
        true => Some(
            users::Users::build(&args.users, connect("users").await?, &ctx)
                .await
                .context("starting users")?,
        ),
        false => None,
    };
    let friends = match target.runs(Target::Friends) {
        true => Some(
            friends::Friends::build(&args.friends, connect("friends").await?, &ctx)
                .await
                .context("starting friends")?,
        ),
        false => None,
    };
    let chat = match target.runs(Target::Chat) {
        true => Some(
            chat::Chat::build(&args.chat, connect("chat").await?, &ctx)
                .await
                .context("starting chat")?,
        ),
        false => None,
    };
    let notifications = match target.runs(Target::Notifications) {
        true => Some(
            notifications::Notifications::build(
                &args.notifications,
                connect("notifications").await?,
                &ctx,
            )
            .await
            .context("starting notifications")?,
        ),
        false => None,
    };

    // Every consumer subscribes before any relay publishes, so no service
    // misses another's first events.
    if let Some(s) = &users {
        s.subscribe(&ctx).await.context("subscribing users")?;
    }
    if let Some(s) = &friends {
        s.subscribe(&ctx).await.context("subscribing friends")?;
    }
    if let Some(s) = &chat {
        s.subscribe(&ctx).await.context("subscribing chat")?;
    }
    if let Some(s) = &notifications {
        s.subscribe(&ctx)
            .await
            .context("subscribing notifications")?;
    }
    if let Some(s) = &users {
        s.start_relay(&ctx);
        platform = platform.with(s.service());
    }
    if let Some(s) = &friends {
        s.start_relay(&ctx);
        platform = platform.with(s.service());
    }
    if let Some(s) = &chat {
        s.start_relay(&ctx);
        platform = platform.with(s.service());
    }
    if let Some(s) = &notifications {
        s.start_relay(&ctx);
        platform = platform.with(s.service());
    }

    let storage = match &args.storage.database_url {
        Some(url) => kit::db::redact_url(url),
        None => format!("sqlite in {}", args.storage.data_dir.display()),
    };
    tracing::info!(
        target_set = ?args.target,
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
    kit::server::run(listener, platform.into_router(), signal, drain).await?;
    ctx.stop(drain).await;
    for db in databases {
        db.close().await;
    }
    tracing::info!("stopped");
    telemetry.shutdown().await;
    Ok(())
}

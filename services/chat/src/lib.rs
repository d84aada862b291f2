//! The chat service: direct (1:1) and group rooms, messages with edits and
//! soft deletes, read receipts and unread counts, and a resumable SSE stream
//! per room.
//!
//! It owns the `chat` database and nothing else. What it knows of users
//! (names for `participants`, who exists) and of blocks comes from
//! `user.events` and `friend.events` into local read models; what it does
//! goes out as `chat.events` and `message.events` through its outbox. Before
//! it decides on a user or a block it asks their owner (the users and friends
//! services), as the read models may lag (`kit::owners`).

pub mod app;
pub mod domain;
pub mod events;
pub mod http;
pub mod store;

use kit::events::topics::MESSAGE_EVENTS;
use kit::module::{About, BuildError, Consumer, Deps, Module};
use kit::sse::Hub;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The `service` label and the `source` of chat's events.
pub const SERVICE: &str = "chat";

/// Settings of the chat service.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "chat_config")]
#[command(next_help_heading = "Chat service")]
pub struct Config {
    /// Seconds between keep-alive comments on idle room streams.
    #[arg(id = "chat_keep_alive_secs", long = "chat-keep-alive", env = "BANTER_CHAT_KEEP_ALIVE_SECS", default_value_t = 15, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub keep_alive_secs: u64,

    /// Base URL of the friends service (e.g. http://friends:8003), asked
    /// whether a block stands before a room opens or a message goes out,
    /// when friends runs in another process. Default: --users-url, which
    /// serves when it is a gateway routing /api/friends/* as well.
    #[arg(id = "chat_friends_url", long = "friends-url", env = "BANTER_FRIENDS_URL", value_name = "URL",
          value_parser = parse_friends_url)]
    pub friends_url: Option<Url>,
}

/// Every flag at the default its `#[arg]` gives (written once, there).
impl Default for Config {
    fn default() -> Self {
        kit::config::defaults()
    }
}

/// Validates `--friends-url` up front so a typo fails at startup.
fn parse_friends_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL ({e}); expected http://host:8003"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err("expected an http(s) URL with a host, e.g. http://friends:8003".into());
    }
    Ok(url)
}

/// Everything the handlers and consumers share.
pub struct Chat {
    /// The use cases.
    pub app: Arc<app::App>,
    /// Live items of room streams connected to this process, by room id.
    pub hub: Arc<Hub<i64>>,
    /// Which users stream which rooms (shared with the use cases).
    pub streaming: Arc<dyn events::Streaming>,
    pub verifier: Arc<kit::auth::TokenVerifier>,
    pub keep_alive: Duration,
    /// Ends streams when the process shuts down.
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl Module for Chat {
    const ABOUT: About = About::new(SERVICE, 8002, || kit::migrations!());
    type Config = Config;

    /// Picks where "who streams which room" lives: in Redis when the
    /// deployment has one, so every instance sees the streams of every other.
    async fn build(config: &Config, deps: Deps<'_>) -> Result<Arc<Self>, BuildError> {
        let Deps { db, ctx } = deps;
        let keep_alive = Duration::from_secs(config.keep_alive_secs);
        let streaming: Arc<dyn events::Streaming> = match &ctx.redis {
            // Two keep-alives: a stream's entry outlives one missed refresh.
            Some(redis) => Arc::new(events::RedisStreaming::start(
                redis.clone(),
                2 * keep_alive,
                ctx,
            )),
            None => Arc::new(events::InMemoryStreaming::default()),
        };
        let hub = Arc::new(Hub::default());
        let owners = ctx
            .owners
            .clone()
            .with_friends_url(config.friends_url.clone());
        let app = app::App::new(db, hub.clone(), streaming.clone(), owners);
        Ok(Arc::new(Self {
            app: Arc::new(app),
            hub,
            streaming,
            verifier: ctx.verifier.clone(),
            keep_alive,
            shutdown: ctx.shutdown.clone(),
        }))
    }

    fn routes(self: &Arc<Self>) -> (axum::Router, utoipa::openapi::OpenApi) {
        http::router(self.clone())
    }

    /// The users and blocks read models (durable) and the live feed of this
    /// process's room streams.
    fn consumers(self: &Arc<Self>) -> Vec<Consumer> {
        let live = Arc::new(events::LiveRooms(self.hub.clone()));
        let mut consumers = kit::read_model::consumers(SERVICE, self.app.clone());
        consumers.push(Consumer::live(MESSAGE_EVENTS, "sse", live));
        consumers
    }
}

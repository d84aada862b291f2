//! The chat service: direct (1:1) and group rooms, messages with edits and
//! soft deletes, read receipts and unread counts, and a resumable SSE stream
//! per room.
//!
//! It owns the `chat` database and nothing else. What it knows of users
//! (names for `participants`, who exists) and of blocks comes from
//! `user.events` and `friend.events` into local read models; what it does
//! goes out as `chat.events` and `message.events` through its outbox.

pub mod app;
pub mod domain;
pub mod events;
pub mod http;
pub mod store;

use kit::db::Migrations;
use kit::events::topics::{FRIEND_EVENTS, MESSAGE_EVENTS, USER_EVENTS};
use kit::module::{BuildError, Consumer, Deps, Module};
use kit::sse::Hub;
use std::sync::Arc;
use std::time::Duration;

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
}

/// Every flag at the default its `#[arg]` gives (written once, there).
impl Default for Config {
    fn default() -> Self {
        kit::config::defaults()
    }
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

#[async_trait::async_trait]
impl Module for Chat {
    const NAME: &'static str = SERVICE;
    const TITLE: &'static str = "Chat Service";
    const PORT: u16 = 8002;
    type Config = Config;

    fn migrations() -> Migrations {
        kit::migrations!()
    }

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
        let app = app::App::new(db, hub.clone(), streaming.clone(), ctx.users.clone());
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
        vec![
            Consumer::durable(
                USER_EVENTS,
                SERVICE,
                Arc::new(events::UsersModel(self.app.clone())),
            ),
            Consumer::durable(
                FRIEND_EVENTS,
                SERVICE,
                Arc::new(events::BlocksModel(self.app.clone())),
            ),
            Consumer::live(
                MESSAGE_EVENTS,
                "sse",
                Arc::new(events::LiveRooms(self.hub.clone())),
            ),
        ]
    }
}

//! The chat service: direct (1:1) and group rooms, messages with edits and
//! soft deletes, read receipts and unread counts, and a resumable SSE stream
//! per room.
//!
//! It owns the `chat` database and nothing else. What it knows of users
//! (names for `participants`, who exists) and of blocks comes from
//! `user.events` and `friend.events` into local read models; what it does
//! goes out as `chat.events` and `message.events` through its outbox.

pub mod domain;
pub mod events;
pub mod http;
pub mod store;

use kit::context::Context;
use kit::db::Database;
use kit::events::topics::{FRIEND_EVENTS, MESSAGE_EVENTS, USER_EVENTS};
use kit::events::{BusError, ConsumerSpec, Relay, RelayHandle};
use kit::health::DatabaseCheck;
use kit::sse::Hub;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `service` label and the `source` of chat's events.
pub const SERVICE: &str = "chat";
/// What `/health` reports when chat runs alone.
pub const TITLE: &str = "Chat Service";
/// Default port of `banter serve --target chat`.
pub const DEFAULT_PORT: u16 = 8002;

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

impl Default for Config {
    fn default() -> Self {
        Self {
            keep_alive_secs: 15,
        }
    }
}

/// Everything the handlers share.
pub struct Chat {
    pub store: Arc<dyn store::ChatStore>,
    pub db: Database,
    /// Live items of room streams connected to this process, by room id.
    pub hub: Arc<Hub<i64>>,
    /// Which users stream which rooms (in Redis when the deployment has one,
    /// so every instance sees the streams of every other).
    pub streaming: Arc<dyn events::Streaming>,
    pub verifier: Arc<kit::auth::TokenVerifier>,
    /// Asked when the users read model has not yet heard of a user.
    pub users: kit::users::UsersDirectory,
    pub keep_alive: Duration,
    /// Ends streams when the process shuts down.
    pub shutdown: tokio_util::sync::CancellationToken,
    relay: Mutex<Option<Relay>>,
    relay_handle: RelayHandle,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("chat database: {0}")]
    Store(#[from] store::StoreError),
    #[error("chat database (event tables): {0}")]
    Events(#[from] sqlx::migrate::MigrateError),
}

impl Chat {
    /// Migrates the database and prepares (without starting) the outbox relay.
    pub async fn build(
        config: &Config,
        db: Database,
        ctx: &Context,
    ) -> Result<Arc<Self>, BuildError> {
        let store: Arc<dyn store::ChatStore> = match &db {
            Database::Sqlite(pool) => {
                Arc::new(store::SqliteChatStore::migrate(pool.clone()).await?)
            }
            Database::Postgres(pool) => Arc::new(store::PgChatStore::migrate(pool.clone()).await?),
        };
        kit::events::migrate(&db).await?;
        let relay = Relay::new(db.clone(), ctx.bus.clone(), SERVICE);
        let relay_handle = relay.handle();
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
        Ok(Arc::new(Self {
            store,
            db,
            hub: Arc::new(Hub::default()),
            streaming,
            verifier: ctx.verifier.clone(),
            users: ctx.users.clone(),
            keep_alive,
            shutdown: ctx.shutdown.clone(),
            relay: Mutex::new(Some(relay)),
            relay_handle,
        }))
    }

    /// Starts the consumers: the users and blocks read models (durable) and
    /// the live feed of this process's room streams.
    pub async fn subscribe(self: &Arc<Self>, ctx: &Context) -> Result<(), BusError> {
        ConsumerSpec::durable(SERVICE, USER_EVENTS, SERVICE, self.db.clone())
            .spawn(ctx, Arc::new(events::UsersModel(self.store.clone())))
            .await?;
        ConsumerSpec::durable(SERVICE, FRIEND_EVENTS, SERVICE, self.db.clone())
            .spawn(ctx, Arc::new(events::BlocksModel(self.store.clone())))
            .await?;
        ConsumerSpec::live(SERVICE, MESSAGE_EVENTS, "sse")
            .spawn(ctx, Arc::new(events::LiveRooms(self.hub.clone())))
            .await?;
        Ok(())
    }

    /// Starts publishing the outbox (once; later calls do nothing).
    pub fn start_relay(&self, ctx: &Context) {
        let relay = self.relay.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(relay) = relay {
            relay.spawn(ctx);
        }
    }

    /// Tells the relay a transaction with events just committed.
    pub fn published(&self) {
        self.relay_handle.wake();
    }

    /// The service as the platform composes it.
    pub fn service(self: &Arc<Self>) -> kit::platform::Service {
        let db = self.db.clone();
        kit::telemetry::metrics::on_scrape(move || db.record_pool_metrics(SERVICE));
        let (router, openapi) = http::router(self.clone());
        kit::platform::Service {
            name: SERVICE,
            router: kit::http::observe(router, SERVICE),
            openapi,
            checks: vec![Arc::new(DatabaseCheck {
                name: "chat_db".into(),
                db: self.db.clone(),
            })],
        }
    }
}

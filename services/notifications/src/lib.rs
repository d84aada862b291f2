//! The notifications service: turns events of other services into per-user
//! notifications (a friend request received, a friend request accepted, a new
//! message in a room the recipient is not watching), lists them, counts the
//! unread ones, marks them read, and streams new ones over SSE, resumable
//! with `Last-Event-ID`.
//!
//! It owns the `notifications` database and nothing else: what it knows about
//! users comes from `user.events`, never from another service's tables. Each
//! notification is announced as `NotificationCreated` on
//! `notification.events` through the transactional outbox.

pub mod domain;
pub mod events;
pub mod http;
pub mod store;

use kit::auth::TokenVerifier;
use kit::context::Context;
use kit::db::Database;
use kit::events::topics::{FRIEND_EVENTS, MESSAGE_EVENTS, NOTIFICATION_EVENTS, USER_EVENTS};
use kit::events::{BusError, ConsumerSpec, Event, Handler, HandlerError, Relay, RelayHandle};
use kit::health::DatabaseCheck;
use kit::sse::Hub;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The `service` label, the event `source` and the consumer group.
pub const SERVICE: &str = "notifications";

/// Settings of the notifications service.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "notifications_config")]
#[command(next_help_heading = "Notifications service")]
pub struct Config {
    /// Seconds between keep-alive comments on idle notification streams.
    #[arg(id = "notifications_keep_alive_secs", long = "notifications-keep-alive", env = "BANTER_NOTIFICATIONS_KEEP_ALIVE_SECS",
          default_value_t = 15, value_name = "SECS",
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

/// Everything the handlers and consumers share.
pub struct Notifications {
    pub store: Arc<dyn store::NotificationStore>,
    pub db: Database,
    pub verifier: Arc<TokenVerifier>,
    /// Live notifications of this process, keyed by recipient.
    pub hub: Arc<Hub<i64>>,
    pub keep_alive: Duration,
    pub shutdown: CancellationToken,
    relay_handle: RelayHandle,
    relay: Mutex<Option<Relay>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("notifications database: {0}")]
    Store(#[from] store::StoreError),
}

impl Notifications {
    /// Migrates the database (the kit's event tables included).
    pub async fn build(
        config: &Config,
        db: Database,
        ctx: &Context,
    ) -> Result<Arc<Self>, BuildError> {
        kit::events::migrate(&db)
            .await
            .map_err(store::StoreError::from)?;
        let store: Arc<dyn store::NotificationStore> = match &db {
            Database::Sqlite(pool) => {
                Arc::new(store::SqliteNotificationStore::migrate(pool.clone()).await?)
            }
            Database::Postgres(pool) => {
                Arc::new(store::PgNotificationStore::migrate(pool.clone()).await?)
            }
        };
        let relay = Relay::new(db.clone(), ctx.bus.clone(), SERVICE);
        Ok(Arc::new(Self {
            store,
            db,
            verifier: ctx.verifier.clone(),
            hub: Arc::new(Hub::default()),
            keep_alive: Duration::from_secs(config.keep_alive_secs),
            shutdown: ctx.shutdown.clone(),
            relay_handle: relay.handle(),
            relay: Mutex::new(Some(relay)),
        }))
    }

    fn inbound(&self) -> events::Inbound {
        events::Inbound {
            store: self.store.clone(),
            relay: self.relay_handle.clone(),
        }
    }

    /// Starts the consumers: users, friend and message events into
    /// notifications (durable), and `notification.events` into this
    /// process's SSE connections (live).
    pub async fn subscribe(self: &Arc<Self>, ctx: &Context) -> Result<(), BusError> {
        let inbound: Arc<dyn Handler> = Arc::new(self.inbound());
        for topic in [USER_EVENTS, FRIEND_EVENTS, MESSAGE_EVENTS] {
            ConsumerSpec::durable(SERVICE, topic, SERVICE, self.db.clone())
                .spawn(ctx, inbound.clone())
                .await?;
        }
        let fanout = Arc::new(events::Fanout {
            hub: self.hub.clone(),
        });
        ConsumerSpec::live(SERVICE, NOTIFICATION_EVENTS, "sse")
            .spawn(ctx, fanout)
            .await
    }

    /// Starts publishing the outbox (once; later calls do nothing).
    pub fn start_relay(&self, ctx: &Context) {
        if let Some(relay) = self.relay.lock().unwrap_or_else(|e| e.into_inner()).take() {
            relay.spawn(ctx);
        }
    }

    /// Handles one event as the durable consumers do, without their inbox:
    /// for replays and tests of idempotence.
    pub async fn handle_event(&self, event: &Event) -> Result<(), HandlerError> {
        self.inbound().handle(event).await
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
                name: "notifications_db".into(),
                db: self.db.clone(),
            })],
        }
    }
}

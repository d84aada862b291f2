//! The notifications service: turns events of other services into per-user
//! notifications (a friend request received, a friend request accepted, a new
//! message in a room the recipient is not watching, a like, a comment or a
//! reply, a new follower), lists them, counts the
//! unread ones, marks them read, and streams new ones over SSE, resumable
//! with `Last-Event-ID`.
//!
//! It owns the `notifications` database and nothing else: what it knows about
//! users comes from `user.events`, never from another service's tables. Each
//! notification is announced as `NotificationCreated` on
//! `notification.events` through the transactional outbox.

pub mod app;
pub mod domain;
pub mod events;
pub mod http;
pub mod store;

use kit::auth::TokenVerifier;
use kit::db::Database;
use kit::events::topics::{
    FRIEND_EVENTS, MESSAGE_EVENTS, NOTIFICATION_EVENTS, POST_EVENTS, USER_EVENTS,
};
use kit::events::{Event, Handler, HandlerError};
use kit::module::{About, BuildError, Consumer, Deps, Module};
use kit::sse::Hub;
use std::sync::Arc;
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

/// Every flag at the default its `#[arg]` gives (written once, there).
impl Default for Config {
    fn default() -> Self {
        kit::config::defaults()
    }
}

/// The service: what its use cases (`app`) work with, shared by handlers
/// and consumers.
pub struct Notifications {
    pub store: Arc<store::SqlNotificationStore>,
    pub db: Database,
    pub verifier: Arc<TokenVerifier>,
    /// Live notifications of this process, keyed by recipient.
    pub hub: Arc<Hub<i64>>,
    pub keep_alive: Duration,
    pub shutdown: CancellationToken,
}

impl Module for Notifications {
    const ABOUT: About = About::new(SERVICE, 8004, || kit::migrations!());
    type Config = Config;

    async fn build(config: &Config, deps: Deps<'_>) -> Result<Arc<Self>, BuildError> {
        let Deps { db, ctx } = deps;
        let store = Arc::new(store::SqlNotificationStore::new(db.clone()));
        Ok(Arc::new(Self {
            store,
            db,
            verifier: ctx.verifier.clone(),
            hub: Arc::new(Hub::default()),
            keep_alive: Duration::from_secs(config.keep_alive_secs),
            shutdown: ctx.shutdown.clone(),
        }))
    }

    fn routes(self: &Arc<Self>) -> (axum::Router, utoipa::openapi::OpenApi) {
        http::router(self.clone())
    }

    /// Other services' events become notifications (durable); new
    /// notifications fan out to this process's streams (live).
    fn consumers(self: &Arc<Self>) -> Vec<Consumer> {
        let inbound: Arc<dyn Handler> = Arc::new(events::Inbound(self.clone()));
        let mut consumers: Vec<Consumer> =
            [USER_EVENTS, FRIEND_EVENTS, MESSAGE_EVENTS, POST_EVENTS]
                .into_iter()
                .map(|topic| Consumer::durable(topic, SERVICE, inbound.clone()))
                .collect();
        let fanout = Arc::new(events::Fanout {
            hub: self.hub.clone(),
        });
        consumers.push(Consumer::live(NOTIFICATION_EVENTS, "sse", fanout));
        consumers
    }
}

impl Notifications {
    /// Handles one event as the consumers do (tests replay duplicates).
    pub async fn handle_event(self: &Arc<Self>, event: &Event) -> Result<(), HandlerError> {
        events::Inbound(self.clone()).handle(event).await
    }
}

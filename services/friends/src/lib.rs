//! The friends service: friend requests (send, accept, reject, cancel),
//! friendships (list, unfriend), blocks, and a search for users to add.
//!
//! It owns the `friends` database: friendships, blocks, the transactional
//! outbox of `friend.events`, and a read model of users (names, emails, last
//! seen) fed by `user.events` and `user.online_status`. It never reads the
//! users service's tables.

pub mod domain;
pub mod events;
pub mod http;
pub mod store;

use kit::auth::TokenVerifier;
use kit::context::Context;
use kit::db::Database;
use kit::events::{BusError, ConsumerSpec, Relay, topics};
use kit::health::DatabaseCheck;
use std::sync::{Arc, Mutex};

/// The `service` label and event source of this service.
pub const SERVICE: &str = "friends";
/// What `/health` reports when the service runs alone.
pub const TITLE: &str = "Friends Service";
/// Port of the service when it runs alone (SPEC §2).
pub const DEFAULT_PORT: u16 = 8003;

/// Settings of the friends service (none yet).
#[derive(clap::Args, Debug, Clone, Default)]
#[group(id = "friends_config")]
#[command(next_help_heading = "Friends service")]
pub struct Config {}

/// Everything the handlers share.
pub struct Friends {
    pub store: Arc<dyn store::FriendStore>,
    pub verifier: Arc<TokenVerifier>,
    pub db: Database,
    /// Asked when the users read model has not yet heard of a user.
    pub users: kit::users::UsersDirectory,
    /// Publishes the outbox; taken by [`Friends::start_relay`].
    relay: Mutex<Option<Relay>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("friends database: {0}")]
    Store(#[from] store::StoreError),
    #[error("friends event tables: {0}")]
    Events(#[from] sqlx::migrate::MigrateError),
}

impl Friends {
    /// Migrates the database (service and event tables) and prepares the
    /// outbox relay; nothing runs in the background until
    /// [`Friends::subscribe`] and [`Friends::start_relay`].
    pub async fn build(
        _config: &Config,
        db: Database,
        ctx: &Context,
    ) -> Result<Arc<Self>, BuildError> {
        kit::events::migrate(&db).await?;
        let relay = Relay::new(db.clone(), ctx.bus.clone(), SERVICE);
        let handle = relay.handle();
        let store: Arc<dyn store::FriendStore> = match &db {
            Database::Sqlite(pool) => {
                Arc::new(store::SqliteFriendStore::migrate(pool.clone(), handle).await?)
            }
            Database::Postgres(pool) => {
                Arc::new(store::PgFriendStore::migrate(pool.clone(), handle).await?)
            }
        };
        Ok(Arc::new(Self {
            store,
            verifier: ctx.verifier.clone(),
            db,
            users: ctx.users.clone(),
            relay: Mutex::new(Some(relay)),
        }))
    }

    /// Starts the consumers that feed the users read model.
    pub async fn subscribe(self: &Arc<Self>, ctx: &Context) -> Result<(), BusError> {
        let directory = Arc::new(events::UserDirectory {
            store: self.store.clone(),
        });
        for topic in [topics::USER_EVENTS, topics::USER_ONLINE_STATUS] {
            ConsumerSpec::durable(SERVICE, topic, SERVICE, self.db.clone())
                .spawn(ctx, directory.clone())
                .await?;
        }
        Ok(())
    }

    /// Starts publishing the outbox (once; later calls do nothing).
    pub fn start_relay(&self, ctx: &Context) {
        let relay = self
            .relay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(relay) = relay {
            relay.spawn(ctx);
        }
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
                name: "friends_db".into(),
                db: self.db.clone(),
            })],
        }
    }
}

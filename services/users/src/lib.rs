//! The users service: accounts and credentials, access tokens (EdDSA JWTs
//! other services verify from `/.well-known/jwks.json`), profiles and profile
//! images, user search and lookup, and presence (heartbeats).
//!
//! It owns the `users` database and nothing else; other services learn about
//! users from its events and its HTTP API, never from its tables.

pub mod domain;
pub mod http;
pub mod password;
pub mod presence;
pub mod store;

use kit::auth::{SigningKey, TokenVerifier};
use kit::db::Database;
use kit::health::DatabaseCheck;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the users service.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Lifetime of access tokens, in seconds.
    #[arg(long = "token-ttl", env = "BANTER_TOKEN_TTL_SECS", default_value_t = 1800, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(10..=86_400 * 30))]
    pub token_ttl_secs: u64,

    /// How long a heartbeat keeps a user online, in seconds.
    #[arg(long = "presence-ttl", env = "BANTER_PRESENCE_TTL_SECS", default_value_t = 60, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub presence_ttl_secs: u64,

    /// Password hashes computed at once (0 = one per CPU core). Each takes
    /// 19 MiB and tens of milliseconds.
    #[arg(
        long = "hash-concurrency",
        env = "BANTER_HASH_CONCURRENCY",
        default_value_t = 0,
        value_name = "N"
    )]
    pub hash_concurrency: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            token_ttl_secs: 1800,
            presence_ttl_secs: 60,
            hash_concurrency: 0,
        }
    }
}

/// Everything the handlers share.
pub struct Users {
    pub store: Arc<dyn store::UserStore>,
    pub passwords: password::Passwords,
    pub signing_key: SigningKey,
    pub verifier: Arc<TokenVerifier>,
    pub presence: Arc<dyn presence::Presence>,
    pub token_ttl: Duration,
    pub presence_ttl: Duration,
    pub db: Database,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("users database: {0}")]
    Store(#[from] store::StoreError),
    #[error("users signing key: {0}")]
    Key(#[from] kit::auth::KeyError),
}

impl Users {
    /// Migrates the database, loads (or creates) the shared signing key and
    /// makes `verifier` trust it.
    pub async fn build(
        config: &Config,
        db: Database,
        verifier: Arc<TokenVerifier>,
    ) -> Result<Arc<Self>, BuildError> {
        let store: Arc<dyn store::UserStore> = match &db {
            Database::Sqlite(pool) => {
                Arc::new(store::SqliteUserStore::migrate(pool.clone()).await?)
            }
            Database::Postgres(pool) => Arc::new(store::PgUserStore::migrate(pool.clone()).await?),
        };
        let candidate = SigningKey::generate()?;
        let (kid, pkcs8) = store
            .signing_key(candidate.kid(), candidate.pkcs8())
            .await?;
        let signing_key = SigningKey::from_pkcs8(kid, &pkcs8)?;
        verifier.trust(&signing_key.jwk())?;
        let concurrency = match config.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        Ok(Arc::new(Self {
            store,
            passwords: password::Passwords::new(concurrency),
            signing_key,
            verifier,
            presence: Arc::new(presence::InMemoryPresence::default()),
            token_ttl: Duration::from_secs(config.token_ttl_secs),
            presence_ttl: Duration::from_secs(config.presence_ttl_secs),
            db,
        }))
    }

    /// The service as the platform composes it.
    pub fn service(self: &Arc<Self>) -> kit::platform::Service {
        let db = self.db.clone();
        kit::telemetry::metrics::on_scrape(move || db.record_pool_metrics("users"));
        let (router, openapi) = http::router(self.clone());
        kit::platform::Service {
            name: "users",
            router: kit::http::observe(router, "users"),
            openapi,
            checks: vec![Arc::new(DatabaseCheck {
                name: "users_db".into(),
                db: self.db.clone(),
            })],
        }
    }
}

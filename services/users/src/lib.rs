//! The users service: accounts and credentials, access tokens (EdDSA JWTs
//! other services verify from `/.well-known/jwks.json`), profiles and profile
//! images, user search and lookup, and presence (heartbeats).
//!
//! It owns the `users` database and nothing else; other services learn about
//! users from its events and its HTTP API, never from its tables.

pub mod app;
pub mod domain;
pub mod events;
pub mod http;
pub mod key_file;
pub mod password;
pub mod presence;
pub mod store;

use kit::auth::{SigningKey, TokenVerifier};
use kit::context::Context;
use kit::db::Database;
use kit::events::topics::{FRIEND_EVENTS, USER_EVENTS, USER_ONLINE_STATUS};
use kit::module::{About, BuildError, Consumer, Deps, Module};
use std::sync::Arc;
use std::time::Duration;

/// How long a cached profile may be served (when the deployment has Redis).
pub const PROFILE_CACHE_TTL: Duration = Duration::from_secs(60);

/// How often revocations of expired tokens are deleted (also at start).
const REVOCATION_PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Settings of the users service.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "users_config")]
#[command(next_help_heading = "Users service")]
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
    /// 7 MiB and about 20 ms of CPU.
    #[arg(
        long,
        env = "BANTER_HASH_CONCURRENCY",
        default_value_t = 0,
        value_name = "N"
    )]
    pub hash_concurrency: usize,

    /// Failed logins per account per window before further attempts get 429
    /// (0 = no limit).
    #[arg(
        long,
        env = "BANTER_LOGIN_LIMIT_ACCOUNT",
        default_value_t = 10,
        value_name = "N"
    )]
    pub login_limit_account: u32,

    /// Login attempts per client address per window (0 = no limit). Loopback
    /// clients are exempt unless --login-limit-loopback is set, so load tests
    /// from the same machine are not throttled.
    #[arg(
        long,
        env = "BANTER_LOGIN_LIMIT_ADDRESS",
        default_value_t = 300,
        value_name = "N"
    )]
    pub login_limit_address: u32,

    /// Length of a login rate-limit window, in seconds.
    #[arg(long = "login-limit-window", env = "BANTER_LOGIN_LIMIT_WINDOW_SECS", default_value_t = 60, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub login_limit_window_secs: u64,

    /// Apply the per-address login and registration limits to loopback
    /// clients too.
    #[arg(long, env = "BANTER_LOGIN_LIMIT_LOOPBACK")]
    pub login_limit_loopback: bool,

    /// Registrations per client address per --register-limit-window (0 = no
    /// limit); over it, 429 with Retry-After. Each registration costs a
    /// password hash. Loopback clients are exempt unless
    /// --login-limit-loopback is set, so `banter demo` and `loadgen` on the
    /// same machine (about 40 registrations a second from 127.0.0.1) are not
    /// throttled; a load test reaching the service through a proxy from one
    /// address needs a higher value (e.g. BANTER_REGISTER_LIMIT_ADDRESS=20000).
    #[arg(
        long,
        env = "BANTER_REGISTER_LIMIT_ADDRESS",
        default_value_t = 20,
        value_name = "N"
    )]
    pub register_limit_address: u32,

    /// Length of the registration rate-limit window, in seconds.
    #[arg(long = "register-limit-window", env = "BANTER_REGISTER_LIMIT_WINDOW_SECS", default_value_t = 600, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub register_limit_window_secs: u64,

    /// Take the client address from the last `X-Forwarded-For` entry: set it
    /// when a trusted proxy (the nginx gateway) is the only way in.
    #[arg(long, env = "BANTER_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// Sign tokens with the Ed25519 key in this file (PKCS#8, PEM or DER; e.g.
    /// `openssl genpkey -algorithm ed25519 -out signing-key.pem`) instead of
    /// the key kept in the users database. Every replica must read the same
    /// file; changing the key logs out holders of older tokens.
    #[arg(long, env = "BANTER_SIGNING_KEY_FILE", value_name = "PATH")]
    pub signing_key_file: Option<std::path::PathBuf>,
}

/// Every flag at the default its `#[arg]` gives (written once, there).
impl Default for Config {
    fn default() -> Self {
        kit::config::defaults()
    }
}

/// How hard login may be tried — per account (failures) and per client
/// address (attempts) — and how often one address may register.
#[derive(Debug, Clone)]
pub struct LoginLimits {
    pub account: kit::ratelimit::Limit,
    pub address: kit::ratelimit::Limit,
    pub register_address: kit::ratelimit::Limit,
    pub loopback: bool,
    pub trust_forwarded_for: bool,
}

impl LoginLimits {
    pub fn from_config(config: &Config) -> Self {
        let window = Duration::from_secs(config.login_limit_window_secs);
        let register_window = Duration::from_secs(config.register_limit_window_secs);
        Self {
            account: kit::ratelimit::Limit::per(config.login_limit_account, window),
            address: kit::ratelimit::Limit::per(config.login_limit_address, window),
            register_address: kit::ratelimit::Limit::per(
                config.register_limit_address,
                register_window,
            ),
            loopback: config.login_limit_loopback,
            trust_forwarded_for: config.trust_forwarded_for,
        }
    }

    /// The address whose per-address limits `client` counts against:
    /// none for loopback clients unless they are included.
    pub fn address_of(&self, client: &kit::ratelimit::ClientAddr) -> Option<std::net::IpAddr> {
        client
            .ip(self.trust_forwarded_for)
            .filter(|ip| self.loopback || !ip.is_loopback())
    }
}

/// The service: what its use cases (`app`) work with, shared by handlers
/// and consumers.
pub struct Users {
    pub store: Arc<store::SqlUserStore>,
    /// Users by id, through the profile cache when there is one.
    pub lookup: Arc<dyn store::UserLookup>,
    pub passwords: password::Passwords,
    pub signing_key: SigningKey,
    pub verifier: Arc<TokenVerifier>,
    pub presence: Arc<dyn presence::Presence>,
    pub token_ttl: Duration,
    pub presence_ttl: Duration,
    pub login_limits: LoginLimits,
    /// Decodes profile images, a few at once (each may take 128 MiB).
    pub images: kit::upload::ImageChecker,
    pub db: Database,
    /// Live status changes, keyed by the viewer who should see them.
    pub status_hub: kit::sse::Hub<i64>,
    pub ctx: Context,
    /// Users cached in Redis (behind `lookup`); none in the embedded setup,
    /// where the database is in-process anyway.
    profile_cache: Option<store::ProfileCache>,
}

impl Module for Users {
    const ABOUT: About = About::new("users", 8005, || kit::migrations!());
    type Config = Config;

    /// Migrates the database, loads the signing key (from --signing-key-file,
    /// else the one in the database, created on first start) and makes the
    /// context's verifier trust it.
    async fn build(config: &Config, deps: Deps<'_>) -> Result<Arc<Self>, BuildError> {
        let Deps { db, ctx } = deps;
        let store = Arc::new(store::SqlUserStore::new(db.clone()));
        let profile_cache = ctx
            .redis
            .as_ref()
            .map(|redis| store::ProfileCache::new(redis.clone(), PROFILE_CACHE_TTL));
        let lookup: Arc<dyn store::UserLookup> = match &profile_cache {
            Some(cache) => Arc::new(store::CachedLookup {
                store: store.clone(),
                cache: cache.clone(),
            }),
            None => store.clone(),
        };
        let verifier: Arc<TokenVerifier> = ctx.verifier.clone();
        let signing_key = match &config.signing_key_file {
            Some(path) => key_file::load(path)?,
            None => {
                let candidate = SigningKey::generate()?;
                let (kid, pkcs8) = store
                    .signing_key(candidate.kid(), candidate.pkcs8())
                    .await?;
                SigningKey::from_pkcs8(kid, &pkcs8)?
            }
        };
        verifier.trust(&signing_key.jwk())?;
        let concurrency = match config.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        // Other modules of this process ask us, not our events, whether a
        // user exists (read-your-writes right after a registration).
        ctx.owners
            .serve_users_locally(Arc::new(LocalLookup(lookup.clone())));
        let users = Arc::new(Self {
            store,
            lookup,
            passwords: password::Passwords::new(concurrency),
            signing_key,
            verifier,
            presence: match &ctx.redis {
                Some(redis) => Arc::new(presence::RedisPresence::new(redis.clone())),
                None => Arc::new(presence::InMemoryPresence::default()),
            },
            token_ttl: Duration::from_secs(config.token_ttl_secs),
            presence_ttl: Duration::from_secs(config.presence_ttl_secs),
            login_limits: LoginLimits::from_config(config),
            images: kit::upload::ImageChecker::new(concurrency.min(4)),
            db,
            status_hub: kit::sse::Hub::default(),
            ctx: ctx.clone(),
            profile_cache,
        });
        let filled = users.fill_name_keys().await?;
        if filled > 0 {
            tracing::info!(accounts = filled, "name keys filled");
        }
        // Before any route answers: a token logged out before the restart
        // must not work again.
        users.restore_revocations().await?;
        Ok(users)
    }

    fn routes(self: &Arc<Self>) -> (axum::Router, utoipa::openapi::OpenApi) {
        http::router(self.clone())
    }

    /// The friendships read model, the live feed of friends' status changes,
    /// and the profile cache's invalidation (one instance per event deletes
    /// the shared entry).
    fn consumers(self: &Arc<Self>) -> Vec<Consumer> {
        let projection = Arc::new(events::FriendshipProjection(self.clone()));
        let mut consumers = vec![Consumer::durable(FRIEND_EVENTS, "users", projection)];
        if self.profile_cache.is_some() {
            let invalidation = Arc::new(events::ProfileCacheInvalidation(self.clone()));
            consumers.push(Consumer::durable(USER_EVENTS, "users-cache", invalidation));
        }
        let feed = Arc::new(events::StatusFeed(self.clone()));
        consumers.push(Consumer::live(USER_ONLINE_STATUS, "sse", feed));
        consumers
    }

    /// The sweeper that turns expired presence into offline transitions,
    /// and the pruning of expired token revocations.
    fn start(self: &Arc<Self>, ctx: &Context) {
        let me = self.clone();
        let shutdown = ctx.shutdown.clone();
        ctx.tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(REVOCATION_PRUNE_EVERY) => {}
                    () = shutdown.cancelled() => break,
                }
                if let Err(err) = me.prune_revocations().await {
                    tracing::warn!(error = %err, "could not prune token revocations");
                }
            }
        });
        let me = self.clone();
        let shutdown = ctx.shutdown.clone();
        let every =
            (self.presence_ttl / 10).clamp(Duration::from_millis(200), Duration::from_secs(5));
        ctx.tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    () = shutdown.cancelled() => break,
                }
                me.sweep_presence().await;
            }
        });
    }
}

/// Who exists, answered from this process's users store.
struct LocalLookup(Arc<dyn store::UserLookup>);

#[async_trait::async_trait]
impl kit::owners::LocalUsers for LocalLookup {
    async fn exists(&self, user_id: i64) -> Option<bool> {
        self.0.get(user_id).await.ok().map(|user| user.is_some())
    }
}

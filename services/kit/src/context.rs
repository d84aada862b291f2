//! What every service of a process shares at runtime: the event bus, the
//! token verifier, the rate limiter, the shared-state store (Redis) when the
//! deployment has one, and the shutdown signal with the background tasks that
//! must finish before the process exits.

use crate::auth::{InMemoryRevocations, RedisRevocations, TokenVerifier};
use crate::events::kafka::KafkaCheck;
use crate::events::{Bus, BusError, InProcessBus, KafkaBus, KafkaConfig};
use crate::health::Check;
use crate::ratelimit::{InMemoryRateLimiter, RateLimiter, RedisRateLimiter};
use crate::redis::{Redis, RedisCheck, RedisConfig, RedisError};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct Context {
    pub bus: Arc<dyn Bus>,
    pub verifier: Arc<TokenVerifier>,
    /// Counters behind rate limits (login attempts, ...).
    pub limiter: Arc<dyn RateLimiter>,
    /// Shared state of a deployment with several processes (presence, ...);
    /// `None` in the embedded setup, where it lives in memory.
    pub redis: Option<Redis>,
    /// Fires when the process begins shutting down.
    pub shutdown: CancellationToken,
    /// Background work (relays, consumers) awaited on shutdown.
    pub tasks: TaskTracker,
    /// Publish nothing from outboxes (operations and crash tests).
    pub relay_paused: bool,
    /// The owners of who exists and of blocks, asked before a use case
    /// decides on what a read model may not have heard of yet.
    pub owners: crate::owners::Owners,
    /// Faults switched on in this process (none by default).
    pub faults: crate::faults::Faults,
    /// Opens `/admin/faults` to callers presenting it; unset, there is none.
    pub admin_secret: Option<crate::faults::admin::AdminSecret>,
    /// Extra readiness checks (the Kafka brokers, ...).
    extra_checks: Vec<Arc<dyn Check>>,
}

impl Context {
    /// The embedded setup: in-process bus, in-memory revocations and counters.
    pub fn embedded() -> Self {
        Self {
            bus: Arc::new(InProcessBus::default()),
            verifier: Arc::new(TokenVerifier::new(Arc::new(InMemoryRevocations::default()))),
            limiter: Arc::new(InMemoryRateLimiter::default()),
            redis: None,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            relay_paused: false,
            owners: crate::owners::Owners::default(),
            faults: crate::faults::Faults::default(),
            admin_secret: None,
            extra_checks: Vec::new(),
        }
    }

    /// Exchanges events through the Kafka brokers of `config` (waiting up to
    /// `patience` for them), so separate processes see each other's events.
    /// Without brokers in `config` the context keeps its bus.
    pub async fn with_kafka(
        mut self,
        config: &KafkaConfig,
        patience: Duration,
    ) -> Result<Self, BusError> {
        if config.brokers.is_some() {
            let bus = Arc::new(KafkaBus::connect(config, patience).await?);
            self.extra_checks.push(Arc::new(KafkaCheck(bus.clone())));
            self.bus = bus;
        }
        Ok(self)
    }

    /// Keeps revocations, rate-limit counters and presence in `redis`, shared
    /// with every other process using it.
    pub fn with_redis(mut self, redis: Redis) -> Self {
        self.faults.uses_redis();
        let redis = redis.with_faults(self.faults.clone());
        self.verifier = Arc::new(TokenVerifier::new(Arc::new(RedisRevocations::new(
            redis.clone(),
        ))));
        self.limiter = Arc::new(RedisRateLimiter::new(redis.clone()));
        self.redis = Some(redis);
        self
    }

    /// The embedded setup, on Redis when the configuration names one.
    pub async fn from_config(redis: &RedisConfig) -> Result<Self, RedisError> {
        Ok(match Redis::from_config(redis).await? {
            Some(redis) => Self::embedded().with_redis(redis),
            None => Self::embedded(),
        })
    }

    /// Readiness checks for what the context depends on (Redis, Kafka, ...).
    pub fn checks(&self) -> Vec<Arc<dyn Check>> {
        self.redis
            .iter()
            .map(|r| Arc::new(RedisCheck(r.clone())) as Arc<dyn Check>)
            .chain(self.extra_checks.iter().cloned())
            .collect()
    }

    /// Where shared state lives, for the startup log line.
    pub fn state_store(&self) -> &'static str {
        match self.redis {
            Some(_) => "redis",
            None => "memory",
        }
    }

    /// Signals shutdown and waits (at most `grace`) for background tasks,
    /// which flush outboxes on their way out.
    pub async fn stop(&self, grace: Duration) {
        self.shutdown.cancel();
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "background tasks still running at exit"
            );
        }
    }
}

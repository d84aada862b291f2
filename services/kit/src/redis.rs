//! Redis: the state that several processes of one deployment must share —
//! token revocations, presence, rate-limit counters. Unset, each process keeps
//! that state in memory (the embedded deployment).
//!
//! One multiplexed connection per process (a `ConnectionManager`, which
//! reconnects on its own); every key starts with a prefix so deployments and
//! tests can share one Redis without seeing each other.

use crate::health::Check;
use async_trait::async_trait;
use clap::Args;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Where shared state lives when a deployment runs more than one process.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Shared state")]
pub struct RedisConfig {
    /// Redis URL (redis://[:password@]host:6379[/db]). When set, token
    /// revocations, presence and rate-limit counters live there, shared by every
    /// process; unset, each process keeps them in memory.
    #[arg(long, env = "REDIS_URL", value_name = "URL", value_parser = parse_redis_url)]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key Banter writes, so deployments can share a Redis.
    #[arg(
        long,
        env = "BANTER_REDIS_PREFIX",
        default_value = "banter",
        value_name = "PREFIX"
    )]
    pub redis_prefix: String,
}

/// Every flag at the default its `#[arg]` gives (written once, there).
impl Default for RedisConfig {
    fn default() -> Self {
        crate::config::defaults()
    }
}

/// Validates a Redis URL up front so a typo fails at startup.
pub fn parse_redis_url(raw: &str) -> Result<String, String> {
    let url = Url::parse(raw).map_err(|e| {
        format!("not a URL ({e}); expected redis://host:6379 or redis://host:6379/0")
    })?;
    if url.scheme() != "redis" {
        return Err(format!(
            "unsupported scheme `{}`; expected redis://host:6379 (TLS is not built in; leave it unset for in-memory state)",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host; expected redis://host:6379".into());
    }
    Ok(raw.to_owned())
}

#[derive(Debug, thiserror::Error)]
#[error("redis at {url}: {source}")]
pub struct RedisError {
    url: String,
    source: redis::RedisError,
}

/// A connection to the deployment's Redis, cheap to clone.
#[derive(Clone)]
pub struct Redis {
    conn: ConnectionManager,
    prefix: Arc<str>,
    /// A `dependency-down` fault makes every command fail, as if Redis were gone.
    faults: Option<crate::faults::Faults>,
}

impl Redis {
    /// Connects (and fails) right away, so a wrong address is a startup error.
    /// Commands time out after 2 s: a caller waiting on a dead Redis should get
    /// an error it can answer with, not hang.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, RedisError> {
        let err = |source| RedisError {
            url: redact(url),
            source,
        };
        let client = redis::Client::open(url).map_err(err)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_secs(1));
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(err)?;
        Ok(Self {
            conn,
            prefix: prefix.into(),
            faults: None,
        })
    }

    /// The same connection, failing every command while a `dependency-down`
    /// fault of `faults` is on.
    pub fn with_faults(mut self, faults: crate::faults::Faults) -> Self {
        self.faults = Some(faults);
        self
    }

    /// Connects when the configuration names a Redis.
    pub async fn from_config(config: &RedisConfig) -> Result<Option<Self>, RedisError> {
        match &config.redis_url {
            Some(url) => Ok(Some(Self::connect(url, &config.redis_prefix).await?)),
            None => Ok(None),
        }
    }

    /// `<prefix>:<name>`.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// A handle for commands (multiplexed: clones share one connection).
    pub fn conn(&self) -> RedisConn {
        RedisConn {
            inner: self.conn.clone(),
            faults: self.faults.clone(),
        }
    }

    pub async fn ping(&self) -> Result<(), String> {
        let mut conn = self.conn();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Deletes every key under this prefix (tests and throw-away deployments).
    pub async fn purge(&self) -> Result<usize, String> {
        let mut conn = self.conn();
        let pattern = format!("{}:*", self.prefix);
        let keys: Vec<String> = {
            let mut iter = conn
                .scan_match::<_, String>(&pattern)
                .await
                .map_err(|e| e.to_string())?;
            let mut keys = Vec::new();
            while let Some(key) = futures::StreamExt::next(&mut iter).await {
                keys.push(key.map_err(|e| e.to_string())?);
            }
            keys
        };
        if !keys.is_empty() {
            let mut conn = self.conn();
            conn.del::<_, ()>(&keys).await.map_err(|e| e.to_string())?;
        }
        Ok(keys.len())
    }
}

/// A command handle on the shared connection (what [`Redis::conn`] gives).
#[derive(Clone)]
pub struct RedisConn {
    inner: ConnectionManager,
    faults: Option<crate::faults::Faults>,
}

impl RedisConn {
    fn down(&self) -> Option<redis::RedisError> {
        let faults = self.faults.as_ref()?;
        faults
            .dependency_down(crate::faults::Dependency::Redis)
            .then(|| {
                crate::faults::touched(crate::faults::Kind::DependencyDown);
                redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "fault injected: dependency-down (redis)",
                ))
            })
    }
}

impl redis::aio::ConnectionLike for RedisConn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self.down() {
            Some(err) => Box::pin(async move { Err(err) }),
            None => self.inner.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self.down() {
            Some(err) => Box::pin(async move { Err(err) }),
            None => self.inner.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

/// `/ready` fails while Redis does not answer.
pub struct RedisCheck(pub Redis);

#[async_trait]
impl Check for RedisCheck {
    fn name(&self) -> &str {
        "redis"
    }
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await
    }
}

/// The URL without its password, for logs and errors.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<invalid url>".into(),
    }
}

/// The Redis the tests use: `BANTER_TEST_REDIS_URL` or 127.0.0.1:6379, under a
/// fresh random prefix so parallel tests never share keys. Panics when Redis
/// is down: a missing Redis must fail the tests, not skip them.
#[doc(hidden)]
pub async fn connect_for_test() -> Redis {
    let url =
        std::env::var("BANTER_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("banter-test-{}", uuid::Uuid::new_v4().simple());
    match Redis::connect(&url, &prefix).await {
        Ok(redis) => redis,
        Err(err) => {
            panic!("tests need Redis ({err}); start redis-server or set BANTER_TEST_REDIS_URL")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_url_must_be_redis() {
        assert!(parse_redis_url("redis://127.0.0.1:6379").is_ok());
        assert!(parse_redis_url("redis://:secret@cache:6379/2").is_ok());
        let err = parse_redis_url("rediss://cache:6379").unwrap_err();
        assert!(err.contains("unsupported scheme `rediss`"), "{err}");
        assert!(parse_redis_url("nope").unwrap_err().contains("not a URL"));
        assert_eq!(
            redact("redis://:secret@cache:6379/2"),
            "redis://:***@cache:6379/2"
        );
    }

    #[tokio::test]
    async fn prefixed_keys_are_purged() {
        let redis = connect_for_test().await;
        redis.ping().await.unwrap();
        let mut conn = redis.conn();
        conn.set::<_, _, ()>(redis.key("a"), 1).await.unwrap();
        conn.set::<_, _, ()>(redis.key("b"), 2).await.unwrap();
        assert_eq!(redis.purge().await.unwrap(), 2);
        assert_eq!(redis.purge().await.unwrap(), 0);
    }
}

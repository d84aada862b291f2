//! Public keys fetched from the users service, for services that run without
//! it (`--target friends|chat|notifications`): the signing key lives in the
//! users database, its public half at `/.well-known/jwks.json`.
//!
//! The first fetch retries in the background, so a users service that starts
//! later does not stop anyone else from starting; until a key is known, tokens
//! are answered with 503 and `/ready` says why. A token naming an unknown key
//! (the users service rotated) triggers a refetch, at most one per
//! [`REFETCH_AFTER`], so made-up key ids cannot turn into a flood of fetches.
//! Keys are only ever added: a key the users service drops stays trusted until
//! this process restarts.

use super::{Jwks, TokenVerifier};
use crate::error::ApiError;
use crate::health::Check;
use async_trait::async_trait;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use url::Url;

/// Least time between two fetches caused by tokens with unknown key ids.
pub const REFETCH_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy)]
struct Timing {
    refetch_after: Duration,
    first_retry: Duration,
    max_retry: Duration,
    timeout: Duration,
}

impl Timing {
    const DEFAULT: Self = Self {
        refetch_after: REFETCH_AFTER,
        first_retry: Duration::from_millis(250),
        max_retry: Duration::from_secs(5),
        // A users service that does not answer within 2 s is down for our purpose;
        // requests waiting on the fetch must not hang longer.
        timeout: Duration::from_secs(2),
    };
}

#[derive(Debug, thiserror::Error)]
#[error("cannot fetch token keys from {url}: {reason}")]
pub struct JwksError {
    url: String,
    reason: String,
}

/// Where a verifier fetches keys it does not know.
pub(super) struct KeySource {
    url: Url,
    client: reqwest::Client,
    timing: Timing,
    /// When the last fetch began. Held during a fetch, so requests that arrive
    /// meanwhile wait for its keys instead of starting fetches of their own.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    /// Why the last fetch failed, for `/ready` and logs; `None` after a success.
    last_error: Mutex<Option<String>>,
}

/// Whether a fetch must wait for [`Timing::refetch_after`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum When {
    Now,
    IfDue,
}

impl KeySource {
    fn new(users_url: &Url, timing: Timing) -> Result<Self, JwksError> {
        let error = |reason: String| JwksError {
            url: users_url.to_string(),
            reason,
        };
        // `join` replaces the last path segment unless the base ends with '/'.
        let mut base = users_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let url = base
            .join(".well-known/jwks.json")
            .map_err(|e| error(e.to_string()))?;
        let client = reqwest::Client::builder()
            .timeout(timing.timeout)
            .connect_timeout(timing.timeout)
            .build()
            .map_err(|e| error(e.to_string()))?;
        Ok(Self {
            url,
            client,
            timing,
            last_fetch: tokio::sync::Mutex::new(None),
            last_error: Mutex::new(None),
        })
    }

    async fn fetch(&self) -> Result<Jwks, String> {
        let response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.without_url().to_string())?;
        response
            .json::<Jwks>()
            .await
            .map_err(|e| format!("malformed key set: {}", e.without_url()))
    }

    /// Fetches the key set and trusts every key in it; with [`When::IfDue`],
    /// only if no fetch began within `refetch_after`.
    async fn refresh(&self, verifier: &TokenVerifier, when: When) -> Result<(), String> {
        let mut last_fetch = self.last_fetch.lock().await;
        if when == When::IfDue
            && last_fetch.is_some_and(|at| at.elapsed() < self.timing.refetch_after)
        {
            return Ok(());
        }
        *last_fetch = Some(Instant::now());
        let outcome = self.fetch().await.map(|jwks| {
            for jwk in &jwks.keys {
                // One key we cannot use must not hide the others.
                if let Err(err) = verifier.trust(jwk) {
                    tracing::warn!(kid = %jwk.kid, error = %err, "ignoring a published token key");
                }
            }
            jwks.keys.len()
        });
        let label = if outcome.is_ok() { "ok" } else { "error" };
        metrics::counter!("auth_jwks_fetches_total", "outcome" => label).increment(1);
        let mut last_error = self.last_error.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok(keys) => {
                tracing::debug!(url = %self.url, keys, "fetched token keys");
                *last_error = None;
                Ok(())
            }
            Err(err) => {
                tracing::warn!(url = %self.url, error = %err, "cannot fetch token keys");
                *last_error = Some(err.clone());
                Err(err)
            }
        }
    }

    fn status(&self) -> String {
        match &*self.last_error.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(err) => format!("no token keys from {}: {err}", self.url),
            None => format!("no token keys from {} yet", self.url),
        }
    }
}

impl TokenVerifier {
    /// Trusts the keys the users service publishes at
    /// `{users_url}/.well-known/jwks.json`: fetched now in the background
    /// (retried until one arrives) and again when a token names a key not seen
    /// yet. Returns the readiness check that fails until a key is known.
    ///
    /// Spawns a task, so it must run inside a Tokio runtime. Only the first
    /// call takes effect.
    pub fn fetch_keys_from(self: &Arc<Self>, users_url: &Url) -> Result<JwksCheck, JwksError> {
        self.fetch_keys_with(users_url, Timing::DEFAULT)
    }

    fn fetch_keys_with(
        self: &Arc<Self>,
        users_url: &Url,
        timing: Timing,
    ) -> Result<JwksCheck, JwksError> {
        let source = KeySource::new(users_url, timing)?;
        match self.jwks.set(source) {
            Ok(()) => {
                tokio::spawn(fetch_until_known(Arc::downgrade(self), timing));
            }
            Err(_) => tracing::warn!("token keys are already fetched from the users service"),
        }
        Ok(JwksCheck {
            verifier: Arc::clone(self),
        })
    }

    /// After a token named an unknown key: fetches the keys if due. Errs (503)
    /// only while no key is known at all: then the fault is ours, not the
    /// token's. Without a key source there is nothing to do.
    pub(super) async fn refetch_keys(&self) -> Result<(), ApiError> {
        let Some(source) = self.jwks.get() else {
            return Ok(());
        };
        // A failure is logged and kept for `/ready`; the token decides the rest.
        let _ = source.refresh(self, When::IfDue).await;
        if self.has_keys() {
            Ok(())
        } else {
            Err(ApiError::unavailable(
                "cannot verify tokens yet: the users service's signing keys are unavailable",
            ))
        }
    }
}

/// The startup fetch: retried with backoff until a key is known, and given up
/// when the verifier is dropped.
async fn fetch_until_known(verifier: Weak<TokenVerifier>, timing: Timing) {
    let mut delay = timing.first_retry;
    loop {
        let Some(v) = verifier.upgrade() else { return };
        let Some(source) = v.jwks.get() else { return };
        if source.refresh(&v, When::Now).await.is_ok() && v.has_keys() {
            tracing::info!(url = %source.url, "token keys fetched from the users service");
            return;
        }
        drop(v);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(timing.max_retry);
    }
}

/// `/ready` fails until the verifier knows a key of the users service.
pub struct JwksCheck {
    verifier: Arc<TokenVerifier>,
}

#[async_trait]
impl Check for JwksCheck {
    fn name(&self) -> &str {
        "users-jwks"
    }
    async fn check(&self) -> Result<(), String> {
        if self.verifier.has_keys() {
            return Ok(());
        }
        Err(match self.verifier.jwks.get() {
            Some(source) => source.status(),
            None => "no token keys".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Claims, ISSUER, InMemoryRevocations, SigningKey};
    use axum::Json;
    use axum::extract::State;
    use axum::routing::get;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A stand-in users service: serves whatever keys it holds, counts fetches.
    #[derive(Clone, Default)]
    struct Users {
        keys: Arc<Mutex<Vec<super::super::Jwk>>>,
        fetches: Arc<AtomicUsize>,
    }

    impl Users {
        fn publish(&self, key: &SigningKey) {
            self.keys.lock().unwrap().push(key.jwk());
        }
        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
        async fn serve_on(&self, listener: tokio::net::TcpListener) {
            async fn jwks(State(users): State<Users>) -> Json<Jwks> {
                users.fetches.fetch_add(1, Ordering::SeqCst);
                Json(Jwks {
                    keys: users.keys.lock().unwrap().clone(),
                })
            }
            let app = axum::Router::new()
                .route("/.well-known/jwks.json", get(jwks))
                .with_state(self.clone());
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
        async fn serve(&self) -> Url {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            self.serve_on(listener).await;
            url.parse().unwrap()
        }
    }

    const FAST: Timing = Timing {
        refetch_after: Duration::from_millis(300),
        first_retry: Duration::from_millis(20),
        max_retry: Duration::from_millis(100),
        timeout: Duration::from_secs(2),
    };

    fn verifier() -> Arc<TokenVerifier> {
        Arc::new(TokenVerifier::new(Arc::new(InMemoryRevocations::default())))
    }

    fn token(key: &SigningKey) -> String {
        let now = chrono::Utc::now().timestamp();
        key.sign(&Claims {
            sub: "7".into(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            exp: now + 600,
            iss: ISSUER.into(),
        })
        .unwrap()
    }

    async fn until_ready(check: &JwksCheck) {
        for _ in 0..200 {
            if check.check().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no keys: {:?}", check.check().await);
    }

    #[tokio::test]
    async fn verifies_with_fetched_keys_and_refetches_after_rotation() {
        let users = Users::default();
        let first = SigningKey::generate().unwrap();
        users.publish(&first);
        let url = users.serve().await;
        let v = verifier();
        let check = v.fetch_keys_with(&url, FAST).unwrap();
        assert_eq!(check.name(), "users-jwks");
        // Even before the background fetch lands, a token triggers one.
        assert_eq!(v.verify(&token(&first)).await.unwrap().sub, "7");
        until_ready(&check).await;

        tokio::time::sleep(FAST.refetch_after).await;
        let second = SigningKey::generate().unwrap();
        users.publish(&second);
        assert_eq!(v.verify(&token(&second)).await.unwrap().sub, "7");
        assert_eq!(v.verify(&token(&first)).await.unwrap().sub, "7");
    }

    #[tokio::test]
    async fn a_path_in_the_users_url_is_kept() {
        let source = KeySource::new(&"http://users:8005/banter".parse().unwrap(), FAST).unwrap();
        assert_eq!(
            source.url.as_str(),
            "http://users:8005/banter/.well-known/jwks.json"
        );
        let source = KeySource::new(&"http://users:8005".parse().unwrap(), FAST).unwrap();
        assert_eq!(
            source.url.as_str(),
            "http://users:8005/.well-known/jwks.json"
        );
    }

    #[tokio::test]
    async fn unknown_key_ids_fetch_at_most_once_per_interval() {
        let users = Users::default();
        let key = SigningKey::generate().unwrap();
        users.publish(&key);
        let url = users.serve().await;
        let v = verifier();
        let timing = Timing {
            refetch_after: Duration::from_secs(2),
            ..FAST
        };
        until_ready(&v.fetch_keys_with(&url, timing).unwrap()).await;
        let garbage = || {
            let forged = SigningKey::generate().unwrap();
            let v = Arc::clone(&v);
            async move { v.verify(&token(&forged)).await.unwrap_err() }
        };
        // Right after the startup fetch: nothing is due.
        let before = users.fetches();
        for err in futures::future::join_all((0..30).map(|_| garbage())).await {
            assert_eq!(err.status, 401);
            assert_eq!(err.detail, "token signed by an unknown key");
        }
        assert_eq!(users.fetches(), before);

        // Once due, a burst of unknown ids costs one fetch, not thirty.
        tokio::time::sleep(timing.refetch_after).await;
        for err in futures::future::join_all((0..30).map(|_| garbage())).await {
            assert_eq!(err.status, 401);
        }
        assert_eq!(users.fetches(), before + 1);
        // The real key still verifies without a fetch.
        assert!(v.verify(&token(&key)).await.is_ok());
        assert_eq!(users.fetches(), before + 1);
    }

    #[tokio::test]
    async fn unavailable_until_the_users_service_comes_up() {
        // Reserve a port, then free it: nothing listens there yet.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let url: Url = format!("http://{addr}").parse().unwrap();
        let v = verifier();
        let check = v.fetch_keys_with(&url, FAST).unwrap();
        let key = SigningKey::generate().unwrap();

        let err = v.verify(&token(&key)).await.unwrap_err();
        assert_eq!(
            (err.status.as_u16(), &*err.code),
            (503, "SERVICE_UNAVAILABLE")
        );
        let down = check.check().await.unwrap_err();
        assert!(down.contains("no token keys from"), "{down}");

        let users = Users::default();
        users.publish(&key);
        users
            .serve_on(tokio::net::TcpListener::bind(addr).await.unwrap())
            .await;
        // The background retries find it without any request asking.
        until_ready(&check).await;
        assert_eq!(v.verify(&token(&key)).await.unwrap().sub, "7");
    }

    #[tokio::test]
    async fn a_verifier_without_a_source_answers_401_as_before() {
        let v = verifier();
        let err = v
            .verify(&token(&SigningKey::generate().unwrap()))
            .await
            .unwrap_err();
        assert_eq!(err.status, 401);
    }
}

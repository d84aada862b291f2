//! The per-user API rate limit: every authenticated request counts against its
//! user (key `api:user:{id}`), so one client cannot take a service for itself.
//! Counted where the caller becomes known — the [`super::AuthUser`] extractor —
//! so no handler can forget it.

use super::TokenVerifier;
use crate::error::ApiError;
use crate::ratelimit::{Limit, RateLimiter, enforce};
use std::sync::Arc;

#[derive(Clone)]
pub(super) struct UserLimit {
    limiter: Arc<dyn RateLimiter>,
    limit: Limit,
}

impl TokenVerifier {
    /// Counts every authenticated request against `limit`, per user, in
    /// `limiter` (shared by all processes when it is Redis). A limit that is
    /// off removes the limit; there is none until this is called.
    pub fn limit_users(&self, limiter: Arc<dyn RateLimiter>, limit: Limit) {
        let limit = (!limit.is_off()).then_some(UserLimit { limiter, limit });
        *self.user_limit.write().unwrap_or_else(|e| e.into_inner()) = limit;
    }

    /// The per-user limit in force, if any.
    pub fn user_limit(&self) -> Option<Limit> {
        self.user_limit
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|l| l.limit)
    }

    /// Counts one request by `user_id`: 429 with `Retry-After` when over the
    /// limit; allowed when the limiter cannot answer (see [`enforce`]).
    pub async fn count_request(&self, user_id: i64) -> Result<(), ApiError> {
        let limit = self
            .user_limit
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(UserLimit { limiter, limit }) = limit else {
            return Ok(());
        };
        enforce(
            limiter.hit(&format!("api:user:{user_id}"), limit).await,
            "api_user",
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::auth::{AuthUser, Claims, ISSUER, InMemoryRevocations, SigningKey, TokenVerifier};
    use crate::error::ErrorBody;
    use crate::ratelimit::{InMemoryRateLimiter, Limit, RateLimiter, RedisRateLimiter};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use std::sync::Arc;
    use std::time::Duration;
    use tower::ServiceExt;

    struct App {
        router: axum::Router,
        key: SigningKey,
    }

    impl App {
        fn new(limiter: Option<Arc<dyn RateLimiter>>) -> Self {
            let key = SigningKey::generate().unwrap();
            let verifier = Arc::new(TokenVerifier::new(Arc::new(InMemoryRevocations::default())));
            verifier.trust(&key.jwk()).unwrap();
            if let Some(limiter) = limiter {
                verifier.limit_users(limiter, Limit::per(3, Duration::from_secs(60)));
            }
            let router = axum::Router::new()
                .route(
                    "/me",
                    get(|user: AuthUser| async move { user.id.to_string() }),
                )
                .with_state(verifier);
            Self { router, key }
        }

        async fn get_as(&self, user_id: i64) -> axum::response::Response {
            let now = chrono::Utc::now().timestamp();
            let token = self
                .key
                .sign(&Claims {
                    sub: user_id.to_string(),
                    jti: uuid::Uuid::new_v4().to_string(),
                    iat: now,
                    exp: now + 600,
                    iss: ISSUER.into(),
                })
                .unwrap();
            let request = Request::get("/me")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            self.router.clone().oneshot(request).await.unwrap()
        }
    }

    async fn the_fourth_request_of_a_user_is_refused(limiter: Arc<dyn RateLimiter>) {
        let app = App::new(Some(limiter));
        for _ in 0..3 {
            assert_eq!(app.get_as(1).await.status(), StatusCode::OK);
        }
        let refused = app.get_as(1).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        let body = axum::body::to_bytes(refused.into_body(), 4096)
            .await
            .unwrap();
        let body: ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(body.code, "RATE_LIMITED");

        // Someone else's requests are their own.
        assert_eq!(app.get_as(2).await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn users_are_limited_one_by_one_in_memory() {
        the_fourth_request_of_a_user_is_refused(Arc::new(InMemoryRateLimiter::default())).await;
    }

    #[tokio::test]
    async fn users_are_limited_one_by_one_in_redis() {
        let redis = crate::redis::connect_for_test().await;
        the_fourth_request_of_a_user_is_refused(Arc::new(RedisRateLimiter::new(redis.clone())))
            .await;
        redis.purge().await.unwrap();
    }

    #[tokio::test]
    async fn no_limit_unless_configured() {
        let app = App::new(None);
        for _ in 0..20 {
            assert_eq!(app.get_as(1).await.status(), StatusCode::OK);
        }
    }

    #[test]
    fn an_off_limit_removes_the_limit() {
        let v = TokenVerifier::new(Arc::new(InMemoryRevocations::default()));
        let limiter: Arc<dyn RateLimiter> = Arc::new(InMemoryRateLimiter::default());
        v.limit_users(limiter.clone(), Limit::per(5, Duration::from_secs(1)));
        assert_eq!(v.user_limit(), Some(Limit::per(5, Duration::from_secs(1))));
        v.limit_users(limiter, Limit::per(0, Duration::from_secs(1)));
        assert_eq!(v.user_limit(), None);
    }
}

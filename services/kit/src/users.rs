//! The users service as the owner of who exists. Other services know users
//! from `user.events` (their read models); in a split deployment such an
//! event can arrive a few tens of milliseconds after the registration
//! response, and a client that acts at once (sends a friend request, opens a
//! room) would get a 404 for a user who exists. [`UsersDirectory::catch_up`]
//! asks the owner's HTTP API instead of answering 404, and waits for the read
//! model to hear of the user.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use url::Url;

/// How long a request may wait for a read model to learn of a user the users
/// service already has.
const CATCH_UP: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(20);

/// Answers "does this user exist?" for the users service when it runs in
/// this process (it registers itself with [`UsersDirectory::serve_locally`]).
#[async_trait::async_trait]
pub trait LocalUsers: Send + Sync {
    /// `None` when the answer is not known (the database failed).
    async fn exists(&self, user_id: i64) -> Option<bool>;
}

/// The owner of who exists: the users service in this process, or its HTTP
/// API when this process does not run it. Clones share the local owner.
#[derive(Clone, Default)]
pub struct UsersDirectory {
    owner: Option<(Url, reqwest::Client)>,
    local: Arc<OnceLock<Arc<dyn LocalUsers>>>,
}

impl UsersDirectory {
    /// `users_url` is the users service's base URL; `None` when the users
    /// service runs in this process (its events arrive at once).
    pub fn new(users_url: Option<Url>) -> Self {
        let owner = users_url.and_then(|url| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .ok()
                .map(|client| (url, client))
        });
        Self {
            owner,
            local: Arc::default(),
        }
    }

    /// Makes the users service of this process the owner every clone asks
    /// (in process, without HTTP). The first registration wins.
    pub fn serve_locally(&self, users: Arc<dyn LocalUsers>) {
        let _ = self.local.set(users);
    }

    /// Whether the users service says `user_id` exists (in process, or asked
    /// over HTTP with the caller's `token`); `None` when there is no owner to
    /// ask or it does not answer.
    pub async fn exists(&self, user_id: i64, token: &str) -> Option<bool> {
        #[derive(serde::Deserialize)]
        struct Exists {
            exists: bool,
        }
        if let Some(local) = self.local.get() {
            return local.exists(user_id).await;
        }
        let (base, client) = self.owner.as_ref()?;
        let url = base.join(&format!("api/users/{user_id}/exists")).ok()?;
        let answer = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        match answer {
            Ok(res) => res.json::<Exists>().await.ok().map(|e| e.exists),
            Err(err) => {
                tracing::warn!(user_id, error = %err, "users service did not say whether the user exists");
                None
            }
        }
    }

    /// Called when the read model does not know `user_id`: if the users
    /// service has the user, waits (at most a few seconds) until `known`
    /// says the read model has caught up. True when it has.
    pub async fn catch_up<F, Fut>(&self, user_id: i64, token: &str, mut known: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        if self.exists(user_id, token).await != Some(true) {
            return false;
        }
        let deadline = Instant::now() + CATCH_UP;
        while Instant::now() < deadline {
            if known().await {
                metrics::counter!("read_model_catch_up_total", "outcome" => "caught_up")
                    .increment(1);
                return true;
            }
            tokio::time::sleep(POLL).await;
        }
        metrics::counter!("read_model_catch_up_total", "outcome" => "timed_out").increment(1);
        tracing::warn!(
            user_id,
            "read model did not learn of an existing user in time"
        );
        false
    }
}

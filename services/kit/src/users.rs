//! The users service as the owner of who exists. Other services know users
//! from `user.events` (their read models); in a split deployment such an
//! event can arrive a few tens of milliseconds after the registration
//! response, and a client that acts at once (sends a friend request, opens a
//! room) would get a 404 for a user who exists. [`UsersDirectory::catch_up`]
//! asks the owner's HTTP API instead of answering 404, and waits for the read
//! model to hear of the user.

use std::future::Future;
use std::time::{Duration, Instant};
use url::Url;

/// How long a request may wait for a read model to learn of a user the users
/// service already has.
const CATCH_UP: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(20);

/// The users service's HTTP API, when this process does not run it.
#[derive(Clone, Default)]
pub struct UsersDirectory {
    owner: Option<(Url, reqwest::Client)>,
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
        Self { owner }
    }

    /// Whether the users service says `user_id` exists (asked with the
    /// caller's `token`); `None` when there is no owner to ask or it does not
    /// answer.
    pub async fn exists(&self, user_id: i64, token: &str) -> Option<bool> {
        #[derive(serde::Deserialize)]
        struct Exists {
            exists: bool,
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

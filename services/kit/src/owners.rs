//! Read-your-writes across services: the owners of the facts that other
//! services keep read models of.
//!
//! Friends and chat keep copies of who exists (from `user.events`), chat
//! also of who blocked whom (from `friend.events`). A copy lags its owner by
//! the time an event takes to arrive — milliseconds in one process, tens of
//! milliseconds in a split deployment, longer while a broker is down — so a
//! client acting right after a registration or a block would get an answer
//! that contradicts the 2xx it has just been given. Before a use case decides
//! on such a fact, it asks [`Owners`]:
//!
//! - [`Owners::resolve_user`]: a user the read model does not know is looked
//!   up at the users service; when it has them, the use case waits (at most
//!   10 s) for the read model to catch up, as it needs the row. Read models
//!   call [`Owners::user_recorded`] after recording a user, which wakes the
//!   use cases waiting for that user to look again (rather than every waiter
//!   polling the database, which under load slows the very consumer they
//!   wait for).
//! - [`Owners::blocked_between`]: whether a block stands is asked of the
//!   friends service every time (a block lifted matters as much as one
//!   made); the read model serves listings.
//!
//! An owner running in this process answers directly: its module registers a
//! local answerer when it is built ([`Owners::serve_users_locally`],
//! [`Owners::serve_blocks_locally`]). Otherwise the owner's HTTP API is asked
//! with the caller's token: `GET api/users/{id}/exists` → `{exists}` and
//! `GET api/friends/block-status/{id}` → `{blocked}`. When the owner does not
//! answer, the use case fails closed with [`NoAnswer`] (503) rather than
//! decide on a copy that may be stale. With no owner configured at all (a
//! service run or tested alone) the read model is all there is, and its
//! answer stands.

use crate::ApiError;
use futures::{StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use url::Url;

/// How long a request may wait for a read model to learn of a user the users
/// service already has: usually tens of milliseconds, but longer than the
/// consumer's longest retry backoff (5 s), so a busy database that makes one
/// attempt to apply the event fail delays the answer rather than turns it
/// into a 503.
const CATCH_UP: Duration = Duration::from_secs(10);
/// How often a waiter looks again when no read model says it recorded the
/// user (announcements missed under load).
const LOOK_AGAIN: Duration = Duration::from_millis(500);
/// Announcements of recorded users kept for slow waiters.
const RECORDED_BACKLOG: usize = 1024;
/// How long an owner's HTTP API may take to answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause before asking an owner that did not answer once more.
const RETRY_AFTER: Duration = Duration::from_millis(100);
/// Questions about one group's members in flight at once.
const ASKS_IN_FLIGHT: usize = 8;

/// Answers "does this user exist?" for the users service when it runs in
/// this process.
#[async_trait::async_trait]
pub trait LocalUsers: Send + Sync {
    /// `None` when the answer is not known (the database failed).
    async fn exists(&self, user_id: i64) -> Option<bool>;
}

/// Answers "does a block stand between them?" for the friends service when it
/// runs in this process.
#[async_trait::async_trait]
pub trait LocalBlocks: Send + Sync {
    /// Whether `user` blocked any of `others` or was blocked by one of them;
    /// `None` when the answer is not known (the database failed).
    async fn blocked_between(&self, user: i64, others: &[i64]) -> Option<bool>;
}

/// Why a use case cannot decide now: answered as 503, so the client retries
/// instead of acting on a wrong answer.
#[derive(Debug, thiserror::Error)]
pub enum NoAnswer {
    #[error("the {0} service did not answer; try again")]
    OwnerSilent(&'static str),
    #[error("this service has not yet caught up with the {0} service; try again")]
    ReadModelBehind(&'static str),
}

impl From<NoAnswer> for ApiError {
    fn from(err: NoAnswer) -> Self {
        ApiError::unavailable(err.to_string())
    }
}

/// The owners of who exists (users) and of blocks (friends): in this process,
/// or their HTTP APIs. Clones share the local answerers, whenever they are
/// registered.
#[derive(Clone)]
pub struct Owners {
    users: Owner<dyn LocalUsers>,
    friends: Owner<dyn LocalBlocks>,
    /// Ids of users a read model of this process has just recorded, for the
    /// use cases waiting for them.
    user_recorded: broadcast::Sender<i64>,
}

struct Owner<L: ?Sized> {
    /// The owning service, for errors and logs.
    service: &'static str,
    local: Arc<OnceLock<Arc<L>>>,
    remote: Option<Remote>,
}

impl<L: ?Sized> Clone for Owner<L> {
    fn clone(&self) -> Self {
        Self {
            service: self.service,
            local: self.local.clone(),
            remote: self.remote.clone(),
        }
    }
}

impl<L: ?Sized> Owner<L> {
    fn new(service: &'static str, remote: Option<Remote>) -> Self {
        Self {
            service,
            local: Arc::default(),
            remote,
        }
    }
}

/// No owner anywhere: every read model answers alone.
impl Default for Owners {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Owners {
    /// Owners asked at `base_url` (a gateway routing `/api/users/*` and
    /// `/api/friends/*`, or the users service; see
    /// [`with_friends_url`](Self::with_friends_url)) unless they run in this
    /// process. `None`: only owners in this process are asked.
    pub fn new(base_url: Option<Url>) -> Self {
        let remote = base_url.and_then(Remote::new);
        Self {
            users: Owner::new("users", remote.clone()),
            friends: Owner::new("friends", remote),
            user_recorded: broadcast::channel(RECORDED_BACKLOG).0,
        }
    }

    /// Asks the friends service at `friends_url` (when given) rather than at
    /// the base URL.
    #[must_use]
    pub fn with_friends_url(mut self, friends_url: Option<Url>) -> Self {
        if let Some(url) = friends_url {
            self.friends.remote = Remote::new(url);
        }
        self
    }

    /// Makes the users service of this process the owner every clone asks.
    /// The first registration wins.
    pub fn serve_users_locally(&self, users: Arc<dyn LocalUsers>) {
        let _ = self.users.local.set(users);
    }

    /// Makes the friends service of this process the owner of blocks every
    /// clone asks. The first registration wins.
    pub fn serve_blocks_locally(&self, blocks: Arc<dyn LocalBlocks>) {
        let _ = self.friends.local.set(blocks);
    }

    /// Says a read model of this process has just recorded `user_id`, so
    /// the use cases waiting for them in [`resolve_user`](Self::resolve_user)
    /// look again.
    pub fn user_recorded(&self, user_id: i64) {
        // No receiver: nobody waits.
        let _ = self.user_recorded.send(user_id);
    }

    /// Whether `user_id` exists, once the read model knows them: `known`
    /// says whether it does. A user the model has not heard of is looked up
    /// at the users service (with the caller's `token`); when it has them,
    /// this waits for `known` to turn true, looking again whenever a read
    /// model says it recorded them. `Ok(false)`: the user does not exist (or
    /// there is nobody but the read model to ask).
    pub async fn resolve_user<E, F, Fut>(
        &self,
        user_id: i64,
        token: &str,
        mut known: F,
    ) -> Result<bool, E>
    where
        E: From<NoAnswer>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool, E>>,
    {
        if known().await? {
            return Ok(true);
        }
        if self.user_exists(user_id, token).await? != Some(true) {
            return Ok(false);
        }
        // Listening before looking, so a record in between wakes us.
        let mut recorded = self.user_recorded.subscribe();
        let deadline = Instant::now() + CATCH_UP;
        loop {
            if known().await? {
                metrics::counter!("read_model_catch_up_total", "outcome" => "caught_up")
                    .increment(1);
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let _ =
                tokio::time::timeout(left.min(LOOK_AGAIN), announced(&mut recorded, user_id)).await;
        }
        metrics::counter!("read_model_catch_up_total", "outcome" => "timed_out").increment(1);
        tracing::warn!(
            user_id,
            "read model did not learn of an existing user in time"
        );
        Err(NoAnswer::ReadModelBehind(self.users.service).into())
    }

    /// Whether a block stands, either way, between `user` and any of
    /// `others`, as the friends service says now (`token` is `user`'s);
    /// `read_model`'s answer only when there is no friends service to ask.
    pub async fn blocked_between<E, Fut>(
        &self,
        user: i64,
        others: &[i64],
        token: &str,
        read_model: Fut,
    ) -> Result<bool, E>
    where
        E: From<NoAnswer>,
        Fut: Future<Output = Result<bool, E>>,
    {
        #[derive(serde::Deserialize)]
        struct BlockStatus {
            blocked: bool,
        }
        let owner = &self.friends;
        if others.is_empty() {
            return Ok(false);
        }
        if let Some(local) = owner.local.get() {
            let answer = local.blocked_between(user, others).await;
            return answer.ok_or_else(|| NoAnswer::OwnerSilent(owner.service).into());
        }
        let Some(remote) = &owner.remote else {
            return read_model.await;
        };
        let answers: Vec<BlockStatus> = futures::stream::iter(others.iter().copied())
            .map(|id| {
                remote.ask(
                    owner.service,
                    format!("api/friends/block-status/{id}"),
                    token,
                )
            })
            .buffer_unordered(ASKS_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(answers.iter().any(|a| a.blocked))
    }

    /// What the users service says of `user_id`; `None` when there is no
    /// users service to ask.
    async fn user_exists(&self, user_id: i64, token: &str) -> Result<Option<bool>, NoAnswer> {
        #[derive(serde::Deserialize)]
        struct Exists {
            exists: bool,
        }
        let owner = &self.users;
        if let Some(local) = owner.local.get() {
            let answer = local.exists(user_id).await;
            return answer.map(Some).ok_or(NoAnswer::OwnerSilent(owner.service));
        }
        let Some(remote) = &owner.remote else {
            return Ok(None);
        };
        let path = format!("api/users/{user_id}/exists");
        let answer: Exists = remote.ask(owner.service, path, token).await?;
        Ok(Some(answer.exists))
    }
}

/// Returns once `user_id` is announced as recorded, or announcements were
/// missed (one of them may have been it).
async fn announced(recorded: &mut broadcast::Receiver<i64>, user_id: i64) {
    loop {
        match recorded.recv().await {
            Ok(id) if id != user_id => {}
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return,
            // Never while `Owners` lives; the caller's timeout ends the wait.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// An owner's HTTP API.
#[derive(Clone)]
struct Remote {
    /// Ends with `/`, so paths join below it.
    base: Url,
    client: reqwest::Client,
}

impl Remote {
    fn new(mut base: Url) -> Option<Self> {
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let client = reqwest::Client::builder()
            .timeout(ASK_TIMEOUT)
            .build()
            .ok()?;
        Some(Self { base, client })
    }

    /// `GET base/path` on behalf of the holder of `token`; any failure
    /// (unreachable, not 2xx, not the expected body) is no answer. A question
    /// that got no answer at all (timed out, connection refused or reset, a
    /// gateway's 502/503/504) is asked once more: an owner busy for a moment
    /// should delay the caller's answer, not turn it into a 503.
    async fn ask<T: DeserializeOwned>(
        &self,
        service: &'static str,
        path: String,
        token: &str,
    ) -> Result<T, NoAnswer> {
        let silent = |error: &dyn std::error::Error| {
            let error = chain(error);
            tracing::warn!(owner = service, %path, %error, "owner did not answer");
            NoAnswer::OwnerSilent(service)
        };
        let url = self.base.join(&path).map_err(|e| silent(&e))?;
        let mut attempt = 1;
        let res = loop {
            let sent = self
                .client
                .get(url.clone())
                .bearer_auth(token)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status);
            match sent {
                Err(e) if attempt == 1 && unanswered(&e) => {
                    tracing::info!(owner = service, %path, error = %chain(&e), "owner did not answer; asking again");
                    attempt += 1;
                    tokio::time::sleep(RETRY_AFTER).await;
                }
                sent => break sent.map_err(|e| silent(&e))?,
            }
        };
        res.json::<T>().await.map_err(|e| silent(&e))
    }
}

/// No answer at all, as opposed to an answer that says no.
fn unanswered(e: &reqwest::Error) -> bool {
    e.is_timeout()
        || e.is_connect()
        || e.is_request()
        || e.status().is_some_and(|s| matches!(s.as_u16(), 502..=504))
}

/// An error with its causes ("error sending request …: operation timed out").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;

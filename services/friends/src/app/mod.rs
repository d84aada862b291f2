//! The friends service's use cases, the only code that decides. Each one
//! validates its input with `domain` functions, opens a unit of work when
//! it writes (per pair of users, exclusively, so reading the facts and
//! writing never interleave with another writer of the pair), loads facts
//! through `store`, decides with `domain`, writes, enqueues the events it
//! announces (`friend_events`) and commits. Plain reads use the pool.
//!
//! One area per file: `requests` (send, answer, cancel, pending),
//! `friendships` (list, unfriend, search), `blocks`, and `directory` (the
//! users read model fed by `user.events`, and the read-your-writes wait for
//! users it has not heard of yet). [`Error`] is the service's one error
//! type and holds the one mapping to HTTP.

mod blocks;
mod directory;
mod friend_events;
mod friendships;
mod requests;

pub use friend_events::TOPIC;

use crate::domain::{Invalid, Refusal, pair_lock_key};
use kit::ApiError;
use kit::auth::AuthUser;
use kit::db::{Database, Tx};
use kit::users::UsersDirectory;
use std::future::Future;

/// What the use cases share: the service's database and the owner of who
/// exists (asked when the read model has not heard of a user yet).
#[derive(Clone)]
pub struct App {
    db: Database,
    users: UsersDirectory,
}

impl App {
    pub fn new(db: Database, users: UsersDirectory) -> Self {
        Self { db, users }
    }

    /// A unit of work no other writer of the pair `(a, b)` interleaves with.
    async fn begin_pair(&self, a: i64, b: i64) -> Result<Tx> {
        Ok(self.db.begin_exclusive(pair_lock_key(a, b)).await?)
    }

    /// Runs `op`; when it fails only because this service has not heard of
    /// `user_id` yet while the users service has the user (a registration a
    /// moment ago), waits for the read model to catch up and runs it again.
    async fn with_known_user<T, Fut>(
        &self,
        caller: &AuthUser,
        user_id: i64,
        op: impl Fn() -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        match op().await {
            Err(Error::UnknownUser) => {
                let known = || async { self.knows_user(user_id).await.unwrap_or(false) };
                if self.users.catch_up(user_id, &caller.token, known).await {
                    op().await
                } else {
                    Err(Error::UnknownUser)
                }
            }
            other => other,
        }
    }
}

/// Why a use case of the friends service did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", .0.0)]
    Invalid(#[from] Invalid),
    #[error("user not found")]
    UnknownUser,
    #[error("one of you has blocked the other")]
    Blocked,
    #[error("you are already friends")]
    AlreadyFriends,
    #[error("a friend request between you is already pending")]
    RequestPending,
    #[error("no pending friend request from this user")]
    NoRequestFrom,
    #[error("no pending friend request to this user")]
    NoRequestTo,
    #[error("you are not friends with this user")]
    NotFriends,
    #[error("you have not blocked this user")]
    NotBlocked,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::UnknownUser => Self::UnknownUser,
            Refusal::Blocked => Self::Blocked,
            Refusal::AlreadyFriends => Self::AlreadyFriends,
            Refusal::RequestPending => Self::RequestPending,
        }
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let detail = err.to_string();
        match err {
            Error::Invalid(_) => ApiError::validation(detail),
            Error::UnknownUser
            | Error::NoRequestFrom
            | Error::NoRequestTo
            | Error::NotFriends
            | Error::NotBlocked => ApiError::not_found(detail),
            Error::Blocked => ApiError::new(axum::http::StatusCode::FORBIDDEN, "BLOCKED", detail),
            Error::AlreadyFriends => ApiError::conflict("ALREADY_FRIENDS", detail),
            Error::RequestPending => ApiError::conflict("REQUEST_ALREADY_EXISTS", detail),
            Error::Database(_) => ApiError::internal(detail),
        }
    }
}

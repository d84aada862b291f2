//! The friends service's use cases, the only code that decides. Each one
//! validates its input with `domain` functions, opens a unit of work when
//! it writes (per pair of users, exclusively, so reading the facts and
//! writing never interleave with another writer of the pair), loads facts
//! through `store`, decides with `domain`, writes, enqueues the events it
//! announces (`friend_events`) and commits. Plain reads use the pool.
//!
//! One area per file: `requests` (send, answer, cancel, pending),
//! `friendships` (list, unfriend, search), `blocks` (with the block status
//! chat asks before it decides), and `directory` (the users read model fed
//! by `user.events`). A user the read model has not heard of yet is resolved
//! from the users service before a use case decides
//! ([`kit::owners::Owners::resolve_user`]). [`Error`] is the service's one
//! error type and holds the one mapping to HTTP.

mod blocks;
mod directory;
mod friend_events;
mod friendships;
mod requests;

pub use friend_events::TOPIC;

use crate::domain::{Invalid, Refusal, pair_lock_key};
use kit::ApiError;
use kit::db::{Database, Tx};
use kit::owners::{NoAnswer, Owners};

/// What the use cases share: the service's database and the owner of who
/// exists (asked when the read model has not heard of a user yet).
#[derive(Clone)]
pub struct App {
    db: Database,
    owners: Owners,
}

impl App {
    pub fn new(db: Database, owners: Owners) -> Self {
        Self { db, owners }
    }

    /// A unit of work no other writer of the pair `(a, b)` interleaves with.
    async fn begin_pair(&self, a: i64, b: i64) -> Result<Tx> {
        Ok(self.db.begin_exclusive(pair_lock_key(a, b)).await?)
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
    /// The users service could not say whether a user exists.
    #[error(transparent)]
    NoAnswer(#[from] NoAnswer),
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
            Error::NoAnswer(no_answer) => no_answer.into(),
            Error::Database(_) => ApiError::internal(detail),
        }
    }
}

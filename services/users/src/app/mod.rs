//! The users service's use cases, as methods of [`Users`]: each validates
//! with `domain`, opens a unit of work when it writes, reads and writes rows
//! through `store`, builds and enqueues its events, commits, and then tells
//! the lookup (and so the profile cache) what changed. Handlers and
//! consumers call exactly one of these.
//!
//! [`Error`] is the service's one error type; it becomes an HTTP answer in
//! exactly one place (`From<Error> for ApiError`) and a consumer's retry
//! decision in one other (`From<Error> for HandlerError`).

mod accounts;
mod lookup;
mod presence;
mod profiles;

pub use accounts::Token;

use crate::Users;
use crate::domain::{Invalid, User};
use crate::password::HashError;
use kit::ApiError;
use kit::events::HandlerError;

/// The `source` of the events this service publishes.
pub const SOURCE: &str = "users";

/// Why a use case did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// `email` or `username` belongs to another account.
    #[error("{0} is already registered")]
    Taken(&'static str),
    #[error("user not found")]
    UserNotFound,
    #[error("no profile image")]
    NoImage,
    /// A valid token whose account was deleted.
    #[error("the account of this token no longer exists")]
    AccountGone,
    #[error("incorrect email or password")]
    InvalidCredentials,
    /// An upload that is no acceptable image (kit's upload contract).
    #[error(transparent)]
    Image(#[from] kit::upload::Refused),
    /// A login limit refused the attempt: kit's answer, with its Retry-After.
    #[error("too many login attempts")]
    RateLimited(ApiError),
    /// Presence, the revocation list or the cache is out of reach.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Hashing(#[from] HashError),
    #[error("signing a token: {0}")]
    Signing(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid(e) => ApiError::validation(e.0),
            Error::Taken(field) => {
                let code = if field == "email" {
                    "EMAIL_TAKEN"
                } else {
                    "USERNAME_TAKEN"
                };
                ApiError::conflict(code, err.to_string())
            }
            Error::UserNotFound | Error::NoImage => ApiError::not_found(err.to_string()),
            Error::AccountGone => ApiError::unauthorized("INVALID_TOKEN", err.to_string()),
            Error::InvalidCredentials => {
                ApiError::unauthorized("INVALID_CREDENTIALS", err.to_string())
            }
            Error::Image(refused) => refused.into(),
            Error::RateLimited(refusal) => refusal,
            Error::Unavailable(detail) => ApiError::unavailable(detail),
            Error::Hashing(_) | Error::Signing(_) | Error::Database(_) => ApiError::internal(err),
        }
    }
}

/// Consumers retry what may pass later and dead-letter the rest.
impl From<Error> for HandlerError {
    fn from(err: Error) -> Self {
        match err {
            Error::Database(_) | Error::Unavailable(_) | Error::Hashing(_) => {
                HandlerError::Transient(err.to_string())
            }
            other => HandlerError::Permanent(other.to_string()),
        }
    }
}

/// A user and whether they are online right now.
#[derive(Debug, Clone)]
pub struct UserStatus {
    pub user: User,
    pub is_online: bool,
}

impl Users {
    /// Online flags of `ids`, in order.
    async fn online(&self, ids: &[i64]) -> Result<Vec<bool>> {
        self.presence
            .online_many(ids)
            .await
            .map_err(|e| Error::Unavailable(format!("presence unavailable: {e}")))
    }

    async fn with_status(&self, users: Vec<User>) -> Result<Vec<UserStatus>> {
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let online = self.online(&ids).await?;
        Ok(users
            .into_iter()
            .zip(online)
            .map(|(user, is_online)| UserStatus { user, is_online })
            .collect())
    }

    /// One user with their status, or `missing` when there is no such user.
    async fn status_of(&self, user_id: i64, missing: Error) -> Result<UserStatus> {
        let user = self.lookup.get(user_id).await?.ok_or(missing)?;
        let is_online = self.online(&[user_id]).await?[0];
        Ok(UserStatus { user, is_online })
    }

    /// After a committed write of `user_id`'s row: best effort, since on
    /// failure a cached entry lives out its TTL (or the write's event
    /// deletes it).
    async fn changed(&self, user_id: i64) {
        if let Err(err) = self.lookup.forget(user_id).await {
            tracing::warn!(user_id, error = %err, "could not evict a cached profile");
        }
    }

    /// `UserProfileUpdated` seen (from any instance): drop the cached entry,
    /// repairing one a read refilled with the old row meanwhile.
    pub async fn profile_updated(&self, user_id: i64) -> Result<()> {
        self.lookup
            .forget(user_id)
            .await
            .map_err(Error::Unavailable)
    }
}

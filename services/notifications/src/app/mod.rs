//! The notifications service's use cases, as methods of [`Notifications`]:
//! the consumers' (`inbound.rs`: users read model, notifications written
//! with their `NotificationCreated` events in one unit of work) and the
//! handlers' (`reads.rs`: list, unread count, mark read, the resumable
//! stream; `social.rs`: likes, comments and follows from `post.events`).
//! Consumers and handlers call exactly one of these.
//!
//! [`Error`] is the service's one error type; it becomes an HTTP answer in
//! one place (`From<Error> for ApiError`) and a consumer's retry decision
//! in one other (`From<Error> for HandlerError`).

mod inbound;
mod reads;
mod social;

pub use reads::{Page, SSE_EVENT};

use crate::domain::{Invalid, Unprocessable};
use crate::store::StoreError;
use kit::ApiError;
use kit::events::HandlerError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request that breaks a rule of `domain` (422).
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// An event that can never become a notification (dead-lettered).
    #[error("{0}")]
    Unprocessable(#[from] Unprocessable),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid(e) => ApiError::validation(e.0),
            Error::Unprocessable(e) => ApiError::validation(e.0),
            Error::Store(e) => ApiError::internal(e),
        }
    }
}

/// A database error may pass on a retry; a bad event never will.
impl From<Error> for HandlerError {
    fn from(err: Error) -> Self {
        match err {
            Error::Store(e) => HandlerError::Transient(e.to_string()),
            other => HandlerError::Permanent(other.to_string()),
        }
    }
}

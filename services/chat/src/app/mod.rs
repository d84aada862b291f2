//! Chat's use cases: each validates its input with `domain` functions, opens
//! a unit of work when it writes, loads facts through `store`, decides with a
//! `domain` rule, writes, enqueues its events (built in `announce`) and
//! commits — the commit wakes the outbox relay; nothing else does.
//!
//! What chat knows of users and blocks are read models; before a use case
//! decides on them it asks their owners (`read_models`, through
//! [`kit::owners::Owners`]), so a registration or a block that has just
//! answered 2xx counts at once.
//!
//! [`ChatError`] is the one error of the service and `From<ChatError> for
//! ApiError` its one mapping to HTTP.

mod announce;
mod messages;
mod read_models;
mod rooms;

pub use messages::MessagePage;
pub use rooms::{OpenStream, RoomView};

use crate::domain::{Invalid, Refusal, Room};
use crate::events::Streaming;
use crate::store;
use axum::http::StatusCode;
use kit::ApiError;
use kit::db::Database;
use kit::owners::{NoAnswer, Owners};
use kit::sse::Hub;
use std::sync::Arc;

/// What the use cases work with.
pub struct App {
    db: Database,
    /// Live items of room streams connected to this process, by room id.
    hub: Arc<Hub<i64>>,
    /// Who streams which room (for `MessageSent`).
    streaming: Arc<dyn Streaming>,
    /// The owners of users and blocks, asked before deciding on them.
    owners: Owners,
}

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The owner of a fact to decide on did not answer.
    #[error(transparent)]
    NoAnswer(#[from] NoAnswer),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type ChatResult<T> = Result<T, ChatError>;

impl From<ChatError> for ApiError {
    fn from(err: ChatError) -> Self {
        let refusal = match err {
            ChatError::Invalid(invalid) => return ApiError::validation(invalid.0),
            ChatError::NoAnswer(no_answer) => return no_answer.into(),
            ChatError::Database(err) => return ApiError::internal(err),
            ChatError::Refused(refusal) => refusal,
        };
        let (status, code) = match refusal {
            Refusal::SelfChat => (StatusCode::UNPROCESSABLE_ENTITY, "SELF_CHAT"),
            Refusal::UnknownUser | Refusal::UnknownMember(_) => {
                (StatusCode::NOT_FOUND, "USER_NOT_FOUND")
            }
            Refusal::CannotChat | Refusal::CannotMessage => (StatusCode::FORBIDDEN, "BLOCKED"),
            Refusal::RoomNotFound => (StatusCode::NOT_FOUND, "ROOM_NOT_FOUND"),
            Refusal::MessageNotFound => (StatusCode::NOT_FOUND, "MESSAGE_NOT_FOUND"),
            Refusal::NotAuthor => (StatusCode::FORBIDDEN, "NOT_AUTHOR"),
            Refusal::Deleted => (StatusCode::CONFLICT, "MESSAGE_DELETED"),
        };
        ApiError::new(status, code, refusal.to_string())
    }
}

impl App {
    pub fn new(
        db: Database,
        hub: Arc<Hub<i64>>,
        streaming: Arc<dyn Streaming>,
        owners: Owners,
    ) -> Self {
        Self {
            db,
            hub,
            streaming,
            owners,
        }
    }

    /// The room if `user` is a member of it; rooms of others do not exist.
    async fn member_room(&self, room_id: i64, user: i64) -> ChatResult<Room> {
        store::rooms::for_member(&self.db, room_id, user)
            .await?
            .ok_or(Refusal::RoomNotFound.into())
    }
}

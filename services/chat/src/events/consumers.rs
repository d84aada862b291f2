//! Handlers of the events chat consumes: each decodes a contract and calls
//! one use case. Each is idempotent (upserts, set semantics), since delivery
//! is at least once.

use crate::app::{App, ChatError};
use crate::domain::Participant;
use async_trait::async_trait;
use contracts::{
    MessageDeleted, MessageEdited, MessageSent, UserBlocked, UserProfileUpdated, UserRegistered,
    UserUnblocked,
};
use kit::events::{Event, Handler, HandlerError};
use kit::sse::{Hub, Item};
use std::sync::Arc;

fn transient(err: ChatError) -> HandlerError {
    HandlerError::Transient(err.to_string())
}

/// `user.events` → the users read model (ids, usernames, display names).
pub struct UsersModel(pub Arc<App>);

#[async_trait]
impl Handler for UsersModel {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let user = if event.is::<UserRegistered>() {
            let e: UserRegistered = event.data()?;
            Participant {
                user_id: e.user_id,
                username: e.username,
                display_name: e.display_name,
            }
        } else if event.is::<UserProfileUpdated>() {
            let e: UserProfileUpdated = event.data()?;
            Participant {
                user_id: e.user_id,
                username: e.username,
                display_name: e.display_name,
            }
        } else {
            return Ok(());
        };
        self.0.record_user(&user).await.map_err(transient)
    }
}

/// `friend.events` → who blocked whom.
pub struct BlocksModel(pub Arc<App>);

#[async_trait]
impl Handler for BlocksModel {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let (blocker, blocked, is_blocked) = if event.is::<UserBlocked>() {
            let e: UserBlocked = event.data()?;
            (e.blocker_id, e.blocked_id, true)
        } else if event.is::<UserUnblocked>() {
            let e: UserUnblocked = event.data()?;
            (e.blocker_id, e.blocked_id, false)
        } else {
            return Ok(());
        };
        self.0
            .record_block(blocker, blocked, is_blocked)
            .await
            .map_err(transient)
    }
}

/// `message.events` → the room streams connected to this process.
pub struct LiveRooms(pub Arc<Hub<i64>>);

#[async_trait]
impl Handler for LiveRooms {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let (name, room_id, seq, message) = if event.is::<MessageSent>() {
            let e: MessageSent = event.data()?;
            (super::MESSAGE_CREATED, e.room_id, e.seq, e.message)
        } else if event.is::<MessageEdited>() {
            let e: MessageEdited = event.data()?;
            (super::MESSAGE_UPDATED, e.room_id, e.seq, e.message)
        } else if event.is::<MessageDeleted>() {
            let e: MessageDeleted = event.data()?;
            (super::MESSAGE_DELETED, e.room_id, e.seq, e.message)
        } else {
            return Ok(());
        };
        let data =
            serde_json::to_string(&message).map_err(|e| HandlerError::Permanent(e.to_string()))?;
        self.0.publish(
            &room_id,
            Item {
                seq,
                event: name.to_owned(),
                data,
            },
        );
        Ok(())
    }
}

//! Handlers of the events chat consumes. Each is idempotent (upserts, set
//! semantics), since delivery is at least once.

use crate::domain::Participant;
use crate::store::ChatStore;
use async_trait::async_trait;
use kit::events::{Event, Handler, HandlerError};
use kit::sse::{Hub, Item};
use serde::Deserialize;
use std::sync::Arc;

fn transient(err: crate::store::StoreError) -> HandlerError {
    HandlerError::Transient(err.to_string())
}

/// `user.events` → the users read model (ids, usernames, display names).
pub struct UsersModel(pub Arc<dyn ChatStore>);

#[derive(Deserialize)]
struct UserData {
    user_id: i64,
    username: String,
    #[serde(default)]
    display_name: Option<String>,
}

#[async_trait]
impl Handler for UsersModel {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        match event.kind.as_str() {
            "UserRegistered" | "UserProfileUpdated" => {
                let user: UserData = event.data()?;
                self.0
                    .upsert_user(&Participant {
                        user_id: user.user_id,
                        username: user.username,
                        display_name: user.display_name,
                    })
                    .await
                    .map_err(transient)
            }
            _ => Ok(()),
        }
    }
}

/// `friend.events` → who blocked whom.
pub struct BlocksModel(pub Arc<dyn ChatStore>);

#[derive(Deserialize)]
struct BlockData {
    blocker_id: i64,
    blocked_id: i64,
}

#[async_trait]
impl Handler for BlocksModel {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let blocked = match event.kind.as_str() {
            "UserBlocked" => true,
            "UserUnblocked" => false,
            _ => return Ok(()),
        };
        let data: BlockData = event.data()?;
        self.0
            .set_blocked(data.blocker_id, data.blocked_id, blocked)
            .await
            .map_err(transient)
    }
}

/// `message.events` → the room streams connected to this process.
pub struct LiveRooms(pub Arc<Hub<i64>>);

#[derive(Deserialize)]
struct StreamData {
    room_id: i64,
    seq: i64,
    message: serde_json::Value,
}

#[async_trait]
impl Handler for LiveRooms {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let name = match event.kind.as_str() {
            "MessageSent" => super::MESSAGE_CREATED,
            "MessageEdited" => super::MESSAGE_UPDATED,
            "MessageDeleted" => super::MESSAGE_DELETED,
            _ => return Ok(()),
        };
        let data: StreamData = event.data()?;
        self.0.publish(
            &data.room_id,
            Item {
                seq: data.seq,
                event: name.to_owned(),
                data: data.message.to_string(),
            },
        );
        Ok(())
    }
}

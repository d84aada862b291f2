//! Handlers of the events chat consumes besides its read models (those are
//! kit's, [`kit::read_model::consumers`]): each decodes a contract and acts
//! on it.

use async_trait::async_trait;
use contracts::{MessageDeleted, MessageEdited, MessageSent};
use kit::events::{Event, Handler, HandlerError};
use kit::sse::{Hub, Item};
use std::sync::Arc;

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

//! What the notifications service consumes and publishes.
//!
//! Consumed (durable group `notifications`): `user.events` feed the users read
//! model; `FriendRequestSent`, `FriendRequestAccepted` and `MessageSent` become
//! notifications. Published: `NotificationCreated` on `notification.events`
//! (subject = recipient id), written to the outbox with the notification.
//! A live consumer of that topic feeds this process's SSE connections.

use crate::domain::{self, KnownUser, Notification, NotificationView};
use crate::store::NotificationStore;
use async_trait::async_trait;
use kit::events::{Event, Handler, HandlerError};
use kit::sse::{Hub, Item};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// SSE event name of a new notification.
pub const SSE_EVENT: &str = "notification.created";

#[derive(Debug, Deserialize)]
pub struct UserChanged {
    pub user_id: i64,
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FriendRequestSent {
    pub friendship_id: i64,
    pub requester_id: i64,
    pub addressee_id: i64,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FriendRequestAccepted {
    pub friendship_id: i64,
    pub requester_id: i64,
    pub addressee_id: i64,
}

#[derive(Debug, Deserialize)]
pub struct MessageSent {
    pub room_id: i64,
    #[serde(default)]
    pub room_type: Option<String>,
    #[serde(default)]
    pub seq: i64,
    pub sender_id: i64,
    pub member_ids: Vec<i64>,
    #[serde(default)]
    pub streaming_user_ids: Vec<i64>,
    /// The message as SPEC §2 shows it; only `id` and `content` matter here.
    pub message: Value,
}

/// Payload of `NotificationCreated`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationCreated {
    pub user_id: i64,
    pub seq: i64,
    pub notification: NotificationView,
}

/// The outbox event announcing `n`.
pub fn created(n: &Notification) -> Event {
    let payload = NotificationCreated {
        user_id: n.user_id,
        seq: n.seq,
        notification: NotificationView::from(n),
    };
    Event::new(
        "NotificationCreated",
        crate::SERVICE,
        n.user_id,
        serde_json::to_value(payload).unwrap_or_default(),
    )
}

/// The SSE item of a stored notification.
pub fn sse_item(n: &Notification) -> Item {
    Item {
        seq: n.seq,
        event: SSE_EVENT.to_owned(),
        data: serde_json::to_string(&NotificationView::from(n)).unwrap_or_default(),
    }
}

fn unprocessable(e: domain::Unprocessable) -> HandlerError {
    HandlerError::Permanent(e.0)
}

fn transient(e: crate::store::StoreError) -> HandlerError {
    HandlerError::Transient(e.to_string())
}

/// Turns user, friend and message events into notifications.
pub struct Inbound {
    pub store: Arc<dyn NotificationStore>,
}

impl Inbound {
    async fn name(&self, user_id: i64) -> Result<String, HandlerError> {
        let users = self.store.users(&[user_id]).await.map_err(transient)?;
        Ok(domain::name_of(users.get(&user_id)))
    }

    async fn store(&self, event: &Event, drafts: &[domain::Draft]) -> Result<(), HandlerError> {
        let created = self
            .store
            .create(&event.id, drafts)
            .await
            .map_err(transient)?;
        if !created.is_empty() {
            tracing::debug!(count = created.len(), kind = %event.kind, "notifications created");
        }
        Ok(())
    }
}

#[async_trait]
impl Handler for Inbound {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        match event.kind.as_str() {
            "UserRegistered" | "UserProfileUpdated" => {
                let u: UserChanged = event.data()?;
                let username = domain::clean_name(&u.username);
                if u.user_id <= 0 || username.is_empty() {
                    return Err(HandlerError::Permanent(format!(
                        "{}: user_id and username are required",
                        event.kind
                    )));
                }
                let user = KnownUser {
                    user_id: u.user_id,
                    username,
                    display_name: u.display_name.as_deref().map(domain::clean_name),
                };
                self.store.upsert_user(&user).await.map_err(transient)
            }
            "FriendRequestSent" => {
                let r: FriendRequestSent = event.data()?;
                let name = self.name(r.requester_id).await?;
                let draft = domain::friend_request(
                    r.friendship_id,
                    r.requester_id,
                    r.addressee_id,
                    &name,
                    r.message.as_deref(),
                )
                .map_err(unprocessable)?;
                self.store(event, &[draft]).await
            }
            "FriendRequestAccepted" => {
                let r: FriendRequestAccepted = event.data()?;
                let name = self.name(r.addressee_id).await?;
                let draft =
                    domain::friend_accepted(r.friendship_id, r.requester_id, r.addressee_id, &name)
                        .map_err(unprocessable)?;
                self.store(event, &[draft]).await
            }
            "MessageSent" => {
                let m: MessageSent = event.data()?;
                let message_id = match &m.message["id"] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => String::new(),
                };
                let sent = domain::SentMessage {
                    room_id: m.room_id,
                    room_type: m.room_type.as_deref().unwrap_or("direct"),
                    seq: m.seq,
                    sender_id: m.sender_id,
                    message_id: &message_id,
                    content: m.message["content"].as_str().unwrap_or_default(),
                };
                let recipients =
                    domain::message_recipients(&m.member_ids, m.sender_id, &m.streaming_user_ids);
                let name = self.name(m.sender_id).await?;
                let drafts = domain::message(&sent, &name, &recipients).map_err(unprocessable)?;
                self.store(event, &drafts).await
            }
            // Other events of these topics do not notify anybody.
            _ => Ok(()),
        }
    }
}

/// Delivers `NotificationCreated` to this process's SSE connections.
pub struct Fanout {
    pub hub: Arc<Hub<i64>>,
}

#[async_trait]
impl Handler for Fanout {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        if event.kind != "NotificationCreated" {
            return Ok(());
        }
        let created: NotificationCreated = event.data()?;
        let data = serde_json::to_string(&created.notification)
            .map_err(|e| HandlerError::Permanent(e.to_string()))?;
        self.hub.publish(
            &created.user_id,
            Item {
                seq: created.seq,
                event: SSE_EVENT.to_owned(),
                data,
            },
        );
        Ok(())
    }
}

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
use contracts::{
    Contract, FriendRequestAccepted, FriendRequestSent, MessageSent, NotificationCreated,
    NotificationPayload, UserProfileUpdated, UserRegistered,
};
use kit::events::{Event, Handler, HandlerError};
use kit::sse::{Hub, Item};
use std::sync::Arc;

/// SSE event name of a new notification.
pub const SSE_EVENT: &str = "notification.created";

/// The outbox event announcing `n`.
pub fn created(n: &Notification) -> Event {
    let view = NotificationView::from(n);
    let payload = NotificationCreated {
        user_id: n.user_id,
        seq: n.seq,
        notification: NotificationPayload {
            id: view.id,
            kind: view.kind.as_str().to_owned(),
            title: view.title,
            body: view.body,
            data: view.data,
            is_read: view.is_read,
            created_at: view.created_at,
        },
    };
    Event::of(crate::SERVICE, n.user_id, &payload)
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
            UserRegistered::KIND | UserProfileUpdated::KIND => {
                let (user_id, username, display_name) = if event.is::<UserRegistered>() {
                    let e: UserRegistered = event.data()?;
                    (e.user_id, e.username, e.display_name)
                } else {
                    let e: UserProfileUpdated = event.data()?;
                    (e.user_id, e.username, e.display_name)
                };
                let username = domain::clean_name(&username);
                if user_id <= 0 || username.is_empty() {
                    return Err(HandlerError::Permanent(format!(
                        "{}: user_id and username are required",
                        event.kind
                    )));
                }
                let user = KnownUser {
                    user_id,
                    username,
                    display_name: display_name.as_deref().map(domain::clean_name),
                };
                self.store.upsert_user(&user).await.map_err(transient)
            }
            FriendRequestSent::KIND => {
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
            FriendRequestAccepted::KIND => {
                let r: FriendRequestAccepted = event.data()?;
                let name = self.name(r.addressee_id).await?;
                let draft =
                    domain::friend_accepted(r.friendship_id, r.requester_id, r.addressee_id, &name)
                        .map_err(unprocessable)?;
                self.store(event, &[draft]).await
            }
            MessageSent::KIND => {
                let m: MessageSent = event.data()?;
                let sent = domain::SentMessage {
                    room_id: m.room_id,
                    room_type: &m.room_type,
                    seq: m.seq,
                    sender_id: m.sender_id,
                    message_id: &m.message.id,
                    content: &m.message.content,
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
        if !event.is::<NotificationCreated>() {
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

//! What the notifications service consumes.
//!
//! Durable (group `notifications`): `user.events` feed the users read model;
//! `FriendRequestSent`, `FriendRequestAccepted` and `MessageSent` become
//! notifications, and so do `PostLiked`, `CommentAdded` and `UserFollowed`
//! of `post.events`; `MessageEdited` and `MessageDeleted` rewrite or redact
//! the notifications quoting the message. Each is decoded here and handed to one use case of `app`,
//! which also writes what the service publishes (`NotificationCreated` on
//! `notification.events`, subject = recipient id, through the outbox).
//! Live: that topic feeds this process's SSE connections.

use crate::Notifications;
use crate::app::SSE_EVENT;
use async_trait::async_trait;
use contracts::{
    CommentAdded, Contract, FriendRequestAccepted, FriendRequestSent, MessageDeleted,
    MessageEdited, MessageSent, NotificationCreated, PostLiked, UserFollowed, UserProfileUpdated,
    UserRegistered,
};
use kit::events::{Event, Handler, HandlerError};
use kit::sse::{Hub, Item};
use std::sync::Arc;

/// Turns user, friend, message and post events into notifications.
pub struct Inbound(pub Arc<Notifications>);

#[async_trait]
impl Handler for Inbound {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let app = &self.0;
        let done = match event.kind.as_str() {
            UserRegistered::KIND => app.user_registered(&event.data()?).await,
            UserProfileUpdated::KIND => app.user_profile_updated(&event.data()?).await,
            FriendRequestSent::KIND => app.friend_request_sent(&event.id, &event.data()?).await,
            FriendRequestAccepted::KIND => {
                app.friend_request_accepted(&event.id, &event.data()?).await
            }
            MessageSent::KIND => app.message_sent(&event.id, &event.data()?).await,
            MessageEdited::KIND => app.message_edited(&event.data()?).await,
            MessageDeleted::KIND => app.message_deleted(&event.data()?).await,
            PostLiked::KIND => app.post_liked(&event.id, &event.data()?).await,
            CommentAdded::KIND => app.comment_added(&event.id, &event.data()?).await,
            UserFollowed::KIND => app.user_followed(&event.id, &event.data()?).await,
            // Other events of these topics do not notify anybody.
            _ => Ok(()),
        };
        Ok(done?)
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

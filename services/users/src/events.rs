//! What the users service publishes (user.events, user.online_status) and
//! how it consumes friend.events into its friendships read model.

use crate::domain::User;
use crate::store::{ProfileCache, UserStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kit::events::topics::{USER_EVENTS, USER_ONLINE_STATUS};
use kit::events::{Event, Handler, HandlerError};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub const SOURCE: &str = "users";

/// An event and the topic it goes to.
pub type Outgoing = (&'static str, Event);

pub fn registered(user: &User) -> Outgoing {
    let data = json!({
        "user_id": user.id,
        "email": user.email,
        "username": user.username,
        "display_name": user.display_name,
        "created_at": user.created_at,
    });
    (
        USER_EVENTS,
        Event::new("UserRegistered", SOURCE, user.id, data),
    )
}

pub fn profile_updated(user: &User) -> Outgoing {
    let data = json!({
        "user_id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "status_message": user.status_message,
        "profile_image_url": user.profile_image_url(),
    });
    (
        USER_EVENTS,
        Event::new("UserProfileUpdated", SOURCE, user.id, data),
    )
}

pub fn status_changed(user_id: i64, is_online: bool, at: DateTime<Utc>, seq: i64) -> Outgoing {
    let data =
        json!({ "user_id": user_id, "is_online": is_online, "last_seen_at": at, "seq": seq });
    (
        USER_ONLINE_STATUS,
        Event::new("UserOnlineStatusChanged", SOURCE, user_id, data),
    )
}

#[derive(Deserialize)]
struct Pair {
    requester_id: i64,
    addressee_id: i64,
}

#[derive(Deserialize)]
struct Unfriended {
    user_id: i64,
    friend_id: i64,
}

#[derive(Deserialize)]
struct Blocked {
    blocker_id: i64,
    blocked_id: i64,
}

/// Keeps the friendships read model in step with friend.events.
pub struct FriendshipProjection {
    pub store: Arc<dyn UserStore>,
}

#[async_trait]
impl Handler for FriendshipProjection {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let transient = |e: crate::store::StoreError| HandlerError::Transient(e.to_string());
        match event.kind.as_str() {
            "FriendRequestAccepted" => {
                let p: Pair = event.data()?;
                self.store
                    .set_friends(p.requester_id, p.addressee_id, true)
                    .await
                    .map_err(transient)
            }
            "FriendDeleted" => {
                let p: Unfriended = event.data()?;
                self.store
                    .set_friends(p.user_id, p.friend_id, false)
                    .await
                    .map_err(transient)
            }
            "UserBlocked" => {
                let p: Blocked = event.data()?;
                self.store
                    .set_friends(p.blocker_id, p.blocked_id, false)
                    .await
                    .map_err(transient)
            }
            _ => Ok(()),
        }
    }
}

#[derive(Deserialize)]
struct ProfileChanged {
    user_id: i64,
}

/// Drops a cached profile when `user.events` says it changed. The instance
/// that made the change evicted it already; this also repairs an entry that a
/// read on another instance refilled with the old row meanwhile.
pub struct ProfileCacheInvalidation(pub ProfileCache);

#[async_trait]
impl Handler for ProfileCacheInvalidation {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        if event.kind != "UserProfileUpdated" {
            return Ok(());
        }
        let changed: ProfileChanged = event.data()?;
        self.0
            .forget(changed.user_id)
            .await
            .map_err(HandlerError::Transient)
    }
}

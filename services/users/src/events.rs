//! What the users service publishes (user.events, user.online_status) and
//! how it consumes friend.events into its friendships read model.

use crate::domain::User;
use crate::store::{ProfileCache, UserStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use contracts::{
    Contract, FriendDeleted, FriendRequestAccepted, UserBlocked, UserOnlineStatusChanged,
    UserProfileUpdated, UserRegistered,
};
use kit::events::{Event, Handler, HandlerError};
use std::sync::Arc;

pub const SOURCE: &str = "users";

/// An event and the topic it goes to.
pub type Outgoing = (&'static str, Event);

pub fn registered(user: &User) -> Outgoing {
    let payload = UserRegistered {
        user_id: user.id,
        email: user.email.clone(),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        created_at: user.created_at,
    };
    (UserRegistered::TOPIC, Event::of(SOURCE, user.id, &payload))
}

pub fn profile_updated(user: &User) -> Outgoing {
    let payload = UserProfileUpdated {
        user_id: user.id,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        status_message: user.status_message.clone(),
        profile_image_url: user.profile_image_url(),
    };
    (
        UserProfileUpdated::TOPIC,
        Event::of(SOURCE, user.id, &payload),
    )
}

pub fn status_changed(user_id: i64, is_online: bool, at: DateTime<Utc>, seq: i64) -> Outgoing {
    let payload = UserOnlineStatusChanged {
        user_id,
        is_online,
        last_seen_at: Some(at),
        seq,
    };
    (
        UserOnlineStatusChanged::TOPIC,
        Event::of(SOURCE, user_id, &payload),
    )
}

/// Keeps the friendships read model in step with friend.events.
pub struct FriendshipProjection {
    pub store: Arc<dyn UserStore>,
}

#[async_trait]
impl Handler for FriendshipProjection {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let transient = |e: crate::store::StoreError| HandlerError::Transient(e.to_string());
        let (a, b, friends) = if event.is::<FriendRequestAccepted>() {
            let p: FriendRequestAccepted = event.data()?;
            (p.requester_id, p.addressee_id, true)
        } else if event.is::<FriendDeleted>() {
            let p: FriendDeleted = event.data()?;
            (p.user_id, p.friend_id, false)
        } else if event.is::<UserBlocked>() {
            let p: UserBlocked = event.data()?;
            (p.blocker_id, p.blocked_id, false)
        } else {
            return Ok(());
        };
        self.store
            .set_friends(a, b, friends)
            .await
            .map_err(transient)
    }
}

/// Drops a cached profile when `user.events` says it changed. The instance
/// that made the change evicted it already; this also repairs an entry that a
/// read on another instance refilled with the old row meanwhile.
pub struct ProfileCacheInvalidation(pub ProfileCache);

#[async_trait]
impl Handler for ProfileCacheInvalidation {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        if !event.is::<UserProfileUpdated>() {
            return Ok(());
        }
        let changed: UserProfileUpdated = event.data()?;
        self.0
            .forget(changed.user_id)
            .await
            .map_err(HandlerError::Transient)
    }
}

//! What the users service consumes: friend.events into the friendships read
//! model, its own `UserProfileUpdated` into cache invalidation, and
//! `UserOnlineStatusChanged` into this process's status streams. Each
//! consumer decodes its contract and calls one use case of `app`; what the
//! service publishes is built by the use cases that write it.

use crate::Users;
use crate::store::PresenceChange;
use async_trait::async_trait;
use contracts::{
    FriendDeleted, FriendRequestAccepted, UserBlocked, UserOnlineStatusChanged, UserProfileUpdated,
};
use kit::events::{Event, Handler, HandlerError};
use std::sync::Arc;

/// Keeps the friendships read model in step with friend.events.
pub struct FriendshipProjection(pub Arc<Users>);

#[async_trait]
impl Handler for FriendshipProjection {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
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
        Ok(self.0.record_friendship(a, b, friends).await?)
    }
}

/// Drops a cached profile when `user.events` says it changed. The instance
/// that made the change evicted it already; this also repairs an entry that a
/// read on another instance refilled with the old row meanwhile.
pub struct ProfileCacheInvalidation(pub Arc<Users>);

#[async_trait]
impl Handler for ProfileCacheInvalidation {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        if !event.is::<UserProfileUpdated>() {
            return Ok(());
        }
        let changed: UserProfileUpdated = event.data()?;
        Ok(self.0.profile_updated(changed.user_id).await?)
    }
}

/// Feeds live status changes to the streams of the changed user's friends.
pub struct StatusFeed(pub Arc<Users>);

#[async_trait]
impl Handler for StatusFeed {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let change: UserOnlineStatusChanged = event.data()?;
        let changed_at = change.last_seen_at.ok_or_else(|| {
            HandlerError::Permanent("UserOnlineStatusChanged without last_seen_at".into())
        })?;
        let change = PresenceChange {
            seq: change.seq,
            user_id: change.user_id,
            is_online: change.is_online,
            changed_at,
        };
        Ok(self.0.status_changed(&change).await?)
    }
}

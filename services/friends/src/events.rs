//! What the friends service publishes on `friend.events` (built here, written
//! to the outbox by the store in the transaction of the change) and how it
//! consumes `user.events` and `user.online_status` into its users read model.

use crate::SERVICE;
use crate::domain::{Friendship, Status, UserRecord, pair_key};
use crate::store::FriendStore;
use async_trait::async_trait;
use contracts::{
    Contract, FriendDeleted, FriendRequestAccepted, FriendRequestCancelled, FriendRequestRejected,
    FriendRequestSent, UserBlocked, UserOnlineStatusChanged, UserProfileUpdated, UserRegistered,
    UserUnblocked,
};
use kit::events::{Event, Handler, HandlerError};
use std::sync::Arc;

pub use kit::events::topics::FRIEND_EVENTS as TOPIC;

fn pair_event<C: contracts::Contract>(a: i64, b: i64, payload: &C) -> Event {
    Event::of(SERVICE, pair_key(a, b), payload)
}

pub fn request_sent(f: &Friendship) -> Event {
    let payload = FriendRequestSent {
        friendship_id: f.id,
        requester_id: f.requester_id,
        addressee_id: f.addressee_id,
        message: f.message.clone(),
        created_at: f.created_at,
    };
    pair_event(f.requester_id, f.addressee_id, &payload)
}

/// `FriendRequestAccepted` or `FriendRequestRejected`, after the answer.
pub fn request_answered(f: &Friendship) -> Event {
    let (friendship_id, requester_id, addressee_id) = (f.id, f.requester_id, f.addressee_id);
    if f.status == Status::Accepted {
        let payload = FriendRequestAccepted {
            friendship_id,
            requester_id,
            addressee_id,
        };
        pair_event(requester_id, addressee_id, &payload)
    } else {
        let payload = FriendRequestRejected {
            friendship_id,
            requester_id,
            addressee_id,
        };
        pair_event(requester_id, addressee_id, &payload)
    }
}

pub fn request_cancelled(f: &Friendship) -> Event {
    let payload = FriendRequestCancelled {
        friendship_id: f.id,
        requester_id: f.requester_id,
        addressee_id: f.addressee_id,
    };
    pair_event(f.requester_id, f.addressee_id, &payload)
}

/// The friendship ended; `by` is who ended it.
pub fn friend_deleted(f: &Friendship, by: i64) -> Event {
    let payload = FriendDeleted {
        friendship_id: f.id,
        user_id: by,
        friend_id: f.other(by),
    };
    pair_event(f.requester_id, f.addressee_id, &payload)
}

pub fn user_blocked(blocker_id: i64, blocked_id: i64) -> Event {
    let payload = UserBlocked {
        blocker_id,
        blocked_id,
    };
    pair_event(blocker_id, blocked_id, &payload)
}

pub fn user_unblocked(blocker_id: i64, blocked_id: i64) -> Event {
    let payload = UserUnblocked {
        blocker_id,
        blocked_id,
    };
    pair_event(blocker_id, blocked_id, &payload)
}

/// Keeps the users read model (names and emails for lists, existence checks
/// for requests and blocks) up to date from the users service's events.
pub struct UserDirectory {
    pub store: Arc<dyn FriendStore>,
}

#[async_trait]
impl Handler for UserDirectory {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        // Events are applied only over older data, so redeliveries and
        // replays after a crash never roll a user back.
        let version = event.time.timestamp_micros();
        let outcome = match event.kind.as_str() {
            UserRegistered::KIND => {
                let e: UserRegistered = event.data()?;
                let user = UserRecord {
                    user_id: e.user_id,
                    email: e.email,
                    username: e.username,
                    display_name: e.display_name,
                };
                self.store.upsert_user(&user, version).await
            }
            UserProfileUpdated::KIND => {
                let e: UserProfileUpdated = event.data()?;
                self.store
                    .update_user_profile(
                        e.user_id,
                        Some(&e.username),
                        e.display_name.as_deref(),
                        version,
                    )
                    .await
            }
            UserOnlineStatusChanged::KIND => {
                let e: UserOnlineStatusChanged = event.data()?;
                match e.last_seen_at {
                    Some(at) => self.store.touch_user_last_seen(e.user_id, at).await,
                    None => Ok(()),
                }
            }
            // Other kinds on these topics are none of this service's business.
            _ => Ok(()),
        };
        outcome.map_err(|e| HandlerError::Transient(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    #[test]
    fn events_name_the_pair_and_carry_the_contract_fields() {
        let now = Utc::now();
        let mut f = Friendship {
            id: 9,
            requester_id: 5,
            addressee_id: 2,
            status: Status::Pending,
            message: Some("hi".into()),
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let sent = request_sent(&f);
        assert_eq!(sent.kind, FriendRequestSent::KIND);
        assert_eq!(sent.source, "friends");
        assert_eq!(sent.subject, "2:5");
        assert_eq!(sent.data["requester_id"], 5);
        assert_eq!(sent.data["addressee_id"], 2);
        assert_eq!(sent.data["message"], "hi");
        f.status = Status::Accepted;
        assert_eq!(request_answered(&f).kind, FriendRequestAccepted::KIND);
        f.status = Status::Rejected;
        assert_eq!(request_answered(&f).kind, FriendRequestRejected::KIND);
        let deleted = friend_deleted(&f, 2);
        assert_eq!(
            deleted.data,
            json!({"friendship_id": 9, "user_id": 2, "friend_id": 5})
        );
        assert_eq!(user_blocked(5, 2).subject, "2:5");
    }
}

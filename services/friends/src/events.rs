//! What the friends service publishes on `friend.events` (built here, written
//! to the outbox by the store in the transaction of the change) and how it
//! consumes `user.events` and `user.online_status` into its users read model.

use crate::SERVICE;
use crate::domain::{Friendship, Status, UserRecord, pair_key};
use crate::store::FriendStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kit::events::{Event, Handler, HandlerError};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub use kit::events::topics::FRIEND_EVENTS as TOPIC;

pub const FRIEND_REQUEST_SENT: &str = "FriendRequestSent";
pub const FRIEND_REQUEST_ACCEPTED: &str = "FriendRequestAccepted";
pub const FRIEND_REQUEST_REJECTED: &str = "FriendRequestRejected";
pub const FRIEND_REQUEST_CANCELLED: &str = "FriendRequestCancelled";
pub const FRIEND_DELETED: &str = "FriendDeleted";
pub const USER_BLOCKED: &str = "UserBlocked";
pub const USER_UNBLOCKED: &str = "UserUnblocked";

fn pair_event(kind: &str, a: i64, b: i64, data: serde_json::Value) -> Event {
    Event::new(kind, SERVICE, pair_key(a, b), data)
}

pub fn request_sent(f: &Friendship) -> Event {
    pair_event(
        FRIEND_REQUEST_SENT,
        f.requester_id,
        f.addressee_id,
        json!({
            "friendship_id": f.id,
            "requester_id": f.requester_id,
            "addressee_id": f.addressee_id,
            "message": f.message,
            "created_at": f.created_at,
        }),
    )
}

/// `FriendRequestAccepted` or `FriendRequestRejected`, after the answer.
pub fn request_answered(f: &Friendship) -> Event {
    let kind = if f.status == Status::Accepted {
        FRIEND_REQUEST_ACCEPTED
    } else {
        FRIEND_REQUEST_REJECTED
    };
    pair_event(kind, f.requester_id, f.addressee_id, request_data(f))
}

pub fn request_cancelled(f: &Friendship) -> Event {
    pair_event(
        FRIEND_REQUEST_CANCELLED,
        f.requester_id,
        f.addressee_id,
        request_data(f),
    )
}

/// The friendship ended; `by` is who ended it.
pub fn friend_deleted(f: &Friendship, by: i64) -> Event {
    pair_event(
        FRIEND_DELETED,
        f.requester_id,
        f.addressee_id,
        json!({ "friendship_id": f.id, "user_id": by, "friend_id": f.other(by) }),
    )
}

pub fn user_blocked(blocker: i64, blocked: i64) -> Event {
    pair_event(
        USER_BLOCKED,
        blocker,
        blocked,
        json!({ "blocker_id": blocker, "blocked_id": blocked }),
    )
}

pub fn user_unblocked(blocker: i64, blocked: i64) -> Event {
    pair_event(
        USER_UNBLOCKED,
        blocker,
        blocked,
        json!({ "blocker_id": blocker, "blocked_id": blocked }),
    )
}

fn request_data(f: &Friendship) -> serde_json::Value {
    json!({
        "friendship_id": f.id,
        "requester_id": f.requester_id,
        "addressee_id": f.addressee_id,
    })
}

#[derive(Debug, Deserialize)]
struct UserRegistered {
    user_id: i64,
    email: String,
    username: String,
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UserProfileUpdated {
    user_id: i64,
    username: Option<String>,
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UserOnlineStatusChanged {
    user_id: i64,
    last_seen_at: Option<DateTime<Utc>>,
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
            "UserRegistered" => {
                let e: UserRegistered = event.data()?;
                let user = UserRecord {
                    user_id: e.user_id,
                    email: e.email,
                    username: e.username,
                    display_name: e.display_name,
                };
                self.store.upsert_user(&user, version).await
            }
            "UserProfileUpdated" => {
                let e: UserProfileUpdated = event.data()?;
                self.store
                    .update_user_profile(
                        e.user_id,
                        e.username.as_deref(),
                        e.display_name.as_deref(),
                        version,
                    )
                    .await
            }
            "UserOnlineStatusChanged" => {
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
        assert_eq!(sent.kind, FRIEND_REQUEST_SENT);
        assert_eq!(sent.source, "friends");
        assert_eq!(sent.subject, "2:5");
        assert_eq!(sent.data["requester_id"], 5);
        assert_eq!(sent.data["addressee_id"], 2);
        assert_eq!(sent.data["message"], "hi");
        f.status = Status::Accepted;
        assert_eq!(request_answered(&f).kind, FRIEND_REQUEST_ACCEPTED);
        f.status = Status::Rejected;
        assert_eq!(request_answered(&f).kind, FRIEND_REQUEST_REJECTED);
        let deleted = friend_deleted(&f, 2);
        assert_eq!(
            deleted.data,
            json!({"friendship_id": 9, "user_id": 2, "friend_id": 5})
        );
        assert_eq!(user_blocked(5, 2).subject, "2:5");
    }
}

//! `notification.events`, produced by the notifications service (subject:
//! the recipient's user id).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A notification as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationPayload {
    pub id: i64,
    /// `friend_request`, `friend_accepted`, `message`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub body: String,
    /// The ids involved, e.g. `{"friendship_id": 3, "requester_id": 1}`.
    pub data: serde_json::Value,
    pub is_read: bool,
    pub created_at: DateTime<Utc>,
}

/// A notification was created for `user_id`; `seq` is its place in that
/// user's notification stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationCreated {
    pub user_id: i64,
    pub seq: i64,
    pub notification: NotificationPayload,
}

crate::contract! {
    NotificationCreated => NOTIFICATION_EVENTS,
}

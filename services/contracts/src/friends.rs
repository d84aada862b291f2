//! `friend.events`, produced by the friends service. The subject of every
//! event is the pair of users (`low:high`), so one pair's events keep their
//! order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `requester_id` asked `addressee_id` to be friends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FriendRequestSent {
    pub friendship_id: i64,
    pub requester_id: i64,
    pub addressee_id: i64,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The addressee accepted the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FriendRequestAccepted {
    pub friendship_id: i64,
    pub requester_id: i64,
    pub addressee_id: i64,
}

/// The addressee rejected the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FriendRequestRejected {
    pub friendship_id: i64,
    pub requester_id: i64,
    pub addressee_id: i64,
}

/// The requester withdrew the request (or a block ended it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FriendRequestCancelled {
    pub friendship_id: i64,
    pub requester_id: i64,
    pub addressee_id: i64,
}

/// `user_id` ended the friendship with `friend_id` (or blocked them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FriendDeleted {
    pub friendship_id: i64,
    pub user_id: i64,
    pub friend_id: i64,
}

/// `blocker_id` blocked `blocked_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserBlocked {
    pub blocker_id: i64,
    pub blocked_id: i64,
}

/// `blocker_id` lifted the block of `blocked_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserUnblocked {
    pub blocker_id: i64,
    pub blocked_id: i64,
}

crate::contract! {
    FriendRequestSent => FRIEND_EVENTS,
    FriendRequestAccepted => FRIEND_EVENTS,
    FriendRequestRejected => FRIEND_EVENTS,
    FriendRequestCancelled => FRIEND_EVENTS,
    FriendDeleted => FRIEND_EVENTS,
    UserBlocked => FRIEND_EVENTS,
    UserUnblocked => FRIEND_EVENTS,
}

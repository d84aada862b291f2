//! `user.events` and `user.online_status`, produced by the users service.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A user registered (subject: the user id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRegistered {
    pub user_id: i64,
    pub email: String,
    pub username: String,
    pub display_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A user's public profile changed (subject: the user id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserProfileUpdated {
    pub user_id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub status_message: Option<String>,
    pub profile_image_url: Option<String>,
}

/// A user went online or offline (subject: the user id); `seq` orders one
/// user's transitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserOnlineStatusChanged {
    pub user_id: i64,
    pub is_online: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub seq: i64,
}

crate::contract! {
    UserRegistered => USER_EVENTS,
    UserProfileUpdated => USER_EVENTS,
    UserOnlineStatusChanged => USER_ONLINE_STATUS,
}

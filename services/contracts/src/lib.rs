//! The events services exchange (SPEC §3), as typed payloads: one type per
//! event kind, used by the producer to build the event and by every consumer
//! to read it, so both sides agree at compile time on names and types. A
//! payload is the envelope's `data`; the envelope itself (id, source, time,
//! subject, traceparent) is `kit::events::Event`.
//!
//! Versioning: these are version 1 of every contract ([`VERSION`]). A change
//! that old consumers can read (a new optional field) keeps the version; any
//! other change is a new kind or a new version, published next to the old
//! one until every consumer reads it. `tests/examples/` holds a recorded
//! example of every kind, decoded by this crate's tests.
//!
//! This crate depends on nothing of Banter's: services and kit may use it.

mod chat;
mod friends;
mod notifications;
mod posts;
mod users;

pub use chat::{
    ChatMessage, ChatRoomCreated, MessageDeleted, MessageEdited, MessageSent, MessagesRead,
};
pub use friends::{
    FriendDeleted, FriendRequestAccepted, FriendRequestCancelled, FriendRequestRejected,
    FriendRequestSent, UserBlocked, UserUnblocked,
};
pub use notifications::{NotificationCreated, NotificationPayload};
pub use posts::{CommentAdded, PostCreated, PostDeleted, PostEdited, PostLiked, UserFollowed};
pub use users::{UserOnlineStatusChanged, UserProfileUpdated, UserRegistered};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Version of the contracts in this crate.
pub const VERSION: u32 = 1;

/// Topics of SPEC §3.
pub mod topics {
    pub const USER_EVENTS: &str = "user.events";
    pub const USER_ONLINE_STATUS: &str = "user.online_status";
    pub const FRIEND_EVENTS: &str = "friend.events";
    pub const CHAT_EVENTS: &str = "chat.events";
    pub const MESSAGE_EVENTS: &str = "message.events";
    pub const NOTIFICATION_EVENTS: &str = "notification.events";
    pub const POST_EVENTS: &str = "post.events";
}

/// An event payload: which kind it is and which topic carries it.
pub trait Contract: Serialize + DeserializeOwned {
    /// The envelope's `type`, e.g. `FriendRequestSent`.
    const KIND: &'static str;
    /// The topic it is published on.
    const TOPIC: &'static str;
}

/// Declares the kind and topic of payload types.
macro_rules! contract {
    ($($ty:ident => $topic:ident),* $(,)?) => {
        $(impl $crate::Contract for $ty {
            const KIND: &'static str = stringify!($ty);
            const TOPIC: &'static str = $crate::topics::$topic;
        })*
    };
}
pub(crate) use contract;

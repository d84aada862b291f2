//! Notifications' rules, free of I/O: what each kind of notification says,
//! who receives a message notification, and what a valid query or read
//! request looks like (`query`). The kinds that come from `post.events`
//! (likes, comments, follows) are in `social`.

mod query;
mod social;

pub use kit::validate::Invalid;
pub use query::{
    Cursor, DEFAULT_LIMIT, MAX_LIMIT, MAX_READ_IDS, ReadTarget, flag, limit, read_target,
};
pub use social::{CommentNotice, comment_added, followed, post_liked};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Somebody asked the recipient to be friends.
    FriendRequest,
    /// Somebody accepted the recipient's friend request.
    FriendAccepted,
    /// A new message in a room the recipient was not watching.
    Message,
    /// Somebody liked the recipient's post.
    PostLiked,
    /// Somebody commented on the recipient's post.
    PostCommented,
    /// Somebody replied to the recipient's comment.
    CommentReplied,
    /// Somebody started following the recipient.
    Followed,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FriendRequest => "friend_request",
            Self::FriendAccepted => "friend_accepted",
            Self::Message => "message",
            Self::PostLiked => "post_liked",
            Self::PostCommented => "post_commented",
            Self::CommentReplied => "comment_replied",
            Self::Followed => "followed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "friend_request" => Some(Self::FriendRequest),
            "friend_accepted" => Some(Self::FriendAccepted),
            "message" => Some(Self::Message),
            "post_liked" => Some(Self::PostLiked),
            "post_commented" => Some(Self::PostCommented),
            "comment_replied" => Some(Self::CommentReplied),
            "followed" => Some(Self::Followed),
            _ => None,
        }
    }
}

/// A notification about to be stored for `user_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub user_id: i64,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    /// The ids involved (friendship, users, room, message).
    pub data: Value,
    /// The chat message whose text the body quotes, if any.
    pub quotes: Option<Quote>,
}

/// The chat message a notification quotes: an edit or a delete of it
/// rewrites or redacts the quote ([`Revision`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub message_id: String,
    /// The room's event seq of the message text the body shows.
    pub seq: i64,
}

/// What became of a quoted message, as of the room's event `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub message_id: String,
    pub seq: i64,
    /// The new body of every notification that quotes the message.
    pub body: String,
}

/// Body of a notification whose message was deleted: the text is gone.
pub const REDACTED: &str = "This message was deleted.";

/// The body of a message notification: the preview, or a neutral line
/// when there is nothing to show.
fn message_body(content: &str) -> String {
    match preview(content) {
        p if p.is_empty() => "New message".to_owned(),
        p => p,
    }
}

/// Quotes of `message_id` show `content` from now on (an edit at `seq`).
pub fn edited(message_id: &str, seq: i64, content: &str) -> Result<Revision, Unprocessable> {
    revision(message_id, seq, message_body(content))
}

/// Quotes of `message_id` are redacted (a delete at `seq`).
pub fn deleted(message_id: &str, seq: i64) -> Result<Revision, Unprocessable> {
    revision(message_id, seq, REDACTED.to_owned())
}

fn revision(message_id: &str, seq: i64, body: String) -> Result<Revision, Unprocessable> {
    if message_id.is_empty() {
        return Err(Unprocessable("message has no id".into()));
    }
    Ok(Revision {
        message_id: message_id.to_owned(),
        seq,
        body,
    })
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    /// Position in the recipient's stream: 1, 2, 3 … without gaps.
    pub seq: i64,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub data: Value,
    pub is_read: bool,
    pub created_at: DateTime<Utc>,
}

/// A notification as clients see it (HTTP, SSE and the `NotificationCreated` event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub title: String,
    pub body: String,
    /// The ids involved, e.g. `{"friendship_id": 3, "requester_id": 1, "addressee_id": 2}`.
    #[schema(value_type = Object)]
    pub data: Value,
    pub is_read: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&Notification> for NotificationView {
    fn from(n: &Notification) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            title: n.title.clone(),
            body: n.body.clone(),
            data: n.data.clone(),
            is_read: n.is_read,
            created_at: n.created_at,
        }
    }
}

/// What the notifications service knows about a user (from `user.events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownUser {
    pub user_id: i64,
    pub username: String,
    pub display_name: Option<String>,
}

/// How a user is named in notification texts: the display name, else the
/// username, else a neutral word while the user is not known yet (user and
/// friend events travel on different topics, so either may arrive first).
pub fn name_of(user: Option<&KnownUser>) -> String {
    user.and_then(|u| {
        u.display_name
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .or(Some(u.username.as_str()).filter(|n| !n.is_empty()))
    })
    .map_or_else(|| "Someone".to_owned(), str::to_owned)
}

/// A name from another service's event, made safe for titles: control
/// characters dropped (PostgreSQL refuses NUL), whitespace trimmed.
pub fn clean_name(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Longest message preview in a notification body, in characters.
pub const PREVIEW_MAX: usize = 100;

/// The first [`PREVIEW_MAX`] characters of `content` on one line, with an
/// ellipsis when cut.
pub fn preview(content: &str) -> String {
    let flat: String = content
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if flat.chars().count() <= PREVIEW_MAX {
        return flat;
    }
    let mut cut: String = flat.chars().take(PREVIEW_MAX - 1).collect();
    cut.push('…');
    cut
}

/// An event that cannot become a notification, whatever happens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unprocessable(pub String);

pub(crate) fn positive(field: &str, id: i64) -> Result<(), Unprocessable> {
    if id <= 0 {
        return Err(Unprocessable(format!(
            "{field} must be a positive id, got {id}"
        )));
    }
    Ok(())
}

fn two_users(
    requester_id: i64,
    addressee_id: i64,
    friendship_id: i64,
) -> Result<(), Unprocessable> {
    positive("friendship_id", friendship_id)?;
    positive("requester_id", requester_id)?;
    positive("addressee_id", addressee_id)?;
    if requester_id == addressee_id {
        return Err(Unprocessable(
            "requester and addressee are the same user".into(),
        ));
    }
    Ok(())
}

/// The addressee learns about a friend request.
pub fn friend_request(
    friendship_id: i64,
    requester_id: i64,
    addressee_id: i64,
    requester_name: &str,
    message: Option<&str>,
) -> Result<Draft, Unprocessable> {
    two_users(requester_id, addressee_id, friendship_id)?;
    let body = match message.map(preview).filter(|m| !m.is_empty()) {
        Some(m) => m,
        None => format!("{requester_name} wants to be your friend."),
    };
    Ok(Draft {
        user_id: addressee_id,
        kind: Kind::FriendRequest,
        title: format!("Friend request from {requester_name}"),
        body,
        data: serde_json::json!({
            "friendship_id": friendship_id,
            "requester_id": requester_id,
            "addressee_id": addressee_id,
        }),
        quotes: None,
    })
}

/// The requester learns that the addressee accepted.
pub fn friend_accepted(
    friendship_id: i64,
    requester_id: i64,
    addressee_id: i64,
    addressee_name: &str,
) -> Result<Draft, Unprocessable> {
    two_users(requester_id, addressee_id, friendship_id)?;
    Ok(Draft {
        user_id: requester_id,
        kind: Kind::FriendAccepted,
        title: format!("{addressee_name} accepted your friend request"),
        body: format!("You and {addressee_name} are now friends."),
        data: serde_json::json!({
            "friendship_id": friendship_id,
            "requester_id": requester_id,
            "addressee_id": addressee_id,
        }),
        quotes: None,
    })
}

/// A message that was sent, as far as notifications care.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage<'a> {
    pub room_id: i64,
    pub room_type: &'a str,
    pub seq: i64,
    pub sender_id: i64,
    pub message_id: &'a str,
    pub content: &'a str,
}

/// Who is told about a message: every member except the sender and those
/// watching the room's stream right now; each once, in ascending id order.
pub fn message_recipients(members: &[i64], sender_id: i64, streaming: &[i64]) -> Vec<i64> {
    let mut out: Vec<i64> = members
        .iter()
        .copied()
        .filter(|id| *id > 0 && *id != sender_id && !streaming.contains(id))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// One notification per recipient of a new message.
pub fn message(
    sent: &SentMessage<'_>,
    sender_name: &str,
    recipients: &[i64],
) -> Result<Vec<Draft>, Unprocessable> {
    positive("room_id", sent.room_id)?;
    positive("sender_id", sent.sender_id)?;
    if sent.message_id.is_empty() {
        return Err(Unprocessable("message has no id".into()));
    }
    let body = message_body(sent.content);
    let data = serde_json::json!({
        "room_id": sent.room_id,
        "room_type": sent.room_type,
        "message_id": sent.message_id,
        "sender_id": sent.sender_id,
        "seq": sent.seq,
    });
    Ok(recipients
        .iter()
        .map(|&user_id| Draft {
            user_id,
            kind: Kind::Message,
            title: format!("New message from {sender_name}"),
            body: body.clone(),
            data: data.clone(),
            quotes: Some(Quote {
                message_id: sent.message_id.to_owned(),
                seq: sent.seq,
            }),
        })
        .collect())
}

/// A user as `user.events` describe them, names cleaned; `kind` names the
/// event in the refusal.
pub fn known_user(
    kind: &str,
    user_id: i64,
    username: &str,
    display_name: Option<&str>,
) -> Result<KnownUser, Unprocessable> {
    let username = clean_name(username);
    if user_id <= 0 || username.is_empty() {
        return Err(Unprocessable(format!(
            "{kind}: user_id and username are required"
        )));
    }
    Ok(KnownUser {
        user_id,
        username,
        display_name: display_name.map(clean_name),
    })
}

/// The drafts still to store when the recipients in `delivered` already got
/// theirs from an earlier delivery of the same event: one per recipient, in
/// recipient order (the order counter rows are locked in, so two events
/// never deadlock).
pub fn undelivered<'a>(drafts: &'a [Draft], delivered: &[i64]) -> Vec<&'a Draft> {
    let mut todo: Vec<&Draft> = drafts
        .iter()
        .filter(|d| !delivered.contains(&d.user_id))
        .collect();
    todo.sort_by_key(|d| d.user_id);
    todo.dedup_by_key(|d| d.user_id);
    todo
}

#[cfg(test)]
mod tests;

//! Notifications' rules, free of I/O: what each kind of notification says,
//! who receives a message notification, and what a valid query or read
//! request looks like. The kinds that come from `post.events` (likes,
//! comments, follows) are in `social`.

mod social;

pub use kit::validate::Invalid;
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

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// Most ids one read request may carry.
pub const MAX_READ_IDS: usize = 1000;

/// `limit` of a listing: 1-100, default 20.
pub fn limit(raw: Option<&str>) -> Result<u32, Invalid> {
    let Some(raw) = raw.map(str::trim) else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(Invalid(format!(
            "limit: must be an integer between 1 and {MAX_LIMIT}"
        ))),
    }
}

/// A boolean query flag as browsers and the original API send it.
pub fn flag(field: &str, raw: Option<&str>) -> Result<bool, Invalid> {
    match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(_) => Err(Invalid(format!("{field}: must be true or false"))),
    }
}

/// Position in a newest-first listing: the id of the last notification of
/// the previous page (clients treat it as opaque).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub i64);

impl Cursor {
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, Invalid> {
        let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Some(Self(id))),
            _ => Err(Invalid(
                "cursor: not a cursor from a previous page (use next_cursor as given)".into(),
            )),
        }
    }

    pub fn encode(self) -> String {
        self.0.to_string()
    }
}

/// Which notifications a read request marks read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadTarget {
    /// These ids (deduplicated); ids of others or unknown ones are ignored.
    Ids(Vec<i64>),
    /// Every notification of the caller.
    All,
}

/// Exactly one of `notification_ids` or `all: true`.
pub fn read_target(ids: Option<Vec<i64>>, all: Option<bool>) -> Result<ReadTarget, Invalid> {
    match (ids, all.unwrap_or(false)) {
        (Some(_), true) => Err(Invalid(
            "give either notification_ids or all: true, not both".into(),
        )),
        (None, false) => Err(Invalid("give notification_ids or all: true".into())),
        (None, true) => Ok(ReadTarget::All),
        (Some(mut ids), false) => {
            if ids.len() > MAX_READ_IDS {
                return Err(Invalid(format!(
                    "notification_ids: at most {MAX_READ_IDS} ids per request"
                )));
            }
            ids.sort_unstable();
            ids.dedup();
            Ok(ReadTarget::Ids(ids))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn undelivered_skips_notified_recipients_once_each_in_order() {
        let draft = |user_id| Draft {
            user_id,
            kind: Kind::Message,
            title: "t".into(),
            body: "b".into(),
            data: Value::Null,
            quotes: None,
        };
        let drafts = [draft(3), draft(1), draft(2), draft(3)];
        let todo: Vec<i64> = undelivered(&drafts, &[2])
            .iter()
            .map(|d| d.user_id)
            .collect();
        assert_eq!(todo, vec![1, 3]);
        assert!(undelivered(&drafts, &[1, 2, 3]).is_empty());
    }

    #[test]
    fn known_users_need_an_id_and_a_name() {
        let user = known_user("UserRegistered", 7, " ada\u{0} ", Some(" Ada ")).unwrap();
        assert_eq!(user.username, "ada");
        assert_eq!(user.display_name.as_deref(), Some("Ada"));
        let refused = known_user("UserRegistered", 0, "ada", None).unwrap_err();
        assert_eq!(
            refused.0,
            "UserRegistered: user_id and username are required"
        );
        assert!(known_user("UserProfileUpdated", 7, " \u{7} ", None).is_err());
    }

    fn alice() -> KnownUser {
        KnownUser {
            user_id: 1,
            username: "alice".into(),
            display_name: None,
        }
    }

    #[test]
    fn names_prefer_the_display_name() {
        assert_eq!(name_of(Some(&alice())), "alice");
        let named = KnownUser {
            display_name: Some("Alice A.".into()),
            ..alice()
        };
        assert_eq!(name_of(Some(&named)), "Alice A.");
        let blank = KnownUser {
            display_name: Some("  ".into()),
            ..alice()
        };
        assert_eq!(name_of(Some(&blank)), "alice");
        assert_eq!(name_of(None), "Someone");
    }

    #[test]
    fn names_lose_control_characters() {
        assert_eq!(clean_name(" bo\0b\u{7} "), "bob");
        assert_eq!(clean_name("\0"), "");
    }

    #[test]
    fn previews_are_one_short_line() {
        assert_eq!(preview("hi\n  there"), "hi there");
        let long = "x".repeat(150);
        let p = preview(&long);
        assert_eq!(p.chars().count(), PREVIEW_MAX);
        assert!(p.ends_with('…'));
        assert_eq!(preview("a\u{7}b"), "ab");
    }

    #[test]
    fn friend_requests_go_to_the_addressee() {
        let d = friend_request(7, 1, 2, "alice", None).unwrap();
        assert_eq!(d.user_id, 2);
        assert_eq!(d.kind, Kind::FriendRequest);
        assert_eq!(d.title, "Friend request from alice");
        assert_eq!(d.data["friendship_id"], 7);
        let with_message = friend_request(7, 1, 2, "alice", Some("let's chat")).unwrap();
        assert_eq!(with_message.body, "let's chat");
        assert!(friend_request(7, 1, 1, "alice", None).is_err(), "self");
        assert!(friend_request(7, 0, 2, "alice", None).is_err());
        assert!(friend_request(-1, 1, 2, "alice", None).is_err());
    }

    #[test]
    fn revisions_rewrite_or_redact_the_quote() {
        let sent = SentMessage {
            room_id: 1,
            room_type: "direct",
            seq: 4,
            sender_id: 1,
            message_id: "m1",
            content: "hi",
        };
        let drafts = message(&sent, "alice", &[2]).unwrap();
        let quote = drafts[0].quotes.clone().unwrap();
        assert_eq!((quote.message_id.as_str(), quote.seq), ("m1", 4));
        let e = edited("m1", 5, "hi\n  there").unwrap();
        assert_eq!((e.seq, e.body.as_str()), (5, "hi there"));
        assert_eq!(edited("m1", 5, "  ").unwrap().body, "New message");
        let d = deleted("m1", 6).unwrap();
        assert_eq!(d.body, REDACTED);
        assert!(deleted("", 6).is_err());
        assert!(friend_accepted(7, 1, 2, "bob").unwrap().quotes.is_none());
    }

    #[test]
    fn acceptances_go_to_the_requester() {
        let d = friend_accepted(7, 1, 2, "bob").unwrap();
        assert_eq!(d.user_id, 1);
        assert_eq!(d.kind, Kind::FriendAccepted);
        assert!(d.title.contains("bob"));
    }

    #[test]
    fn message_recipients_skip_sender_and_watchers() {
        assert_eq!(message_recipients(&[3, 1, 2, 2, 4], 1, &[4]), vec![2, 3]);
        assert!(message_recipients(&[1], 1, &[]).is_empty());
        let sent = SentMessage {
            room_id: 5,
            room_type: "direct",
            seq: 9,
            sender_id: 1,
            message_id: "m1",
            content: "hello",
        };
        let drafts = message(&sent, "alice", &[2, 3]).unwrap();
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[1].user_id, 3);
        assert_eq!(drafts[0].body, "hello");
        assert_eq!(drafts[0].data["message_id"], "m1");
        let no_id = SentMessage {
            message_id: "",
            ..sent
        };
        assert!(message(&no_id, "alice", &[2]).is_err());
    }

    #[test]
    fn listing_parameters() {
        assert_eq!(limit(None).unwrap(), 20);
        assert_eq!(limit(Some("100")).unwrap(), 100);
        for bad in ["0", "101", "-1", "x", ""] {
            assert!(limit(Some(bad)).is_err(), "{bad:?}");
        }
        assert!(flag("unread_only", Some("TRUE")).unwrap());
        assert!(!flag("unread_only", Some("0")).unwrap());
        assert!(flag("unread_only", Some("maybe")).is_err());
        assert_eq!(Cursor::parse(Some("12")).unwrap(), Some(Cursor(12)));
        assert_eq!(Cursor::parse(None).unwrap(), None);
        for bad in ["abc", "0", "-5", "1.5", "99999999999999999999"] {
            assert!(Cursor::parse(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn read_requests_need_exactly_one_target() {
        assert_eq!(read_target(None, Some(true)).unwrap(), ReadTarget::All);
        assert_eq!(
            read_target(Some(vec![3, 1, 3]), None).unwrap(),
            ReadTarget::Ids(vec![1, 3])
        );
        assert_eq!(
            read_target(Some(vec![1]), Some(false)).unwrap(),
            ReadTarget::Ids(vec![1])
        );
        assert!(read_target(None, None).is_err());
        assert!(read_target(None, Some(false)).is_err());
        assert!(read_target(Some(vec![1]), Some(true)).is_err());
        assert!(read_target(Some(vec![0; MAX_READ_IDS + 1]), None).is_err());
    }
}

//! Chat's rules, free of I/O: rooms, messages, what valid input looks like
//! (here) and who may do what (`rules`).

mod rules;
mod wire;

pub use kit::validate::{Invalid, plain_text};
pub use rules::{
    PeerFacts, Refusal, block_scope, direct_pair, may_change, may_create_group, may_edit,
    may_open_direct, may_send,
};

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Most characters a message may hold.
pub const CONTENT_MAX: usize = 300;
/// Most characters of a group room's name.
pub const GROUP_NAME_MAX: usize = 100;
/// Most members of a group room, its creator included.
pub const GROUP_MAX_MEMBERS: usize = 100;
/// Most message ids one read receipt may carry.
pub const READ_BATCH_MAX: usize = 500;
/// Longest message id accepted (ids are 32 hex characters).
const MESSAGE_ID_MAX: usize = 64;

/// "Now" at the precision both databases keep (microseconds), so a value
/// returned right after a write equals the one read back later.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoomType {
    Direct,
    Group,
}

impl RoomType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
        }
    }

    pub fn parse(raw: &str) -> Self {
        if raw == "group" {
            Self::Group
        } else {
            Self::Direct
        }
    }
}

/// A chat room as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: i64,
    pub room_type: RoomType,
    pub name: Option<String>,
    /// The pair of a direct room, smaller id first; `None` for groups.
    pub user_1_id: Option<i64>,
    pub user_2_id: Option<i64>,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_message_id: Option<String>,
    /// Events in the room's stream so far (the last event's id).
    pub last_seq: i64,
}

/// A user as chat knows them (from `user.events`). Serialised as the
/// original service sends a room's participants (`wire`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub user_id: i64,
    pub username: String,
    pub display_name: Option<String>,
}

/// A message; serialised as the JSON of SPEC §2 (`wire`; ids of messages
/// are strings).
///
/// `contracts::ChatMessage` is the same record on the bus and on the wire
/// (a message is serialised through it); this type stays apart because the
/// contracts crate does not know [`RoomType`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub user_id: i64,
    pub room_id: i64,
    pub room_type: RoomType,
    pub content: String,
    pub message_type: String,
    pub is_deleted: bool,
    pub is_edited: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When its content last changed; null if never edited.
    pub edited_at: Option<DateTime<Utc>>,
    /// When it was deleted; null while it is not.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Message {
    /// What anybody sees of a deleted message: that it existed, not what it said.
    pub fn hidden(mut self) -> Self {
        if self.is_deleted {
            self.content = String::new();
        }
        self
    }
}

impl From<&Message> for contracts::ChatMessage {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id.clone(),
            user_id: m.user_id,
            room_id: m.room_id,
            room_type: m.room_type.as_str().to_owned(),
            content: m.content.clone(),
            message_type: m.message_type.clone(),
            is_deleted: m.is_deleted,
            is_edited: m.is_edited,
            created_at: m.created_at,
            updated_at: m.updated_at,
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
            file_url: None,
            file_name: None,
            file_size: None,
            file_type: None,
            is_read: false,
            read_by: Vec::new(),
        }
    }
}

/// The direct-room key of a pair: (smaller id, larger id).
pub fn pair(a: i64, b: i64) -> (i64, i64) {
    (a.min(b), a.max(b))
}

/// A message body: 1-300 characters, not blank, line breaks allowed.
pub fn content(raw: &str) -> Result<String, Invalid> {
    plain_text("content", raw, true)?;
    if raw.trim().is_empty() {
        return Err(Invalid("content: must not be blank".into()));
    }
    if raw.chars().count() > CONTENT_MAX {
        return Err(Invalid(format!(
            "content: at most {CONTENT_MAX} characters"
        )));
    }
    Ok(raw.to_owned())
}

/// Only text messages exist so far.
pub fn message_type(raw: Option<&str>) -> Result<String, Invalid> {
    match raw.unwrap_or("text") {
        "text" => Ok("text".into()),
        other => Err(Invalid(format!(
            "message_type: unsupported type {other:?} (only \"text\")"
        ))),
    }
}

pub fn group_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    plain_text("name", name, false)?;
    if name.is_empty() {
        return Err(Invalid("name: must not be blank".into()));
    }
    if name.chars().count() > GROUP_NAME_MAX {
        return Err(Invalid(format!(
            "name: at most {GROUP_NAME_MAX} characters"
        )));
    }
    Ok(name.to_owned())
}

/// The members of a new group: the creator plus the distinct others, at
/// least one other and at most [`GROUP_MAX_MEMBERS`] in all. The creator comes first.
pub fn group_members(creator: i64, requested: &[i64]) -> Result<Vec<i64>, Invalid> {
    let mut members = vec![creator];
    for &id in requested {
        if !members.contains(&id) {
            members.push(id);
        }
        if members.len() > GROUP_MAX_MEMBERS {
            return Err(Invalid(format!(
                "member_ids: a group has at most {GROUP_MAX_MEMBERS} members, its creator included"
            )));
        }
    }
    if members.len() < 2 {
        return Err(Invalid(
            "member_ids: name at least one member besides yourself".into(),
        ));
    }
    Ok(members)
}

/// Whether `id` could be a message id at all (so it is worth looking up).
pub fn plausible_message_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MESSAGE_ID_MAX && plain_text("id", id, false).is_ok()
}

/// The ids of a read receipt: at most [`READ_BATCH_MAX`], each plausible,
/// returned sorted without repeats.
pub fn read_ids(mut ids: Vec<String>) -> Result<Vec<String>, Invalid> {
    if ids.len() > READ_BATCH_MAX {
        return Err(Invalid(format!(
            "message_ids: at most {READ_BATCH_MAX} per request"
        )));
    }
    if !ids.iter().all(|id| plausible_message_id(id)) {
        return Err(Invalid("message_ids: each must be a message id".into()));
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Paging: `skip` ≥ 0, `limit` within `1..=max` (default `default`).
pub fn page(
    skip: Option<i64>,
    limit: Option<i64>,
    default: i64,
    max: i64,
) -> Result<(i64, i64), Invalid> {
    let skip = skip.unwrap_or(0);
    if skip < 0 {
        return Err(Invalid("skip: must not be negative".into()));
    }
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(Invalid(format!("limit: must be between 1 and {max}")));
    }
    Ok((skip, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents() {
        assert_eq!(content("hi").unwrap(), "hi");
        assert!(content("line\nbreak").is_ok());
        assert!(content("").is_err());
        assert!(content("   ").is_err());
        assert!(content(&"가".repeat(300)).is_ok(), "characters, not bytes");
        assert!(content(&"x".repeat(301)).is_err());
        assert!(content("nul\0").is_err());
        assert!(content("bell\u{7}").is_err());
    }

    #[test]
    fn message_types() {
        assert_eq!(message_type(None).unwrap(), "text");
        assert_eq!(message_type(Some("text")).unwrap(), "text");
        assert!(message_type(Some("image")).is_err());
    }

    #[test]
    fn group_names() {
        assert_eq!(group_name("  team ").unwrap(), "team");
        assert!(group_name(" ").is_err());
        assert!(group_name("a\nb").is_err());
        assert!(group_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn groups_include_the_creator_once() {
        assert_eq!(group_members(1, &[2, 3, 2, 1]).unwrap(), vec![1, 2, 3]);
        assert!(group_members(1, &[]).is_err());
        assert!(group_members(1, &[1]).is_err());
        let many: Vec<i64> = (2..=100).collect();
        assert_eq!(group_members(1, &many).unwrap().len(), 100);
        let too_many: Vec<i64> = (2..=101).collect();
        assert!(group_members(1, &too_many).is_err());
    }

    #[test]
    fn pages() {
        assert_eq!(page(None, None, 20, 100).unwrap(), (0, 20));
        assert!(page(Some(-1), None, 20, 100).is_err());
        assert!(page(None, Some(0), 20, 100).is_err());
        assert!(page(None, Some(101), 20, 100).is_err());
    }

    #[test]
    fn read_receipts_carry_plausible_ids_once() {
        let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(read_ids(ids(&["b", "a", "b"])).unwrap(), ids(&["a", "b"]));
        assert!(read_ids(Vec::new()).unwrap().is_empty());
        assert!(read_ids(ids(&[""])).is_err());
        assert!(read_ids(ids(&[&"x".repeat(65)])).is_err());
        assert!(read_ids(ids(&["a\nb"])).is_err());
        assert!(read_ids(vec!["a".to_owned(); READ_BATCH_MAX]).is_ok());
        assert!(read_ids(vec!["a".to_owned(); READ_BATCH_MAX + 1]).is_err());
    }

    #[test]
    fn the_bus_record_of_a_message_serialises_as_the_message() {
        let m = Message {
            id: "m".into(),
            user_id: 1,
            room_id: 2,
            room_type: RoomType::Group,
            content: "hi".into(),
            message_type: "text".into(),
            is_deleted: false,
            is_edited: true,
            created_at: now(),
            updated_at: now(),
            edited_at: Some(now()),
            deleted_at: None,
        };
        let bus = contracts::ChatMessage::from(&m);
        assert_eq!(
            serde_json::to_value(&bus).unwrap(),
            serde_json::to_value(&m).unwrap()
        );
    }

    #[test]
    fn deleted_messages_hide_their_content() {
        let m = Message {
            id: "m".into(),
            user_id: 1,
            room_id: 1,
            room_type: RoomType::Direct,
            content: "secret".into(),
            message_type: "text".into(),
            is_deleted: true,
            is_edited: false,
            created_at: now(),
            updated_at: now(),
            edited_at: None,
            deleted_at: Some(now()),
        };
        assert_eq!(m.hidden().content, "");
        assert_eq!(pair(5, 2), (2, 5));
    }
}

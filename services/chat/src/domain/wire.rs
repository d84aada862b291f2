//! How rooms' participants and messages look on the wire: the JSON the
//! original chat service sends (SPEC §2), which clients of it rely on. Every
//! field it has is present under its name and JSON type, `null`/`false`/`[]`
//! when empty; Banter's own extra fields ride along.
//!
//! The domain types stay what chat knows. A message goes out as the
//! `message.events` contract (`contracts::ChatMessage`, which is the
//! client's shape too), so HTTP, the room stream and the bus cannot drift
//! apart; a participant as a borrowed view ([`ParticipantJson`]). The
//! OpenAPI schemas are theirs, under the domain types' names.

use super::{Message, Participant};
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// A room member: `id` and `username` as the original sends them, plus
/// Banter's `user_id` (the same id) and `display_name`.
#[derive(Serialize, ToSchema)]
#[schema(as = Participant)]
pub struct ParticipantJson<'a> {
    /// The user's id.
    id: i64,
    /// The same id, under the name Banter used first.
    user_id: i64,
    username: &'a str,
    display_name: Option<&'a str>,
}

impl<'a> From<&'a Participant> for ParticipantJson<'a> {
    fn from(p: &'a Participant) -> Self {
        Self {
            id: p.user_id,
            user_id: p.user_id,
            username: &p.username,
            display_name: p.display_name.as_deref(),
        }
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        contracts::ChatMessage::from(self).serialize(s)
    }
}

impl Serialize for Participant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ParticipantJson::from(self).serialize(s)
    }
}

impl PartialSchema for Message {
    fn schema() -> RefOr<Schema> {
        contracts::ChatMessage::schema()
    }
}

impl ToSchema for Message {
    fn name() -> Cow<'static, str> {
        contracts::ChatMessage::name()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        contracts::ChatMessage::schemas(schemas);
    }
}

impl PartialSchema for Participant {
    fn schema() -> RefOr<Schema> {
        ParticipantJson::schema()
    }
}

impl ToSchema for Participant {
    fn name() -> Cow<'static, str> {
        ParticipantJson::name()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        ParticipantJson::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{RoomType, now};
    use serde_json::json;

    #[test]
    fn participants_carry_the_original_id_and_username() {
        let p = Participant {
            user_id: 4,
            username: "bo".into(),
            display_name: None,
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"id": 4, "user_id": 4, "username": "bo", "display_name": null})
        );
    }

    #[test]
    fn messages_carry_every_field_of_the_original_even_when_empty() {
        let m = Message {
            id: "m".into(),
            user_id: 1,
            room_id: 2,
            room_type: RoomType::Direct,
            content: "hi".into(),
            message_type: "text".into(),
            is_deleted: false,
            is_edited: false,
            created_at: now(),
            updated_at: now(),
            edited_at: None,
            deleted_at: None,
        };
        let v = serde_json::to_value(&m).unwrap();
        for field in [
            "deleted_at",
            "edited_at",
            "file_url",
            "file_name",
            "file_size",
            "file_type",
        ] {
            assert_eq!(v.get(field), Some(&json!(null)), "{field} in {v}");
        }
        assert_eq!(v.get("is_read"), Some(&json!(false)));
        assert_eq!(v.get("read_by"), Some(&json!([])));
    }
}

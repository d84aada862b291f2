//! Who may do what, decided from facts the application layer loads: opening
//! a direct room, creating a group, sending to a room, changing a message.
//! Each decision returns the [`Refusal`] the client is told, or `Ok`.

use super::{Message, RoomType, pair};

/// Why chat says no. The text is the `detail` clients get.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("you cannot open a chat room with yourself")]
    SelfChat,
    #[error("user not found")]
    UnknownUser,
    /// A would-be member of a group nobody has heard of.
    #[error("user {0} not found")]
    UnknownMember(i64),
    /// A block stands between the caller and somebody they want a room with.
    #[error("you cannot chat with this user")]
    CannotChat,
    /// A block stands between the sender and the other member of a direct room.
    #[error("you cannot message this user")]
    CannotMessage,
    /// The room does not exist or the caller is not a member (the same answer,
    /// so room ids reveal nothing).
    #[error("chat room not found")]
    RoomNotFound,
    /// The message does not exist or is in a room the caller is not in.
    #[error("message not found")]
    MessageNotFound,
    #[error("only the author may change a message")]
    NotAuthor,
    #[error("the message was deleted")]
    Deleted,
}

/// What the read models say about the people a caller wants a room with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerFacts {
    /// The first of them the users read model does not know (after asking the
    /// users service and waiting for the model to catch up).
    pub unknown: Option<i64>,
    /// Whether the caller blocked any of them or any of them blocked the caller.
    pub blocked: bool,
}

/// The pair key of the direct room of `caller` and `other`: anybody but
/// the caller themself.
pub fn direct_pair(caller: i64, other: i64) -> Result<(i64, i64), Refusal> {
    if caller == other {
        return Err(Refusal::SelfChat);
    }
    Ok(pair(caller, other))
}

/// A direct room needs a known other user with no block either way.
pub fn may_open_direct(facts: &PeerFacts) -> Result<(), Refusal> {
    if facts.unknown.is_some() {
        return Err(Refusal::UnknownUser);
    }
    if facts.blocked {
        return Err(Refusal::CannotChat);
    }
    Ok(())
}

/// A group needs known members, none blocked by or blocking its creator.
pub fn may_create_group(facts: &PeerFacts) -> Result<(), Refusal> {
    if let Some(id) = facts.unknown {
        return Err(Refusal::UnknownMember(id));
    }
    if facts.blocked {
        return Err(Refusal::CannotChat);
    }
    Ok(())
}

/// Whose blocks stop `sender`'s message to a room of `members`: in a direct
/// room the other member's (a block ends the conversation); in a group
/// nobody's (blocks were checked when the group was made).
pub fn block_scope(room_type: RoomType, sender: i64, members: &[i64]) -> Vec<i64> {
    match room_type {
        RoomType::Direct => members.iter().copied().filter(|id| *id != sender).collect(),
        RoomType::Group => Vec::new(),
    }
}

/// A message goes out unless a block stands within [`block_scope`].
pub fn may_send(blocked_in_scope: bool) -> Result<(), Refusal> {
    if blocked_in_scope {
        return Err(Refusal::CannotMessage);
    }
    Ok(())
}

/// Only the author may change a message, and only a member of its room may
/// even see it: `message` as loaded, `in_room` whether `caller` is a member
/// of its room. Unknown and unseen messages look alike (404), other
/// people's are refused (403).
pub fn may_change(
    caller: i64,
    message: Option<Message>,
    in_room: bool,
) -> Result<Message, Refusal> {
    let message = message.ok_or(Refusal::MessageNotFound)?;
    if !in_room {
        return Err(Refusal::MessageNotFound);
    }
    if message.user_id != caller {
        return Err(Refusal::NotAuthor);
    }
    Ok(message)
}

/// A deleted message stays deleted: it cannot be edited back.
pub fn may_edit(message: &Message) -> Result<(), Refusal> {
    if message.is_deleted {
        return Err(Refusal::Deleted);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::now;

    fn message(author: i64, is_deleted: bool) -> Message {
        Message {
            id: "m".into(),
            user_id: author,
            room_id: 7,
            room_type: RoomType::Direct,
            content: String::new(),
            message_type: "text".into(),
            is_deleted,
            is_edited: false,
            created_at: now(),
            updated_at: now(),
            edited_at: None,
            deleted_at: None,
        }
    }

    #[test]
    fn a_direct_room_is_with_somebody_else() {
        assert_eq!(direct_pair(3, 3), Err(Refusal::SelfChat));
        assert_eq!(direct_pair(5, 2), Ok((2, 5)));
    }

    #[test]
    fn unknown_users_come_before_blocks() {
        let unknown_and_blocked = PeerFacts {
            unknown: Some(9),
            blocked: true,
        };
        let blocked = PeerFacts {
            unknown: None,
            blocked: true,
        };
        assert_eq!(
            may_open_direct(&unknown_and_blocked),
            Err(Refusal::UnknownUser)
        );
        assert_eq!(may_open_direct(&blocked), Err(Refusal::CannotChat));
        assert_eq!(may_open_direct(&PeerFacts::default()), Ok(()));
        assert_eq!(
            may_create_group(&unknown_and_blocked),
            Err(Refusal::UnknownMember(9))
        );
        assert_eq!(may_create_group(&blocked), Err(Refusal::CannotChat));
        assert_eq!(may_create_group(&PeerFacts::default()), Ok(()));
    }

    #[test]
    fn blocks_stop_direct_messages_only() {
        assert_eq!(block_scope(RoomType::Direct, 1, &[1, 2]), vec![2]);
        assert!(block_scope(RoomType::Group, 1, &[1, 2, 3]).is_empty());
        assert_eq!(may_send(true), Err(Refusal::CannotMessage));
        assert_eq!(may_send(false), Ok(()));
    }

    #[test]
    fn only_authors_change_messages_they_can_see() {
        assert_eq!(may_change(1, None, true), Err(Refusal::MessageNotFound));
        assert_eq!(
            may_change(1, Some(message(1, false)), false),
            Err(Refusal::MessageNotFound),
            "not in the room: as if it did not exist"
        );
        assert_eq!(
            may_change(2, Some(message(1, false)), true),
            Err(Refusal::NotAuthor)
        );
        assert_eq!(
            may_change(1, Some(message(1, false)), true).map(|m| m.id),
            Ok("m".to_owned())
        );
    }

    #[test]
    fn deleted_messages_cannot_be_edited() {
        assert_eq!(may_edit(&message(1, true)), Err(Refusal::Deleted));
        assert_eq!(may_edit(&message(1, false)), Ok(()));
    }
}

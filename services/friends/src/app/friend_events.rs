//! What the friends service announces on `friend.events`: one typed
//! contract per change, keyed by the pair (`"<low>:<high>"`) so one pair's
//! events share a partition and keep their order. The use cases enqueue
//! them in the unit of work of the change they announce.

use crate::SERVICE;
use crate::domain::{Friendship, Status, pair_key};
use contracts::{
    FriendDeleted, FriendRequestAccepted, FriendRequestCancelled, FriendRequestRejected,
    FriendRequestSent, UserBlocked, UserUnblocked,
};
use kit::events::Event;

pub use kit::events::topics::FRIEND_EVENTS as TOPIC;

fn pair_event<C: contracts::Contract>(a: i64, b: i64, payload: &C) -> Event {
    Event::of(SERVICE, pair_key(a, b), payload)
}

pub fn request_sent(f: &Friendship) -> Event {
    let payload = FriendRequestSent {
        friendship_id: f.id,
        requester_id: f.requester_id,
        addressee_id: f.addressee_id,
        message: f.message.clone(),
        created_at: f.created_at,
    };
    pair_event(f.requester_id, f.addressee_id, &payload)
}

/// `FriendRequestAccepted` or `FriendRequestRejected`, after the answer.
pub fn request_answered(f: &Friendship) -> Event {
    let (friendship_id, requester_id, addressee_id) = (f.id, f.requester_id, f.addressee_id);
    if f.status == Status::Accepted {
        let payload = FriendRequestAccepted {
            friendship_id,
            requester_id,
            addressee_id,
        };
        pair_event(requester_id, addressee_id, &payload)
    } else {
        let payload = FriendRequestRejected {
            friendship_id,
            requester_id,
            addressee_id,
        };
        pair_event(requester_id, addressee_id, &payload)
    }
}

pub fn request_cancelled(f: &Friendship) -> Event {
    let payload = FriendRequestCancelled {
        friendship_id: f.id,
        requester_id: f.requester_id,
        addressee_id: f.addressee_id,
    };
    pair_event(f.requester_id, f.addressee_id, &payload)
}

/// The friendship ended; `by` is who ended it.
pub fn friend_deleted(f: &Friendship, by: i64) -> Event {
    let payload = FriendDeleted {
        friendship_id: f.id,
        user_id: by,
        friend_id: f.other(by),
    };
    pair_event(f.requester_id, f.addressee_id, &payload)
}

/// What ending `f` because `by` blocked the other means to consumers: a
/// friendship ended, or a request withdrawn.
pub fn ended_by(f: &Friendship, by: i64) -> Event {
    if f.status == Status::Accepted {
        friend_deleted(f, by)
    } else {
        request_cancelled(f)
    }
}

pub fn user_blocked(blocker_id: i64, blocked_id: i64) -> Event {
    let payload = UserBlocked {
        blocker_id,
        blocked_id,
    };
    pair_event(blocker_id, blocked_id, &payload)
}

pub fn user_unblocked(blocker_id: i64, blocked_id: i64) -> Event {
    let payload = UserUnblocked {
        blocker_id,
        blocked_id,
    };
    pair_event(blocker_id, blocked_id, &payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use contracts::Contract;
    use serde_json::json;

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
        assert_eq!(sent.kind, FriendRequestSent::KIND);
        assert_eq!(sent.source, "friends");
        assert_eq!(sent.subject, "2:5");
        assert_eq!(sent.data["requester_id"], 5);
        assert_eq!(sent.data["addressee_id"], 2);
        assert_eq!(sent.data["message"], "hi");
        assert_eq!(ended_by(&f, 2).kind, FriendRequestCancelled::KIND);
        f.status = Status::Accepted;
        assert_eq!(request_answered(&f).kind, FriendRequestAccepted::KIND);
        assert_eq!(ended_by(&f, 2).kind, FriendDeleted::KIND);
        f.status = Status::Rejected;
        assert_eq!(request_answered(&f).kind, FriendRequestRejected::KIND);
        let deleted = friend_deleted(&f, 2);
        assert_eq!(
            deleted.data,
            json!({"friendship_id": 9, "user_id": 2, "friend_id": 5})
        );
        assert_eq!(user_blocked(5, 2).subject, "2:5");
    }
}

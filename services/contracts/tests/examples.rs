//! Every event kind, as the services published it (recorded from the outboxes
//! of a `banter serve` run, `tests/examples/<Kind>.json`), decodes into its
//! contract and encodes back to the same JSON: producers and consumers that
//! use these types agree with what is on the wire today.
#![allow(clippy::unwrap_used)]

use contracts::*;
use serde_json::Value;

fn example(kind: &str) -> (String, Value) {
    let path = format!("{}/tests/examples/{kind}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let recorded: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(recorded["event"]["type"], kind, "{path}");
    (
        recorded["topic"].as_str().unwrap().to_owned(),
        recorded["event"]["data"].clone(),
    )
}

fn round_trip<C: Contract + PartialEq + std::fmt::Debug>() {
    let (topic, data) = example(C::KIND);
    assert_eq!(topic, C::TOPIC, "{} travels on {}", C::KIND, C::TOPIC);
    let decoded: C = serde_json::from_value(data.clone())
        .unwrap_or_else(|e| panic!("{} does not decode: {e}", C::KIND));
    let encoded = serde_json::to_value(&decoded).unwrap();
    assert_eq!(encoded, data, "{} loses or adds fields", C::KIND);
}

#[test]
fn every_recorded_event_decodes_into_its_contract_and_back() {
    round_trip::<UserRegistered>();
    round_trip::<UserProfileUpdated>();
    round_trip::<UserOnlineStatusChanged>();
    round_trip::<FriendRequestSent>();
    round_trip::<FriendRequestAccepted>();
    round_trip::<FriendRequestRejected>();
    round_trip::<FriendRequestCancelled>();
    round_trip::<FriendDeleted>();
    round_trip::<UserBlocked>();
    round_trip::<UserUnblocked>();
    round_trip::<ChatRoomCreated>();
    round_trip::<MessageSent>();
    round_trip::<MessageEdited>();
    round_trip::<MessageDeleted>();
    round_trip::<MessagesRead>();
    round_trip::<NotificationCreated>();
    round_trip::<PostCreated>();
    round_trip::<PostEdited>();
    round_trip::<PostDeleted>();
    round_trip::<PostLiked>();
    round_trip::<CommentAdded>();
    round_trip::<UserFollowed>();
}

#[test]
fn every_example_is_a_known_kind() {
    let dir = format!("{}/tests/examples", env!("CARGO_MANIFEST_DIR"));
    let mut kinds: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .replace(".json", "")
        })
        .collect();
    kinds.sort();
    let known = [
        ChatRoomCreated::KIND,
        CommentAdded::KIND,
        FriendDeleted::KIND,
        FriendRequestAccepted::KIND,
        FriendRequestCancelled::KIND,
        FriendRequestRejected::KIND,
        FriendRequestSent::KIND,
        MessageDeleted::KIND,
        MessageEdited::KIND,
        MessageSent::KIND,
        MessagesRead::KIND,
        NotificationCreated::KIND,
        PostCreated::KIND,
        PostDeleted::KIND,
        PostEdited::KIND,
        PostLiked::KIND,
        UserBlocked::KIND,
        UserFollowed::KIND,
        UserOnlineStatusChanged::KIND,
        UserProfileUpdated::KIND,
        UserRegistered::KIND,
        UserUnblocked::KIND,
    ];
    assert_eq!(kinds, known);
}

#[test]
fn a_payload_missing_a_required_field_is_refused() {
    let (_, mut data) = example(FriendRequestSent::KIND);
    data.as_object_mut().unwrap().remove("requester_id");
    assert!(serde_json::from_value::<FriendRequestSent>(data).is_err());
}

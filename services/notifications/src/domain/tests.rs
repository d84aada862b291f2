#![allow(clippy::unwrap_used)]

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

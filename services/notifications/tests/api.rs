//! Every notifications endpoint over real HTTP, and the event flows that feed
//! them (events published on the in-process bus as the friends and chat
//! services would), on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    TestApp, counter, eventually, expect_error, friend_request_accepted, friend_request_sent,
    message_revised, message_sent, on_both_backends,
};
use kit::events::topics::{FRIEND_EVENTS, MESSAGE_EVENTS, NOTIFICATION_EVENTS};
use kit::events::{Event, dead_letter_topic};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    friend_request_notifies_the_addressee,
    acceptance_notifies_the_requester,
    messages_notify_members_not_watching_the_room,
    names_follow_profile_updates,
    edits_and_deletes_rewrite_the_quoting_notifications,
    pages_newest_first_with_a_cursor,
    bad_list_parameters_are_422,
    mark_read_by_ids_and_all,
    bad_read_requests_are_4xx,
    nobody_sees_or_marks_anothers_notifications,
    requests_without_a_valid_token_are_401,
    stream_delivers_a_friend_request,
    stream_resumes_with_last_event_id,
    stream_sends_keep_alives_and_refuses_bad_ids,
    same_event_twice_makes_one_notification,
    failing_events_are_dead_lettered_and_counted,
    an_outage_is_retried_then_dead_lettered,
    notifications_are_published_as_events,
    health_ready_docs_metrics,
);

const WAIT: Duration = Duration::from_secs(10);

/// How long a stream may outlive its token's revocation, with room for a
/// busy machine.
const SESSION_END: Duration = Duration::from_secs(kit::sse::REVOCATION_RECHECK.as_secs() + 3);

/// A stream ends when its token is revoked (logout), not later than the
/// revocation recheck period; a new one with that token is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ends_at_logout() {
    let app = TestApp::spawn(common::Backend::Sqlite).await;
    let (_, token) = app.user("alice").await;
    let (_, other_token) = app.user("bob").await;
    let mut stream = app.stream(&token, None).await;
    let mut others = app.stream(&other_token, None).await;
    assert!(
        !stream.ends_within(Duration::from_millis(2500)).await,
        "the stream stays open while the token is valid"
    );
    let res = app
        .post_json("/api/auth/logout", &json!({}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        stream.ends_within(SESSION_END).await,
        "the stream ends within {SESSION_END:?} of the logout"
    );
    let res = app.get("/api/notifications/stream", Some(&token)).await;
    expect_error(res, 401, "a revoked token opens no stream").await;
    assert!(
        !others.ends_within(Duration::from_millis(500)).await,
        "another user's stream goes on"
    );
}

/// A stream ends when its token expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ends_when_its_token_expires() {
    let ttl = 4;
    let app = TestApp::spawn_with_token_ttl(common::Backend::Sqlite, ttl).await;
    let (_, token) = app.user("alice").await;
    let exp = token_expiry(&token);
    let mut stream = app.stream(&token, None).await;
    let now = chrono::Utc::now().timestamp_millis();
    let left = Duration::from_millis(u64::try_from(exp * 1000 - now).unwrap_or(0));
    // Open until shortly before the expiry (keep-alives flow), then closed.
    let open_for = left.saturating_sub(Duration::from_millis(500));
    assert!(
        !stream.ends_within(open_for).await,
        "ended more than 0.5 s before the token's expiry"
    );
    assert!(
        stream.ends_within(Duration::from_millis(2000)).await,
        "still open 1.5 s after the token expired"
    );
}

/// The `exp` claim of a JWT (unix seconds).
fn token_expiry(token: &str) -> i64 {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["exp"].as_i64().unwrap()
}

async fn friend_request_notifies_the_addressee(app: &TestApp) {
    let (alice, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    app.publish(FRIEND_EVENTS, &friend_request_sent(7, alice, bob))
        .await;
    let found = app.wait_for(&bob_token, 1).await;
    let n = &found[0];
    assert!(n["id"].as_i64().unwrap() > 0);
    assert_eq!(n["type"], "friend_request");
    assert_eq!(n["title"], "Friend request from alice");
    assert_eq!(n["body"], "alice wants to be your friend.");
    assert_eq!(
        n["data"],
        json!({"friendship_id": 7, "requester_id": alice, "addressee_id": bob})
    );
    assert_eq!(n["is_read"], false);
    assert!(n["created_at"].as_str().unwrap().ends_with('Z'));
    let keys: Vec<&str> = n.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 7, "exactly the documented fields: {keys:?}");
    assert_eq!(app.unread(&bob_token).await, 1);
    // The requester is not notified of their own request.
    assert!(app.notifications(&alice_token).await.is_empty());
    assert_eq!(app.unread(&alice_token).await, 0);

    // A request message becomes the body.
    let mut with_message = friend_request_sent(8, bob, alice);
    with_message.data["message"] = json!("hi, it's bob from school");
    app.publish(FRIEND_EVENTS, &with_message).await;
    let found = app.wait_for(&alice_token, 1).await;
    assert_eq!(found[0]["body"], "hi, it's bob from school");
    assert_eq!(found[0]["title"], "Friend request from bob");
}

async fn acceptance_notifies_the_requester(app: &TestApp) {
    let (alice, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    app.publish(FRIEND_EVENTS, &friend_request_accepted(3, alice, bob))
        .await;
    let found = app.wait_for(&alice_token, 1).await;
    assert_eq!(found[0]["type"], "friend_accepted");
    assert_eq!(found[0]["title"], "bob accepted your friend request");
    assert_eq!(found[0]["data"]["friendship_id"], 3);
    assert!(app.notifications(&bob_token).await.is_empty());
    // Events that notify nobody are consumed quietly.
    for kind in ["FriendRequestRejected", "FriendRequestCancelled"] {
        let e = Event::new(
            kind,
            "friends",
            format!("{alice}:{bob}"),
            json!({"friendship_id": 3, "requester_id": alice, "addressee_id": bob}),
        );
        app.publish(FRIEND_EVENTS, &e).await;
    }
    app.publish(FRIEND_EVENTS, &friend_request_sent(4, bob, alice))
        .await;
    let found = app.wait_for(&alice_token, 2).await;
    assert_eq!(found[0]["type"], "friend_request", "newest first");
    assert_eq!(app.notifications(&bob_token).await.len(), 0);
}

async fn messages_notify_members_not_watching_the_room(app: &TestApp) {
    let (alice, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let (carol, carol_token) = app.user("carol").await;
    let (dave, dave_token) = app.user("dave").await;
    let long = "word ".repeat(40);
    app.publish(
        MESSAGE_EVENTS,
        &message_sent(11, 1, alice, &[alice, bob, carol, dave], &[carol], &long),
    )
    .await;
    for token in [&bob_token, &dave_token] {
        let found = app.wait_for(token, 1).await;
        let n = &found[0];
        assert_eq!(n["type"], "message");
        assert_eq!(n["title"], "New message from alice");
        let body = n["body"].as_str().unwrap();
        assert_eq!(body.chars().count(), 100, "a preview: {body}");
        assert!(body.ends_with('…'));
        assert_eq!(n["data"]["room_id"], 11);
        assert_eq!(n["data"]["sender_id"], alice);
        assert_eq!(n["data"]["room_type"], "group");
        assert!(
            n["data"]["message_id"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
    }
    // Carol was watching the room; alice sent it.
    assert!(app.notifications(&carol_token).await.is_empty());
    assert!(app.notifications(&alice_token).await.is_empty());

    // A 1:1 room: the other member only.
    app.publish(
        MESSAGE_EVENTS,
        &message_sent(12, 1, bob, &[bob, dave], &[], "hello dave"),
    )
    .await;
    let found = app.wait_for(&dave_token, 2).await;
    assert_eq!(found[0]["body"], "hello dave");
    assert_eq!(found[0]["data"]["room_type"], "direct");
    assert_eq!(app.notifications(&bob_token).await.len(), 1);
}

async fn edits_and_deletes_rewrite_the_quoting_notifications(app: &TestApp) {
    let (alice, _) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let (carol, carol_token) = app.user("carol").await;
    let members = [alice, bob, carol];
    app.publish(
        MESSAGE_EVENTS,
        &message_sent(21, 1, alice, &members, &[], "meet at 5"),
    )
    .await;
    app.publish(
        MESSAGE_EVENTS,
        &message_sent(21, 2, alice, &members, &[], "bring snacks"),
    )
    .await;
    let found = app.wait_for(&bob_token, 2).await;
    let first = found[1]["data"]["message_id"].as_str().unwrap().to_owned();
    let other = found[0]["data"]["message_id"].as_str().unwrap().to_owned();
    app.wait_for(&carol_token, 2).await;
    let bodies = |found: Vec<Value>| -> Vec<String> {
        found
            .iter()
            .map(|n| n["body"].as_str().unwrap().to_owned())
            .collect()
    };

    let edit = message_revised("MessageEdited", 21, 3, alice, &first, "meet at 6");
    app.publish(MESSAGE_EVENTS, &edit).await;
    for token in [&bob_token, &carol_token] {
        eventually(
            "the edited text in every quoting notification",
            move || async move {
                bodies(app.notifications(token).await) == ["bring snacks", "meet at 6"]
            },
        )
        .await;
    }

    let delete = message_revised("MessageDeleted", 21, 4, alice, &first, "");
    app.publish(MESSAGE_EVENTS, &delete).await;
    for token in [&bob_token, &carol_token] {
        eventually("the deleted text redacted", move || async move {
            bodies(app.notifications(token).await) == ["bring snacks", "This message was deleted."]
        })
        .await;
    }
    // A resumed stream replays the stored, redacted text.
    let mut stream = app.stream(&bob_token, Some("0")).await;
    let replayed = stream.next(WAIT).await.unwrap().json();
    assert_eq!(replayed["body"], "This message was deleted.");
    assert!(!replayed.to_string().contains("meet at"), "{replayed}");

    // An older edit handled late (a replay) does not bring the text back.
    app.notifications.handle_event(&edit).await.unwrap();
    let stale = message_revised("MessageEdited", 21, 3, alice, &first, "meet at 7");
    app.notifications.handle_event(&stale).await.unwrap();
    assert_eq!(
        bodies(app.notifications(&bob_token).await),
        ["bring snacks", "This message was deleted."]
    );
    // Revisions of unknown messages change nothing; a message without id is refused.
    let unknown = message_revised("MessageDeleted", 21, 5, alice, "no-such-message", "");
    app.notifications.handle_event(&unknown).await.unwrap();
    let no_id = message_revised("MessageEdited", 21, 6, alice, "", "x");
    assert!(app.notifications.handle_event(&no_id).await.is_err());
    assert_eq!(
        bodies(app.notifications(&carol_token).await),
        ["bring snacks", "This message was deleted."]
    );
    assert_ne!(first, other);
}

async fn names_follow_profile_updates(app: &TestApp) {
    let (alice, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let res = app
        .execute(
            app.client
                .put(app.url("/api/profile/me"))
                .bearer_auth(&alice_token)
                .json(&json!({"display_name": "Alice Liddell"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let store = app.notifications.store.clone();
    eventually("the display name in the read model", || {
        let store = store.clone();
        async move {
            store.users(&[alice]).await.unwrap()[&alice]
                .display_name
                .as_deref()
                == Some("Alice Liddell")
        }
    })
    .await;
    app.publish(FRIEND_EVENTS, &friend_request_sent(1, alice, bob))
        .await;
    let found = app.wait_for(&bob_token, 1).await;
    assert_eq!(found[0]["title"], "Friend request from Alice Liddell");

    // A user the service has not heard of yet is still named politely.
    app.publish(FRIEND_EVENTS, &friend_request_sent(2, 999_999, bob))
        .await;
    let found = app.wait_for(&bob_token, 2).await;
    assert_eq!(found[0]["title"], "Friend request from Someone");

    // Control characters from other services' events never reach the
    // database (PostgreSQL refuses NUL) nor the texts.
    let odd = Event::new(
        "UserRegistered",
        "users",
        555,
        json!({"user_id": 555, "email": "x@example.com", "username": "ev\u{0}il", "display_name": "\u{7}",
               "created_at": chrono::Utc::now()}),
    );
    app.publish(kit::events::topics::USER_EVENTS, &odd).await;
    let store = app.notifications.store.clone();
    eventually("user 555 in the read model", || {
        let store = store.clone();
        async move { store.users(&[555]).await.unwrap().contains_key(&555) }
    })
    .await;
    app.publish(
        MESSAGE_EVENTS,
        &message_sent(4, 1, 555, &[555, bob], &[], "nul\u{0}here"),
    )
    .await;
    let found = app.wait_for(&bob_token, 3).await;
    assert_eq!(found[0]["title"], "New message from evil");
    assert_eq!(found[0]["body"], "nulhere");
}

async fn pages_newest_first_with_a_cursor(app: &TestApp) {
    let (alice, _) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    for room in 1..=5 {
        app.publish(
            MESSAGE_EVENTS,
            &message_sent(room, 1, alice, &[alice, bob], &[], &format!("m{room}")),
        )
        .await;
        // One at a time, so creation order is known.
        app.wait_for(&bob_token, room as usize).await;
    }
    let first = app.json("/api/notifications?limit=2", &bob_token).await;
    let bodies = |page: &Value| -> Vec<String> {
        page["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["body"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(bodies(&first), ["m5", "m4"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .json(
            &format!("/api/notifications?limit=2&cursor={cursor}"),
            &bob_token,
        )
        .await;
    assert_eq!(bodies(&second), ["m3", "m2"]);
    let cursor = second["next_cursor"].as_str().unwrap();
    let last = app
        .json(
            &format!("/api/notifications?limit=2&cursor={cursor}"),
            &bob_token,
        )
        .await;
    assert_eq!(bodies(&last), ["m1"]);
    assert!(last["next_cursor"].is_null());
    let all = app.json("/api/notifications", &bob_token).await;
    assert_eq!(bodies(&all).len(), 5, "default limit 20");
    assert!(all["next_cursor"].is_null());

    // unread_only after reading two of them.
    let ids: Vec<i64> = first["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect();
    let res = app
        .post_json(
            "/api/notifications/read",
            &json!({"notification_ids": ids}),
            Some(&bob_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let unread = app
        .json("/api/notifications?unread_only=true", &bob_token)
        .await;
    assert_eq!(bodies(&unread), ["m3", "m2", "m1"]);
    let unread_page = app
        .json("/api/notifications?unread_only=true&limit=1", &bob_token)
        .await;
    assert_eq!(bodies(&unread_page), ["m3"]);
    let cursor = unread_page["next_cursor"].as_str().unwrap();
    let next = app
        .json(
            &format!("/api/notifications?unread_only=true&limit=1&cursor={cursor}"),
            &bob_token,
        )
        .await;
    assert_eq!(bodies(&next), ["m2"]);
    let everything = app
        .json("/api/notifications?unread_only=false", &bob_token)
        .await;
    assert_eq!(bodies(&everything).len(), 5);
    assert_eq!(
        everything["notifications"][0]["is_read"], true,
        "m5 was read"
    );
}

async fn bad_list_parameters_are_422(app: &TestApp) {
    let (_, token) = app.user("alice").await;
    for query in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=ten",
        "limit=1.5",
        "cursor=abc",
        "cursor=0",
        "cursor=-3",
        "cursor=99999999999999999999999",
        "cursor=%00",
        "unread_only=maybe",
        "unread_only=2",
    ] {
        let res = app
            .get(&format!("/api/notifications?{query}"), Some(&token))
            .await;
        let code = expect_error(res, 422, query).await;
        assert_eq!(code, "VALIDATION_ERROR", "{query}");
    }
    for query in [
        "limit=1",
        "limit=100",
        "unread_only=1",
        "unread_only=FALSE",
        "cursor=",
    ] {
        let res = app
            .get(&format!("/api/notifications?{query}"), Some(&token))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{query}");
    }
}

async fn mark_read_by_ids_and_all(app: &TestApp) {
    let (alice, _) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    for room in 1..=4 {
        app.publish(
            MESSAGE_EVENTS,
            &message_sent(room, 1, alice, &[alice, bob], &[], "hi"),
        )
        .await;
    }
    let found = app.wait_for(&bob_token, 4).await;
    let ids: Vec<i64> = found.iter().map(|n| n["id"].as_i64().unwrap()).collect();
    assert_eq!(app.unread(&bob_token).await, 4);

    let read = |body: Value| {
        let token = bob_token.clone();
        async move {
            let res = app
                .post_json("/api/notifications/read", &body, Some(&token))
                .await;
            assert_eq!(res.status(), StatusCode::OK, "{body}");
            res.json::<Value>().await.unwrap()
        }
    };
    let out = read(json!({"notification_ids": [ids[0], ids[1], ids[0]]})).await;
    assert_eq!(out, json!({"success": true, "read_count": 2}));
    assert_eq!(app.unread(&bob_token).await, 2);
    // Already read: nothing changes.
    let out = read(json!({"notification_ids": [ids[0]]})).await;
    assert_eq!(out["read_count"], 0);
    // Unknown ids count zero.
    let out = read(json!({"notification_ids": [ids[2], 987_654, -1]})).await;
    assert_eq!(out["read_count"], 1);
    let out = read(json!({"notification_ids": []})).await;
    assert_eq!(out["read_count"], 0);
    let out = read(json!({"notification_ids": [ids[3]], "all": false})).await;
    assert_eq!(out["read_count"], 1);
    assert_eq!(app.unread(&bob_token).await, 0);

    app.publish(
        MESSAGE_EVENTS,
        &message_sent(9, 1, alice, &[alice, bob], &[], "again"),
    )
    .await;
    app.publish(
        MESSAGE_EVENTS,
        &message_sent(10, 1, alice, &[alice, bob], &[], "and again"),
    )
    .await;
    app.wait_for(&bob_token, 6).await;
    assert_eq!(app.unread(&bob_token).await, 2);
    let out = read(json!({"all": true})).await;
    assert_eq!(out, json!({"success": true, "read_count": 2}));
    let out = read(json!({"all": true, "notification_ids": null})).await;
    assert_eq!(out["read_count"], 0);
    assert_eq!(app.unread(&bob_token).await, 0);
    assert!(
        app.notifications(&bob_token)
            .await
            .iter()
            .all(|n| n["is_read"] == true)
    );
}

async fn bad_read_requests_are_4xx(app: &TestApp) {
    let (_, token) = app.user("alice").await;
    let too_many: Vec<i64> = (1..=1001).collect();
    let cases: Vec<(&str, Value)> = vec![
        ("neither", json!({})),
        ("all false alone", json!({"all": false})),
        ("both", json!({"notification_ids": [1], "all": true})),
        ("ids not a list", json!({"notification_ids": 5})),
        ("ids of strings", json!({"notification_ids": ["a"]})),
        ("ids of floats", json!({"notification_ids": [1.5]})),
        ("all not a bool", json!({"all": "yes"})),
        ("a list body", json!([1, 2])),
        ("a string body", json!("all")),
        ("too many ids", json!({"notification_ids": too_many})),
        ("id beyond i64", json!({"notification_ids": [1e30]})),
    ];
    for (what, body) in cases {
        let res = app
            .post_json("/api/notifications/read", &body, Some(&token))
            .await;
        expect_error(res, 422, what).await;
    }
    let res = app
        .raw(
            Method::POST,
            "/api/notifications/read",
            Some("application/json"),
            b"{\"all\": tru",
            Some(&token),
        )
        .await;
    assert_eq!(expect_error(res, 400, "broken JSON").await, "INVALID_JSON");
    let res = app
        .raw(
            Method::POST,
            "/api/notifications/read",
            Some("text/plain"),
            b"{\"all\": true}",
            Some(&token),
        )
        .await;
    expect_error(res, 415, "not JSON").await;
    let res = app
        .raw(
            Method::POST,
            "/api/notifications/read",
            Some("application/json"),
            b"\x00\xff\xfe",
            Some(&token),
        )
        .await;
    expect_error(res, 400, "binary garbage").await;
    let res = app
        .raw(
            Method::DELETE,
            "/api/notifications/read",
            None,
            b"",
            Some(&token),
        )
        .await;
    expect_error(res, 405, "wrong method").await;
}

async fn nobody_sees_or_marks_anothers_notifications(app: &TestApp) {
    let (alice, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let (mallory, mallory_token) = app.user("mallory").await;
    app.publish(FRIEND_EVENTS, &friend_request_sent(1, alice, bob))
        .await;
    app.publish(FRIEND_EVENTS, &friend_request_sent(2, mallory, alice))
        .await;
    let bobs = app.wait_for(&bob_token, 1).await;
    app.wait_for(&alice_token, 1).await;
    let bob_id = bobs[0]["id"].as_i64().unwrap();

    let mut stream = app.stream(&mallory_token, Some("0")).await;

    // Mallory's listing, count and cursor never reach bob's notification.
    assert!(app.notifications(&mallory_token).await.is_empty());
    assert_eq!(app.unread(&mallory_token).await, 0);
    let page = app
        .json(
            &format!("/api/notifications?cursor={}", bob_id + 1),
            &mallory_token,
        )
        .await;
    assert_eq!(page["notifications"], json!([]));
    // Marking bob's notification: 200 with nothing marked, no 403 that would
    // reveal it exists.
    let res = app
        .post_json(
            "/api/notifications/read",
            &json!({"notification_ids": [bob_id]}),
            Some(&mallory_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["read_count"], 0);
    let res = app
        .post_json(
            "/api/notifications/read",
            &json!({"all": true}),
            Some(&mallory_token),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["read_count"], 0);
    assert_eq!(app.unread(&bob_token).await, 1);
    assert_eq!(app.unread(&alice_token).await, 1);
    assert_eq!(app.notifications(&bob_token).await[0]["is_read"], false);
    // Bob reading all of his touches nobody else's.
    let res = app
        .post_json(
            "/api/notifications/read",
            &json!({"all": true}),
            Some(&bob_token),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["read_count"], 1);
    assert_eq!(app.unread(&alice_token).await, 1);
    // Mallory's stream carried nothing of theirs (even replaying from 0).
    assert!(stream.next(Duration::from_millis(500)).await.is_none());
    let _ = (alice, mallory);
}

async fn requests_without_a_valid_token_are_401(app: &TestApp) {
    for (method, path) in [
        (Method::GET, "/api/notifications"),
        (Method::GET, "/api/notifications/unread-count"),
        (Method::POST, "/api/notifications/read"),
        (Method::GET, "/api/notifications/stream"),
    ] {
        let res = app
            .raw(
                method.clone(),
                path,
                Some("application/json"),
                b"{\"all\":true}",
                None,
            )
            .await;
        expect_error(res, 401, path).await;
        let res = app
            .raw(
                method,
                path,
                Some("application/json"),
                b"{\"all\":true}",
                Some("not-a-token"),
            )
            .await;
        expect_error(res, 401, path).await;
    }
}

async fn stream_delivers_a_friend_request(app: &TestApp) {
    let (alice, _) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let mut stream = app.stream(&bob_token, None).await;
    app.publish(FRIEND_EVENTS, &friend_request_sent(5, alice, bob))
        .await;
    let frame = stream.next(WAIT).await.expect("a notification event");
    assert_eq!(frame.event.as_deref(), Some("notification.created"));
    assert_eq!(frame.id.as_deref(), Some("1"), "the first of bob's stream");
    let n = frame.json();
    assert_eq!(n["type"], "friend_request");
    assert_eq!(n["data"]["requester_id"], alice);
    assert_eq!(n["is_read"], false);
    // The same notification the API lists.
    let listed = app.notifications(&bob_token).await;
    assert_eq!(listed, vec![n]);
}

async fn stream_resumes_with_last_event_id(app: &TestApp) {
    let (alice, _) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let mut stream = app.stream(&bob_token, None).await;
    app.publish(FRIEND_EVENTS, &friend_request_sent(1, alice, bob))
        .await;
    let first = stream.next(WAIT).await.unwrap();
    assert_eq!(first.id.as_deref(), Some("1"));
    drop(stream);

    // Missed while disconnected.
    for room in 1..=3 {
        app.publish(
            MESSAGE_EVENTS,
            &message_sent(
                room,
                1,
                alice,
                &[alice, bob],
                &[],
                &format!("missed {room}"),
            ),
        )
        .await;
    }
    app.wait_for(&bob_token, 4).await;

    let mut stream = app.stream(&bob_token, Some("1")).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let f = stream.next(WAIT).await.expect("a missed event");
        got.push((
            f.id.clone().unwrap(),
            f.json()["body"].as_str().unwrap().to_owned(),
        ));
    }
    let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["2", "3", "4"]);
    let mut bodies: Vec<&str> = got.iter().map(|(_, b)| b.as_str()).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["missed 1", "missed 2", "missed 3"]);
    // Then live, continuing the sequence, with no repeats.
    app.publish(FRIEND_EVENTS, &friend_request_accepted(1, bob, alice))
        .await;
    let live = stream.next(WAIT).await.unwrap();
    assert_eq!(live.id.as_deref(), Some("5"));
    assert_eq!(live.json()["type"], "friend_accepted");
    assert!(stream.next(Duration::from_millis(300)).await.is_none());
    drop(stream);

    // Resuming from the newest id sends nothing old; from 0 sends all.
    let mut caught_up = app.stream(&bob_token, Some("5")).await;
    assert!(caught_up.next(Duration::from_millis(300)).await.is_none());
    let mut all = app.stream(&bob_token, Some("0")).await;
    for want in 1..=5 {
        let f = all.next(WAIT).await.unwrap();
        assert_eq!(f.id, Some(want.to_string()));
    }
    drop(all);

    // An id from the future (say, before a database reset) resumes from the
    // newest instead of hiding what comes next.
    let mut ahead = app.stream(&bob_token, Some("1000")).await;
    app.publish(FRIEND_EVENTS, &friend_request_sent(2, alice, bob))
        .await;
    let next = ahead.next(WAIT).await.expect("the next notification");
    assert_eq!(next.id.as_deref(), Some("6"));
}

async fn stream_sends_keep_alives_and_refuses_bad_ids(app: &TestApp) {
    let (_, token) = app.user("alice").await;
    let mut stream = app.stream(&token, None).await;
    // The test app sends keep-alives every second.
    let frame = stream
        .next_frame(Duration::from_secs(5))
        .await
        .expect("a keep-alive comment");
    assert_eq!(frame.comment.as_deref(), Some("keep-alive"));
    assert!(frame.id.is_none());
    for bad in ["abc", "1.5", "-", "99999999999999999999999"] {
        let res = app
            .execute(
                app.client
                    .get(app.url("/api/notifications/stream"))
                    .bearer_auth(&token)
                    .header("last-event-id", bad),
            )
            .await;
        expect_error(res, 422, bad).await;
    }
}

async fn same_event_twice_makes_one_notification(app: &TestApp) {
    let (alice, _) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let event = friend_request_sent(9, alice, bob);
    // Redelivered by the bus: the consumer's inbox drops the second copy.
    app.publish(FRIEND_EVENTS, &event).await;
    app.publish(FRIEND_EVENTS, &event).await;
    app.wait_for(&bob_token, 1).await;
    // Handled again past the inbox (a replay): the unique source event id
    // still makes it one notification, and no seq is used up.
    app.notifications.handle_event(&event).await.unwrap();
    app.notifications.handle_event(&event).await.unwrap();
    let message = message_sent(3, 1, alice, &[alice, bob], &[], "once");
    app.notifications.handle_event(&message).await.unwrap();
    app.notifications.handle_event(&message).await.unwrap();
    app.publish(MESSAGE_EVENTS, &message).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let found = app.wait_for(&bob_token, 2).await;
    assert_eq!(found[0]["type"], "message");
    assert_eq!(found[1]["type"], "friend_request");
    assert_eq!(app.unread(&bob_token).await, 2);
    let mut stream = app.stream(&bob_token, Some("0")).await;
    for want in ["1", "2"] {
        assert_eq!(stream.next(WAIT).await.unwrap().id.as_deref(), Some(want));
    }
    assert!(stream.next(Duration::from_millis(300)).await.is_none());
}

async fn failing_events_are_dead_lettered_and_counted(app: &TestApp) {
    let (alice, _) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let labels = ["topic=\"friend.events\"", "group=\"notifications\""];
    let before = counter(
        &app.metrics().await,
        "messaging_dead_lettered_total",
        &labels,
    );

    // Data that does not fit the contract, and data that breaks its rules.
    let garbage = Event::new(
        "FriendRequestSent",
        "friends",
        "1:2",
        json!({"friendship_id": "seven", "requester": alice}),
    );
    let to_self = friend_request_sent(4, bob, bob);
    let message_garbage = Event::new("MessageSent", "chat", "1", json!([1, 2, 3]));
    app.publish(FRIEND_EVENTS, &garbage).await;
    app.publish(FRIEND_EVENTS, &to_self).await;
    app.publish(MESSAGE_EVENTS, &message_garbage).await;
    // A good event after them is still processed.
    app.publish(FRIEND_EVENTS, &friend_request_sent(5, alice, bob))
        .await;
    app.wait_for(&bob_token, 1).await;

    let dead = app.events_on(&dead_letter_topic(FRIEND_EVENTS), 2).await;
    let ids: Vec<&str> = dead.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "dead letters: {dead:#?}");
    assert!(ids.contains(&garbage.id.as_str()) && ids.contains(&to_self.id.as_str()));
    assert_eq!(dead.iter().find(|e| e.id == garbage.id).unwrap(), &garbage);
    let dead = app.events_on(&dead_letter_topic(MESSAGE_EVENTS), 1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, message_garbage.id);

    // The counter moves right after the dead-letter publish.
    eventually("messaging_dead_lettered_total to count both", || async {
        counter(
            &app.metrics().await,
            "messaging_dead_lettered_total",
            &labels,
        ) >= before + 2.0
    })
    .await;
    eventually("the message dead letter to be counted", || async {
        counter(
            &app.metrics().await,
            "messaging_dead_lettered_total",
            &["topic=\"message.events\"", "group=\"notifications\""],
        ) >= 1.0
    })
    .await;
    eventually("messaging_consumed_total to count the outcome", || async {
        counter(
            &app.metrics().await,
            "messaging_consumed_total",
            &["topic=\"friend.events\"", "outcome=\"dead_letter\""],
        ) >= 2.0
    })
    .await;
    // Bob got only the good one.
    assert_eq!(app.notifications(&bob_token).await.len(), 1);
}

async fn an_outage_is_retried_then_dead_lettered(app: &TestApp) {
    let (alice, _) = app.user("alice").await;
    let (bob, _) = app.user("bob").await;
    let labels = ["topic=\"friend.events\"", "group=\"notifications\""];
    let before = counter(
        &app.metrics().await,
        "messaging_dead_lettered_total",
        &labels,
    );
    // The database goes away: every attempt fails transiently.
    app.notifications.db.close().await;
    let event = friend_request_sent(1, alice, bob);
    app.publish(FRIEND_EVENTS, &event).await;
    let dead = app.events_on(&dead_letter_topic(FRIEND_EVENTS), 1).await;
    assert_eq!(dead.len(), 1, "dead-lettered after its retries");
    assert_eq!(dead[0].id, event.id);
    // The counter moves right after the dead-letter publish.
    eventually("messaging_dead_lettered_total to count it", || async {
        counter(
            &app.metrics().await,
            "messaging_dead_lettered_total",
            &labels,
        ) > before
    })
    .await;
    // And readiness says why.
    let res = app.get("/ready", None).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

async fn notifications_are_published_as_events(app: &TestApp) {
    let (alice, _) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let tap = app.tap(NOTIFICATION_EVENTS).await;
    app.publish(FRIEND_EVENTS, &friend_request_sent(6, alice, bob))
        .await;
    let listed = app.wait_for(&bob_token, 1).await;
    let events = common::drain(tap, 1).await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.kind, "NotificationCreated");
    assert_eq!(e.source, "notifications");
    assert_eq!(e.subject, bob.to_string());
    assert_eq!(e.data["user_id"], bob);
    assert_eq!(e.data["seq"], 1);
    assert_eq!(e.data["notification"], listed[0]);
}

async fn health_ready_docs_metrics(app: &TestApp) {
    let health: Value = app.get("/health", None).await.json().await.unwrap();
    assert_eq!(
        health,
        json!({"status": "healthy", "service": "Notifications Service"})
    );
    assert_eq!(app.get("/ready", None).await.status(), StatusCode::OK);
    let openapi: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    for path in [
        "/api/notifications",
        "/api/notifications/unread-count",
        "/api/notifications/read",
        "/api/notifications/stream",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} documented");
    }
    let (_, token) = app.user("alice").await;
    app.json("/api/notifications/unread-count", &token).await;
    let metrics = app.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("http_server_request_duration_seconds")
                && l.contains("service=\"notifications\"")
                && l.contains("http_route=\"/api/notifications/unread-count\"")),
        "RED metrics labelled by service and route"
    );
    assert!(metrics.contains("db_client_connections_max{service=\"notifications\""));
}

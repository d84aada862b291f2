//! What the users service publishes and consumes, and the online-status
//! endpoints built on the friendships read model, on both backends.
#![allow(clippy::unwrap_used)]

mod common;

use common::{SseReader, TestApp, expect_error, on_both_backends};
use kit::events::topics::{FRIEND_EVENTS, USER_EVENTS, USER_ONLINE_STATUS};
use kit::events::{Event, StartFrom};
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    registration_and_profile_changes_are_published,
    friends_statuses_and_their_stream,
);

/// The status stream ends within the revocation recheck period of a logout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_stream_ends_at_logout() {
    let app = TestApp::spawn(common::Backend::Sqlite).await;
    let (_, token) = app.user("leaving").await;
    let res = app
        .client
        .get(app.url("/api/online-status/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let mut stream = SseReader::new(res);
    assert!(!stream.ends_within(Duration::from_millis(500)).await);
    let res = app
        .post_json("/api/auth/logout", &json!({}), Some(&token))
        .await;
    assert_eq!(res.status(), 200);
    let bound = kit::sse::REVOCATION_RECHECK + Duration::from_secs(3);
    assert!(
        stream.ends_within(bound).await,
        "still open {bound:?} after logout"
    );
}

async fn next_event(sub: &mut Box<dyn kit::events::Subscription>) -> Event {
    let record = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("an event within 5 s")
        .unwrap();
    sub.commit(&record).await.unwrap();
    record.event
}

async fn registration_and_profile_changes_are_published(app: &TestApp) {
    let mut sub = app
        .ctx
        .bus
        .subscribe(USER_EVENTS, "test", StartFrom::Earliest)
        .await
        .unwrap();
    let (id, token) = app.user("ursula").await;
    let ev = next_event(&mut sub).await;
    assert_eq!(ev.kind, "UserRegistered");
    assert_eq!(ev.source, "users");
    assert_eq!(ev.subject, id.to_string());
    assert_eq!(ev.data["user_id"], id);
    assert_eq!(ev.data["username"], "ursula");
    assert_eq!(ev.data["email"], "ursula@example.com");
    assert!(!ev.data.to_string().contains(common::PASSWORD));

    app.put_json(
        "/api/profile/me",
        &json!({"status_message": "hello"}),
        Some(&token),
    )
    .await;
    let ev = next_event(&mut sub).await;
    assert_eq!(ev.kind, "UserProfileUpdated");
    assert_eq!(ev.data["status_message"], "hello");
    // A refused update publishes nothing.
    app.put_json(
        "/api/profile/me",
        &json!({"status_message": 5}),
        Some(&token),
    )
    .await;
    assert!(
        tokio::time::timeout(Duration::from_millis(500), sub.next())
            .await
            .is_err()
    );
}

async fn friends_statuses_and_their_stream(app: &TestApp) {
    let (a, token_a) = app.user("victor").await;
    let (b, token_b) = app.user("wendy").await;
    let (c, _) = app.user("xena").await;
    let mut status_events = app
        .ctx
        .bus
        .subscribe(USER_ONLINE_STATUS, "test", StartFrom::Earliest)
        .await
        .unwrap();
    // The friends service accepted a request between A and B.
    let accepted = Event::new(
        "FriendRequestAccepted",
        "friends",
        format!("{a}:{b}"),
        json!({"friendship_id": 1, "requester_id": a, "addressee_id": b}),
    );
    app.ctx.bus.publish(FRIEND_EVENTS, &accepted).await.unwrap();
    let mut friends: Value = Value::Null;
    for _ in 0..50 {
        friends = app
            .get("/api/online-status/friends", Some(&token_a))
            .await
            .json()
            .await
            .unwrap();
        if friends.as_array().is_some_and(|f| !f.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        friends.as_array().unwrap().len(),
        1,
        "only B is A's friend: {friends}"
    );
    assert_eq!(friends[0]["user_id"], b);
    assert_eq!(friends[0]["username"], "wendy");
    assert_eq!(friends[0]["is_online"], false);

    let open = |token: String| {
        let client = app.client.clone();
        let url = app.url("/api/online-status/stream");
        async move { client.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let mut stream = SseReader::new(open(token_a.clone()).await);
    // B comes online: A sees it. C (not a friend) coming online is not shown.
    app.post_json(
        "/api/online-status/heartbeat",
        &json!({}),
        Some(&app.login("xena@example.com", common::PASSWORD).await),
    )
    .await;
    app.post_json("/api/online-status/heartbeat", &json!({}), Some(&token_b))
        .await;
    let online = stream
        .next(Duration::from_secs(5))
        .await
        .expect("B online on A's stream");
    assert_eq!(online.event.as_deref(), Some("status.changed"));
    let data: Value = serde_json::from_str(&online.data).unwrap();
    assert_eq!(
        (data["user_id"].as_i64(), data["is_online"].as_bool()),
        (Some(b), Some(true))
    );
    let online_id = online.id.clone().expect("every event has an id");
    let listed: Value = app
        .get("/api/online-status/friends", Some(&token_a))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["is_online"], true);

    // The 1 s TTL runs out: B goes offline. A reconnects from the online
    // event and gets exactly what it missed since.
    drop(stream);
    let mut offline_seen = false;
    for _ in 0..60 {
        let ev = next_event(&mut status_events).await;
        if ev.data["user_id"] == b && ev.data["is_online"] == false {
            offline_seen = true;
            break;
        }
    }
    assert!(offline_seen, "the sweeper published B going offline");
    let res = app
        .client
        .get(app.url("/api/online-status/stream"))
        .bearer_auth(&token_a)
        .header("last-event-id", &online_id)
        .send()
        .await
        .unwrap();
    let mut resumed = SseReader::new(res);
    let missed = resumed
        .next(Duration::from_secs(5))
        .await
        .expect("the missed offline event");
    let data: Value = serde_json::from_str(&missed.data).unwrap();
    assert_eq!(
        (data["user_id"].as_i64(), data["is_online"].as_bool()),
        (Some(b), Some(false))
    );
    assert!(missed.id.unwrap().parse::<i64>().unwrap() > online_id.parse::<i64>().unwrap());
    let extra = resumed.next(Duration::from_millis(300)).await;
    assert!(
        extra.is_none(),
        "nothing else, and nothing about C: {extra:?}"
    );
    let _ = c;

    let bad = app
        .client
        .get(app.url("/api/online-status/stream"))
        .bearer_auth(&token_a)
        .header("last-event-id", "abc")
        .send()
        .await
        .unwrap();
    expect_error(bad, 422, "bad Last-Event-ID").await;
    expect_error(
        app.get("/api/online-status/stream", None).await,
        401,
        "anonymous stream",
    )
    .await;
}

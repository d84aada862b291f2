//! Room streams over real HTTP: live delivery with event ids, resumption with
//! `Last-Event-ID` (exactly the missed events), keep-alives, and who counts
//! as streaming, on SQLite and on PostgreSQL, and with streams kept in Redis.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestApp, on_both_backends};
use kit::context::Context;
use kit::events::topics::MESSAGE_EVENTS;
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    a_message_by_a_appears_on_bs_stream,
    reconnecting_gets_exactly_the_missed_events,
    concurrent_senders_give_contiguous_ids,
    idle_streams_get_keep_alives,
);

/// Streams recorded in Redis (as with several chat instances) count the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_count_through_redis() {
    let redis = kit::redis::connect_for_test().await;
    let ctx = Context::embedded().with_redis(redis.clone());
    let app = TestApp::spawn_with(Backend::Sqlite, ctx).await;
    a_message_by_a_appears_on_bs_stream(&app).await;
    drop(app);
    redis.purge().await.unwrap();
}

/// A room stream ends within the revocation recheck period of its
/// token's logout; the other member's stream goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_stream_ends_at_logout() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, ta) = app.user("alice").await;
    let (b, tb) = app.user("bob").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let mut a_stream = app.stream(&ta, rid, None).await;
    let mut b_stream = app.stream(&tb, rid, None).await;
    assert!(!a_stream.ends_within(Duration::from_millis(500)).await);
    let res = app
        .post_json("/api/auth/logout", &json!({}), Some(&ta))
        .await;
    assert_eq!(res.status(), 200);
    let bound = kit::sse::REVOCATION_RECHECK + Duration::from_secs(3);
    assert!(
        a_stream.ends_within(bound).await,
        "still open {bound:?} after logout"
    );
    assert!(!b_stream.ends_within(Duration::from_millis(300)).await);
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

/// Waits until the registry agrees that `user` does (not) stream `room`.
async fn wait_streaming(app: &TestApp, room: i64, user: i64, expected: bool) {
    for _ in 0..500 {
        if app.chat.streaming.watching(room, &[user]).await.is_empty() != expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("user {user} streaming room {room} should be {expected}");
}

async fn a_message_by_a_appears_on_bs_stream(app: &TestApp) {
    let (a, ta) = app.user("alice").await;
    let (b, tb) = app.user("bob").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let mut stream = app.stream(&tb, rid, None).await;
    wait_streaming(app, rid, b, true).await;

    let m = app.say(&ta, rid, "hi bob").await;
    let event = stream.expect_event().await;
    assert_eq!(event.id.as_deref(), Some("1"), "the room's first event");
    assert_eq!(event.event.as_deref(), Some("message.created"));
    assert_eq!(event.json(), m);

    let sent = app.next_event(MESSAGE_EVENTS, "MessageSent").await;
    assert_eq!(
        sent.data["streaming_user_ids"],
        json!([b]),
        "B watches, A does not"
    );
    assert_eq!(sent.data["seq"], 1);
    let mut members: Vec<i64> = serde_json::from_value(sent.data["member_ids"].clone()).unwrap();
    members.sort_unstable();
    assert_eq!(members, [a.min(b), a.max(b)]);

    // Edits and deletes follow on the same stream.
    let path = format!("/api/messages/{}", m["id"].as_str().unwrap());
    app.put_json(&path, &json!({"content": "hi bob!"}), Some(&ta))
        .await;
    let event = stream.expect_event().await;
    assert_eq!(event.seq(), 2);
    assert_eq!(event.event.as_deref(), Some("message.updated"));
    assert_eq!(event.json()["content"], "hi bob!");
    app.delete(&path, Some(&ta)).await;
    let event = stream.expect_event().await;
    assert_eq!(event.seq(), 3);
    assert_eq!(event.event.as_deref(), Some("message.deleted"));
    assert_eq!(event.json()["is_deleted"], true);
    assert_eq!(event.json()["content"], "");

    // The sender's own stream sees its messages too.
    let mut own = app.stream(&ta, rid, None).await;
    let m2 = app.say(&ta, rid, "again").await;
    assert_eq!(own.expect_event().await.json()["id"], m2["id"]);
    assert_eq!(stream.expect_event().await.seq(), 4);

    // Closing the stream ends the "streaming" status.
    drop(stream);
    drop(own);
    wait_streaming(app, rid, b, false).await;
    app.say(&ta, rid, "anyone?").await;
    let sent = loop {
        let e = app.next_event(MESSAGE_EVENTS, "MessageSent").await;
        if e.data["seq"] == 5 {
            break e;
        }
    };
    assert_eq!(sent.data["streaming_user_ids"], json!([]));
}

async fn reconnecting_gets_exactly_the_missed_events(app: &TestApp) {
    let (_a, ta) = app.user("carol").await;
    let (b, tb) = app.user("dave").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let mut stream = app.stream(&tb, rid, None).await;
    wait_streaming(app, rid, b, true).await;
    let first = app.say(&ta, rid, "one").await;
    let event = stream.expect_event().await;
    assert_eq!(event.seq(), 1);
    let last_seen = event.id.clone().unwrap();
    drop(stream);
    wait_streaming(app, rid, b, false).await;

    // Missed while away: two messages, an edit, a delete (seq 2..=5).
    let two = app.say(&ta, rid, "two").await;
    let three = app.say(&tb, rid, "three").await;
    app.put_json(
        &format!("/api/messages/{}", two["id"].as_str().unwrap()),
        &json!({"content": "two (edited)"}),
        Some(&ta),
    )
    .await;
    app.delete(
        &format!("/api/messages/{}", first["id"].as_str().unwrap()),
        Some(&ta),
    )
    .await;

    let mut stream = app.stream(&tb, rid, Some(&last_seen)).await;
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(stream.expect_event().await);
    }
    let seqs: Vec<i64> = got.iter().map(|e| e.seq()).collect();
    assert_eq!(seqs, [2, 3, 4, 5], "exactly the missed events, in order");
    let kinds: Vec<&str> = got.iter().map(|e| e.event.as_deref().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "message.created",
            "message.created",
            "message.updated",
            "message.deleted"
        ]
    );
    assert_eq!(got[0].json()["id"], two["id"]);
    assert_eq!(got[1].json()["id"], three["id"]);
    assert_eq!(got[2].json()["content"], "two (edited)");
    assert_eq!(got[3].json()["id"], first["id"]);
    assert!(
        stream.next(Duration::from_millis(500)).await.is_none(),
        "no duplicates after the backlog"
    );
    // Live delivery continues right after the backlog.
    app.say(&ta, rid, "six").await;
    assert_eq!(stream.expect_event().await.seq(), 6);

    // From the start: the whole log, the deleted message's text scrubbed.
    let mut all = app.stream(&tb, rid, Some("0")).await;
    let mut seqs = Vec::new();
    for _ in 0..6 {
        let e = all.expect_event().await;
        assert!(
            !e.data.contains("\"one\""),
            "deleted content replayed: {}",
            e.data
        );
        seqs.push(e.seq());
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    // Caught up: a resume from the last id gets nothing but what comes next.
    let mut tail = app.stream(&tb, rid, Some("6")).await;
    assert!(tail.next(Duration::from_millis(300)).await.is_none());
    app.say(&tb, rid, "seven").await;
    assert_eq!(tail.expect_event().await.seq(), 7);
    assert_eq!(all.expect_event().await.seq(), 7);
    // An id beyond the room's log resumes from the present.
    let mut future = app.stream(&tb, rid, Some("1000")).await;
    assert!(future.next(Duration::from_millis(300)).await.is_none());
    app.say(&ta, rid, "eight").await;
    assert_eq!(future.expect_event().await.seq(), 8);
}

async fn concurrent_senders_give_contiguous_ids(app: &TestApp) {
    let (_a, ta) = app.user("erin").await;
    let (b, tb) = app.user("frank").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let mut stream = app.stream(&tb, rid, None).await;
    wait_streaming(app, rid, b, true).await;
    let sends = (0..20).map(|i| {
        let token = if i % 2 == 0 { ta.clone() } else { tb.clone() };
        async move {
            let res = app
                .post_json(
                    &format!("/api/messages/{rid}"),
                    &json!({"content": format!("m{i}")}),
                    Some(&token),
                )
                .await;
            assert_eq!(res.status(), 201);
        }
    });
    futures::future::join_all(sends).await;
    let mut seqs = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for _ in 0..20 {
        let e = stream.expect_event().await;
        seqs.push(e.seq());
        assert!(
            ids.insert(e.json()["id"].as_str().unwrap().to_owned()),
            "duplicate"
        );
    }
    assert_eq!(seqs, (1..=20).collect::<Vec<i64>>());
    let page = app
        .json(&format!("/api/messages/{rid}?limit=100"), &ta)
        .await;
    assert_eq!(page["total_count"], 20);
}

async fn idle_streams_get_keep_alives(app: &TestApp) {
    let (_a, ta) = app.user("grace").await;
    let (b, tb) = app.user("heidi").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let mut stream = app.stream(&tb, rid, None).await;
    // The test app sends keep-alives every second.
    let got = stream.next(Duration::from_millis(2500)).await;
    assert!(got.is_none(), "{got:?}");
    assert!(
        stream.comments >= 1,
        "keep-alive comments on an idle stream"
    );
}

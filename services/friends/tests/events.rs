//! The friends service on the bus: its outbox holds events until a relay
//! publishes them, and its users read model takes user events idempotently
//! (duplicates and stale redeliveries change nothing, malformed events are
//! dead-lettered). SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestApp};
use kit::db::Database;
use kit::events::{Event, Relay, StartFrom, topics};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

macro_rules! both {
    ($($name:ident($relay:expr)),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::TestApp::spawn_with(super::Backend::Sqlite, $relay).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::TestApp::spawn_with(super::Backend::Postgres, $relay).await).await;
                }
            )*
        }
    };
}

both!(
    committed_requests_wait_in_the_outbox_for_a_relay(false),
    user_events_apply_once_and_never_roll_back(true),
    malformed_user_events_are_dead_lettered(true),
    friends_list_shows_last_seen_from_presence_events(true),
);

async fn unpublished(db: &Database) -> i64 {
    kit::db::query_scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(db)
        .await
        .unwrap()
}

async fn committed_requests_wait_in_the_outbox_for_a_relay(app: TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, _) = app.user("bob").await;
    let sent = app.request(&a, bob).await;
    // Committed with the request, not yet published.
    assert_eq!(unpublished(&app.friends.db).await, 1);
    assert!(
        app.friend_event_within("FriendRequestSent", Duration::from_millis(300))
            .await
            .is_none()
    );
    // A relay started later (as after a restart) publishes it.
    Relay::new(
        app.friends.db.clone(),
        app.ctx.bus.clone(),
        friends::SERVICE,
    )
    .spawn(&app.ctx);
    let event = app.friend_event("FriendRequestSent").await;
    assert_eq!(event.data["friendship_id"], sent["id"]);
    assert_eq!(event.data["requester_id"], alice);
    for _ in 0..200 {
        if unpublished(&app.friends.db).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the outbox row was never marked published");
}

/// Waits until the friends consumer group has committed everything on `topic`.
async fn drained(app: &TestApp, topic: &str) {
    for _ in 0..500 {
        if app.ctx.bus.lag(topic, friends::SERVICE) == Some(0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the friends consumer never caught up on {topic}");
}

async fn search(app: &TestApp, token: &str, query: &str) -> Value {
    app.json(&format!("/api/friends/search?query={query}"), token)
        .await
}

async fn user_events_apply_once_and_never_roll_back(app: TestApp) {
    let (_, a) = app.user("alice").await;
    let user_id = 424_242;
    let registered = Event::new(
        "UserRegistered",
        "users",
        user_id,
        json!({"user_id": user_id, "email": "ghost@example.com", "username": "ghost",
               "display_name": null, "created_at": chrono::Utc::now()}),
    );
    app.ctx
        .bus
        .publish(topics::USER_EVENTS, &registered)
        .await
        .unwrap();
    app.wait_until_known(user_id).await;

    let renamed = Event::new(
        "UserProfileUpdated",
        "users",
        user_id,
        json!({"user_id": user_id, "username": "ghost", "display_name": "Casper",
               "status_message": null, "profile_image_url": null}),
    );
    app.ctx
        .bus
        .publish(topics::USER_EVENTS, &renamed)
        .await
        .unwrap();
    drained(&app, topics::USER_EVENTS).await;
    assert_eq!(search(&app, &a, "casper").await[0]["user_id"], user_id);

    // The registration delivered again (same id) and a stale copy under a
    // new id (older time, as after a replay) leave the newer name alone.
    app.ctx
        .bus
        .publish(topics::USER_EVENTS, &registered)
        .await
        .unwrap();
    let mut stale = renamed.clone();
    stale.id = "stale-copy".into();
    stale.time = registered.time - chrono::TimeDelta::hours(1);
    stale.data["display_name"] = json!("Old Name");
    app.ctx
        .bus
        .publish(topics::USER_EVENTS, &stale)
        .await
        .unwrap();
    // Kinds this service does not use are ignored.
    let other = Event::new(
        "UserDeactivated",
        "users",
        user_id,
        json!({"user_id": user_id}),
    );
    app.ctx
        .bus
        .publish(topics::USER_EVENTS, &other)
        .await
        .unwrap();
    drained(&app, topics::USER_EVENTS).await;
    let found = search(&app, &a, "ghost").await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["display_name"], "Casper");
    assert_eq!(search(&app, &a, "old%20name").await, json!([]));

    // And a user known only from events can be asked.
    let res = app
        .post_json(
            "/api/friends/request",
            &json!({"user_id_2": user_id}),
            Some(&a),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

async fn malformed_user_events_are_dead_lettered(app: TestApp) {
    let dlq = kit::events::dead_letter_topic(topics::USER_EVENTS);
    let mut dead = app
        .ctx
        .bus
        .subscribe(&dlq, "friends-tests", StartFrom::Earliest)
        .await
        .unwrap();
    let bad = Event::new(
        "UserRegistered",
        "users",
        7,
        json!({"user_id": "seven", "email": 7}),
    );
    app.ctx
        .bus
        .publish(topics::USER_EVENTS, &bad)
        .await
        .unwrap();
    let record = tokio::time::timeout(Duration::from_secs(10), dead.next())
        .await
        .expect("nothing on the dead-letter topic")
        .unwrap();
    assert_eq!(record.event.id, bad.id);
    // The consumer moved on: later events still apply.
    let (bob, _) = app.user("bob").await;
    assert!(app.friends.app.knows_user(bob).await.unwrap());
    assert!(!app.friends.app.knows_user(7).await.unwrap());
}

async fn friends_list_shows_last_seen_from_presence_events(app: TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    app.befriend((alice, &a), (bob, &b)).await;
    assert!(app.json("/api/friends/list", &a).await[0]["last_seen_at"].is_null());
    let res = app
        .post_json("/api/online-status/heartbeat", &json!({}), Some(&b))
        .await;
    assert!(res.status().is_success(), "heartbeat: {}", res.status());
    for _ in 0..500 {
        let list = app.json("/api/friends/list", &a).await;
        if let Some(at) = list[0]["last_seen_at"].as_str() {
            assert!(at.ends_with('Z'), "{at}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("bob's last_seen_at never reached alice's friends list");
}

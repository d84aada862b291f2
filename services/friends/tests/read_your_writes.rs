//! Read-your-writes across services in one process: a user whose
//! registration answered 201 can be befriended at once, before the friends
//! read model has heard of them — the users module, asked in process, says
//! the user exists and the request waits for the read model instead of
//! answering 404. The users outbox is published by hand every 100 ms here,
//! so the read model always lags the registration.
//!
//! Friends owns blocks: `GET /api/friends/block-status/{user_id}`, which other
//! services ask before they decide, tells of a block the moment it is made or
//! lifted (here with the friends outbox unpublished, so nobody has heard of
//! it through events).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestApp};
use friends::Friends;
use futures::StreamExt;
use kit::events::Relay;
use kit::module::Module;
use serde_json::{Value, json};
use std::time::Duration;
use testkit::AppBuilder;
use users::Users;

async fn befriended_right_after_registration(backend: Backend) {
    let users_config = users::Config {
        hash_concurrency: 2,
        ..Default::default()
    };
    let app = AppBuilder::new(backend)
        .module::<Users>(users_config)
        .module::<Friends>(friends::Config::default())
        .relay_paused::<Users>()
        .serve()
        .await;
    let lagging = Relay::new(
        app.module::<Users>().db.clone(),
        app.ctx.bus.clone(),
        Users::NAME,
    );
    let relay = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            lagging.publish_once().await.unwrap();
        }
    });
    let (alice_id, alice) = app.http.register_and_login("alice", None).await;
    let friends = app.module::<Friends>();
    testkit::eventually("alice in the friends read model", || {
        let friends = friends.clone();
        async move { friends.app.knows_user(alice_id).await.unwrap() }
    })
    .await;

    const SEQUENCES: usize = 64;
    const CLIENTS: usize = 16;
    let wrong: Vec<String> = futures::stream::iter(0..SEQUENCES)
        .map(|i| {
            let (app, alice) = (&app, &alice);
            async move {
                let res = app
                    .http
                    .register(&format!("fresh{i}@example.com"), &format!("fresh{i}"), None)
                    .await;
                assert_eq!(res.status(), 201, "registration {i}");
                let id = res.json::<Value>().await.unwrap()["id"].clone();
                let res = app
                    .post_json(
                        "/api/friends/request",
                        &json!({"user_id_2": id}),
                        Some(alice),
                    )
                    .await;
                let status = res.status();
                let body = res.text().await.unwrap_or_default();
                (status != 201).then(|| format!("{status}: {body}"))
            }
        })
        .buffer_unordered(CLIENTS)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    relay.abort();
    assert!(
        wrong.is_empty(),
        "{} of {SEQUENCES} wrong: {wrong:?}",
        wrong.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_registered_user_can_be_befriended_at_once() {
    befriended_right_after_registration(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_registered_user_can_be_befriended_at_once() {
    befriended_right_after_registration(Backend::Postgres).await;
}

async fn block_status_is_current(backend: Backend) {
    let app = TestApp::spawn_with(backend, false).await;
    let (alice, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let status = |token: &str, of: i64| {
        let (app, token) = (&app, token.to_owned());
        async move {
            let body = app
                .http
                .json(&format!("/api/friends/block-status/{of}"), &token)
                .await;
            assert_eq!(body["user_id"], of, "{body}");
            body["blocked"].as_bool().unwrap()
        }
    };
    assert!(!status(&alice_token, bob).await);
    let res = app
        .post_json(
            &format!("/api/friends/block/{bob}"),
            &json!({}),
            Some(&alice_token),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(status(&alice_token, bob).await, "the blocker's view");
    assert!(status(&bob_token, alice).await, "the blocked one's view");
    let res = app
        .delete(&format!("/api/friends/block/{bob}"), Some(&alice_token))
        .await;
    assert_eq!(res.status(), 200);
    assert!(!status(&bob_token, alice).await, "lifted");
    let res = app
        .get("/api/friends/block-status/nobody", Some(&bob_token))
        .await;
    common::expect_error(res, 422, "a user id that is not a number").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_block_status_is_current() {
    block_status_is_current(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_block_status_is_current() {
    block_status_is_current(Backend::Postgres).await;
}

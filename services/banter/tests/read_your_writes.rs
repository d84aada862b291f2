//! Read-your-writes across services on the embedded platform (SPEC §2,
//! "Consistency"): once a registration or a block has answered 2xx, every
//! later request that depends on it sees it, although the read models of
//! friends and chat learn of it only through events. Here the users and
//! friends outboxes are published by hand every 100 ms, so those read models
//! always lag the write, while 16 clients race them (the races are in
//! `support::read_your_writes`): 2,000 register-then-use sequences and
//! 512 block-then-use sequences, 0 wrong answers.
#![allow(clippy::unwrap_used)]

mod support;

use chat::Chat;
use friends::Friends;
use kit::events::Relay;
use kit::module::Module;
use notifications::Notifications;
use std::time::Duration;
use support::read_your_writes::{Load, block_then_use, register_then_use};
use testkit::{AppBuilder, Backend, SpawnedApp};
use users::Users;

const LOAD: Load = Load {
    clients: 16,
    registrations: 2_000,
    pairs: 16,
    cycles: 32,
};
/// How far the users and friends read models lag (their relays' period).
const LAG: Duration = Duration::from_millis(100);

/// Every module, with the users and friends outboxes published only every
/// [`LAG`], by tasks aborted when this is dropped.
struct Platform {
    app: SpawnedApp,
    relays: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Platform {
    fn drop(&mut self) {
        for relay in &self.relays {
            relay.abort();
        }
    }
}

async fn platform(backend: Backend) -> Platform {
    let users_config = users::Config {
        hash_concurrency: 2,
        ..Default::default()
    };
    let app = AppBuilder::new(backend)
        .module::<Users>(users_config)
        .module::<Friends>(friends::Config::default())
        .module::<Chat>(chat::Config::default())
        .module::<Notifications>(notifications::Config::default())
        .relay_paused::<Users>()
        .relay_paused::<Friends>()
        .serve()
        .await;
    let bus = &app.ctx.bus;
    let lagging = [
        Relay::new(app.module::<Users>().db.clone(), bus.clone(), Users::NAME),
        Relay::new(
            app.module::<Friends>().db.clone(),
            bus.clone(),
            Friends::NAME,
        ),
    ];
    let relays = lagging
        .into_iter()
        .map(|relay| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(LAG).await;
                    relay.publish_once().await.unwrap();
                }
            })
        })
        .collect();
    Platform { app, relays }
}

fn assert_none_wrong(wrong: &[String], sequences: usize) {
    assert!(
        wrong.is_empty(),
        "{} wrong answers in {sequences} sequences, e.g.: {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(20)]
    );
}

async fn registered_users_are_usable_at_once(backend: Backend) {
    let platform = platform(backend).await;
    let wrong = register_then_use(&platform.app.http, "e", LOAD).await;
    assert_none_wrong(&wrong, LOAD.registrations);
}

async fn blocks_are_enforced_at_once(backend: Backend) {
    let platform = platform(backend).await;
    let wrong = block_then_use(&platform.app.http, "e", LOAD).await;
    assert_none_wrong(&wrong, LOAD.pairs * LOAD.cycles);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_registered_users_are_usable_at_once() {
    registered_users_are_usable_at_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_registered_users_are_usable_at_once() {
    registered_users_are_usable_at_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_blocks_are_enforced_at_once() {
    blocks_are_enforced_at_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_blocks_are_enforced_at_once() {
    blocks_are_enforced_at_once(Backend::Postgres).await;
}

/// When the owner of blocks does not answer, chat refuses to decide (503
/// `{detail, code}`) rather than answer from its read model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_fails_closed_when_friends_does_not_answer() {
    let chat_config = chat::Config {
        // Nothing listens on port 9.
        friends_url: Some("http://127.0.0.1:9".parse().unwrap()),
        ..Default::default()
    };
    let app = AppBuilder::new(Backend::Sqlite)
        .module::<Users>(users::Config::default())
        .module::<Chat>(chat_config)
        .serve()
        .await;
    let (_, alice) = app.http.register_and_login("alice", None).await;
    let (bob, _) = app.http.register_and_login("bob", None).await;
    let res = app
        .get(&format!("/api/chat-rooms/check/{bob}"), Some(&alice))
        .await;
    let code = testkit::expect_error(res, 503, "a room while friends is away").await;
    assert_eq!(code, "SERVICE_UNAVAILABLE");
}

//! Abuse limits under concurrency (SPEC §2 "Abuse and session rules"): a
//! burst of parallel logins for one account gets no more password checks
//! than the account's limit, in memory and in Redis; registrations are
//! limited per client address. Redis tests need 127.0.0.1:6379 (or
//! `BANTER_TEST_REDIS_URL`); each uses its own key prefix.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, PASSWORD, TestApp, expect_error};
use kit::context::Context;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use testkit::TestDb;

const LIMIT: u32 = 10;

fn limited() -> users::Config {
    users::Config {
        login_limit_account: LIMIT,
        login_limit_window_secs: 60,
        ..TestApp::config()
    }
}

/// The app on a fresh SQLite file, its limits in memory or in Redis.
async fn spawn(redis: Option<&kit::redis::Redis>, config: users::Config) -> TestApp {
    let ctx = match redis {
        Some(redis) => Context::embedded().with_redis(redis.clone()),
        None => Context::embedded(),
    };
    let db = Arc::new(TestDb::create(Backend::Sqlite, "users").await);
    TestApp::spawn_with(db, ctx, config).await
}

/// Sends every login of `passwords` for `email` at once: the answers'
/// statuses, in the order of `passwords`; every 429 must carry Retry-After.
async fn burst(app: &TestApp, email: &str, passwords: &[&str]) -> Vec<StatusCode> {
    let sends = passwords.iter().map(|password| {
        let request = app
            .client
            .post(app.url("/api/auth/login/json"))
            .json(&json!({"email": email, "password": password}));
        tokio::spawn(async move { request.send().await.unwrap() })
    });
    let mut statuses = Vec::new();
    for send in sends.collect::<Vec<_>>() {
        let res = send.await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait), "Retry-After {wait}");
        }
        statuses.push(res.status());
    }
    statuses
}

fn tally(statuses: &[StatusCode]) -> HashMap<u16, u32> {
    let mut counts = HashMap::new();
    for status in statuses {
        *counts.entry(status.as_u16()).or_default() += 1;
    }
    counts
}

async fn parallel_wrong_logins_stop_at_the_limit(app: &TestApp) {
    app.user("ada").await;
    let statuses = burst(app, "ada@example.com", &["Wrong-pass1!"; 60]).await;
    let counts = tally(&statuses);
    let checked = counts.get(&401).copied().unwrap_or(0);
    assert!(checked <= LIMIT, "{checked} passwords checked: {counts:?}");
    assert_eq!(
        counts.get(&429).copied().unwrap_or(0),
        60 - checked,
        "the rest are refused: {counts:?}"
    );
    // The limit is spent: the right password waits too.
    let res = app
        .post_json(
            "/api/auth/login/json",
            &json!({"email": "ada@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        expect_error(res, 429, "after the burst").await,
        "RATE_LIMITED"
    );
}

async fn a_right_password_in_a_burst_gains_nothing(app: &TestApp) {
    app.user("bob").await;
    let mut passwords = vec!["Wrong-pass1!"; 99];
    passwords.push(PASSWORD);
    let statuses = burst(app, "bob@example.com", &passwords).await;
    let counts = tally(&statuses);
    let wrong_checked = counts.get(&401).copied().unwrap_or(0);
    let right = statuses[99];
    assert!(
        [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS].contains(&right),
        "{right}"
    );
    // Whatever the interleaving, at most LIMIT passwords were checked: the
    // right one gets 200 only as one of them, before the limit was spent.
    let checked = wrong_checked + u32::from(right == StatusCode::OK);
    assert!(checked <= LIMIT, "{checked} passwords checked: {counts:?}");
    assert_eq!(
        counts.get(&429).copied().unwrap_or(0),
        100 - checked,
        "{counts:?}"
    );
    let res = app
        .post_json(
            "/api/auth/login/json",
            &json!({"email": "bob@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(expect_error(res, 429, "limit spent").await, "RATE_LIMITED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_logins_stop_at_the_limit_in_memory() {
    parallel_wrong_logins_stop_at_the_limit(&spawn(None, limited()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_logins_stop_at_the_limit_on_redis() {
    let redis = kit::redis::connect_for_test().await;
    parallel_wrong_logins_stop_at_the_limit(&spawn(Some(&redis), limited()).await).await;
    redis.purge().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_password_in_a_burst_gains_nothing_in_memory() {
    a_right_password_in_a_burst_gains_nothing(&spawn(None, limited()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_password_in_a_burst_gains_nothing_on_redis() {
    let redis = kit::redis::connect_for_test().await;
    a_right_password_in_a_burst_gains_nothing(&spawn(Some(&redis), limited()).await).await;
    redis.purge().await.unwrap();
}

/// The limit counts failures: right passwords, even many in a row, never
/// lock an account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_logins_do_not_use_up_the_limit() {
    let redis = kit::redis::connect_for_test().await;
    let config = users::Config {
        login_limit_account: 2,
        ..limited()
    };
    let app = spawn(Some(&redis), config).await;
    app.user("cyd").await;
    for _ in 0..5 {
        app.login("cyd@example.com", PASSWORD).await;
    }
    redis.purge().await.unwrap();
}

async fn register_all(app: &TestApp, names: std::ops::Range<u32>) -> Vec<reqwest::Response> {
    let sends = names.map(|i| {
        let request = app.client.post(app.url("/api/auth/register")).json(&json!({
            "email": format!("user{i}@example.com"),
            "username": format!("user{i}"),
            "password": PASSWORD,
        }));
        tokio::spawn(async move { request.send().await.unwrap() })
    });
    let mut answers = Vec::new();
    for send in sends.collect::<Vec<_>>() {
        answers.push(send.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_per_address_are_limited() {
    let config = users::Config {
        register_limit_address: 3,
        register_limit_window_secs: 60,
        login_limit_loopback: true,
        ..TestApp::config()
    };
    let app = spawn(None, config).await;
    let answers = register_all(&app, 0..10).await;
    let created = answers
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3, "a parallel burst is counted before hashing");
    for res in answers {
        if res.status() != StatusCode::CREATED {
            let wait: u64 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait), "Retry-After {wait}");
            assert_eq!(expect_error(res, 429, "4th+").await, "RATE_LIMITED");
        }
    }
}

/// `banter demo` and `loadgen` register every virtual user from 127.0.0.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_registrations_are_exempt_by_default() {
    let config = users::Config {
        register_limit_address: 2,
        ..TestApp::config()
    };
    let app = spawn(None, config).await;
    for res in register_all(&app, 0..6).await {
        assert_eq!(res.status(), StatusCode::CREATED);
    }
}

#[test]
fn the_default_registration_limit_is_on() {
    let config = users::Config::default();
    assert!(config.register_limit_address > 0);
    assert!(!config.login_limit_loopback);
}

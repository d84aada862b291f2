//! The users service with its shared state in Redis, as several instances of
//! a distributed deployment run it: revocations and presence seen by every
//! instance, login rate limits answered with 429 + `Retry-After`, profiles
//! served from a shared cache that writes and events invalidate. Needs Redis
//! on 127.0.0.1:6379 (or `BANTER_TEST_REDIS_URL`); each test uses its own key
//! prefix.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, PASSWORD, TestApp, expect_error};
use kit::context::Context;
use kit::events::{Event, topics};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use testkit::{TestDb, eventually};

async fn on_redis(db: Arc<TestDb>, config: users::Config) -> (TestApp, kit::redis::Redis) {
    let redis = kit::redis::connect_for_test().await;
    let ctx = Context::embedded().with_redis(redis.clone());
    (TestApp::spawn_with(db, ctx, config).await, redis)
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/auth/login/json",
        &json!({"email": email, "password": password}),
        None,
    )
    .await
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .expect("a 429 carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_token_revoked_on_one_instance_is_refused_by_another() {
    let db = Arc::new(TestDb::create(Backend::Postgres, "users").await);
    let (a, redis) = on_redis(db.clone(), TestApp::config()).await;
    // Instance b: its own process state, the same database and Redis.
    let b = TestApp::spawn_with(
        db,
        Context::embedded().with_redis(redis.clone()),
        TestApp::config(),
    )
    .await;
    let (_, token) = a.user("ada").await;
    let me = b.get("/api/profile/me", Some(&token)).await;
    assert_eq!(me.status(), StatusCode::OK, "b trusts a's key");
    let out = a
        .post_json("/api/auth/logout", &json!({}), Some(&token))
        .await;
    assert_eq!(out.status(), StatusCode::OK);
    let code = expect_error(b.get("/api/profile/me", Some(&token)).await, 401, "on b").await;
    assert_eq!(code, "TOKEN_REVOKED");

    // Presence: a heartbeat through a is visible through b.
    let (bob_id, bob) = b.user("bob").await;
    let beat = a
        .post_json("/api/online-status/heartbeat", &json!({}), Some(&bob))
        .await;
    assert_eq!(beat.status(), StatusCode::OK);
    let (_, cy) = a.user("cyd").await;
    let status = b
        .json(&format!("/api/online-status/user/{bob_id}"), &cy)
        .await;
    assert_eq!(status["is_online"], true, "{status}");

    let ready = b.get("/ready", None).await;
    assert_eq!(ready.status(), StatusCode::OK);
    redis.purge().await.unwrap();
}

#[tokio::test]
async fn failed_logins_lock_the_account_until_the_window_ends() {
    let config = users::Config {
        login_limit_account: 3,
        login_limit_window_secs: 2,
        ..TestApp::config()
    };
    let db = Arc::new(TestDb::create(Backend::Sqlite, "users").await);
    let (app, redis) = on_redis(db, config).await;
    app.user("ada").await;
    for _ in 0..3 {
        let res = login(&app, "ada@example.com", "Wrong-pass1!").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now: guessing must not continue.
    let res = login(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&res);
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert_eq!(
        expect_error(res, 429, "locked account").await,
        "RATE_LIMITED"
    );
    // Other accounts are not affected.
    app.user("bob").await;

    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    let res = login(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK, "recovers after the window");
    redis.purge().await.unwrap();
}

#[tokio::test]
async fn logins_per_address_are_limited_when_loopback_is_included() {
    let config = users::Config {
        login_limit_address: 4,
        login_limit_window_secs: 2,
        login_limit_loopback: true,
        ..TestApp::config()
    };
    let db = Arc::new(TestDb::create(Backend::Sqlite, "users").await);
    let (app, redis) = on_redis(db, config).await;
    app.user("ada").await; // the first attempt
    for _ in 0..3 {
        let res = login(&app, "ada@example.com", PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = login(&app, "nobody@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&res);
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    let res = login(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK, "recovers after the window");
    redis.purge().await.unwrap();
}

#[tokio::test]
async fn loopback_clients_are_exempt_by_default() {
    let config = users::Config {
        login_limit_address: 2,
        ..TestApp::config()
    };
    let app = TestApp::spawn_with(
        Arc::new(TestDb::create(Backend::Sqlite, "users").await),
        Context::embedded(),
        config,
    )
    .await;
    app.user("ada").await;
    for _ in 0..5 {
        let res = login(&app, "ada@example.com", PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}

/// `cache_requests_total{cache="users_profile",result=...}` of this process
/// (tests run in parallel: compare before and after, never exact values).
async fn profile_cache_requests(app: &TestApp, result: &str) -> f64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let result = format!("result=\"{result}\"");
    text.lines()
        .filter(|l| l.starts_with("cache_requests_total{"))
        .filter(|l| l.contains("cache=\"users_profile\"") && l.contains(&result))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn profiles_are_cached_and_an_update_on_one_instance_shows_on_another() {
    let db = Arc::new(TestDb::create(Backend::Postgres, "users").await);
    let (a, redis) = on_redis(db.clone(), TestApp::config()).await;
    let b = TestApp::spawn_with(
        db,
        Context::embedded().with_redis(redis.clone()),
        TestApp::config(),
    )
    .await;
    let (ada_id, ada) = a.user("ada").await;
    let (_, cy) = b.user("cyd").await;
    let key = redis.key(&format!("users:profile:{ada_id}"));
    let mut conn = redis.conn();

    let first = b.json(&format!("/api/users/{ada_id}"), &cy).await;
    assert_eq!(first["username"], "ada");
    let cached: bool = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(cached, "the first read fills the cache");
    let hits = profile_cache_requests(&a, "hit").await;
    let second = a.json(&format!("/api/profile/{ada_id}"), &cy).await;
    assert_eq!(second, first, "the other instance reads the same entry");
    assert!(
        profile_cache_requests(&a, "hit").await > hits,
        "a hit counted"
    );

    let res = a
        .put_json(
            "/api/profile/me",
            &json!({"display_name": "Ada Lovelace"}),
            Some(&ada),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let after = b.json(&format!("/api/users/{ada_id}"), &cy).await;
    assert_eq!(after["display_name"], "Ada Lovelace", "evicted on write");
    let batch = b.json(&format!("/api/users?user_ids={ada_id}"), &cy).await;
    assert_eq!(batch["users"][0]["display_name"], "Ada Lovelace");
    // Presence is live, never cached.
    assert_eq!(after["is_online"], false);
    let beat = a
        .post_json("/api/online-status/heartbeat", &json!({}), Some(&ada))
        .await;
    assert_eq!(beat.status(), StatusCode::OK);
    let online = b.json(&format!("/api/users/{ada_id}"), &cy).await;
    assert_eq!(online["is_online"], true);
    assert_ne!(online["last_seen_at"], after["last_seen_at"]);
    redis.purge().await.unwrap();
}

#[tokio::test]
async fn a_profile_event_evicts_what_the_instance_did_not_write() {
    let db = Arc::new(TestDb::create(Backend::Postgres, "users").await);
    let (app, redis) = on_redis(db.clone(), TestApp::config()).await;
    let (ada_id, _) = app.user("ada").await;
    let (_, cy) = app.user("cyd").await;
    let path = format!("/api/users/{ada_id}");
    let before = app.json(&path, &cy).await["display_name"].clone();
    assert_eq!(before, "ada", "the username when none is given");

    // A write this instance did not see (another instance's, racing a read).
    let pool = db.connect(1).await;
    kit::db::query("UPDATE users SET display_name = $1 WHERE id = $2")
        .bind("Countess")
        .bind(ada_id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        app.json(&path, &cy).await["display_name"],
        before,
        "still served from the cache"
    );

    // The other instance's outbox publishes the change.
    let changed = Event::new(
        "UserProfileUpdated",
        users::app::SOURCE,
        ada_id,
        json!({"user_id": ada_id, "username": "ada", "display_name": "Countess"}),
    );
    app.ctx
        .bus
        .publish(topics::USER_EVENTS, &changed)
        .await
        .unwrap();
    eventually("the event to evict the cached profile", || async {
        app.json(&path, &cy).await["display_name"] == "Countess"
    })
    .await;
    redis.purge().await.unwrap();
}

/// Instances started at once on an empty database sign with one key: each
/// stores its candidate only when none exists, and the database lets one win
/// (before, both inserts saw no row and each instance signed with its own
/// key, so other services refused half of the tokens until they refetched
/// the key set).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_at_once_share_one_signing_key() {
    use kit::auth::SigningKey;
    use kit::module::Module as _;
    let db = TestDb::create(Backend::Postgres, "users").await;
    let database = db.connect(8).await;
    database
        .migrate((users::Users::ABOUT.migrations)())
        .await
        .unwrap();
    let store = Arc::new(users::store::SqlUserStore::new(database.clone()));
    let mut starting = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = store.clone();
        starting.spawn(async move {
            let candidate = SigningKey::generate().unwrap();
            store
                .signing_key(candidate.kid(), candidate.pkcs8())
                .await
                .unwrap()
                .0
        });
    }
    let kids = starting.join_all().await;
    assert!(kids.iter().all(|k| *k == kids[0]), "{kids:?}");
    let stored: i64 = kit::db::query_scalar("SELECT count(*) FROM signing_keys")
        .fetch_one(&database)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

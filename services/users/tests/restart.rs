//! What must survive a restart of the users service on the same database
//! (SQLite and PostgreSQL, no Redis): logouts, and — for accounts stored
//! before usernames had a normalised key — the key, filled at start.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, PASSWORD, TestApp, expect_error};
use kit::context::Context;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use testkit::TestDb;

async fn start(db: &Arc<TestDb>) -> TestApp {
    TestApp::spawn_with(db.clone(), Context::embedded(), TestApp::config()).await
}

async fn a_logout_survives_a_restart(backend: Backend) {
    let db = Arc::new(TestDb::create(backend, "users").await);
    let first = start(&db).await;
    let (_, token) = first.user("ada").await;
    let other = first.login("ada@example.com", PASSWORD).await;
    let out = first
        .post_json("/api/auth/logout", &json!({}), Some(&token))
        .await;
    assert_eq!(out.status(), StatusCode::OK);
    // Dropping the app shuts it down gracefully, as SIGTERM does; the next
    // one starts with an empty in-memory denylist.
    drop(first);

    // A revocation of a long expired token, left from an earlier run.
    let pool = db.connect(1).await;
    kit::db::query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2)")
        .bind("expired-long-ago")
        .bind(chrono::Utc::now().timestamp() - 3600)
        .execute(&pool)
        .await
        .unwrap();

    let second = start(&db).await;
    let res = second.get("/api/profile/me", Some(&token)).await;
    assert_eq!(
        expect_error(res, 401, "revoked before the restart").await,
        "TOKEN_REVOKED"
    );
    assert_eq!(
        second.get("/api/profile/me", Some(&other)).await.status(),
        StatusCode::OK,
        "the other session still works"
    );
    let left: Vec<(String,)> = kit::db::query_as("SELECT jti FROM revoked_tokens")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "expired revocations are pruned: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_survives_a_restart_on_sqlite() {
    a_logout_survives_a_restart(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_survives_a_restart_on_postgres() {
    a_logout_survives_a_restart(Backend::Postgres).await;
}

/// Accounts written before migration 0004 (no keys), including two whose
/// names only differ in case beyond ASCII — SQLite used to allow that.
async fn old_accounts_get_their_username_key_at_start(backend: Backend) {
    let db = Arc::new(TestDb::create(backend, "users").await);
    drop(start(&db).await); // migrates
    let pool = db.connect(1).await;
    for (email, username, display_name) in [
        ("a@example.com", "ärger", None),
        ("b@example.com", "ÄRGER", None),
        ("c@example.com", "Zoë", Some("ÉLODIE Zoë")),
    ] {
        kit::db::query(
            "INSERT INTO users (email, username, password_hash, display_name, created_at, updated_at) \
             VALUES ($1, $2, 'x', $3, $4, $4)",
        )
        .bind(email)
        .bind(username)
        .bind(display_name)
        .bind(chrono::Utc::now())
        .execute(&pool)
        .await
        .unwrap();
    }

    let app = start(&db).await;
    let missing: i64 = kit::db::query_scalar(
        "SELECT COUNT(*) FROM users \
         WHERE username_key IS NULL OR (display_key IS NULL AND display_name IS NOT NULL)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(missing, 0, "every account has a key");
    for taken in ["ZOË", "Ärger", "ärger"] {
        let res = app
            .register(&format!("new-{taken}@example.com"), taken, None)
            .await;
        assert_eq!(
            expect_error(res, 409, taken).await,
            "USERNAME_TAKEN",
            "{taken}"
        );
    }
    let (_, token) = app.user("searcher").await;
    let found = app.json("/api/users/search?query=%C3%A4rger", &token).await;
    assert_eq!(
        found["total_count"], 2,
        "both old accounts are found: {found}"
    );
    let found = app
        .json("/api/users/search?query=%C3%A9lodie", &token)
        .await;
    assert_eq!(found["total_count"], 1, "by display name: {found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_accounts_get_their_username_key_at_start_on_sqlite() {
    old_accounts_get_their_username_key_at_start(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_accounts_get_their_username_key_at_start_on_postgres() {
    old_accounts_get_their_username_key_at_start(Backend::Postgres).await;
}

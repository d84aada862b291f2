//! Two `banter serve --target users` processes on one PostgreSQL database and
//! one Redis behave as one service: a token revoked through one is refused by
//! the other, login attempts count into the same window, and `/ready`
//! reports Redis. Needs PostgreSQL on 5432 and Redis on 6379 (or
//! `BANTER_TEST_PG_URL` / `BANTER_TEST_REDIS_URL`).
#![allow(clippy::unwrap_used)]

mod support;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::Banter;

const PASSWORD: &str = "Passw0rd!";

async fn login(client: &Client, app: &Banter, password: &str) -> reqwest::Response {
    client
        .post(app.url("/api/auth/login/json"))
        .json(&json!({"email": "ada@example.com", "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_users_instances_share_revocations_and_rate_limits_through_redis() {
    let admin_url = std::env::var("BANTER_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let redis_url =
        std::env::var("BANTER_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let name = format!("banter_shared_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let db_url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let args = [
        "--target",
        "users",
        "--database-url",
        &db_url,
        "--redis-url",
        &redis_url,
        "--redis-prefix",
        &name,
        "--login-limit-account",
        "2",
        "--login-limit-window",
        "30",
    ];
    let a = Banter::start(&args, &[]).await;
    let b = Banter::start(&args, &[]).await;
    let client = Client::new();

    let ready: Value = client
        .get(b.url("/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["redis"]["status"], "up", "{ready}");

    let res = client
        .post(a.url("/api/auth/register"))
        .json(&json!({"email": "ada@example.com", "username": "ada", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let token: Value = login(&client, &a, PASSWORD).await.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let me = |app: &Banter| {
        client
            .get(app.url("/api/profile/me"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(me(&b).await.unwrap().status(), StatusCode::OK);
    let out = client
        .post(a.url("/api/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let refused = me(&b).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "TOKEN_REVOKED");

    // Failures on a and b count into one window.
    for app in [&a, &b] {
        let res = login(&client, app, "Wrong-pass1!").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = login(&client, &a, PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "Retry-After {retry}");

    a.stop().await;
    b.stop().await;
    let redis = kit::redis::Redis::connect(&redis_url, &name).await.unwrap();
    assert!(redis.purge().await.unwrap() > 0, "state was kept in Redis");
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}

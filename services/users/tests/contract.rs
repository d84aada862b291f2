//! The wire contract of every users endpoint (SPEC §2): each 2xx body has
//! every field the original service sends, under its name and JSON type, with
//! `null`/`false`/`[]` present rather than omitted (extra fields are allowed).
//! The app also checks each answer against its `/openapi.json`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{PASSWORD, TestApp, expect_error, on_both_backends};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use testkit::assert_shape;

on_both_backends!(
    auth_bodies,
    json_to_the_form_login_is_a_validation_error,
    profile_bodies,
    lookup_bodies,
    presence_bodies,
);

/// A valid 1×1 RGB PNG (decodes fully).
const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xde\x00\x00\x00\x0c\x49\x44\x41\x54\x78\x9c\x63\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

fn token_shape() -> Value {
    json!({"access_token": "string", "token_type": "string", "expires_in": "int"})
}

fn public_profile_shape() -> Value {
    json!({
        "id": "int", "username": "string", "display_name": "string?",
        "status_message": "string?", "profile_image_url": "string?",
        "is_online": "bool", "last_seen_at": "time?",
    })
}

fn profile_shape() -> Value {
    let mut shape = public_profile_shape();
    shape["email"] = json!("string");
    shape
}

/// The JSON body of a response with `status`.
async fn body(res: Response, status: StatusCode, what: &str) -> Value {
    let got = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}

async fn auth_bodies(app: &TestApp) {
    let res = app.register("amy@example.com", "amy", None).await;
    let registered = body(res, StatusCode::CREATED, "POST /api/auth/register").await;
    assert_shape(
        "POST /api/auth/register",
        &registered,
        &json!({
            "id": "int", "email": "string", "username": "string", "display_name": "string?",
            "created_at": "time", "updated_at": "time",
        }),
    );

    let form = app
        .client
        .post(app.url("/api/auth/login"))
        .form(&[("username", "amy@example.com"), ("password", PASSWORD)]);
    let token = body(
        app.execute(form).await,
        StatusCode::OK,
        "POST /api/auth/login",
    )
    .await;
    assert_shape("POST /api/auth/login", &token, &token_shape());
    assert_eq!(token["token_type"], "bearer");

    let res = app
        .post_json(
            "/api/auth/login/json",
            &json!({"email": "amy@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    let token = body(res, StatusCode::OK, "POST /api/auth/login/json").await;
    assert_shape("POST /api/auth/login/json", &token, &token_shape());
    let access = token["access_token"].as_str().unwrap();

    let jwks = body(
        app.get("/.well-known/jwks.json", None).await,
        StatusCode::OK,
        "GET /.well-known/jwks.json",
    )
    .await;
    assert_shape(
        "GET /.well-known/jwks.json",
        &jwks,
        &json!({"keys": [{"kty": "string", "kid": "string"}]}),
    );

    let res = app
        .post_json("/api/auth/logout", &json!({}), Some(access))
        .await;
    let logged_out = body(res, StatusCode::OK, "POST /api/auth/logout").await;
    assert_shape(
        "POST /api/auth/logout",
        &logged_out,
        &json!({"message": "string"}),
    );
}

/// The original answers a JSON body on the OAuth2 form login as a validation
/// error (its form fields are missing), not as an unsupported media type.
async fn json_to_the_form_login_is_a_validation_error(app: &TestApp) {
    app.user("ben").await;
    let res = app
        .post_json(
            "/api/auth/login",
            &json!({"username": "ben@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        expect_error(res, 422, "JSON to the form login").await,
        "VALIDATION_ERROR"
    );
}

async fn profile_bodies(app: &TestApp) {
    let (id, token) = app.user("cleo").await;
    let me = body(
        app.get("/api/profile/me", Some(&token)).await,
        StatusCode::OK,
        "GET /api/profile/me",
    )
    .await;
    assert_shape("GET /api/profile/me", &me, &profile_shape());
    for empty in ["status_message", "profile_image_url"] {
        assert_eq!(me.get(empty), Some(&Value::Null), "{empty} present as null");
    }

    let res = app
        .put_json(
            "/api/profile/me",
            &json!({"display_name": "Cleo", "status_message": "hi"}),
            Some(&token),
        )
        .await;
    let updated = body(res, StatusCode::OK, "PUT /api/profile/me").await;
    assert_shape("PUT /api/profile/me", &updated, &profile_shape());

    let part = reqwest::multipart::Part::bytes(PNG.to_vec())
        .file_name("a.png")
        .mime_str("image/png")
        .unwrap();
    let upload = app
        .client
        .post(app.url("/api/profile/me/image"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part));
    let with_image = body(
        app.execute(upload).await,
        StatusCode::OK,
        "POST /api/profile/me/image",
    )
    .await;
    assert_shape("POST /api/profile/me/image", &with_image, &profile_shape());
    assert!(with_image["profile_image_url"].is_string(), "{with_image}");

    let res = app.delete("/api/profile/me/image", Some(&token)).await;
    let without = body(res, StatusCode::OK, "DELETE /api/profile/me/image").await;
    assert_shape("DELETE /api/profile/me/image", &without, &profile_shape());
    assert_eq!(without.get("profile_image_url"), Some(&Value::Null));

    let (_, other) = app.user("dora").await;
    let public = body(
        app.get(&format!("/api/profile/{id}"), Some(&other)).await,
        StatusCode::OK,
        "GET /api/profile/{user_id}",
    )
    .await;
    assert_shape(
        "GET /api/profile/{user_id}",
        &public,
        &public_profile_shape(),
    );
}

async fn lookup_bodies(app: &TestApp) {
    let (id, token) = app.user("eddie").await;
    let (other, _) = app.user("eddy").await;
    let found = body(
        app.get("/api/users/search?query=edd&limit=10", Some(&token))
            .await,
        StatusCode::OK,
        "GET /api/users/search",
    )
    .await;
    let list_shape = json!({"users": [public_profile_shape()], "total_count": "int"});
    assert_shape("GET /api/users/search", &found, &list_shape);
    assert!(!found["users"].as_array().unwrap().is_empty(), "{found}");

    let user = body(
        app.get(&format!("/api/users/{other}"), Some(&token)).await,
        StatusCode::OK,
        "GET /api/users/{user_id}",
    )
    .await;
    assert_shape("GET /api/users/{user_id}", &user, &public_profile_shape());

    let batch_shape = json!({"users": [public_profile_shape()]});
    let batch = body(
        app.get(&format!("/api/users?user_ids={id},{other}"), Some(&token))
            .await,
        StatusCode::OK,
        "GET /api/users",
    )
    .await;
    assert_shape("GET /api/users", &batch, &batch_shape);
    assert_eq!(batch["users"].as_array().unwrap().len(), 2, "{batch}");

    let res = app
        .post_json(
            "/api/users/batch",
            &json!({"user_ids": [id, other]}),
            Some(&token),
        )
        .await;
    let batch = body(res, StatusCode::OK, "POST /api/users/batch").await;
    assert_shape("POST /api/users/batch", &batch, &batch_shape);
    assert_eq!(batch["users"].as_array().unwrap().len(), 2, "{batch}");

    let exists = body(
        app.get(&format!("/api/users/{other}/exists"), Some(&token))
            .await,
        StatusCode::OK,
        "GET /api/users/{user_id}/exists",
    )
    .await;
    assert_shape(
        "GET /api/users/{user_id}/exists",
        &exists,
        &json!({"exists": "bool"}),
    );
}

async fn presence_bodies(app: &TestApp) {
    let (id, token) = app.user("fay").await;
    let status_shape = json!({"user_id": "int", "is_online": "bool", "last_seen_at": "time?"});
    let res = app
        .send(
            Method::POST,
            "/api/online-status/heartbeat",
            None,
            Some(&token),
        )
        .await;
    let beat = body(res, StatusCode::OK, "POST /api/online-status/heartbeat").await;
    assert_shape("POST /api/online-status/heartbeat", &beat, &status_shape);

    let status = body(
        app.get(&format!("/api/online-status/user/{id}"), Some(&token))
            .await,
        StatusCode::OK,
        "GET /api/online-status/user/{user_id}",
    )
    .await;
    assert_shape(
        "GET /api/online-status/user/{user_id}",
        &status,
        &status_shape,
    );

    let friends = body(
        app.get("/api/online-status/friends", Some(&token)).await,
        StatusCode::OK,
        "GET /api/online-status/friends",
    )
    .await;
    assert_shape(
        "GET /api/online-status/friends",
        &friends,
        &json!([{"user_id": "int", "username": "string", "is_online": "bool", "last_seen_at": "time?"}]),
    );
}

//! The wire contract of every friends endpoint (SPEC §2): each 2xx body has
//! every field the original service sends, under its name and JSON type, with
//! `null`/`false`/`[]` present rather than omitted (extra fields are allowed).
//! The app also checks each answer against its `/openapi.json`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, on_both_backends};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use testkit::assert_shape;

on_both_backends!(request_bodies, friendship_bodies, block_bodies);

/// The JSON body of a response with `status`.
async fn body(res: Response, status: StatusCode, what: &str) -> Value {
    let got = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}

fn friendship_shape() -> Value {
    json!({
        "id": "int", "user_id_1": "int", "user_id_2": "int", "status": "string",
        "created_at": "time", "updated_at": "time", "deleted_at": "time?",
    })
}

fn confirmation_shape() -> Value {
    json!({"message": "string"})
}

async fn request_bodies(app: &TestApp) {
    let (a, ta) = app.user("ann").await;
    let (b, tb) = app.user("bob").await;
    let (c, _) = app.user("cat").await;

    let res = app
        .post_json("/api/friends/request", &json!({"user_id_2": b}), Some(&ta))
        .await;
    let sent = body(res, StatusCode::CREATED, "POST /api/friends/request").await;
    assert_shape("POST /api/friends/request", &sent, &friendship_shape());
    assert_eq!(sent.get("deleted_at"), Some(&Value::Null));
    assert_eq!(sent["status"], "pending");
    app.request(&ta, c).await;

    let item = json!({
        "friendship_id": "int", "user_id": "int", "username": "string", "email": "string",
        "status": "string", "created_at": "time", "request_type": "string",
    });
    let pending = body(
        app.get("/api/friends/requests", Some(&ta)).await,
        StatusCode::OK,
        "GET /api/friends/requests",
    )
    .await;
    assert_shape(
        "GET /api/friends/requests",
        &pending,
        &json!({"received": [item], "sent": [item]}),
    );
    assert_eq!(pending["sent"].as_array().unwrap().len(), 2, "{pending}");
    let received = body(
        app.get("/api/friends/requests", Some(&tb)).await,
        StatusCode::OK,
        "GET /api/friends/requests",
    )
    .await;
    assert_shape(
        "GET /api/friends/requests",
        &received,
        &json!({"received": [item], "sent": [item]}),
    );
    assert_eq!(
        received["received"].as_array().unwrap().len(),
        1,
        "{received}"
    );

    let res = app
        .put_json(
            &format!("/api/friends/status/{a}"),
            &json!({"action": "accept"}),
            Some(&tb),
        )
        .await;
    let accepted = body(res, StatusCode::OK, "PUT /api/friends/status/{id}").await;
    assert_shape(
        "PUT /api/friends/status/{id}",
        &accepted,
        &friendship_shape(),
    );

    let res = app
        .delete(&format!("/api/friends/request/{c}"), Some(&ta))
        .await;
    let cancelled = body(res, StatusCode::OK, "DELETE /api/friends/request/{id}").await;
    assert_shape(
        "DELETE /api/friends/request/{id}",
        &cancelled,
        &confirmation_shape(),
    );
}

async fn friendship_bodies(app: &TestApp) {
    let (a, ta) = app.user("dan").await;
    let (b, tb) = app.user("deb").await;
    app.user("dee").await;
    app.befriend((a, &ta), (b, &tb)).await;

    let friends = body(
        app.get("/api/friends/list", Some(&ta)).await,
        StatusCode::OK,
        "GET /api/friends/list",
    )
    .await;
    assert_shape(
        "GET /api/friends/list",
        &friends,
        &json!([{"user_id": "int", "username": "string", "email": "string", "last_seen_at": "time?"}]),
    );
    assert_eq!(friends.as_array().unwrap().len(), 1, "{friends}");

    let found = body(
        app.get("/api/friends/search?query=de", Some(&ta)).await,
        StatusCode::OK,
        "GET /api/friends/search",
    )
    .await;
    assert_shape(
        "GET /api/friends/search",
        &found,
        &json!([{"user_id": "int", "username": "string", "display_name": "string?"}]),
    );
    assert!(!found.as_array().unwrap().is_empty(), "{found}");

    let res = app.delete(&format!("/api/friends/{b}"), Some(&ta)).await;
    let removed = body(res, StatusCode::OK, "DELETE /api/friends/{id}").await;
    assert_shape("DELETE /api/friends/{id}", &removed, &confirmation_shape());
}

async fn block_bodies(app: &TestApp) {
    let (_, ta) = app.user("eve").await;
    let (b, _) = app.user("eli").await;
    let res = app
        .send(
            Method::POST,
            &format!("/api/friends/block/{b}"),
            None,
            Some(&ta),
        )
        .await;
    let blocked = body(res, StatusCode::OK, "POST /api/friends/block/{id}").await;
    assert_shape(
        "POST /api/friends/block/{id}",
        &blocked,
        &json!({"blocker_id": "int", "blocked_id": "int", "blocked_at": "time"}),
    );

    let list = body(
        app.get("/api/friends/blocked", Some(&ta)).await,
        StatusCode::OK,
        "GET /api/friends/blocked",
    )
    .await;
    assert_shape(
        "GET /api/friends/blocked",
        &list,
        &json!([{"user_id": "int", "username": "string", "blocked_at": "time"}]),
    );
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    let res = app
        .delete(&format!("/api/friends/block/{b}"), Some(&ta))
        .await;
    let unblocked = body(res, StatusCode::OK, "DELETE /api/friends/block/{id}").await;
    assert_shape(
        "DELETE /api/friends/block/{id}",
        &unblocked,
        &confirmation_shape(),
    );
}

//! The wire contract of every chat endpoint (SPEC §2): each 2xx body has
//! every field the original service sends, under its name and JSON type, with
//! `null`/`false`/`[]` present rather than omitted (extra fields are allowed).
//! The app also checks each answer against its `/openapi.json`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, on_both_backends};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use testkit::assert_shape;

on_both_backends!(room_bodies, message_bodies);

/// The JSON body of a response with `status`.
async fn body(res: Response, status: StatusCode, what: &str) -> Value {
    let got = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}

/// A message as the original sends it: the last eight fields are always
/// there, null/false/[] when empty.
fn message_shape() -> Value {
    json!({
        "id": "string", "user_id": "int", "room_id": "int", "room_type": "string",
        "content": "string", "message_type": "string", "is_deleted": "bool", "is_edited": "bool",
        "created_at": "time", "updated_at": "time",
        "deleted_at": "time?", "edited_at": "time?",
        "file_url": "string?", "file_name": "string?", "file_size": "int?", "file_type": "string?",
        "is_read": "bool", "read_by": ["int"],
    })
}

/// A room: `participants` items carry the original's `{id, username}`.
fn room_shape() -> Value {
    json!({
        "id": "int", "user_1_id": "int?", "user_2_id": "int?", "room_type": "string",
        "created_at": "time", "updated_at": "time",
        "participants": [{"id": "int", "username": "string", "user_id": "int", "display_name": "string?"}],
        "unread_count": "int",
    })
}

/// Asserts a message's originally-empty fields are present and empty.
fn assert_plain(what: &str, m: &Value) {
    for field in ["file_url", "file_name", "file_size", "file_type"] {
        assert_eq!(m.get(field), Some(&Value::Null), "{what}: {field} in {m}");
    }
    assert_eq!(
        m.get("is_read"),
        Some(&json!(false)),
        "{what}: is_read in {m}"
    );
    assert_eq!(m.get("read_by"), Some(&json!([])), "{what}: read_by in {m}");
}

async fn room_bodies(app: &TestApp) {
    let (a, ta) = app.user("ada").await;
    let (b, _) = app.user("ben").await;
    let (c, _) = app.user("cyd").await;

    let direct = body(
        app.get(&format!("/api/chat-rooms/check/{b}"), Some(&ta))
            .await,
        StatusCode::OK,
        "GET /api/chat-rooms/check/{id}",
    )
    .await;
    assert_shape("GET /api/chat-rooms/check/{id}", &direct, &room_shape());
    assert_eq!(direct.get("last_message"), Some(&Value::Null), "{direct}");
    let ids: Vec<i64> = direct["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![a.min(b), a.max(b)],
        "participants' ids are user ids"
    );
    let room_id = direct["id"].as_i64().unwrap();

    app.say(&ta, room_id, "hello").await;
    let room = body(
        app.get(&format!("/api/chat-rooms/{room_id}"), Some(&ta))
            .await,
        StatusCode::OK,
        "GET /api/chat-rooms/{id}",
    )
    .await;
    assert_shape("GET /api/chat-rooms/{id}", &room, &room_shape());
    assert_shape(
        "GET /api/chat-rooms/{id} last_message",
        &room["last_message"],
        &message_shape(),
    );
    assert_plain("last_message", &room["last_message"]);

    let res = app
        .post_json(
            "/api/chat-rooms/group",
            &json!({"name": "team", "member_ids": [b, c]}),
            Some(&ta),
        )
        .await;
    let group = body(res, StatusCode::CREATED, "POST /api/chat-rooms/group").await;
    assert_shape("POST /api/chat-rooms/group", &group, &room_shape());
    assert_eq!(group.get("user_1_id"), Some(&Value::Null));

    let rooms = body(
        app.get("/api/chat-rooms?skip=0&limit=20", Some(&ta)).await,
        StatusCode::OK,
        "GET /api/chat-rooms",
    )
    .await;
    assert_shape("GET /api/chat-rooms", &rooms, &json!([room_shape()]));
    assert_eq!(rooms.as_array().unwrap().len(), 2, "{rooms}");
}

async fn message_bodies(app: &TestApp) {
    let (_, ta) = app.user("dia").await;
    let (b, tb) = app.user("dov").await;
    let room = app.direct_room(&ta, b).await;
    let room_id = room["id"].as_i64().unwrap();

    let res = app
        .post_json(
            &format!("/api/messages/{room_id}"),
            &json!({"content": "first", "message_type": "text"}),
            Some(&ta),
        )
        .await;
    let sent = body(res, StatusCode::CREATED, "POST /api/messages/{room_id}").await;
    assert_shape("POST /api/messages/{room_id}", &sent, &message_shape());
    assert_plain("sent", &sent);
    assert_eq!(sent.get("deleted_at"), Some(&Value::Null));
    assert_eq!(sent.get("edited_at"), Some(&Value::Null));
    let id = sent["id"].as_str().unwrap().to_owned();
    app.say(&ta, room_id, "second").await;

    let page = body(
        app.get(
            &format!("/api/messages/{room_id}?limit=50&skip=0"),
            Some(&tb),
        )
        .await,
        StatusCode::OK,
        "GET /api/messages/{room_id}",
    )
    .await;
    assert_shape(
        "GET /api/messages/{room_id}",
        &page,
        &json!({"messages": [message_shape()], "total_count": "int", "has_more": "bool"}),
    );
    assert_eq!(page["messages"].as_array().unwrap().len(), 2, "{page}");
    for m in page["messages"].as_array().unwrap() {
        assert_plain("listed", m);
    }

    let unread = body(
        app.get(
            &format!("/api/messages/room/{room_id}/unread-count"),
            Some(&tb),
        )
        .await,
        StatusCode::OK,
        "GET /api/messages/room/{room_id}/unread-count",
    )
    .await;
    assert_shape(
        "GET /api/messages/room/{room_id}/unread-count",
        &unread,
        &json!({"room_id": "int", "unread_count": "int"}),
    );
    assert_eq!(unread["unread_count"], 2);

    let res = app
        .post_json(
            "/api/messages/read",
            &json!({"room_id": room_id, "message_ids": [id]}),
            Some(&tb),
        )
        .await;
    let read = body(res, StatusCode::OK, "POST /api/messages/read").await;
    assert_shape(
        "POST /api/messages/read",
        &read,
        &json!({"success": "bool", "read_count": "int", "message": "string"}),
    );

    let res = app
        .put_json(
            &format!("/api/messages/{id}"),
            &json!({"content": "first, edited"}),
            Some(&ta),
        )
        .await;
    let edited = body(res, StatusCode::OK, "PUT /api/messages/{id}").await;
    assert_shape("PUT /api/messages/{id}", &edited, &message_shape());
    assert!(edited["edited_at"].is_string(), "edited_at set: {edited}");
    assert_eq!(edited.get("deleted_at"), Some(&Value::Null));

    let res = app.delete(&format!("/api/messages/{id}"), Some(&ta)).await;
    let deleted = body(res, StatusCode::OK, "DELETE /api/messages/{id}").await;
    assert_shape("DELETE /api/messages/{id}", &deleted, &message_shape());
    assert!(
        deleted["deleted_at"].is_string(),
        "deleted_at set: {deleted}"
    );
    assert!(deleted["edited_at"].is_string(), "still edited: {deleted}");

    // What the page shows afterwards agrees with what the calls answered.
    let page = app
        .json(&format!("/api/messages/{room_id}?limit=50&skip=0"), &tb)
        .await;
    let first = &page["messages"][0];
    assert_eq!(first["id"], json!(id));
    assert_eq!(first["deleted_at"], deleted["deleted_at"]);
    assert_eq!(first["edited_at"], edited["edited_at"]);
}

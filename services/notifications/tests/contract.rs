//! The wire contract of every notifications endpoint (SPEC §2): each 2xx
//! body has every field, under its name and JSON type, with `null`/`false`/
//! `[]` present rather than omitted (extra fields are allowed). The app also
//! checks each answer against its `/openapi.json`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, friend_request_sent, on_both_backends};
use kit::events::topics::FRIEND_EVENTS;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use testkit::assert_shape;

on_both_backends!(notification_bodies);

/// The JSON body of a response with `status`.
async fn body(res: Response, status: StatusCode, what: &str) -> Value {
    let got = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}

async fn notification_bodies(app: &TestApp) {
    let (amy, _) = app.user("amy").await;
    let (bo, bo_token) = app.user("bea").await;
    app.publish(FRIEND_EVENTS, &friend_request_sent(5, amy, bo))
        .await;
    app.wait_for(&bo_token, 1).await;

    let page = body(
        app.get(
            "/api/notifications?unread_only=false&limit=20",
            Some(&bo_token),
        )
        .await,
        StatusCode::OK,
        "GET /api/notifications",
    )
    .await;
    let item = json!({
        "id": "int", "type": "string", "title": "string", "body": "string",
        "data": "object", "is_read": "bool", "created_at": "time",
    });
    assert_shape(
        "GET /api/notifications",
        &page,
        &json!({"notifications": [item], "next_cursor": "string?"}),
    );
    assert_eq!(
        page.get("next_cursor"),
        Some(&Value::Null),
        "last page: {page}"
    );
    let id = page["notifications"][0]["id"].as_i64().unwrap();

    let count = body(
        app.get("/api/notifications/unread-count", Some(&bo_token))
            .await,
        StatusCode::OK,
        "GET /api/notifications/unread-count",
    )
    .await;
    assert_shape(
        "GET /api/notifications/unread-count",
        &count,
        &json!({"unread_count": "int"}),
    );

    for request in [json!({"notification_ids": [id]}), json!({"all": true})] {
        let res = app
            .post_json("/api/notifications/read", &request, Some(&bo_token))
            .await;
        let read = body(res, StatusCode::OK, "POST /api/notifications/read").await;
        assert_shape(
            "POST /api/notifications/read",
            &read,
            &json!({"success": "bool", "read_count": "int"}),
        );
    }
}

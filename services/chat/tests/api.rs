//! Every chat endpoint over real HTTP, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, expect_error, on_both_backends};
use kit::events::topics::{CHAT_EVENTS, MESSAGE_EVENTS};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    direct_room_is_created_once_per_pair,
    concurrent_checks_share_one_room,
    check_refuses_self_unknown_and_bad_ids,
    blocked_pairs_cannot_open_rooms_or_message,
    group_rooms,
    group_room_bad_input,
    send_and_page_messages,
    bad_messages_are_422,
    read_receipts_and_unread_counts,
    rooms_list_newest_activity_first,
    edit_and_delete_author_only,
    outsiders_never_see_a_room,
    events_go_out_through_the_outbox,
    garbage_never_yields_5xx,
    health_and_docs,
    participants_follow_profile_updates,
);

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

async fn direct_room_is_created_once_per_pair(app: &TestApp) {
    let (a, ta) = app.user("alice").await;
    let (b, tb) = app.user("bob").await;
    let room = app.direct_room(&ta, b).await;
    assert!(id(&room) > 0);
    assert_eq!(room["room_type"], "direct");
    assert_eq!(room["user_1_id"], a.min(b));
    assert_eq!(room["user_2_id"], a.max(b));
    assert!(room["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(room["updated_at"].is_string());
    assert_eq!(room["last_message"], Value::Null);
    assert_eq!(room["unread_count"], 0);
    let participants = room["participants"].as_array().unwrap();
    assert_eq!(participants.len(), 2);
    let alice = participants.iter().find(|p| p["user_id"] == a).unwrap();
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["display_name"], "alice display");

    assert_eq!(id(&app.direct_room(&ta, b).await), id(&room), "again");
    assert_eq!(
        id(&app.direct_room(&tb, a).await),
        id(&room),
        "from the other side"
    );
    let got = app
        .json(&format!("/api/chat-rooms/{}", id(&room)), &tb)
        .await;
    assert_eq!(id(&got), id(&room));
    assert_eq!(got["participants"].as_array().unwrap().len(), 2);
}

async fn concurrent_checks_share_one_room(app: &TestApp) {
    let (a, ta) = app.user("carol").await;
    let (b, tb) = app.user("dave").await;
    let calls = (0..8).map(|i| {
        let (token, other) = if i % 2 == 0 { (&ta, b) } else { (&tb, a) };
        async move {
            app.get(&format!("/api/chat-rooms/check/{other}"), Some(token))
                .await
        }
    });
    let mut ids = Vec::new();
    for res in futures::future::join_all(calls).await {
        assert_eq!(res.status(), StatusCode::OK);
        ids.push(id(&res.json::<Value>().await.unwrap()));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one direct room per pair: {ids:?}");
    let rooms = app.json("/api/chat-rooms", &ta).await;
    assert_eq!(rooms.as_array().unwrap().len(), 1);
}

async fn check_refuses_self_unknown_and_bad_ids(app: &TestApp) {
    let (a, ta) = app.user("erin").await;
    let code = expect_error(
        app.get(&format!("/api/chat-rooms/check/{a}"), Some(&ta))
            .await,
        422,
        "self",
    )
    .await;
    assert_eq!(code, "SELF_CHAT");
    let code = expect_error(
        app.get("/api/chat-rooms/check/999999", Some(&ta)).await,
        404,
        "unknown user",
    )
    .await;
    assert_eq!(code, "USER_NOT_FOUND");
    expect_error(
        app.get("/api/chat-rooms/check/abc", Some(&ta)).await,
        422,
        "not a number",
    )
    .await;
    expect_error(
        app.get("/api/chat-rooms/check/99999999999999999999", Some(&ta))
            .await,
        422,
        "overflow",
    )
    .await;
    expect_error(
        app.get(&format!("/api/chat-rooms/check/{a}"), None).await,
        401,
        "no token",
    )
    .await;
    expect_error(
        app.get("/api/chat-rooms", Some("garbage")).await,
        401,
        "bad token",
    )
    .await;
    assert_eq!(
        app.json("/api/chat-rooms", &ta).await,
        json!([]),
        "nothing was created"
    );
}

async fn blocked_pairs_cannot_open_rooms_or_message(app: &TestApp) {
    let (a, ta) = app.user("frank").await;
    let (b, tb) = app.user("grace").await;
    let (c, tc) = app.user("heidi").await;
    // An existing room, then a block.
    let room = app.direct_room(&ta, c).await;
    app.set_blocked(a, b, true).await;
    for (token, other, who) in [(&ta, b, "blocker"), (&tb, a, "blocked")] {
        let code = expect_error(
            app.get(&format!("/api/chat-rooms/check/{other}"), Some(token))
                .await,
            403,
            who,
        )
        .await;
        assert_eq!(code, "BLOCKED");
    }
    assert_eq!(app.json("/api/chat-rooms", &tb).await, json!([]));

    app.set_blocked(c, a, true).await;
    let code = expect_error(
        app.post_json(
            &format!("/api/messages/{}", id(&room)),
            &json!({"content": "hi"}),
            Some(&ta),
        )
        .await,
        403,
        "messaging in a room of a blocked pair",
    )
    .await;
    assert_eq!(code, "BLOCKED");
    expect_error(
        app.post_json(
            &format!("/api/messages/{}", id(&room)),
            &json!({"content": "hi"}),
            Some(&tc),
        )
        .await,
        403,
        "the blocker cannot message either",
    )
    .await;
    // A group with a blocked member is refused as well.
    expect_error(
        app.post_json(
            "/api/chat-rooms/group",
            &json!({"name": "g", "member_ids": [b]}),
            Some(&ta),
        )
        .await,
        403,
        "group with a blocked user",
    )
    .await;

    app.set_blocked(a, b, false).await;
    app.set_blocked(c, a, false).await;
    let res = app
        .get(&format!("/api/chat-rooms/check/{b}"), Some(&ta))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "unblocked");
    app.say(&ta, id(&room), "hello again").await;
}

async fn group_rooms(app: &TestApp) {
    let (a, ta) = app.user("ivan").await;
    let (b, tb) = app.user("judy").await;
    let (c, tc) = app.user("ken").await;
    let (_d, td) = app.user("liam").await;
    let res = app
        .post_json(
            "/api/chat-rooms/group",
            &json!({"name": "  weekend ", "member_ids": [b, c, b, a]}),
            Some(&ta),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let room: Value = res.json().await.unwrap();
    assert_eq!(room["room_type"], "group");
    assert_eq!(room["name"], "weekend");
    assert_eq!(room["created_by"], a);
    assert_eq!(room["user_1_id"], Value::Null);
    let mut members: Vec<i64> = room["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user_id"].as_i64().unwrap())
        .collect();
    members.sort_unstable();
    let mut want = vec![a, b, c];
    want.sort_unstable();
    assert_eq!(members, want, "creator included, duplicates dropped");

    let rid = id(&room);
    app.say(&tb, rid, "hi all").await;
    let seen = app.json(&format!("/api/chat-rooms/{rid}"), &tc).await;
    assert_eq!(seen["last_message"]["content"], "hi all");
    assert_eq!(seen["unread_count"], 1);
    let message = app.say(&tc, rid, "hey").await;
    assert_eq!(message["room_type"], "group");
    expect_error(
        app.get(&format!("/api/chat-rooms/{rid}"), Some(&td)).await,
        404,
        "outsider",
    )
    .await;
    assert_eq!(app.json("/api/chat-rooms", &td).await, json!([]));
}

async fn group_room_bad_input(app: &TestApp) {
    let (_a, ta) = app.user("mallory").await;
    let (b, _) = app.user("niaj").await;
    let cases: Vec<(&str, Value, u16)> = vec![
        ("blank name", json!({"name": "  ", "member_ids": [b]}), 422),
        (
            "long name",
            json!({"name": "x".repeat(101), "member_ids": [b]}),
            422,
        ),
        (
            "control name",
            json!({"name": "a\u{0}b", "member_ids": [b]}),
            422,
        ),
        ("no members", json!({"name": "g", "member_ids": []}), 422),
        ("missing members", json!({"name": "g"}), 422),
        (
            "members not ids",
            json!({"name": "g", "member_ids": ["x"]}),
            422,
        ),
        ("name a number", json!({"name": 5, "member_ids": [b]}), 422),
        (
            "unknown member",
            json!({"name": "g", "member_ids": [b, 987654]}),
            404,
        ),
        (
            "too many",
            json!({"name": "g", "member_ids": (1..=150).collect::<Vec<i64>>()}),
            422,
        ),
    ];
    for (what, body, status) in cases {
        let res = app
            .post_json("/api/chat-rooms/group", &body, Some(&ta))
            .await;
        expect_error(res, status, what).await;
    }
    assert_eq!(app.json("/api/chat-rooms", &ta).await, json!([]));
}

async fn send_and_page_messages(app: &TestApp) {
    let (a, ta) = app.user("olivia").await;
    let (b, tb) = app.user("peggy").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let mut sent = Vec::new();
    for i in 1..=5 {
        sent.push(app.say(&ta, rid, &format!("message {i}")).await);
    }
    let m = &sent[0];
    assert!(m["id"].is_string(), "message ids are strings");
    assert_eq!(m["user_id"], a);
    assert_eq!(m["room_id"], rid);
    assert_eq!(m["room_type"], "direct");
    assert_eq!(m["content"], "message 1");
    assert_eq!(m["message_type"], "text");
    assert_eq!(m["is_deleted"], false);
    assert_eq!(m["is_edited"], false);
    assert!(m["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(m["updated_at"].is_string());

    let page = app.json(&format!("/api/messages/{rid}"), &tb).await;
    assert_eq!(page["total_count"], 5);
    assert_eq!(page["has_more"], false);
    let contents: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        [
            "message 1",
            "message 2",
            "message 3",
            "message 4",
            "message 5"
        ]
    );
    assert_eq!(page["messages"][0], sent[0], "stored as returned");

    let page = app.json(&format!("/api/messages/{rid}?limit=2"), &tb).await;
    let ids: Vec<&Value> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(
        ids,
        [&sent[3]["id"], &sent[4]["id"]],
        "latest two, oldest first"
    );
    assert_eq!(page["has_more"], true);
    let page = app
        .json(&format!("/api/messages/{rid}?limit=2&skip=2"), &tb)
        .await;
    assert_eq!(page["messages"][0]["content"], "message 2");
    assert_eq!(page["messages"][1]["content"], "message 3");
    assert_eq!(page["has_more"], true);
    let page = app
        .json(&format!("/api/messages/{rid}?limit=2&skip=4"), &tb)
        .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert_eq!(page["has_more"], false);
    let page = app.json(&format!("/api/messages/{rid}?skip=50"), &tb).await;
    assert_eq!(page["messages"], json!([]));
    assert_eq!(page["total_count"], 5);

    for (query, what) in [
        ("limit=0", "limit 0"),
        ("limit=101", "limit 101"),
        ("skip=-1", "negative skip"),
        ("limit=x", "limit not a number"),
    ] {
        expect_error(
            app.get(&format!("/api/messages/{rid}?{query}"), Some(&tb))
                .await,
            422,
            what,
        )
        .await;
    }
    // Multi-byte characters count as one each; line breaks are fine.
    app.say(&tb, rid, &"가".repeat(300)).await;
    app.say(&tb, rid, "two\nlines").await;
}

async fn bad_messages_are_422(app: &TestApp) {
    let (_a, ta) = app.user("quinn").await;
    let (b, _) = app.user("rupert").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let path = format!("/api/messages/{rid}");
    let cases: Vec<(&str, Value)> = vec![
        ("empty", json!({"content": ""})),
        ("blank", json!({"content": "   "})),
        ("too long", json!({"content": "x".repeat(301)})),
        ("NUL", json!({"content": "a\u{0}b"})),
        ("bell", json!({"content": "a\u{7}b"})),
        ("missing content", json!({"message_type": "text"})),
        ("content a number", json!({"content": 5})),
        (
            "image type",
            json!({"content": "hi", "message_type": "image"}),
        ),
        ("body an array", json!(["hi"])),
    ];
    for (what, body) in cases {
        expect_error(app.post_json(&path, &body, Some(&ta)).await, 422, what).await;
    }
    expect_error(
        app.raw(
            Method::POST,
            &path,
            Some("application/json"),
            b"{not json",
            Some(&ta),
        )
        .await,
        400,
        "not JSON",
    )
    .await;
    expect_error(
        app.raw(Method::POST, &path, Some("text/plain"), b"hi", Some(&ta))
            .await,
        415,
        "not JSON content type",
    )
    .await;
    let page = app.json(&path, &ta).await;
    assert_eq!(page["total_count"], 0, "nothing stored");
}

async fn read_receipts_and_unread_counts(app: &TestApp) {
    let (_a, ta) = app.user("sybil").await;
    let (b, tb) = app.user("trent").await;
    let (c, tc) = app.user("ursula").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let other = id(&app.direct_room(&ta, c).await);
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.say(&ta, rid, &format!("m{i}")).await["id"].clone());
    }
    let mine = app.say(&tb, rid, "from b").await;
    let elsewhere = app.say(&tc, other, "other room").await;
    let unread_path = format!("/api/messages/room/{rid}/unread-count");
    assert_eq!(
        app.json(&unread_path, &tb).await,
        json!({"room_id": rid, "unread_count": 5})
    );
    assert_eq!(
        app.json(&unread_path, &ta).await["unread_count"],
        1,
        "B's message, unread by A"
    );
    let rooms = app.json("/api/chat-rooms", &tb).await;
    assert_eq!(rooms[0]["unread_count"], 5);
    assert_eq!(rooms[0]["last_message"]["content"], "from b");

    let body = json!({"room_id": rid, "message_ids": [ids[0], ids[1], ids[2], ids[2], mine["id"], elsewhere["id"], "nope"]});
    let res = app.post_json("/api/messages/read", &body, Some(&tb)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["success"], true);
    assert_eq!(
        read["read_count"], 3,
        "own, other rooms' and unknown ids are ignored"
    );
    assert!(read["message"].is_string());
    let again = app
        .post_json("/api/messages/read", &body, Some(&tb))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(again["read_count"], 0, "reading twice counts once");
    assert_eq!(app.json(&unread_path, &tb).await["unread_count"], 2);
    let event = app.next_event(MESSAGE_EVENTS, "MessagesRead").await;
    assert_eq!(event.data["room_id"], rid);
    assert_eq!(event.data["user_id"], b);
    assert_eq!(event.data["read_count"], 3);

    // Deleted messages are not unread.
    let res = app
        .delete(
            &format!("/api/messages/{}", ids[4].as_str().unwrap()),
            Some(&ta),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.json(&unread_path, &tb).await["unread_count"], 1);

    let empty = app
        .post_json(
            "/api/messages/read",
            &json!({"room_id": rid, "message_ids": []}),
            Some(&tb),
        )
        .await;
    assert_eq!(empty.status(), StatusCode::OK);
    for (what, body, status) in [
        ("missing ids", json!({"room_id": rid}), 422),
        (
            "ids not strings",
            json!({"room_id": rid, "message_ids": [1]}),
            422,
        ),
        (
            "NUL id",
            json!({"room_id": rid, "message_ids": ["a\u{0}"]}),
            422,
        ),
        (
            "too many ids",
            json!({"room_id": rid, "message_ids": vec!["x"; 501]}),
            422,
        ),
        (
            "room of others",
            json!({"room_id": rid, "message_ids": [ids[3]]}),
            404,
        ),
        (
            "unknown room",
            json!({"room_id": 987654, "message_ids": []}),
            404,
        ),
    ] {
        let token = if what == "room of others" { &tc } else { &tb };
        expect_error(
            app.post_json("/api/messages/read", &body, Some(token))
                .await,
            status,
            what,
        )
        .await;
    }
    assert_eq!(
        app.json(&unread_path, &tb).await["unread_count"],
        1,
        "an outsider's receipt changed nothing"
    );
}

async fn rooms_list_newest_activity_first(app: &TestApp) {
    let (_a, ta) = app.user("victor").await;
    let (b, _) = app.user("walter").await;
    let (c, _) = app.user("xavier").await;
    let (d, _) = app.user("yvonne").await;
    let rb = id(&app.direct_room(&ta, b).await);
    let rc = id(&app.direct_room(&ta, c).await);
    let rd = id(&app.direct_room(&ta, d).await);
    let order = |rooms: Value| -> Vec<i64> { rooms.as_array().unwrap().iter().map(id).collect() };
    assert_eq!(order(app.json("/api/chat-rooms", &ta).await), [rd, rc, rb]);
    app.say(&ta, rb, "bump").await;
    assert_eq!(order(app.json("/api/chat-rooms", &ta).await), [rb, rd, rc]);
    assert_eq!(
        order(app.json("/api/chat-rooms?skip=1&limit=1", &ta).await),
        [rd]
    );
    assert_eq!(
        order(app.json("/api/chat-rooms?skip=3", &ta).await),
        Vec::<i64>::new()
    );
    for query in ["limit=0", "limit=101", "skip=-1", "skip=a"] {
        expect_error(
            app.get(&format!("/api/chat-rooms?{query}"), Some(&ta))
                .await,
            422,
            query,
        )
        .await;
    }
}

async fn edit_and_delete_author_only(app: &TestApp) {
    let (_a, ta) = app.user("alice2").await;
    let (b, tb) = app.user("bob2").await;
    let (_c, tc) = app.user("carol2").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let m = app.say(&ta, rid, "original").await;
    let path = format!("/api/messages/{}", m["id"].as_str().unwrap());

    let code = expect_error(
        app.put_json(&path, &json!({"content": "hijack"}), Some(&tb))
            .await,
        403,
        "member, not author, edits",
    )
    .await;
    assert_eq!(code, "NOT_AUTHOR");
    expect_error(
        app.delete(&path, Some(&tb)).await,
        403,
        "member, not author, deletes",
    )
    .await;
    expect_error(
        app.put_json(&path, &json!({"content": "hijack"}), Some(&tc))
            .await,
        404,
        "outsider edits",
    )
    .await;
    expect_error(app.delete(&path, Some(&tc)).await, 404, "outsider deletes").await;
    expect_error(
        app.put_json(
            "/api/messages/nosuchmessage",
            &json!({"content": "x"}),
            Some(&ta),
        )
        .await,
        404,
        "unknown message",
    )
    .await;
    expect_error(
        app.delete("/api/messages/nosuchmessage", Some(&ta)).await,
        404,
        "unknown",
    )
    .await;
    expect_error(
        app.put_json(&path, &json!({"content": ""}), Some(&ta))
            .await,
        422,
        "empty edit",
    )
    .await;

    let res = app
        .put_json(&path, &json!({"content": "edited"}), Some(&ta))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["content"], "edited");
    assert_eq!(edited["is_edited"], true);
    assert_eq!(edited["id"], m["id"]);
    assert_eq!(
        app.json(&format!("/api/messages/{rid}"), &tb).await["messages"][0]["content"],
        "edited"
    );

    let res = app.delete(&path, Some(&ta)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let deleted: Value = res.json().await.unwrap();
    assert_eq!(deleted["is_deleted"], true);
    assert_eq!(deleted["content"], "");
    let page = app.json(&format!("/api/messages/{rid}"), &tb).await;
    assert_eq!(page["total_count"], 1, "soft delete keeps the message");
    assert_eq!(page["messages"][0]["is_deleted"], true);
    assert_eq!(page["messages"][0]["content"], "");
    let room = app.json(&format!("/api/chat-rooms/{rid}"), &tb).await;
    assert_eq!(room["last_message"]["content"], "");
    assert!(
        !room.to_string().contains("\"edited\""),
        "content hidden: {room}"
    );

    let code = expect_error(
        app.put_json(&path, &json!({"content": "revive"}), Some(&ta))
            .await,
        409,
        "editing a deleted message",
    )
    .await;
    assert_eq!(code, "MESSAGE_DELETED");
    let again = app.delete(&path, Some(&ta)).await;
    assert_eq!(again.status(), StatusCode::OK, "deleting twice is harmless");
}

/// Non-members get 404 for everything about a room, with no data in the body.
async fn outsiders_never_see_a_room(app: &TestApp) {
    let (_a, ta) = app.user("oscar").await;
    let (b, _tb) = app.user("pat").await;
    let (_c, tc) = app.user("eve").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let m = app.say(&ta, rid, "top secret").await;
    let mid = m["id"].as_str().unwrap().to_owned();
    let checks: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/chat-rooms/{rid}"), None),
        (Method::GET, format!("/api/messages/{rid}"), None),
        (Method::GET, format!("/api/messages/{rid}?limit=1"), None),
        (
            Method::POST,
            format!("/api/messages/{rid}"),
            Some(json!({"content": "let me in"})),
        ),
        (
            Method::POST,
            "/api/messages/read".into(),
            Some(json!({"room_id": rid, "message_ids": [mid]})),
        ),
        (
            Method::GET,
            format!("/api/messages/room/{rid}/unread-count"),
            None,
        ),
        (Method::GET, format!("/api/messages/stream/{rid}"), None),
        (
            Method::PUT,
            format!("/api/messages/{mid}"),
            Some(json!({"content": "x"})),
        ),
        (Method::DELETE, format!("/api/messages/{mid}"), None),
    ];
    for (method, path, body) in &checks {
        let res = app
            .send(method.clone(), path, body.as_ref(), Some(&tc))
            .await;
        let what = format!("outsider {method} {path}");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, 404, "{what}: {text}");
        assert!(!text.contains("top secret"), "{what} leaked: {text}");
    }
    // A room that does not exist looks exactly the same.
    let unknown = app.get("/api/chat-rooms/987654", Some(&tc)).await;
    let known = app.get(&format!("/api/chat-rooms/{rid}"), Some(&tc)).await;
    assert_eq!(
        unknown.json::<Value>().await.unwrap(),
        known.json::<Value>().await.unwrap()
    );
    assert_eq!(app.json("/api/chat-rooms", &tc).await, json!([]));
    let page = app.json(&format!("/api/messages/{rid}"), &ta).await;
    assert_eq!(page["total_count"], 1, "the outsider changed nothing");
    assert_eq!(page["messages"][0]["content"], "top secret");
}

async fn events_go_out_through_the_outbox(app: &TestApp) {
    let (a, ta) = app.user("ruth").await;
    let (b, _) = app.user("sam").await;
    let room = app.direct_room(&ta, b).await;
    let rid = id(&room);
    let created = app.next_event(CHAT_EVENTS, "ChatRoomCreated").await;
    assert_eq!(created.source, "chat");
    assert_eq!(created.subject, rid.to_string());
    assert_eq!(created.data["room_id"], rid);
    assert_eq!(created.data["room_type"], "direct");
    assert_eq!(created.data["created_by"], a);
    let mut members: Vec<i64> = serde_json::from_value(created.data["member_ids"].clone()).unwrap();
    members.sort_unstable();
    assert_eq!(members, [a.min(b), a.max(b)]);

    let m = app.say(&ta, rid, "hello").await;
    let sent = app.next_event(MESSAGE_EVENTS, "MessageSent").await;
    assert_eq!(sent.subject, rid.to_string());
    assert_eq!(sent.data["room_id"], rid);
    assert_eq!(sent.data["room_type"], "direct");
    assert_eq!(sent.data["seq"], 1);
    assert_eq!(sent.data["sender_id"], a);
    assert_eq!(sent.data["streaming_user_ids"], json!([]));
    assert_eq!(sent.data["message"], m);

    let path = format!("/api/messages/{}", m["id"].as_str().unwrap());
    app.put_json(&path, &json!({"content": "hello!"}), Some(&ta))
        .await;
    let edited = app.next_event(MESSAGE_EVENTS, "MessageEdited").await;
    assert_eq!(edited.data["seq"], 2);
    assert_eq!(edited.data["message"]["content"], "hello!");
    app.delete(&path, Some(&ta)).await;
    let deleted = app.next_event(MESSAGE_EVENTS, "MessageDeleted").await;
    assert_eq!(deleted.data["seq"], 3);
    assert_eq!(deleted.data["message"]["is_deleted"], true);
    assert_eq!(deleted.data["message"]["content"], "");

    // Groups announce themselves too.
    let res = app
        .post_json(
            "/api/chat-rooms/group",
            &json!({"name": "crew", "member_ids": [b]}),
            Some(&ta),
        )
        .await;
    let group: Value = res.json().await.unwrap();
    let created = app.next_event(CHAT_EVENTS, "ChatRoomCreated").await;
    assert_eq!(created.data["room_id"], id(&group));
    assert_eq!(created.data["room_type"], "group");
    assert_eq!(created.data["name"], "crew");
}

async fn garbage_never_yields_5xx(app: &TestApp) {
    let (_a, ta) = app.user("trudy").await;
    let (b, _) = app.user("uma").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let paths = [
        "/api/chat-rooms/-1",
        "/api/chat-rooms/0",
        "/api/chat-rooms/9223372036854775807",
        "/api/chat-rooms/1.5",
        "/api/chat-rooms/%00",
        "/api/messages/%00",
        "/api/messages/-5",
        "/api/messages/stream/abc",
        "/api/messages/stream/-1",
        "/api/messages/room/x/unread-count",
        "/api/chat-rooms/check/-1",
        "/api/chat-rooms/check/0",
        "/api/chat-rooms/group",
        "/api/messages/read",
    ];
    for path in paths {
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            let res = app
                .send(
                    method.clone(),
                    path,
                    Some(&json!({"content": "x"})),
                    Some(&ta),
                )
                .await;
            let status = res.status();
            let text = res.text().await.unwrap();
            assert!(
                status.is_client_error() || status.is_success(),
                "{method} {path}: {status} {text}"
            );
            if status.is_client_error() {
                let body: Value = serde_json::from_str(&text).unwrap();
                assert!(body["code"].is_string(), "{method} {path}: {text}");
            }
        }
    }
    let long_id = format!("/api/messages/{}", "z".repeat(5000));
    expect_error(app.delete(&long_id, Some(&ta)).await, 404, "very long id").await;
    let res = app
        .execute(
            app.client
                .get(app.url(&format!("/api/messages/stream/{rid}")))
                .bearer_auth(&ta)
                .header("Last-Event-ID", "not-a-number"),
        )
        .await;
    expect_error(res, 422, "bad Last-Event-ID").await;
    let page = app.json(&format!("/api/messages/{rid}"), &ta).await;
    assert!(page["total_count"].as_i64().unwrap() <= 1);
}

async fn health_and_docs(app: &TestApp) {
    let health: Value = app.get("/health", None).await.json().await.unwrap();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["service"], "Chat Service");
    assert_eq!(app.get("/ready", None).await.status(), StatusCode::OK);
    let docs: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    for path in [
        "/api/chat-rooms",
        "/api/chat-rooms/check/{participant_id}",
        "/api/chat-rooms/{room_id}",
        "/api/chat-rooms/group",
        "/api/messages/{id}",
        "/api/messages/read",
        "/api/messages/room/{room_id}/unread-count",
        "/api/messages/stream/{room_id}",
    ] {
        assert!(docs["paths"][path].is_object(), "{path} documented");
    }
    let (_a, ta) = app.user("victor2").await;
    app.json("/api/chat-rooms", &ta).await;
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains(r#"service="chat""#),
        "chat routes are labelled"
    );
}

/// `UserProfileUpdated` from the users service reaches `participants`.
async fn participants_follow_profile_updates(app: &TestApp) {
    let (a, ta) = app.user("wendy").await;
    let (b, tb) = app.user("xena").await;
    let rid = id(&app.direct_room(&ta, b).await);
    let res = app
        .put_json(
            "/api/profile/me",
            &json!({"display_name": "Wendy W."}),
            Some(&ta),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for _ in 0..500 {
        let room = app.json(&format!("/api/chat-rooms/{rid}"), &tb).await;
        let wendy = room["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["user_id"] == a)
            .cloned()
            .unwrap();
        if wendy["display_name"] == "Wendy W." {
            assert_eq!(wendy["username"], "wendy");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the new display name never reached chat");
}

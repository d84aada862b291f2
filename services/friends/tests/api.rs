//! Every friends endpoint over real HTTP, on SQLite and on PostgreSQL, with
//! users registered through the users service and known to friends through
//! the bus.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, expect_error, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    request_creates_a_pending_friendship_and_publishes_it,
    request_rules,
    bad_request_bodies_are_4xx,
    accept_makes_friends_on_both_sides,
    reject_ends_the_request_and_allows_a_new_one,
    authorization_matrix,
    pending_requests_are_listed_both_ways,
    cancel_withdraws_only_ones_own_request,
    unfriend_soft_deletes_the_friendship,
    search_offers_users_to_add,
    block_unblock_and_blocked_list,
    block_ends_friendships_and_requests,
    profile_changes_reach_the_read_model,
    concurrent_writes_keep_one_live_friendship,
    every_endpoint_needs_a_token,
    garbage_never_yields_5xx,
    health_ready_docs_metrics,
);

async fn request_creates_a_pending_friendship_and_publishes_it(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, _) = app.user("bob").await;
    let res = app
        .post_json(
            "/api/friends/request",
            &json!({"user_id_2": bob, "message": "  hi Bob  "}),
            Some(&a),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert!(body["id"].as_i64().unwrap() > 0);
    assert_eq!(body["user_id_1"], alice);
    assert_eq!(body["user_id_2"], bob);
    assert_eq!(body["status"], "pending");
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["created_at"], body["updated_at"]);
    assert!(body["deleted_at"].is_null());
    assert_eq!(body["message"], "hi Bob");

    let event = app.friend_event("FriendRequestSent").await;
    assert_eq!(event.source, "friends");
    let (low, high) = (alice.min(bob), alice.max(bob));
    assert_eq!(event.subject, format!("{low}:{high}"));
    assert_eq!(event.data["friendship_id"], body["id"]);
    assert_eq!(event.data["requester_id"], alice);
    assert_eq!(event.data["addressee_id"], bob);
    assert_eq!(event.data["message"], "hi Bob");
    let at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(event.data["created_at"].clone()).unwrap();
    let created: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(body["created_at"].clone()).unwrap();
    assert_eq!(at, created);
}

async fn request_rules(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let req = |to: i64| json!({"user_id_2": to});

    let code = expect_error(
        app.post_json("/api/friends/request", &req(alice), Some(&a))
            .await,
        422,
        "request to oneself",
    )
    .await;
    assert_eq!(code, "VALIDATION_ERROR");
    expect_error(
        app.post_json("/api/friends/request", &req(999_999), Some(&a))
            .await,
        404,
        "unknown user",
    )
    .await;
    expect_error(
        app.post_json("/api/friends/request", &req(-1), Some(&a))
            .await,
        404,
        "negative id",
    )
    .await;

    app.request(&a, bob).await;
    let code = expect_error(
        app.post_json("/api/friends/request", &req(bob), Some(&a))
            .await,
        409,
        "same request twice",
    )
    .await;
    assert_eq!(code, "REQUEST_ALREADY_EXISTS");
    let code = expect_error(
        app.post_json("/api/friends/request", &req(alice), Some(&b))
            .await,
        409,
        "request back while one is pending",
    )
    .await;
    assert_eq!(code, "REQUEST_ALREADY_EXISTS");

    assert_eq!(
        app.answer(&b, alice, "accept").await.status(),
        StatusCode::OK
    );
    for (token, to) in [(&a, bob), (&b, alice)] {
        let code = expect_error(
            app.post_json("/api/friends/request", &req(to), Some(token))
                .await,
            409,
            "request between friends",
        )
        .await;
        assert_eq!(code, "ALREADY_FRIENDS");
    }

    // Blocked either way: no requests in either direction.
    let (carol, c) = app.user("carol").await;
    let (dave, d) = app.user("dave").await;
    let res = app
        .post_json(&format!("/api/friends/block/{dave}"), &json!({}), Some(&c))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for (token, to, what) in [
        (&d, carol, "blocked user asks the blocker"),
        (&c, dave, "blocker asks the blocked user"),
    ] {
        let code = expect_error(
            app.post_json("/api/friends/request", &req(to), Some(token))
                .await,
            403,
            what,
        )
        .await;
        assert_eq!(code, "BLOCKED");
    }
    assert_eq!(
        app.json("/api/friends/requests", &c).await,
        json!({"received": [], "sent": []})
    );
}

async fn bad_request_bodies_are_4xx(app: &TestApp) {
    let (_, a) = app.user("alice").await;
    let (bob, _) = app.user("bob").await;
    let long = "x".repeat(501);
    let cases: Vec<(&str, Value)> = vec![
        ("missing user_id_2", json!({})),
        ("user_id_2 as string", json!({"user_id_2": "2"})),
        ("user_id_2 as float", json!({"user_id_2": 2.5})),
        ("user_id_2 null", json!({"user_id_2": null})),
        ("user_id_2 too large", json!({"user_id_2": 1e30})),
        ("body is an array", json!([bob])),
        ("message as number", json!({"user_id_2": bob, "message": 5})),
        (
            "message too long",
            json!({"user_id_2": bob, "message": long}),
        ),
        (
            "NUL in message",
            json!({"user_id_2": bob, "message": "hi\0"}),
        ),
    ];
    for (what, body) in cases {
        let code = expect_error(
            app.post_json("/api/friends/request", &body, Some(&a)).await,
            422,
            what,
        )
        .await;
        assert_eq!(code, "VALIDATION_ERROR", "{what}");
    }
    let code = expect_error(
        app.raw(
            Method::POST,
            "/api/friends/request",
            Some("application/json"),
            b"{\"user_id_2\": ",
            Some(&a),
        )
        .await,
        400,
        "truncated JSON",
    )
    .await;
    assert_eq!(code, "INVALID_JSON");
    expect_error(
        app.raw(
            Method::POST,
            "/api/friends/request",
            Some("text/plain"),
            b"{\"user_id_2\": 2}",
            Some(&a),
        )
        .await,
        415,
        "not JSON",
    )
    .await;
    // A message of exactly 500 characters with line breaks is fine.
    let ok = format!("{}\n{}", "y".repeat(249), "z".repeat(250));
    let res = app
        .post_json(
            "/api/friends/request",
            &json!({"user_id_2": bob, "message": ok}),
            Some(&a),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Nothing from the refused attempts was stored.
    let sent = &app.json("/api/friends/requests", &a).await["sent"];
    assert_eq!(sent.as_array().unwrap().len(), 1);
}

async fn accept_makes_friends_on_both_sides(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let sent = app.request(&a, bob).await;
    app.friend_event("FriendRequestSent").await;

    let res = app.answer(&b, alice, "accept").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["id"], sent["id"]);
    assert_eq!(body["user_id_1"], alice);
    assert_eq!(body["user_id_2"], bob);
    assert_eq!(body["status"], "accepted");
    assert!(body["deleted_at"].is_null());

    let event = app.friend_event("FriendRequestAccepted").await;
    assert_eq!(
        event.data,
        json!({"friendship_id": sent["id"], "requester_id": alice, "addressee_id": bob})
    );

    let list = app.json("/api/friends/list", &a).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["user_id"], bob);
    assert_eq!(list[0]["username"], "bob");
    assert_eq!(list[0]["email"], "bob@example.com");
    assert!(list[0].as_object().unwrap().contains_key("last_seen_at"));
    let list = app.json("/api/friends/list", &b).await;
    assert_eq!(list[0]["user_id"], alice);
    assert_eq!(list[0]["username"], "alice");

    // Answered requests are no longer pending, and cannot be answered again.
    assert_eq!(
        app.json("/api/friends/requests", &a).await,
        json!({"received": [], "sent": []})
    );
    assert_eq!(
        app.json("/api/friends/requests", &b).await,
        json!({"received": [], "sent": []})
    );
    expect_error(app.answer(&b, alice, "reject").await, 404, "answer twice").await;
}

async fn reject_ends_the_request_and_allows_a_new_one(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let sent = app.request(&a, bob).await;
    let res = app.answer(&b, alice, "reject").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "rejected");
    assert_eq!(body["id"], sent["id"]);
    let event = app.friend_event("FriendRequestRejected").await;
    assert_eq!(event.data["friendship_id"], sent["id"]);

    assert_eq!(app.json("/api/friends/list", &a).await, json!([]));
    assert_eq!(
        app.json("/api/friends/requests", &b).await,
        json!({"received": [], "sent": []})
    );
    expect_error(
        app.answer(&b, alice, "accept").await,
        404,
        "accept after reject",
    )
    .await;
    // Either may ask again.
    let again = app.request(&b, alice).await;
    assert_ne!(again["id"], sent["id"]);
}

async fn authorization_matrix(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let (carol, c) = app.user("carol").await;
    app.request(&a, bob).await;

    // Only the addressee answers: the requester cannot accept their own
    // request, a third user cannot answer it, whatever id they name.
    for (token, from, what) in [
        (&a, alice, "requester names themselves"),
        (&a, bob, "requester names the addressee"),
        (&c, alice, "third user names the requester"),
        (&c, bob, "third user names the addressee"),
    ] {
        for action in ["accept", "reject"] {
            let code = expect_error(app.answer(token, from, action).await, 404, what).await;
            assert_eq!(code, "NOT_FOUND");
        }
    }
    // An invalid action is refused before anything is looked up.
    for action in [
        json!("ACCEPT"),
        json!("block"),
        json!(""),
        json!(1),
        json!(null),
    ] {
        expect_error(
            app.put_json(
                &format!("/api/friends/status/{alice}"),
                &json!({"action": action}),
                Some(&b),
            )
            .await,
            422,
            "invalid action",
        )
        .await;
    }
    // Only the requester cancels.
    expect_error(
        app.delete(&format!("/api/friends/request/{alice}"), Some(&b))
            .await,
        404,
        "addressee cancels",
    )
    .await;
    expect_error(
        app.delete(&format!("/api/friends/request/{bob}"), Some(&c))
            .await,
        404,
        "third user cancels",
    )
    .await;
    // Nobody else sees the request.
    assert_eq!(
        app.json("/api/friends/requests", &c).await,
        json!({"received": [], "sent": []})
    );
    // A third user cannot unfriend others.
    app.answer(&b, alice, "accept").await;
    expect_error(
        app.delete(&format!("/api/friends/{alice}"), Some(&c)).await,
        404,
        "third user unfriends",
    )
    .await;
    expect_error(
        app.delete(&format!("/api/friends/{bob}"), Some(&c)).await,
        404,
        "third user unfriends",
    )
    .await;
    assert_eq!(app.json("/api/friends/list", &c).await, json!([]));
    // The friendship survived all of it.
    assert_eq!(app.json("/api/friends/list", &a).await[0]["user_id"], bob);

    // Blocked users can't request; the block list is the blocker's own.
    let res = app
        .post_json(&format!("/api/friends/block/{carol}"), &json!({}), Some(&b))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    expect_error(
        app.post_json("/api/friends/request", &json!({"user_id_2": bob}), Some(&c))
            .await,
        403,
        "blocked requests",
    )
    .await;
    assert_eq!(app.json("/api/friends/blocked", &c).await, json!([]));
    assert_eq!(app.json("/api/friends/blocked", &a).await, json!([]));
    // Only the blocker lifts a block.
    expect_error(
        app.delete(&format!("/api/friends/block/{bob}"), Some(&c))
            .await,
        404,
        "blocked user unblocks",
    )
    .await;
    expect_error(
        app.delete(&format!("/api/friends/block/{carol}"), Some(&a))
            .await,
        404,
        "third user unblocks",
    )
    .await;
    assert_eq!(
        app.json("/api/friends/blocked", &b).await[0]["user_id"],
        carol
    );
}

async fn pending_requests_are_listed_both_ways(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let (carol, c) = app.user("carol").await;
    let to_bob = app.request(&a, bob).await;
    let from_carol = app.request(&c, alice).await;

    let lists = app.json("/api/friends/requests", &a).await;
    let sent = lists["sent"].as_array().unwrap();
    let received = lists["received"].as_array().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(received.len(), 1);
    assert_eq!(sent[0]["friendship_id"], to_bob["id"]);
    assert_eq!(sent[0]["user_id"], bob);
    assert_eq!(sent[0]["username"], "bob");
    assert_eq!(sent[0]["email"], "bob@example.com");
    assert_eq!(sent[0]["status"], "pending");
    assert_eq!(sent[0]["request_type"], "sent");
    assert_eq!(sent[0]["created_at"], to_bob["created_at"]);
    assert_eq!(received[0]["friendship_id"], from_carol["id"]);
    assert_eq!(received[0]["user_id"], carol);
    assert_eq!(received[0]["username"], "carol");
    assert_eq!(received[0]["request_type"], "received");

    let bobs = app.json("/api/friends/requests", &b).await;
    assert_eq!(bobs["sent"], json!([]));
    assert_eq!(bobs["received"][0]["user_id"], alice);
    assert_eq!(bobs["received"][0]["username"], "alice");
    assert_eq!(bobs["received"][0]["request_type"], "received");
}

async fn cancel_withdraws_only_ones_own_request(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let sent = app.request(&a, bob).await;

    let res = app
        .delete(&format!("/api/friends/request/{bob}"), Some(&a))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.json::<Value>().await.unwrap()["message"].is_string());
    let event = app.friend_event("FriendRequestCancelled").await;
    assert_eq!(
        event.data,
        json!({"friendship_id": sent["id"], "requester_id": alice, "addressee_id": bob})
    );
    assert_eq!(
        app.json("/api/friends/requests", &b).await,
        json!({"received": [], "sent": []})
    );
    expect_error(
        app.delete(&format!("/api/friends/request/{bob}"), Some(&a))
            .await,
        404,
        "cancel twice",
    )
    .await;
    expect_error(
        app.answer(&b, alice, "accept").await,
        404,
        "accept a cancelled request",
    )
    .await;
    expect_error(
        app.delete("/api/friends/request/999999", Some(&a)).await,
        404,
        "cancel to unknown user",
    )
    .await;

    // A friendship is not a request: cancelling does not unfriend.
    app.befriend((alice, &a), (bob, &b)).await;
    expect_error(
        app.delete(&format!("/api/friends/request/{bob}"), Some(&a))
            .await,
        404,
        "cancel a friendship",
    )
    .await;
    assert_eq!(
        app.json("/api/friends/list", &a)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn unfriend_soft_deletes_the_friendship(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let (carol, _) = app.user("carol").await;
    app.befriend((alice, &a), (bob, &b)).await;
    let accepted = app.friend_event("FriendRequestAccepted").await;

    expect_error(
        app.delete(&format!("/api/friends/{carol}"), Some(&a)).await,
        404,
        "not friends",
    )
    .await;
    // The addressee may end it as well as the requester.
    let res = app.delete(&format!("/api/friends/{alice}"), Some(&b)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let event = app.friend_event("FriendDeleted").await;
    assert_eq!(
        event.data,
        json!({"friendship_id": accepted.data["friendship_id"], "user_id": bob, "friend_id": alice})
    );
    assert_eq!(app.json("/api/friends/list", &a).await, json!([]));
    assert_eq!(app.json("/api/friends/list", &b).await, json!([]));
    expect_error(
        app.delete(&format!("/api/friends/{bob}"), Some(&a)).await,
        404,
        "unfriend twice",
    )
    .await;
    // They may become friends again.
    app.befriend((alice, &a), (bob, &b)).await;
    assert_eq!(app.json("/api/friends/list", &b).await[0]["user_id"], alice);
}

async fn search_offers_users_to_add(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let (bobby, _) = app.user("bobby").await;
    let (rob, _) = app
        .user_with_display_name("rob", Some("Bob Robertson"))
        .await;
    let (bobo, bo) = app.user("bobo").await;
    let (boba, ba) = app.user("boba").await;
    let (bobr, br) = app.user("bobr").await;
    let (_, _) = app.user("carol").await;

    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|u| u["user_id"].as_i64().unwrap())
            .collect()
    };
    let found = app.json("/api/friends/search?query=BOB", &a).await;
    let mut all = ids(&found);
    all.sort_unstable();
    let mut expected = vec![bob, bobby, rob, bobo, boba, bobr];
    expected.sort_unstable();
    assert_eq!(
        all, expected,
        "case-insensitive, by username or display name"
    );
    let first = &found.as_array().unwrap()[0];
    assert_eq!(first["username"], "bob", "ordered by username");
    assert!(first.get("email").is_none(), "no emails of strangers");
    assert!(first["pending_request"].is_null());

    // Friends and blocks either way drop out; pending requests stay, marked.
    app.befriend((alice, &a), (bob, &b)).await;
    app.post_json(&format!("/api/friends/block/{bobo}"), &json!({}), Some(&a))
        .await;
    app.post_json(
        &format!("/api/friends/block/{alice}"),
        &json!({}),
        Some(&ba),
    )
    .await;
    app.request(&a, bobby).await;
    app.request(&br, alice).await;
    let found = app.json("/api/friends/search?query=bob", &a).await;
    let mut left = ids(&found);
    left.sort_unstable();
    let mut expected = vec![bobby, rob, bobr];
    expected.sort_unstable();
    assert_eq!(left, expected);
    for u in found.as_array().unwrap() {
        let want = if u["user_id"] == bobby {
            json!("sent")
        } else if u["user_id"] == bobr {
            json!("received")
        } else {
            Value::Null
        };
        assert_eq!(u["pending_request"], want, "{u}");
    }
    // The blocked user does not find the blocker either.
    assert!(!ids(&app.json("/api/friends/search?query=alice", &bo).await).contains(&alice));
    // Never oneself.
    assert_eq!(
        app.json("/api/friends/search?query=alice", &a).await,
        json!([])
    );
    // LIKE wildcards are matched literally.
    assert_eq!(
        app.json("/api/friends/search?query=%25", &a).await,
        json!([])
    );
    assert_eq!(
        app.json("/api/friends/search?query=b_b", &a).await,
        json!([])
    );
    assert_eq!(
        app.json("/api/friends/search?query=bob&limit=1", &a)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let long = "x".repeat(51);
    for (query, what) in [
        ("/api/friends/search".to_owned(), "missing query"),
        ("/api/friends/search?query=".to_owned(), "empty query"),
        ("/api/friends/search?query=%20%20".to_owned(), "blank query"),
        (format!("/api/friends/search?query={long}"), "51 characters"),
        ("/api/friends/search?query=a%00".to_owned(), "NUL"),
        (
            "/api/friends/search?query=bob&limit=0".to_owned(),
            "limit 0",
        ),
        (
            "/api/friends/search?query=bob&limit=51".to_owned(),
            "limit 51",
        ),
        (
            "/api/friends/search?query=bob&limit=x".to_owned(),
            "limit not a number",
        ),
    ] {
        expect_error(app.get(&query, Some(&a)).await, 422, what).await;
    }
}

async fn block_unblock_and_blocked_list(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let (carol, _) = app.user("carol").await;

    expect_error(
        app.post_json(&format!("/api/friends/block/{alice}"), &json!({}), Some(&a))
            .await,
        422,
        "block oneself",
    )
    .await;
    expect_error(
        app.post_json("/api/friends/block/999999", &json!({}), Some(&a))
            .await,
        404,
        "block unknown",
    )
    .await;
    expect_error(
        app.delete(&format!("/api/friends/block/{alice}"), Some(&a))
            .await,
        422,
        "unblock oneself",
    )
    .await;
    expect_error(
        app.delete(&format!("/api/friends/block/{bob}"), Some(&a))
            .await,
        404,
        "unblock the unblocked",
    )
    .await;

    let res = app
        .send(
            Method::POST,
            &format!("/api/friends/block/{bob}"),
            None,
            Some(&a),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["blocker_id"], alice);
    assert_eq!(first["blocked_id"], bob);
    let event = app.friend_event("UserBlocked").await;
    assert_eq!(event.data, json!({"blocker_id": alice, "blocked_id": bob}));
    // Idempotent: same block, same time.
    let res = app
        .send(
            Method::POST,
            &format!("/api/friends/block/{bob}"),
            None,
            Some(&a),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), first);
    app.post_json(&format!("/api/friends/block/{carol}"), &json!({}), Some(&a))
        .await;

    let list = app.json("/api/friends/blocked", &a).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["user_id"], carol, "newest first");
    assert_eq!(list[0]["username"], "carol");
    assert_eq!(list[1]["user_id"], bob);
    assert_eq!(list[1]["blocked_at"], first["blocked_at"]);
    assert_eq!(app.json("/api/friends/blocked", &b).await, json!([]));

    let res = app
        .delete(&format!("/api/friends/block/{bob}"), Some(&a))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let event = app.friend_event("UserUnblocked").await;
    assert_eq!(event.data, json!({"blocker_id": alice, "blocked_id": bob}));
    expect_error(
        app.delete(&format!("/api/friends/block/{bob}"), Some(&a))
            .await,
        404,
        "unblock twice",
    )
    .await;
    assert_eq!(
        app.json("/api/friends/blocked", &a)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Unblocked, they can ask again.
    app.request(&b, alice).await;
}

async fn block_ends_friendships_and_requests(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let (carol, c) = app.user("carol").await;
    app.befriend((alice, &a), (bob, &b)).await;
    let friendship = app.friend_event("FriendRequestAccepted").await.data["friendship_id"].clone();
    let pending = app.request(&c, alice).await;

    // The addressee blocks the friend and the requester.
    app.post_json(&format!("/api/friends/block/{bob}"), &json!({}), Some(&a))
        .await;
    let deleted = app.friend_event("FriendDeleted").await;
    assert_eq!(
        deleted.data,
        json!({"friendship_id": friendship, "user_id": alice, "friend_id": bob})
    );
    app.post_json(&format!("/api/friends/block/{carol}"), &json!({}), Some(&a))
        .await;
    let cancelled = app.friend_event("FriendRequestCancelled").await;
    assert_eq!(
        cancelled.data,
        json!({"friendship_id": pending["id"], "requester_id": carol, "addressee_id": alice})
    );

    assert_eq!(app.json("/api/friends/list", &a).await, json!([]));
    assert_eq!(app.json("/api/friends/list", &b).await, json!([]));
    assert_eq!(
        app.json("/api/friends/requests", &a).await,
        json!({"received": [], "sent": []})
    );
    assert_eq!(
        app.json("/api/friends/requests", &c).await,
        json!({"received": [], "sent": []})
    );
    expect_error(
        app.answer(&a, carol, "accept").await,
        404,
        "accept a request removed by a block",
    )
    .await;
    // Unblocking does not bring the friendship back.
    app.delete(&format!("/api/friends/block/{bob}"), Some(&a))
        .await;
    assert_eq!(app.json("/api/friends/list", &a).await, json!([]));
}

async fn profile_changes_reach_the_read_model(app: &TestApp) {
    let (_, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    assert_eq!(
        app.json("/api/friends/search?query=builder", &a).await,
        json!([])
    );
    let res = app
        .put_json(
            "/api/profile/me",
            &json!({"display_name": "Bob the Builder"}),
            Some(&b),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for _ in 0..500 {
        let found = app.json("/api/friends/search?query=builder", &a).await;
        if found.as_array().is_some_and(|l| !l.is_empty()) {
            assert_eq!(found[0]["user_id"], bob);
            assert_eq!(found[0]["display_name"], "Bob the Builder");
            assert_eq!(found[0]["username"], "bob");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the profile update never reached the friends read model");
}

async fn concurrent_writes_keep_one_live_friendship(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let to = |id: i64| json!({"user_id_2": id});
    // Both ask each other at once, several times over: one request wins.
    let (ab, ba) = (to(bob), to(alice));
    let attempts = (0..4).flat_map(|_| {
        [
            app.post_json("/api/friends/request", &ab, Some(&a)),
            app.post_json("/api/friends/request", &ba, Some(&b)),
        ]
    });
    let mut statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    let pending_a = app.json("/api/friends/requests", &a).await;
    let pending_b = app.json("/api/friends/requests", &b).await;
    let total =
        |v: &Value| v["sent"].as_array().unwrap().len() + v["received"].as_array().unwrap().len();
    assert_eq!((total(&pending_a), total(&pending_b)), (1, 1));
    let (requester, addressee, token_r, token_a) =
        if pending_a["sent"].as_array().unwrap().is_empty() {
            (bob, alice, &b, &a)
        } else {
            (alice, bob, &a, &b)
        };

    // Accept and cancel race: exactly one of them happens.
    let cancel = format!("/api/friends/request/{addressee}");
    let (accepted, cancelled) = tokio::join!(
        app.answer(token_a, requester, "accept"),
        app.delete(&cancel, Some(token_r)),
    );
    let outcome = (accepted.status().as_u16(), cancelled.status().as_u16());
    let friends = app
        .json("/api/friends/list", &a)
        .await
        .as_array()
        .unwrap()
        .len();
    match outcome {
        (200, 404) => assert_eq!(friends, 1),
        (404, 200) => assert_eq!(friends, 0),
        other => panic!("accept and cancel both or neither happened: {other:?}"),
    }
}

const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/api/friends/request"),
    ("PUT", "/api/friends/status/1"),
    ("GET", "/api/friends/list"),
    ("GET", "/api/friends/requests"),
    ("DELETE", "/api/friends/request/1"),
    ("DELETE", "/api/friends/1"),
    ("GET", "/api/friends/search?query=bob"),
    ("POST", "/api/friends/block/1"),
    ("DELETE", "/api/friends/block/1"),
    ("GET", "/api/friends/blocked"),
];

async fn every_endpoint_needs_a_token(app: &TestApp) {
    for (method, path) in ENDPOINTS {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = json!({"user_id_2": 1, "action": "accept"});
        for token in [None, Some("not-a-token")] {
            let code = expect_error(
                app.send(method.clone(), path, Some(&body), token).await,
                401,
                &format!("{method} {path} with {token:?}"),
            )
            .await;
            assert!(!code.is_empty());
        }
    }
}

async fn garbage_never_yields_5xx(app: &TestApp) {
    let (_, a) = app.user("alice").await;
    let ids = [
        "abc",
        "1.5",
        "-",
        "99999999999999999999999",
        "%00",
        "0x10",
        "-9223372036854775808",
        "9223372036854775807",
    ];
    let bodies = [
        json!({"user_id_2": 1, "action": "accept", "message": "x"}),
        json!(null),
        json!("string"),
        json!({"action": {"nested": true}}),
    ];
    for id in ids {
        for (method, template) in [
            ("PUT", "/api/friends/status/{}"),
            ("DELETE", "/api/friends/request/{}"),
            ("DELETE", "/api/friends/{}"),
            ("POST", "/api/friends/block/{}"),
            ("DELETE", "/api/friends/block/{}"),
        ] {
            let path = template.replace("{}", id);
            for body in &bodies {
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                let res = app.send(method.clone(), &path, Some(body), Some(&a)).await;
                let status = res.status();
                let text = res.text().await.unwrap();
                assert!(
                    status.is_client_error(),
                    "{method} {path} {body}: {status} {text}"
                );
                let err: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
                assert!(
                    err["detail"].is_string() && err["code"].is_string(),
                    "{text}"
                );
            }
        }
    }
    for query in [
        "%FF%FE",
        "%E2%28%A1",
        "bob&limit=-1",
        "bob&limit=99999999999",
        "\u{1F600}",
    ] {
        let res = app
            .get(&format!("/api/friends/search?query={query}"), Some(&a))
            .await;
        assert!(
            res.status().as_u16() < 500,
            "search {query}: {}",
            res.status()
        );
    }
    // The extreme ids that parse are simply unknown.
    expect_error(
        app.post_json(
            "/api/friends/request",
            &json!({"user_id_2": i64::MAX}),
            Some(&a),
        )
        .await,
        404,
        "max id",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/friends/request",
            &json!({"user_id_2": i64::MIN}),
            Some(&a),
        )
        .await,
        404,
        "min id",
    )
    .await;
}

async fn health_ready_docs_metrics(app: &TestApp) {
    let health: Value = app.get("/health", None).await.json().await.unwrap();
    assert_eq!(
        health,
        json!({"status": "healthy", "service": "Friends Service"})
    );
    let res = app.get("/ready", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let ready: Value = res.json().await.unwrap();
    assert_eq!(ready["checks"]["friends_db"]["status"], "up");

    let openapi: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    for path in [
        "/api/friends/request",
        "/api/friends/status/{requester_user_id}",
        "/api/friends/list",
        "/api/friends/requests",
        "/api/friends/request/{target_user_id}",
        "/api/friends/{user_id}",
        "/api/friends/search",
        "/api/friends/block/{user_id}",
        "/api/friends/blocked",
    ] {
        assert!(
            openapi["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }

    let (_, a) = app.user("alice").await;
    app.json("/api/friends/list", &a).await;
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("http_server_request_duration_seconds")
                && l.contains("service=\"friends\"")
                && l.contains("http_route=\"/api/friends/list\"")),
        "no friends RED metrics"
    );
}

//! Every posts endpoint over real HTTP, on SQLite and on PostgreSQL, with
//! users registered through the users service and blocks made through the
//! friends service, both reaching posts through the bus.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, expect_error, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    posts_are_written_read_edited_and_deleted_by_their_author,
    bad_input_is_4xx,
    a_users_posts_page_newest_first,
    comments_and_one_level_of_replies,
    likes_are_idempotent_and_counted,
    follows_are_idempotent_and_listed,
    blocks_hide_content_both_ways,
    profile_changes_reach_author_names,
    a_user_can_be_followed_right_after_registering,
    concurrent_likes_and_follows_count_once,
    every_endpoint_needs_a_token,
    health_docs_metrics,
);

async fn posts_are_written_read_edited_and_deleted_by_their_author(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (_, b) = app.user("bob").await;
    let res = app
        .post_json(
            "/api/posts",
            &json!({"text": "  hello world  ", "tags": ["#Rust", "rust", "sys-design"]}),
            Some(&a),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let post: Value = res.json().await.unwrap();
    let id = post["id"].as_i64().unwrap();
    assert_eq!(post["author_id"], alice);
    assert_eq!(
        post["author"],
        json!({"user_id": alice, "username": "alice", "display_name": "alice"})
    );
    assert_eq!(post["text"], "hello world");
    assert_eq!(post["tags"], json!(["rust", "sys-design"]));
    assert_eq!(post["like_count"], 0);
    assert_eq!(post["comment_count"], 0);
    assert_eq!(post["liked_by_me"], false);
    assert_eq!(post["is_edited"], false);
    assert!(post["created_at"].is_string() && post["updated_at"].is_string());

    let created = app.post_event("PostCreated").await;
    assert_eq!(created.source, "posts");
    assert_eq!(created.subject, id.to_string());
    assert_eq!(created.data["post_id"], id);
    assert_eq!(created.data["author_id"], alice);
    assert_eq!(created.data["fanned_out"], true);

    // Anyone may read it.
    let got = app.json(&format!("/api/posts/{id}"), &b).await;
    assert_eq!(got["text"], "hello world");

    // Only the author may change it.
    let path = format!("/api/posts/{id}");
    let res = app
        .put_json(&path, &json!({"text": "mine now"}), Some(&b))
        .await;
    assert_eq!(
        expect_error(res, 403, "edit by another").await,
        "NOT_AUTHOR"
    );
    let res = app.delete(&path, Some(&b)).await;
    assert_eq!(
        expect_error(res, 403, "delete by another").await,
        "NOT_AUTHOR"
    );

    let res = app
        .put_json(&path, &json!({"text": "hello again"}), Some(&a))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["text"], "hello again");
    assert_eq!(edited["tags"], json!(["rust", "sys-design"]), "tags kept");
    assert_eq!(edited["is_edited"], true);
    let res = app.put_json(&path, &json!({"tags": []}), Some(&a)).await;
    let edited: Value = res.json().await.unwrap();
    assert_eq!(
        (edited["text"].clone(), edited["tags"].clone()),
        (json!("hello again"), json!([]))
    );
    // Each edit is announced with the text and tags it left.
    for (text, tags) in [
        ("hello again", json!(["rust", "sys-design"])),
        ("hello again", json!([])),
    ] {
        let e = app.post_event("PostEdited").await;
        assert_eq!(e.subject, id.to_string());
        assert_eq!(
            (e.data["post_id"].clone(), e.data["author_id"].clone()),
            (json!(id), json!(alice))
        );
        assert_eq!(
            (e.data["text"].clone(), e.data["tags"].clone()),
            (json!(text), tags)
        );
        let _: contracts::PostEdited = e.data().unwrap();
    }

    let res = app.delete(&path, Some(&a)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let deleted = app.post_event("PostDeleted").await;
    assert_eq!(deleted.data, json!({"post_id": id, "author_id": alice}));
    for token in [&a, &b] {
        let res = app.get(&path, Some(token)).await;
        assert_eq!(
            expect_error(res, 404, "deleted post").await,
            "POST_NOT_FOUND"
        );
    }
    let res = app.delete(&path, Some(&a)).await;
    expect_error(res, 404, "deleting twice").await;
    let res = app.put_json(&path, &json!({"text": "x"}), Some(&a)).await;
    expect_error(res, 404, "editing a deleted post").await;
    let res = app.get("/api/posts/999999", Some(&a)).await;
    assert_eq!(
        expect_error(res, 404, "unknown post").await,
        "POST_NOT_FOUND"
    );
    assert!(
        app.timeline_ids(&a, 10).await.is_empty(),
        "deleted post left the timeline"
    );
}

async fn bad_input_is_4xx(app: &TestApp) {
    let (_, a) = app.user("alice").await;
    let post = app.publish_id(&a, "fine").await;
    let cases = [
        json!({"text": ""}),
        json!({"text": "   "}),
        json!({"text": "a".repeat(2001)}),
        json!({"text": "nul \u{0} inside"}),
        json!({"text": "ok", "tags": vec!["t"; 11]}),
        json!({"text": "ok", "tags": ["a".repeat(31)]}),
        json!({"text": "ok", "tags": ["two words"]}),
        json!({"text": "ok", "tags": [""]}),
        json!({"text": 5}),
        json!({"tags": ["x"]}),
    ];
    for body in cases {
        let res = app.post_json("/api/posts", &body, Some(&a)).await;
        let status = res.status().as_u16();
        assert!(matches!(status, 400 | 422), "{body}: {status}");
        expect_error(res, status, &body.to_string()).await;
    }
    // The longest post is accepted.
    app.publish(&a, &"é".repeat(2000)).await;

    let res = app
        .raw(
            Method::POST,
            "/api/posts",
            Some("application/json"),
            b"{not json",
            Some(&a),
        )
        .await;
    let status = res.status().as_u16();
    assert!(matches!(status, 400 | 422), "garbage body: {status}");

    let res = app
        .put_json(&format!("/api/posts/{post}"), &json!({}), Some(&a))
        .await;
    expect_error(res, 422, "edit without changes").await;
    let comments = format!("/api/posts/{post}/comments");
    let res = app
        .post_json(&comments, &json!({"text": ""}), Some(&a))
        .await;
    expect_error(res, 422, "empty comment").await;
    let res = app
        .post_json(&comments, &json!({"text": "a".repeat(1001)}), Some(&a))
        .await;
    expect_error(res, 422, "long comment").await;

    for query in ["limit=0", "limit=101", "limit=x", "cursor=abc", "cursor=-5"] {
        let res = app
            .get(&format!("/api/timeline/home?{query}"), Some(&a))
            .await;
        let status = res.status().as_u16();
        assert!(matches!(status, 400 | 422), "{query}: {status}");
        expect_error(res, status, query).await;
    }
    let res = app.get("/api/posts/not-a-number", Some(&a)).await;
    let status = res.status().as_u16();
    assert!(matches!(status, 400 | 404 | 422), "bad post id: {status}");
}

async fn a_users_posts_page_newest_first(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (_, b) = app.user("bob").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.publish_id(&a, &format!("post {i}")).await);
    }
    app.publish(&b, "not alice's").await;
    ids.reverse();
    let (items, pages) = app
        .all_pages(&format!("/api/posts/user/{alice}"), &b, 2)
        .await;
    let got: Vec<i64> = items.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(got, ids);
    assert_eq!(pages, 3);
    let page = app
        .json(&format!("/api/posts/user/{alice}?limit=5"), &b)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_eq!(page["next_cursor"], Value::Null);
    let page = app.json("/api/posts/user/999999", &b).await;
    assert_eq!(page, json!({"items": [], "next_cursor": null}));
}

async fn comments_and_one_level_of_replies(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let post = app.publish_id(&a, "discuss").await;
    let path = format!("/api/posts/{post}/comments");

    let res = app
        .post_json(&path, &json!({"text": " first! "}), Some(&b))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    let first_id = first["id"].as_i64().unwrap();
    assert_eq!(first["post_id"], post);
    assert_eq!(first["author"]["username"], "bob");
    assert_eq!(first["text"], "first!");
    assert_eq!(first["parent_id"], Value::Null);
    assert_eq!(first["reply_count"], 0);
    let event = app.post_event("CommentAdded").await;
    assert_eq!(event.data["post_author_id"], alice);
    assert_eq!(event.data["author_id"], bob);
    assert_eq!(event.data["parent_id"], Value::Null);

    let mut reply_ids = Vec::new();
    for i in 0..3 {
        let res = app
            .post_json(
                &path,
                &json!({"text": format!("reply {i}"), "parent_id": first_id}),
                Some(&a),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let reply: Value = res.json().await.unwrap();
        assert_eq!(reply["parent_id"], first_id);
        reply_ids.push(reply["id"].as_i64().unwrap());
    }
    let event = app.post_event("CommentAdded").await;
    assert_eq!(event.data["parent_id"], first_id);
    assert_eq!(event.data["parent_author_id"], bob);

    // One level only.
    let res = app
        .post_json(
            &path,
            &json!({"text": "deeper", "parent_id": reply_ids[0]}),
            Some(&b),
        )
        .await;
    assert_eq!(
        expect_error(res, 422, "reply to a reply").await,
        "REPLY_TOO_DEEP"
    );
    let res = app
        .post_json(
            &path,
            &json!({"text": "to nothing", "parent_id": 999999}),
            Some(&b),
        )
        .await;
    assert_eq!(
        expect_error(res, 404, "reply to no comment").await,
        "COMMENT_NOT_FOUND"
    );
    let res = app
        .post_json(
            "/api/posts/999999/comments",
            &json!({"text": "x"}),
            Some(&b),
        )
        .await;
    assert_eq!(
        expect_error(res, 404, "comment on no post").await,
        "POST_NOT_FOUND"
    );

    let second = app
        .post_json(&path, &json!({"text": "second"}), Some(&a))
        .await;
    let second_id = second.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();

    let (top, pages) = app.all_pages(&path, &b, 1).await;
    let top_ids: Vec<i64> = top.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(
        top_ids,
        vec![first_id, second_id],
        "top-level only, oldest first"
    );
    assert_eq!(pages, 2);
    assert_eq!(top[0]["reply_count"], 3);

    let (replies, _) = app
        .all_pages(&format!("{path}/{first_id}/replies"), &b, 2)
        .await;
    let got: Vec<i64> = replies.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(got, reply_ids);
    let res = app.get(&format!("{path}/999999/replies"), Some(&b)).await;
    expect_error(res, 404, "replies of no comment").await;

    let got = app.json(&format!("/api/posts/{post}"), &b).await;
    assert_eq!(got["comment_count"], 5);
}

async fn likes_are_idempotent_and_counted(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let (carol, c) = app.user("carol").await;
    let post = app.publish_id(&a, "like me").await;
    let like = format!("/api/posts/{post}/like");

    for _ in 0..2 {
        let res = app.post_json(&like, &json!({}), Some(&b)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!({"post_id": post, "liked": true, "like_count": 1})
        );
    }
    let event = app.post_event("PostLiked").await;
    assert_eq!(
        event.data,
        json!({"post_id": post, "author_id": alice, "user_id": bob, "like_count": 1})
    );
    assert!(
        app.post_event_within("PostLiked", Duration::from_millis(300))
            .await
            .is_none(),
        "a repeated like is not announced again"
    );
    let res = app.post_json(&like, &json!({}), Some(&c)).await;
    assert_eq!(res.json::<Value>().await.unwrap()["like_count"], 2);

    let seen_by_b = app.json(&format!("/api/posts/{post}"), &b).await;
    assert_eq!(
        (
            seen_by_b["like_count"].clone(),
            seen_by_b["liked_by_me"].clone()
        ),
        (json!(2), json!(true))
    );
    let seen_by_a = app.json(&format!("/api/posts/{post}"), &a).await;
    assert_eq!(seen_by_a["liked_by_me"], false);

    for _ in 0..2 {
        let res = app.delete(&like, Some(&b)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!({"post_id": post, "liked": false, "like_count": 1})
        );
    }
    // Like, unlike, like: the like counts again, but the author is told
    // once — a like given back is not a second "bob liked your post".
    let carol_liked = app.post_event("PostLiked").await;
    assert_eq!(carol_liked.data["user_id"], carol);
    let res = app.post_json(&like, &json!({}), Some(&b)).await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"post_id": post, "liked": true, "like_count": 2})
    );
    assert!(
        app.post_event_within("PostLiked", Duration::from_millis(300))
            .await
            .is_none(),
        "a like taken back and given again is not announced again"
    );
    let res = app
        .post_json("/api/posts/999999/like", &json!({}), Some(&b))
        .await;
    assert_eq!(
        expect_error(res, 404, "like no post").await,
        "POST_NOT_FOUND"
    );
    let res = app.delete("/api/posts/999999/like", Some(&b)).await;
    expect_error(res, 404, "unlike no post").await;
}

async fn follows_are_idempotent_and_listed(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let mut fans = Vec::new();
    for name in ["bob", "carol", "dave"] {
        fans.push(app.user(name).await);
    }

    let res = app
        .post_json(&format!("/api/follows/{alice}"), &json!({}), Some(&a))
        .await;
    assert_eq!(expect_error(res, 422, "self-follow").await, "SELF_FOLLOW");
    let res = app
        .post_json("/api/follows/999999", &json!({}), Some(&a))
        .await;
    assert_eq!(
        expect_error(res, 404, "follow nobody").await,
        "USER_NOT_FOUND"
    );

    let (bob, b) = &fans[0];
    let first = app.follow(b, alice).await;
    assert_eq!(first["follower_id"], *bob);
    assert_eq!(first["followee_id"], alice);
    assert_eq!(first["following"], true);
    let again = app.follow(b, alice).await;
    assert_eq!(again, first, "following again changes nothing");
    let event = app.post_event("UserFollowed").await;
    assert_eq!(event.data["follower_id"], *bob);
    assert_eq!(event.data["followee_id"], alice);
    assert!(
        app.post_event_within("UserFollowed", Duration::from_millis(300))
            .await
            .is_none(),
        "a repeated follow is not announced again"
    );
    for (_, token) in &fans[1..] {
        app.follow(token, alice).await;
    }
    app.follow(&a, *bob).await;

    let (followers, pages) = app
        .all_pages(&format!("/api/follows/{alice}/followers"), &a, 2)
        .await;
    let ids: Vec<i64> = followers
        .iter()
        .map(|f| f["user"]["user_id"].as_i64().unwrap())
        .collect();
    let mut newest_first: Vec<i64> = fans.iter().map(|(id, _)| *id).collect();
    newest_first.reverse();
    assert_eq!(ids, newest_first);
    assert_eq!(pages, 2);
    assert_eq!(followers[2]["user"]["username"], "bob");
    assert!(followers[0]["followed_at"].is_string());

    let following = app.json(&format!("/api/follows/{bob}/following"), &a).await;
    assert_eq!(following["items"].as_array().unwrap().len(), 1);
    assert_eq!(following["items"][0]["user"]["user_id"], alice);
    let counts = app.json(&format!("/api/follows/{alice}"), b).await;
    assert_eq!(
        counts,
        json!({"user_id": alice, "followers_count": 3, "following_count": 1})
    );

    for _ in 0..2 {
        let res = app.delete(&format!("/api/follows/{alice}"), Some(b)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["following"], false);
        assert_eq!(body["followed_at"], Value::Null);
    }
    let counts = app.json(&format!("/api/follows/{alice}"), b).await;
    assert_eq!(counts["followers_count"], 2);
}

async fn blocks_hide_content_both_ways(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let (_, c) = app.user("carol").await;
    app.follow(&a, bob).await;
    app.follow(&b, alice).await;
    app.follow(&c, alice).await;
    app.follow(&c, bob).await;
    let by_alice = app.publish_id(&a, "alice speaks").await;
    let by_bob = app.publish_id(&b, "bob speaks").await;
    let comments = format!("/api/posts/{by_alice}/comments");
    app.post_json(&comments, &json!({"text": "bob was here"}), Some(&b))
        .await;
    assert_eq!(app.timeline_ids(&a, 10).await, vec![by_bob, by_alice]);

    let res = app
        .post_json(&format!("/api/friends/block/{bob}"), &json!({}), Some(&a))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    testkit::eventually("the block to reach posts", || async {
        app.posts.app.blocked_between(alice, bob).await.unwrap()
    })
    .await;

    // Each side sees only their own posts; the follows between them ended.
    assert_eq!(app.timeline_ids(&a, 10).await, vec![by_alice]);
    assert_eq!(app.timeline_ids(&b, 10).await, vec![by_bob]);
    for (token, hidden) in [(&a, by_bob), (&b, by_alice)] {
        let res = app.get(&format!("/api/posts/{hidden}"), Some(token)).await;
        expect_error(res, 404, "a blocked user's post").await;
        let res = app
            .post_json(
                &format!("/api/posts/{hidden}/like"),
                &json!({}),
                Some(token),
            )
            .await;
        expect_error(res, 404, "liking a blocked user's post").await;
        let res = app
            .post_json(
                &format!("/api/posts/{hidden}/comments"),
                &json!({"text": "hi"}),
                Some(token),
            )
            .await;
        expect_error(res, 404, "commenting on a blocked user's post").await;
    }
    let page = app.json(&format!("/api/posts/user/{bob}"), &a).await;
    assert_eq!(page["items"], json!([]));
    let page = app.json(&format!("/api/posts/user/{alice}"), &b).await;
    assert_eq!(page["items"], json!([]));
    let page = app.json(&comments, &a).await;
    assert_eq!(page["items"], json!([]), "bob's comment hidden from alice");
    let page = app
        .json(&format!("/api/follows/{alice}/followers"), &c)
        .await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "carol still follows alice"
    );
    let page = app
        .json(
            &format!(
                "/api/follows/{carol_follows}/following",
                carol_follows = alice
            ),
            &b,
        )
        .await;
    assert_eq!(page["items"], json!([]));
    for (token, other) in [(&a, bob), (&b, alice)] {
        let res = app
            .post_json(&format!("/api/follows/{other}"), &json!({}), Some(token))
            .await;
        assert_eq!(
            expect_error(res, 403, "following across a block").await,
            "BLOCKED"
        );
    }
    // A third user still sees both.
    assert_eq!(app.timeline_ids(&c, 10).await, vec![by_bob, by_alice]);
    assert_eq!(
        app.json(&comments, &c).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn profile_changes_reach_author_names(app: &TestApp) {
    let (_, a) = app.user("alice").await;
    let post = app.publish_id(&a, "who am I").await;
    let res = app
        .put_json(
            "/api/profile/me",
            &json!({"display_name": "Alice A."}),
            Some(&a),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    testkit::eventually("the new name to reach posts", || async {
        app.json(&format!("/api/posts/{post}"), &a).await["author"]["display_name"] == "Alice A."
    })
    .await;
    let timeline = app.json("/api/timeline/home", &a).await;
    assert_eq!(timeline["items"][0]["author"]["display_name"], "Alice A.");
}

/// Read-your-writes across services: the users service answered 201, so
/// the user can be followed at once, even before posts heard of them.
async fn a_user_can_be_followed_right_after_registering(app: &TestApp) {
    let (_, a) = app.user("alice").await;
    for i in 0..3 {
        let (id, _) = app.http.register_and_login(&format!("new{i}"), None).await;
        let res = app
            .post_json(&format!("/api/follows/{id}"), &json!({}), Some(&a))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "following user {id} at once");
    }
}

async fn concurrent_likes_and_follows_count_once(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let post = app.publish_id(&a, "popular").await;
    let mut fans = Vec::new();
    for i in 0..6 {
        fans.push(app.user(&format!("fan{i}")).await.1);
    }
    let like = format!("/api/posts/{post}/like");
    let follow = format!("/api/follows/{alice}");
    let requests = fans.iter().flat_map(|t| [t, t]).map(|token| {
        let (like, follow) = (&like, &follow);
        async move {
            let liked = app.post_json(like, &json!({}), Some(token)).await.status();
            let followed = app
                .post_json(follow, &json!({}), Some(token))
                .await
                .status();
            (liked, followed)
        }
    });
    for (liked, followed) in futures::future::join_all(requests).await {
        assert_eq!((liked, followed), (StatusCode::OK, StatusCode::OK));
    }
    let got = app.json(&format!("/api/posts/{post}"), &a).await;
    assert_eq!(got["like_count"], 6);
    let counts = app.json(&format!("/api/follows/{alice}"), &a).await;
    assert_eq!(counts["followers_count"], 6);
    // Six followers: above the threshold, so the next post is read on read,
    // and each fan sees it once.
    let next = app.publish_id(&a, "to my many fans").await;
    for token in &fans {
        assert_eq!(app.timeline_ids(token, 1).await, vec![next, post]);
    }
}

async fn every_endpoint_needs_a_token(app: &TestApp) {
    for (method, path) in [
        (Method::POST, "/api/posts"),
        (Method::GET, "/api/posts/1"),
        (Method::PUT, "/api/posts/1"),
        (Method::DELETE, "/api/posts/1"),
        (Method::GET, "/api/posts/user/1"),
        (Method::POST, "/api/posts/1/like"),
        (Method::DELETE, "/api/posts/1/like"),
        (Method::POST, "/api/posts/1/image"),
        (Method::DELETE, "/api/posts/1/image"),
        (Method::GET, "/api/posts/1/image"),
        (Method::POST, "/api/posts/1/comments"),
        (Method::GET, "/api/posts/1/comments"),
        (Method::GET, "/api/posts/1/comments/1/replies"),
        (Method::POST, "/api/follows/1"),
        (Method::DELETE, "/api/follows/1"),
        (Method::GET, "/api/follows/1"),
        (Method::GET, "/api/follows/1/followers"),
        (Method::GET, "/api/follows/1/following"),
        (Method::GET, "/api/timeline/home"),
    ] {
        let res = app
            .send(method.clone(), path, Some(&json!({"text": "x"})), None)
            .await;
        expect_error(res, 401, &format!("{method} {path}")).await;
    }
}

async fn health_docs_metrics(app: &TestApp) {
    let health: Value = app.get("/health", None).await.json().await.unwrap();
    assert_eq!(
        health,
        json!({"status": "healthy", "service": "Posts Service"})
    );
    let ready: Value = app.get("/ready", None).await.json().await.unwrap();
    assert_eq!(ready["checks"]["posts_db"]["status"], "up");

    let openapi: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    for path in [
        "/api/posts",
        "/api/posts/{post_id}",
        "/api/posts/user/{user_id}",
        "/api/posts/{post_id}/like",
        "/api/posts/{post_id}/image",
        "/api/posts/{post_id}/comments",
        "/api/posts/{post_id}/comments/{comment_id}/replies",
        "/api/follows/{user_id}",
        "/api/follows/{user_id}/followers",
        "/api/follows/{user_id}/following",
        "/api/timeline/home",
    ] {
        assert!(
            openapi["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }

    let (_, a) = app.user("alice").await;
    app.json("/api/timeline/home", &a).await;
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("http_server_request_duration_seconds")
                && l.contains("service=\"posts\"")
                && l.contains("http_route=\"/api/timeline/home\"")),
        "no posts RED metrics"
    );
}

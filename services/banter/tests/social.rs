//! The social side across services on the embedded platform (every module
//! in one process, in-process bus, SQLite): a post reaches a follower's home
//! timeline at once, and what others do with it — a follow, a like, a
//! comment, a reply — reaches the people it concerns through `post.events`
//! as notifications, on their live stream and in their list.
#![allow(clippy::unwrap_used)]

use chat::Chat;
use friends::Friends;
use notifications::Notifications;
use posts::Posts;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use testkit::{AppBuilder, Backend, SpawnedApp, SseReader, eventually};
use users::Users;

const WAIT: Duration = Duration::from_secs(10);

async fn platform() -> SpawnedApp {
    let users_config = users::Config {
        hash_concurrency: 2,
        ..Default::default()
    };
    AppBuilder::new(Backend::Sqlite)
        .module::<Users>(users_config)
        .module::<Friends>(friends::Config::default())
        .module::<Chat>(chat::Config::default())
        .module::<Notifications>(notifications::Config::default())
        .module::<Posts>(posts::Config::default())
        .serve()
        .await
}

async fn created(app: &SpawnedApp, path: &str, body: Value, token: &str) -> Value {
    let res = app.post_json(path, &body, Some(token)).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert!(status.is_success(), "POST {path}: {status} {body}");
    body
}

/// The next notification on `stream`.
async fn next_notification(stream: &mut SseReader, what: &str) -> Value {
    let frame = stream
        .next(WAIT)
        .await
        .unwrap_or_else(|| panic!("{what}: no notification within {WAIT:?}"));
    assert_eq!(frame.event.as_deref(), Some("notification.created"));
    frame.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn likes_comments_and_follows_become_notifications() {
    let app = platform().await;
    let (ann, ann_token) = app.http.register_and_login("social_ann", None).await;
    let (bob, bob_token) = app.http.register_and_login("social_bob", None).await;
    let open = |token: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .get(app.url("/api/notifications/stream"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            SseReader::new(res)
        }
    };
    let mut ann_stream = open(ann_token.clone()).await;
    let mut bob_stream = open(bob_token.clone()).await;

    // Bob follows ann, who hears of it; ann's post is in bob's timeline at once.
    created(&app, &format!("/api/follows/{ann}"), json!({}), &bob_token).await;
    let n = next_notification(&mut ann_stream, "the follow").await;
    assert_eq!(n["type"], "followed");
    assert_eq!(n["data"]["follower_id"], bob);
    let post = created(&app, "/api/posts", json!({"text": "hello"}), &ann_token).await;
    let post_id = post["id"].as_i64().unwrap();
    let home = app
        .http
        .json("/api/timeline/home?limit=1", &bob_token)
        .await;
    assert_eq!(home["items"][0]["id"], post_id, "read-your-writes");

    // Bob likes it (twice: one like), takes the like back and likes it
    // again: ann is told once, a like given again does not spam her. Then
    // he comments.
    let like = format!("/api/posts/{post_id}/like");
    for _ in 0..2 {
        created(&app, &like, json!({}), &bob_token).await;
    }
    let res = app
        .client
        .delete(app.url(&like))
        .bearer_auth(&bob_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let liked = created(&app, &like, json!({}), &bob_token).await;
    assert_eq!(liked["like_count"], 1);
    let n = next_notification(&mut ann_stream, "the like").await;
    assert_eq!(n["type"], "post_liked");
    assert_eq!(n["title"], "social_bob liked your post");
    assert_eq!(n["data"]["post_id"], post_id);
    let comments = format!("/api/posts/{post_id}/comments");
    let comment = created(&app, &comments, json!({"text": "nice post"}), &bob_token).await;
    let n = next_notification(&mut ann_stream, "the comment").await;
    assert_eq!(n["type"], "post_commented");
    assert_eq!(n["body"], "nice post");

    // Ann replies to bob's comment: bob hears of it, ann does not.
    let reply = json!({"text": "thanks", "parent_id": comment["id"]});
    created(&app, &comments, reply, &ann_token).await;
    let n = next_notification(&mut bob_stream, "the reply").await;
    assert_eq!(n["type"], "comment_replied");
    assert_eq!(n["title"], "social_ann replied to your comment");
    assert!(ann_stream.next(Duration::from_millis(500)).await.is_none());

    // The lists say the same, newest first.
    let kinds = |list: Value| -> Vec<String> {
        list["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed = app.http.json("/api/notifications", &ann_token).await;
    assert_eq!(kinds(listed), ["post_commented", "post_liked", "followed"]);
    eventually("bob's reply notification listed", || async {
        let listed = app.http.json("/api/notifications", &bob_token).await;
        kinds(listed) == ["comment_replied"]
    })
    .await;
}

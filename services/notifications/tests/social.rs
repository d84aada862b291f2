//! Likes, comments, replies and follows of the posts service become
//! notifications (events published on the in-process bus as the posts
//! service publishes them, typed by its contracts), on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, on_both_backends};
use contracts::{CommentAdded, PostLiked, UserFollowed};
use kit::events::Event;
use kit::events::topics::POST_EVENTS;
use serde_json::json;
use std::time::Duration;

on_both_backends!(
    a_like_notifies_the_author_but_not_a_self_like,
    comments_notify_the_post_author_and_replies_the_parent_author,
    a_follow_notifies_the_followed_user,
    each_event_notifies_once_and_streams,
);

const WAIT: Duration = Duration::from_secs(10);

fn liked(post_id: i64, author_id: i64, user_id: i64, like_count: i64) -> Event {
    let like = PostLiked {
        post_id,
        author_id,
        user_id,
        like_count,
    };
    Event::of("posts", post_id, &like)
}

fn commented(
    comment_id: i64,
    post: (i64, i64),
    author_id: i64,
    parent: Option<(i64, i64)>,
) -> Event {
    let (post_id, post_author_id) = post;
    let comment = CommentAdded {
        comment_id,
        post_id,
        post_author_id,
        author_id,
        parent_id: parent.map(|p| p.0),
        parent_author_id: parent.map(|p| p.1),
        text: format!("comment {comment_id}"),
        created_at: chrono::Utc::now(),
    };
    Event::of("posts", post_id, &comment)
}

fn follows(follower_id: i64, followee_id: i64) -> Event {
    let followed = UserFollowed {
        follower_id,
        followee_id,
        created_at: chrono::Utc::now(),
    };
    Event::of("posts", followee_id, &followed)
}

async fn a_like_notifies_the_author_but_not_a_self_like(app: &TestApp) {
    let (ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    // Ann likes her own post first: nobody hears of it.
    app.publish(POST_EVENTS, &liked(7, ann, ann, 1)).await;
    app.publish(POST_EVENTS, &liked(7, ann, bob, 2)).await;
    let found = app.wait_for(&ann_token, 1).await;
    let n = &found[0];
    assert_eq!(n["type"], "post_liked");
    assert_eq!(n["title"], "bob liked your post");
    assert_eq!(n["body"], "Your post now has 2 likes.");
    assert_eq!(
        n["data"],
        json!({"post_id": 7, "author_id": ann, "user_id": bob, "like_count": 2})
    );
    assert!(app.notifications(&bob_token).await.is_empty());
    assert_eq!(app.unread(&ann_token).await, 1);
}

async fn comments_notify_the_post_author_and_replies_the_parent_author(app: &TestApp) {
    let (ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    let (cat, cat_token) = app.user("cat").await;
    // Bob comments on ann's post; ann comments on it herself.
    app.publish(POST_EVENTS, &commented(1, (7, ann), bob, None))
        .await;
    app.publish(POST_EVENTS, &commented(2, (7, ann), ann, None))
        .await;
    let found = app.wait_for(&ann_token, 1).await;
    assert_eq!(found[0]["type"], "post_commented");
    assert_eq!(found[0]["title"], "bob commented on your post");
    assert_eq!(found[0]["body"], "comment 1");
    assert_eq!(found[0]["data"]["comment_id"], 1);
    assert_eq!(found[0]["data"]["parent_id"], json!(null));
    // Cat replies to bob's comment: bob hears of the reply, ann of the comment.
    app.publish(POST_EVENTS, &commented(3, (7, ann), cat, Some((1, bob))))
        .await;
    let found = app.wait_for(&bob_token, 1).await;
    assert_eq!(found[0]["type"], "comment_replied");
    assert_eq!(found[0]["title"], "cat replied to your comment");
    assert_eq!(found[0]["data"]["parent_id"], 1);
    let found = app.wait_for(&ann_token, 2).await;
    assert_eq!(found[0]["title"], "cat commented on your post");
    // Ann replies to her own comment on her post: nobody is told.
    app.publish(POST_EVENTS, &commented(4, (7, ann), ann, Some((2, ann))))
        .await;
    // Bob replies to ann's comment on her post: one notification for ann.
    app.publish(POST_EVENTS, &commented(5, (7, ann), bob, Some((2, ann))))
        .await;
    let found = app.wait_for(&ann_token, 3).await;
    assert_eq!(found[0]["type"], "comment_replied");
    assert_eq!(found[0]["data"]["comment_id"], 5);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.notifications(&ann_token).await.len(), 3);
    assert!(app.notifications(&cat_token).await.is_empty());
}

async fn a_follow_notifies_the_followed_user(app: &TestApp) {
    let (ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    app.publish(POST_EVENTS, &follows(bob, ann)).await;
    let found = app.wait_for(&ann_token, 1).await;
    assert_eq!(found[0]["type"], "followed");
    assert_eq!(found[0]["title"], "bob followed you");
    assert_eq!(
        found[0]["data"],
        json!({"follower_id": bob, "followee_id": ann})
    );
    assert!(app.notifications(&bob_token).await.is_empty());
    // Events of the topic that notify nobody are consumed quietly; a follow
    // of oneself can never be a notification (dead-lettered, not retried).
    let created = Event::new(
        "PostCreated",
        "posts",
        "9",
        json!({"post_id": 9, "author_id": bob, "text": "hi", "tags": [],
               "fanned_out": true, "created_at": chrono::Utc::now()}),
    );
    app.publish(POST_EVENTS, &created).await;
    let err = app
        .notifications
        .handle_event(&follows(ann, ann))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("follow themselves"), "{err}");
    app.publish(POST_EVENTS, &follows(ann, bob)).await;
    let found = app.wait_for(&bob_token, 1).await;
    assert_eq!(found[0]["title"], "ann followed you");
    assert_eq!(app.notifications(&ann_token).await.len(), 1);
}

async fn each_event_notifies_once_and_streams(app: &TestApp) {
    let (ann, ann_token) = app.user("ann").await;
    let (bob, _) = app.user("bob").await;
    let mut stream = app.stream(&ann_token, None).await;
    let like = liked(3, ann, bob, 1);
    // Bob replies to ann's comment on ann's post: one notification for ann.
    let reply = commented(8, (3, ann), bob, Some((6, ann)));
    for event in [&like, &reply] {
        // Handled past the consumer's inbox (a replay), then delivered twice.
        app.notifications.handle_event(event).await.unwrap();
        app.notifications.handle_event(event).await.unwrap();
        app.publish(POST_EVENTS, event).await;
        app.publish(POST_EVENTS, event).await;
    }
    let frame = stream.next(WAIT).await.expect("the like on ann's stream");
    assert_eq!(frame.id.as_deref(), Some("1"));
    assert_eq!(frame.json()["type"], "post_liked");
    let frame = stream.next(WAIT).await.expect("the reply on ann's stream");
    assert_eq!(frame.id.as_deref(), Some("2"));
    assert_eq!(frame.json()["type"], "comment_replied");
    assert!(stream.next(Duration::from_millis(300)).await.is_none());
    assert_eq!(app.wait_for(&ann_token, 2).await.len(), 2);
}

//! Home timelines, the hybrid fan-out, over real HTTP in every store the
//! written half can live in: the `timeline_entries` table on SQLite and on
//! PostgreSQL, and Redis sorted sets next to either (`sqlite_redis`,
//! `postgres_redis`). Each test runs four times.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, THRESHOLD, TestApp};
use reqwest::StatusCode;
use serde_json::json;

/// Runs each test against the four stores of home timelines.
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        on_every_store!(@variant sqlite, Backend::Sqlite, false, $($name),*);
        on_every_store!(@variant postgres, Backend::Postgres, false, $($name),*);
        on_every_store!(@variant sqlite_redis, Backend::Sqlite, true, $($name),*);
        on_every_store!(@variant postgres_redis, Backend::Postgres, true, $($name),*);
    };
    (@variant $module:ident, $backend:expr, $redis:expr, $($name:ident),*) => {
        mod $module {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let redis = match $redis {
                        true => Some(kit::redis::connect_for_test().await),
                        false => None,
                    };
                    let app = TestApp::spawn_with($backend, redis, LENGTH).await;
                    super::$name(&app).await;
                    app.purge_redis().await;
                }
            )*
        }
    };
}

on_every_store!(
    home_timeline_merges_fan_out_on_write_and_on_read_at_the_threshold,
    authors_just_below_at_and_just_above_the_threshold,
    timelines_keep_their_newest_posts,
    deleted_unfollowed_and_blocked_posts_leave_timelines,
);

/// Posts kept per written timeline in these tests.
const LENGTH: u32 = 12;

/// With the threshold at N = 2: `ordinary` has exactly N followers (fan-out
/// on write), `famous` N + 1 (fan-out on read). A reader following both (and
/// posting too) gets every post once, newest first, over pages of any size.
async fn home_timeline_merges_fan_out_on_write_and_on_read_at_the_threshold(app: &TestApp) {
    assert_eq!(THRESHOLD, 2);
    let (ordinary, o) = app.user("ordinary").await;
    let (famous, f) = app.user("famous").await;
    let (_, r) = app.user("reader").await;
    let (_, x) = app.user("xavier").await;
    let (_, y) = app.user("yvonne").await;
    for token in [&r, &x] {
        app.follow(token, ordinary).await;
    }
    for token in [&r, &x, &y] {
        app.follow(token, famous).await;
    }

    // Interleaved, so a page boundary falls between the two halves.
    let mut expected = Vec::new();
    for round in 0..3 {
        expected.push(app.publish_id(&o, &format!("ordinary {round}")).await);
        expected.push(app.publish_id(&f, &format!("famous {round}")).await);
        if round == 1 {
            expected.push(app.publish_id(&r, "reader's own").await);
        }
    }
    expected.reverse();

    // How each post went out.
    let mut fanned = std::collections::HashMap::new();
    for _ in 0..expected.len() {
        let e = app.post_event("PostCreated").await;
        fanned.insert(
            e.data["author_id"].as_i64().unwrap(),
            e.data["fanned_out"].as_bool().unwrap(),
        );
    }
    assert!(fanned[&ordinary], "N followers: fan-out on write");
    assert!(!fanned[&famous], "N+1 followers: fan-out on read");

    for limit in [1, 2, 3, 7, 20] {
        assert_eq!(
            app.timeline_ids(&r, limit).await,
            expected,
            "pages of {limit}"
        );
    }
    // Xavier follows both too, without posting; Yvonne only the famous one.
    let without_own: Vec<i64> = expected
        .iter()
        .copied()
        .filter(|id| *id != expected[2])
        .collect();
    assert_eq!(app.timeline_ids(&x, 2).await, without_own);
    let (famous_posts, _) = app
        .all_pages(&format!("/api/posts/user/{famous}"), &y, 10)
        .await;
    let famous_ids: Vec<i64> = famous_posts
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(app.timeline_ids(&y, 2).await, famous_ids);

    // Read-your-writes: the next request after a post sees it.
    let fresh = app.publish_id(&o, "just now").await;
    assert_eq!(
        app.timeline_ids(&o, 1).await[0],
        fresh,
        "in the author's own timeline"
    );
    assert_eq!(
        app.json("/api/timeline/home?limit=1", &r).await["items"][0]["id"],
        fresh
    );
    let fresh_famous = app.publish_id(&f, "just now, famous").await;
    assert_eq!(
        app.json("/api/timeline/home?limit=1", &r).await["items"][0]["id"],
        fresh_famous
    );
    assert_eq!(
        app.json("/api/timeline/home?limit=1", &f).await["items"][0]["id"],
        fresh_famous
    );

    // The famous author drops to N followers: new posts are fanned out, the
    // old ones still read on read; nothing is lost or doubled.
    let res = app
        .delete(&format!("/api/follows/{famous}"), Some(&y))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let now_ordinary = app.publish_id(&f, "back to normal").await;
    let mut all = expected.clone();
    all.splice(0..0, [now_ordinary, fresh_famous, fresh]);
    assert_eq!(app.timeline_ids(&r, 2).await, all);
    assert!(
        app.timeline_ids(&y, 5).await.is_empty(),
        "unfollowed posts leave"
    );

    // A newcomer following an ordinary author gets the earlier posts too.
    let (_, z) = app.user("zoe").await;
    app.follow(&z, ordinary).await;
    let ordinary_ids: Vec<i64> = app
        .all_pages(&format!("/api/posts/user/{ordinary}"), &z, 10)
        .await
        .0
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ordinary_ids.len(), 4);
    assert_eq!(app.timeline_ids(&z, 3).await, ordinary_ids);
}

/// With N = 2, authors with N - 1 and N followers are fanned out on write
/// (each follower's written timeline holds the post), the author with
/// N + 1 on read (no follower's does); every follower's home timeline shows
/// every post it should, at once.
async fn authors_just_below_at_and_just_above_the_threshold(app: &TestApp) {
    assert_eq!(THRESHOLD, 2);
    let (below, b) = app.user("below").await;
    let (at, a) = app.user("atthreshold").await;
    let (above, o) = app.user("above").await;
    let (r1, t1) = app.user("reader1").await;
    let (r2, t2) = app.user("reader2").await;
    let (r3, t3) = app.user("reader3").await;
    app.follow(&t1, below).await;
    for token in [&t1, &t2] {
        app.follow(token, at).await;
    }
    for token in [&t1, &t2, &t3] {
        app.follow(token, above).await;
    }
    let p_below = app.publish_id(&b, "N-1 followers").await;
    let p_at = app.publish_id(&a, "N followers").await;
    let p_above = app.publish_id(&o, "N+1 followers").await;
    for (author, fanned_out) in [(below, true), (at, true), (above, false)] {
        let e = app.post_event("PostCreated").await;
        assert_eq!(e.data["author_id"], author);
        assert_eq!(e.data["fanned_out"], fanned_out, "author {author}");
    }
    // Where each post was written: its author's own timeline always, the
    // followers' only below or at the threshold.
    assert_eq!(app.written(r1).await, vec![p_at, p_below]);
    assert_eq!(app.written(r2).await, vec![p_at]);
    assert!(app.written(r3).await.is_empty());
    assert_eq!(app.written(above).await, vec![p_above]);
    // What each reads: both halves merged.
    assert_eq!(app.timeline_ids(&t1, 1).await, vec![p_above, p_at, p_below]);
    assert_eq!(app.timeline_ids(&t2, 2).await, vec![p_above, p_at]);
    assert_eq!(app.timeline_ids(&t3, 5).await, vec![p_above]);
    // A fourth follower takes `at` above the threshold: its next post is
    // read on read, the earlier one stays where it was written.
    app.follow(&t3, at).await;
    assert_eq!(
        app.timeline_ids(&t3, 5).await,
        vec![p_above, p_at],
        "backfilled"
    );
    let p_at2 = app.publish_id(&a, "now N+1 followers").await;
    assert_eq!(app.written(r2).await, vec![p_at]);
    assert_eq!(app.timeline_ids(&t2, 1).await, vec![p_at2, p_above, p_at]);
}

/// A written timeline keeps its newest posts, however they arrived
/// (fan-out, own posts, a backfill): [`LENGTH`] in Redis, from [`LENGTH`]
/// to [`LENGTH`] + [`LENGTH`] / 8 in the table (cut back once it grows past
/// that); posts read on read are not bounded by it.
async fn timelines_keep_their_newest_posts(app: &TestApp) {
    let (author, a) = app.user("author").await;
    let (famous, f) = app.user("famous").await;
    let (reader, r) = app.user("reader").await;
    app.follow(&r, author).await;
    for token in [&a, &r] {
        app.follow(token, famous).await;
    }
    let (_, x) = app.user("xavier").await;
    app.follow(&x, famous).await;
    let mut ids = Vec::new();
    for n in 0..2 * LENGTH {
        ids.push(app.publish_id(&a, &format!("post {n}")).await);
    }
    ids.reverse();
    let kept = app.written(reader).await;
    let bound = LENGTH as usize..=(LENGTH + LENGTH / 8) as usize;
    assert!(bound.contains(&kept.len()), "{} kept", kept.len());
    if app.redis.is_some() {
        assert_eq!(kept.len(), LENGTH as usize, "a sorted set is cut at once");
    }
    assert_eq!(kept, ids[..kept.len()], "the newest, the follower's");
    assert_eq!(app.written(author).await, kept, "the author's own");
    assert_eq!(app.timeline_ids(&r, 5).await, kept);
    // A newcomer's backfill is bounded too.
    let (newcomer, n) = app.user("newcomer").await;
    app.follow(&n, author).await;
    assert_eq!(app.written(newcomer).await, ids[..LENGTH as usize]);
    // Posts of an author above the threshold all stay reachable.
    let mut famous_ids = Vec::new();
    for n in 0..LENGTH + 2 {
        famous_ids.push(app.publish_id(&f, &format!("famous {n}")).await);
    }
    famous_ids.reverse();
    assert!(
        app.written(reader)
            .await
            .iter()
            .all(|id| !famous_ids.contains(id))
    );
    let mut all = famous_ids.clone();
    all.extend(&kept);
    assert_eq!(app.timeline_ids(&r, 7).await, all);
}

/// A deleted post leaves every timeline; an unfollow takes the author's
/// posts out of the reader's; a block hides both ways; pages stay full
/// although the written half holds what they leave out.
async fn deleted_unfollowed_and_blocked_posts_leave_timelines(app: &TestApp) {
    let (alice, a) = app.user("alice").await;
    let (bob, b) = app.user("bob").await;
    let (reader, r) = app.user("reader").await;
    app.follow(&r, alice).await;
    app.follow(&r, bob).await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(app.publish_id(&a, &format!("alice {n}")).await);
        ids.push(app.publish_id(&b, &format!("bob {n}")).await);
    }
    ids.reverse();
    let deleted = [ids[1], ids[2], ids[3]];
    for id in deleted {
        let owner = if ids.iter().position(|x| *x == id).unwrap() % 2 == 0 {
            &b
        } else {
            &a
        };
        let res = app.delete(&format!("/api/posts/{id}"), Some(owner)).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "deleting {id}");
    }
    let live: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !deleted.contains(id))
        .collect();
    for limit in [1, 2, 3] {
        assert_eq!(app.timeline_ids(&r, limit).await, live, "pages of {limit}");
    }
    let page = app.json("/api/timeline/home?limit=2", &r).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "a full page");

    // Unfollowing bob: only alice's posts stay.
    let res = app.delete(&format!("/api/follows/{bob}"), Some(&r)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let alices: Vec<i64> = live
        .iter()
        .copied()
        .filter(|id| ids.iter().position(|x| x == id).unwrap() % 2 == 1)
        .collect();
    assert_eq!(app.timeline_ids(&r, 2).await, alices);

    // Alice blocks the reader: her posts leave the reader's timeline.
    let own = app.publish_id(&r, "reader's own").await;
    let res = app
        .post_json(
            &format!("/api/friends/block/{reader}"),
            &json!({}),
            Some(&a),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    testkit::eventually("the block to reach posts", || async {
        app.posts.app.blocked_between(alice, reader).await.unwrap()
    })
    .await;
    assert_eq!(app.timeline_ids(&r, 2).await, vec![own]);
}

//! `TestApp`: the posts service composed with the users service (accounts,
//! tokens, `user.events`) and the friends service (blocks, `friend.events`)
//! on one runtime context, as `banter serve --target all` composes them, on a
//! random port, over fresh SQLite files or throw-away PostgreSQL databases.
//! The fan-out threshold is [`THRESHOLD`], small enough to cross in a test.
//! [`TestApp::spawn_with`] keeps home timelines in Redis (a key prefix of
//! the test's own) and sets their length.
#![allow(dead_code, clippy::unwrap_used)]

use friends::Friends;
use kit::events::{Event, StartFrom, Subscription, topics};
use posts::Posts;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use testkit::{AppBuilder, SpawnedApp, eventually, next_of_kind};
use users::Users;

#[allow(unused_imports)]
pub use testkit::{Backend, expect_error, on_both_backends};

/// Authors with at most this many followers are fanned out on write.
pub const THRESHOLD: u32 = 2;

pub struct TestApp {
    /// Comes first: dropping it signals shutdown before the databases go.
    pub served: SpawnedApp,
    pub posts: Arc<Posts>,
    /// A consumer group of its own on `post.events`, joined before any
    /// request is made.
    events: tokio::sync::Mutex<Box<dyn Subscription>>,
    /// Where home timelines live when not in the database.
    pub redis: Option<kit::redis::Redis>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, None, posts::DEFAULT_TIMELINE_LENGTH).await
    }

    /// Home timelines in `redis` (the table without), `timeline_length`
    /// posts each.
    pub async fn spawn_with(
        backend: Backend,
        redis: Option<kit::redis::Redis>,
        timeline_length: u32,
    ) -> Self {
        let users_config = users::Config {
            hash_concurrency: 2,
            ..Default::default()
        };
        let ctx = match &redis {
            Some(redis) => kit::context::Context::embedded().with_redis(redis.clone()),
            None => kit::context::Context::embedded(),
        };
        let assembled = AppBuilder::new(backend)
            .context(ctx)
            .module::<Users>(users_config)
            .module::<Friends>(friends::Config::default())
            .module::<Posts>(posts::Config {
                fanout_threshold: THRESHOLD,
                timeline_length,
            })
            .titled::<Posts>()
            .assemble()
            .await;
        let events = assembled
            .ctx()
            .bus
            .subscribe(topics::POST_EVENTS, "posts-tests", StartFrom::Earliest)
            .await
            .unwrap();
        let served = assembled.serve().await;
        Self {
            posts: served.module(),
            served,
            events: tokio::sync::Mutex::new(events),
            redis,
        }
    }

    /// Deletes the test's Redis keys (the end of a Redis test).
    pub async fn purge_redis(&self) {
        if let Some(redis) = &self.redis {
            redis.purge().await.unwrap();
        }
    }

    /// Post ids the written half of `user`'s home timeline holds, newest first.
    pub async fn written(&self, user: i64) -> Vec<i64> {
        self.posts.app.written_timeline(user).await.unwrap()
    }

    /// Registers `name`, logs in, and waits until the posts service has
    /// heard of the new user: (id, token).
    pub async fn user(&self, name: &str) -> (i64, String) {
        let (id, token) = self.http.register_and_login(name, None).await;
        eventually(
            &format!("user {id} to reach the posts read model"),
            || async move { self.posts.app.has_heard_of(id).await.unwrap() },
        )
        .await;
        (id, token)
    }

    /// The next event of `kind` on `post.events` (earlier events of other
    /// kinds are skipped).
    pub async fn post_event(&self, kind: &str) -> Event {
        self.post_event_within(kind, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no {kind} event on post.events"))
    }

    /// Like [`TestApp::post_event`], `None` when none arrives in time.
    pub async fn post_event_within(&self, kind: &str, limit: Duration) -> Option<Event> {
        next_of_kind(&mut **self.events.lock().await, kind, limit).await
    }

    /// Publishes a post, expecting 201: its body.
    pub async fn publish(&self, token: &str, text: &str) -> Value {
        let res = self
            .post_json("/api/posts", &json!({"text": text}), Some(token))
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "publishing {text:?}: {body}");
        body
    }

    /// Publishes a post: its id.
    pub async fn publish_id(&self, token: &str, text: &str) -> i64 {
        self.publish(token, text).await["id"].as_i64().unwrap()
    }

    /// `token` follows `user_id`, expecting 200.
    pub async fn follow(&self, token: &str, user_id: i64) -> Value {
        let res = self
            .post_json(&format!("/api/follows/{user_id}"), &json!({}), Some(token))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "following {user_id}");
        res.json().await.unwrap()
    }

    /// Every page of the list at `path` (`?limit=` and `&cursor=` added),
    /// in order: (items, number of pages).
    pub async fn all_pages(&self, path: &str, token: &str, limit: i64) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let sep = if path.contains('?') { '&' } else { '?' };
        for pages in 1..=1000 {
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
                None => format!("{path}{sep}limit={limit}"),
            };
            let page = self.json(&url, token).await;
            let got = page["items"].as_array().unwrap();
            assert!(got.len() <= limit as usize, "{url}: page too long");
            items.extend(got.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return (items, pages),
            }
        }
        panic!("{path}: no last page");
    }

    /// Ids of the whole home timeline of `token`, paged by `limit`.
    pub async fn timeline_ids(&self, token: &str, limit: i64) -> Vec<i64> {
        let (items, _) = self.all_pages("/api/timeline/home", token, limit).await;
        items.iter().map(|p| p["id"].as_i64().unwrap()).collect()
    }
}

/// The served app: `app.get(..)`, `app.url(..)`, `app.client`, `app.ctx`.
impl std::ops::Deref for TestApp {
    type Target = testkit::ServedApp;

    fn deref(&self) -> &testkit::ServedApp {
        &self.served
    }
}

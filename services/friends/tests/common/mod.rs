//! `TestApp`: the friends service composed with the users service on one
//! runtime context (shared token verifier, in-process bus), exactly as
//! `banter serve --target all` composes them, on a random port, over fresh
//! SQLite files or throw-away PostgreSQL databases (one per service).
//! Users registered over HTTP reach the friends read model through the bus.
//! The shared pieces come from `testkit`.
#![allow(dead_code, clippy::unwrap_used)]

use friends::Friends;
use kit::events::{Event, StartFrom, Subscription, topics};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use testkit::{AppBuilder, ServedApp, SpawnedApp, eventually, next_of_kind};
use users::Users;

// Each test binary uses its own subset.
#[allow(unused_imports)]
pub use testkit::{Backend, PASSWORD, expect_error, on_both_backends};

pub struct TestApp {
    /// Comes first: dropping it signals shutdown before the databases go.
    pub served: SpawnedApp,
    pub friends: Arc<Friends>,
    pub users: Arc<Users>,
    /// A consumer group of its own on `friend.events`, joined before any
    /// request is made.
    events: tokio::sync::Mutex<Box<dyn Subscription>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, true).await
    }

    /// With `friends_relay` false the friends outbox is not published: its
    /// events stay in the database until a relay runs.
    pub async fn spawn_with(backend: Backend, friends_relay: bool) -> Self {
        let users_config = users::Config {
            hash_concurrency: 2,
            ..Default::default()
        };
        let mut builder = AppBuilder::new(backend)
            .module::<Users>(users_config)
            .module::<Friends>(friends::Config::default())
            .titled::<Friends>()
            .check_openapi();
        if !friends_relay {
            builder = builder.relay_paused::<Friends>();
        }
        let assembled = builder.assemble().await;
        let events = assembled
            .ctx()
            .bus
            .subscribe(topics::FRIEND_EVENTS, "friends-tests", StartFrom::Earliest)
            .await
            .unwrap();
        let served = assembled.serve().await;
        Self {
            friends: served.module(),
            users: served.module(),
            served,
            events: tokio::sync::Mutex::new(events),
        }
    }

    /// Registers `name` (email `<name>@example.com`), logs in, and waits
    /// until the friends service has heard of the new user: (id, token).
    pub async fn user(&self, name: &str) -> (i64, String) {
        self.user_with_display_name(name, None).await
    }

    pub async fn user_with_display_name(
        &self,
        name: &str,
        display_name: Option<&str>,
    ) -> (i64, String) {
        let (id, token) = self.http.register_and_login(name, display_name).await;
        self.wait_until_known(id).await;
        (id, token)
    }

    /// Waits for the users read model to hold `user_id`.
    pub async fn wait_until_known(&self, user_id: i64) {
        eventually(
            &format!("user {user_id} to reach the friends read model"),
            || async move { self.friends.app.knows_user(user_id).await.unwrap() },
        )
        .await;
    }

    /// The next event of `kind` on `friend.events` (earlier events of
    /// other kinds are skipped).
    pub async fn friend_event(&self, kind: &str) -> Event {
        self.friend_event_within(kind, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no {kind} event on friend.events"))
    }

    /// Like [`TestApp::friend_event`], `None` when none arrives in time.
    pub async fn friend_event_within(&self, kind: &str, limit: Duration) -> Option<Event> {
        next_of_kind(&mut **self.events.lock().await, kind, limit).await
    }

    /// Sends a friend request from `token` to `to` and expects it created.
    pub async fn request(&self, token: &str, to: i64) -> Value {
        let res = self
            .post_json(
                "/api/friends/request",
                &json!({"user_id_2": to}),
                Some(token),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "friend request to {to}");
        res.json().await.unwrap()
    }

    /// `token` answers the request `from` sent with `action`; returns the status code.
    pub async fn answer(&self, token: &str, from: i64, action: &str) -> Response {
        self.put_json(
            &format!("/api/friends/status/{from}"),
            &json!({"action": action}),
            Some(token),
        )
        .await
    }

    /// Makes the two users friends.
    pub async fn befriend(&self, a: (i64, &str), b: (i64, &str)) {
        self.request(a.1, b.0).await;
        let res = self.answer(b.1, a.0, "accept").await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}

/// The served app: `app.get(..)`, `app.url(..)`, `app.client`, `app.ctx`.
impl std::ops::Deref for TestApp {
    type Target = ServedApp;

    fn deref(&self) -> &ServedApp {
        &self.served
    }
}

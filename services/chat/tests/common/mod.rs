//! `TestApp`: the chat service composed with the users service on one
//! runtime context (shared token verifier, in-process bus), as `banter serve
//! --target all` composes them, on a random port, over fresh SQLite files or
//! throw-away PostgreSQL databases (one per service). Users registered over
//! HTTP reach chat's read model through the bus; blocks are published on
//! `friend.events` the way the friends service publishes them. The shared
//! pieces come from `testkit`.
#![allow(dead_code, clippy::unwrap_used)]

use chat::Chat;
use kit::context::Context;
use kit::events::{Event, StartFrom, Subscription, topics};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use testkit::{AppBuilder, ServedApp, SpawnedApp, SseReader, eventually, next_of_kind};
use users::Users;

// Each test binary uses its own subset.
#[allow(unused_imports)]
pub use testkit::{Backend, PASSWORD, expect_error, on_both_backends};

pub struct TestApp {
    /// Comes first: dropping it signals shutdown before the databases go.
    pub served: SpawnedApp,
    pub chat: Arc<Chat>,
    pub users: Arc<Users>,
    /// Consumer groups of the tests' own on `chat.events` and
    /// `message.events`, joined before any request is made.
    chat_events: tokio::sync::Mutex<Box<dyn Subscription>>,
    message_events: tokio::sync::Mutex<Box<dyn Subscription>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Context::embedded()).await
    }

    /// The same on `ctx` (e.g. with its shared state in Redis).
    pub async fn spawn_with(backend: Backend, ctx: Context) -> Self {
        let max_connections = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        };
        let users_config = users::Config {
            hash_concurrency: 2,
            ..Default::default()
        };
        let assembled = AppBuilder::new(backend)
            .context(ctx)
            .connections(max_connections)
            .module::<Users>(users_config)
            .module::<Chat>(chat::Config { keep_alive_secs: 1 })
            .titled::<Chat>()
            .check_openapi()
            .assemble()
            .await;
        let bus = &assembled.ctx().bus;
        let chat_events = bus
            .subscribe(topics::CHAT_EVENTS, "chat-tests", StartFrom::Earliest)
            .await
            .unwrap();
        let message_events = bus
            .subscribe(topics::MESSAGE_EVENTS, "chat-tests", StartFrom::Earliest)
            .await
            .unwrap();
        let served = assembled.serve().await;
        Self {
            chat: served.module(),
            users: served.module(),
            served,
            chat_events: tokio::sync::Mutex::new(chat_events),
            message_events: tokio::sync::Mutex::new(message_events),
        }
    }

    /// Registers `name` (email `<name>@example.com`, display name
    /// `<name> display`), logs in, and waits until chat has heard of the new
    /// user: (id, token).
    pub async fn user(&self, name: &str) -> (i64, String) {
        let display_name = format!("{name} display");
        let (id, token) = self
            .http
            .register_and_login(name, Some(&display_name))
            .await;
        self.wait_until_known(id).await;
        (id, token)
    }

    /// Waits for chat's users read model to hold `user_id`.
    pub async fn wait_until_known(&self, user_id: i64) {
        eventually(
            &format!("user {user_id} to reach chat's users read model"),
            || async move { self.chat.app.has_heard_of(user_id).await.unwrap() },
        )
        .await;
    }

    /// Publishes `UserBlocked` / `UserUnblocked` as the friends service does,
    /// and waits until chat's blocks read model reflects it.
    pub async fn set_blocked(&self, blocker: i64, blocked: i64, is_blocked: bool) {
        let kind = if is_blocked {
            "UserBlocked"
        } else {
            "UserUnblocked"
        };
        let subject = format!("{}:{}", blocker.min(blocked), blocker.max(blocked));
        let event = Event::new(
            kind,
            "friends",
            subject,
            json!({"blocker_id": blocker, "blocked_id": blocked}),
        );
        self.ctx
            .bus
            .publish(topics::FRIEND_EVENTS, &event)
            .await
            .unwrap();
        eventually(
            &format!("{kind} {blocker}->{blocked} to reach chat's blocks read model"),
            || async move {
                let now = self
                    .chat
                    .app
                    .blocked_between(blocker, blocked)
                    .await
                    .unwrap();
                now == is_blocked
            },
        )
        .await;
    }

    /// The next event of `kind` on `topic` (`chat.events` or
    /// `message.events`); earlier events of other kinds are skipped.
    pub async fn next_event(&self, topic: &str, kind: &str) -> Event {
        let mut sub = if topic == topics::CHAT_EVENTS {
            self.chat_events.lock().await
        } else {
            self.message_events.lock().await
        };
        next_of_kind(&mut **sub, kind, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no {kind} event on {topic}"))
    }

    /// Opens (gets or creates) the direct room of the caller and `other`.
    pub async fn direct_room(&self, token: &str, other: i64) -> Value {
        self.json(&format!("/api/chat-rooms/check/{other}"), token)
            .await
    }

    /// Sends a text message and expects it created.
    pub async fn say(&self, token: &str, room_id: i64, content: &str) -> Value {
        let res = self
            .post_json(
                &format!("/api/messages/{room_id}"),
                &json!({"content": content, "message_type": "text"}),
                Some(token),
            )
            .await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "sending to {room_id}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Opens the SSE stream of a room.
    pub async fn stream(
        &self,
        token: &str,
        room_id: i64,
        last_event_id: Option<&str>,
    ) -> SseReader {
        let mut req = self
            .client
            .get(self.url(&format!("/api/messages/stream/{room_id}")))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "opening the stream of {room_id}"
        );
        SseReader::new(res)
    }
}

/// The served app: `app.get(..)`, `app.url(..)`, `app.client`, `app.ctx`.
impl std::ops::Deref for TestApp {
    type Target = ServedApp;

    fn deref(&self) -> &ServedApp {
        &self.served
    }
}

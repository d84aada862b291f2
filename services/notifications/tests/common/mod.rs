//! `TestApp`: the notifications service composed with the users service on
//! one runtime context (shared token verifier, in-process bus), as
//! `banter serve` composes them, on a random port. Notifications live on a
//! fresh SQLite file or a throw-away PostgreSQL database; users (only needed
//! for real tokens and their `user.events`) always on SQLite. The shared
//! pieces come from `testkit`.
#![allow(dead_code, clippy::unwrap_used)]

use kit::events::{Event, StartFrom, Subscription};
use notifications::Notifications;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::{AppBuilder, ServedApp, SpawnedApp, SseReader, TestDb};
use users::Users;

// Each test binary uses its own subset.
#[allow(unused_imports)]
pub use testkit::{Backend, PASSWORD, PATIENCE, eventually, expect_error, on_both_backends};

pub struct TestApp {
    /// Comes first: dropping it signals shutdown before the databases go.
    pub served: SpawnedApp,
    pub notifications: Arc<Notifications>,
    pub users: Arc<Users>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with_token_ttl(backend, users::Config::default().token_ttl_secs).await
    }

    /// Like [`TestApp::spawn`], with access tokens valid for `secs` seconds.
    pub async fn spawn_with_token_ttl(backend: Backend, secs: u64) -> Self {
        let users_db = Arc::new(TestDb::create(Backend::Sqlite, "users").await);
        let users_config = users::Config {
            hash_concurrency: 2,
            token_ttl_secs: secs,
            ..Default::default()
        };
        let served = AppBuilder::new(backend)
            .module_on::<Users>(users_db, users_config)
            .module::<Notifications>(notifications::Config { keep_alive_secs: 1 })
            .titled::<Notifications>()
            .check_openapi()
            .serve()
            .await;
        Self {
            notifications: served.module(),
            users: served.module(),
            served,
        }
    }

    /// Registers `name` (email `<name>@example.com`), logs in and waits until
    /// the notifications service knows the user: (id, token).
    pub async fn user(&self, name: &str) -> (i64, String) {
        let (id, token) = self.http.register_and_login(name, None).await;
        let store = self.notifications.store.clone();
        eventually(&format!("{name} in the users read model"), || {
            let store = store.clone();
            async move { store.users(&[id]).await.unwrap().contains_key(&id) }
        })
        .await;
        (id, token)
    }

    /// Publishes straight onto the in-process bus, as another service's relay would.
    pub async fn publish(&self, topic: &str, event: &Event) {
        self.ctx.bus.publish(topic, event).await.unwrap();
    }

    /// The caller's notifications (first page, up to 100), newest first.
    pub async fn notifications(&self, token: &str) -> Vec<Value> {
        self.json("/api/notifications?limit=100", token).await["notifications"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub async fn unread(&self, token: &str) -> i64 {
        self.json("/api/notifications/unread-count", token).await["unread_count"]
            .as_i64()
            .unwrap()
    }

    /// Waits until the caller has exactly `n` notifications and returns them.
    pub async fn wait_for(&self, token: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let found = self.notifications(token).await;
            if found.len() == n {
                return found;
            }
            assert!(
                found.len() < n && Instant::now() < deadline,
                "expected {n} notifications, have {}: {found:#?}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Opens the caller's notification stream.
    pub async fn stream(&self, token: &str, last_event_id: Option<&str>) -> SseReader {
        let mut req = self
            .client
            .get(self.url("/api/notifications/stream"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "opening the stream");
        SseReader::new(res)
    }

    /// A fresh consumer group on `topic` from its earliest retained event.
    /// (The bus trims what every group has committed, so tap a topic other
    /// groups consume before publishing.)
    pub async fn tap(&self, topic: &str) -> Box<dyn Subscription> {
        let group = format!("test-{}", uuid::Uuid::new_v4().simple());
        self.ctx
            .bus
            .subscribe(topic, &group, StartFrom::Earliest)
            .await
            .unwrap()
    }

    /// Up to `wanted` events of `topic` (nobody else consumes dead letters,
    /// so they stay on the bus).
    pub async fn events_on(&self, topic: &str, wanted: usize) -> Vec<Event> {
        drain(self.tap(topic).await, wanted).await
    }

    /// `/metrics` as text.
    pub async fn metrics(&self) -> String {
        self.get("/metrics", None).await.text().await.unwrap()
    }
}

/// The served app: `app.get(..)`, `app.url(..)`, `app.client`, `app.ctx`.
impl std::ops::Deref for TestApp {
    type Target = ServedApp;

    fn deref(&self) -> &ServedApp {
        &self.served
    }
}

/// Up to `wanted` events from `sub`, waiting at most [`PATIENCE`] for each.
pub async fn drain(mut sub: Box<dyn Subscription>, wanted: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < wanted {
        match tokio::time::timeout(PATIENCE, sub.next()).await {
            Ok(Ok(record)) => {
                sub.commit(&record).await.unwrap();
                out.push(record.event);
            }
            _ => break,
        }
    }
    out
}

/// A `FriendRequestSent` as the friends service publishes it.
pub fn friend_request_sent(friendship_id: i64, requester: i64, addressee: i64) -> Event {
    Event::new(
        "FriendRequestSent",
        "friends",
        pair_key(requester, addressee),
        json!({
            "friendship_id": friendship_id,
            "requester_id": requester,
            "addressee_id": addressee,
            "message": null,
            "created_at": chrono::Utc::now(),
        }),
    )
}

/// A `FriendRequestAccepted` as the friends service publishes it.
pub fn friend_request_accepted(friendship_id: i64, requester: i64, addressee: i64) -> Event {
    Event::new(
        "FriendRequestAccepted",
        "friends",
        pair_key(requester, addressee),
        json!({"friendship_id": friendship_id, "requester_id": requester, "addressee_id": addressee}),
    )
}

fn pair_key(a: i64, b: i64) -> String {
    format!("{}:{}", a.min(b), a.max(b))
}

/// A `MessageSent` as the chat service publishes it.
pub fn message_sent(
    room_id: i64,
    seq: i64,
    sender: i64,
    members: &[i64],
    streaming: &[i64],
    content: &str,
) -> Event {
    let now = chrono::Utc::now();
    let message_id = uuid::Uuid::new_v4().to_string();
    Event::new(
        "MessageSent",
        "chat",
        room_id,
        json!({
            "room_id": room_id,
            "room_type": if members.len() > 2 { "group" } else { "direct" },
            "seq": seq,
            "sender_id": sender,
            "member_ids": members,
            "streaming_user_ids": streaming,
            "message": {
                "id": message_id, "user_id": sender, "room_id": room_id,
                "room_type": if members.len() > 2 { "group" } else { "direct" },
                "content": content, "message_type": "text", "is_deleted": false,
                "is_edited": false, "created_at": now, "updated_at": now,
            },
        }),
    )
}

/// A `MessageEdited` (`kind` "MessageEdited", `content` the new text) or a
/// `MessageDeleted` (`kind` "MessageDeleted") of message `message_id`, as
/// the chat service publishes them, at the room's event `seq`.
pub fn message_revised(
    kind: &str,
    room_id: i64,
    seq: i64,
    sender: i64,
    message_id: &str,
    content: &str,
) -> Event {
    let now = chrono::Utc::now();
    Event::new(
        kind,
        "chat",
        room_id,
        json!({
            "room_id": room_id,
            "seq": seq,
            "message": {
                "id": message_id, "user_id": sender, "room_id": room_id, "room_type": "direct",
                "content": content, "message_type": "text",
                "is_deleted": kind == "MessageDeleted", "is_edited": kind == "MessageEdited",
                "created_at": now, "updated_at": now,
            },
        }),
    )
}

/// Sum of a Prometheus counter's samples whose labels contain all `labels`.
pub fn counter(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

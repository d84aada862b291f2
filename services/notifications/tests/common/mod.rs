//! `TestApp`: the notifications service composed with the users service on
//! one runtime context (shared token verifier, in-process bus), as
//! `banter serve` composes them, on a random port. Notifications live on a
//! fresh SQLite file or a throw-away PostgreSQL database; users (only needed
//! for real tokens and their `user.events`) always on SQLite.
#![allow(dead_code, clippy::unwrap_used)]

use kit::context::Context;
use kit::db::Database;
use kit::events::{Event, StartFrom, Subscription};
use kit::platform::Platform;
use notifications::Notifications;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use users::Users;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Admin connection used to create and drop throw-away databases.
fn pg_admin_url() -> String {
    std::env::var("BANTER_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: Client,
    pub notifications: Arc<Notifications>,
    pub users: Arc<Users>,
    pub ctx: Context,
    _dir: tempfile::TempDir,
    pg_database: Option<String>,
}

pub const PASSWORD: &str = "Passw0rd!";
/// How long event-driven effects get to show up.
pub const PATIENCE: Duration = Duration::from_secs(10);

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut pg_database = None;
        let db = match backend {
            Backend::Sqlite => Database::connect_sqlite(&dir.path().join("notifications.db"), 4)
                .await
                .unwrap(),
            Backend::Postgres => {
                let name = format!("banter_test_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(&pg_admin_url())
                    .await
                    .expect("PostgreSQL must run on 127.0.0.1:5432 (or set BANTER_TEST_PG_URL)");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                let mut url = url::Url::parse(&pg_admin_url()).unwrap();
                url.set_path(&name);
                pg_database = Some(name);
                Database::connect_postgres(url.as_str(), 4).await.unwrap()
            }
        };
        let users_db = Database::connect_sqlite(&dir.path().join("users.db"), 4)
            .await
            .unwrap();
        let ctx = Context::embedded();
        let users_config = users::Config {
            hash_concurrency: 2,
            ..Default::default()
        };
        let users = Users::build(&users_config, users_db, &ctx).await.unwrap();
        let config = notifications::Config { keep_alive_secs: 1 };
        let notifications = Notifications::build(&config, db, &ctx).await.unwrap();
        // The order `banter serve` follows: build all, subscribe all, relay all.
        users.subscribe(&ctx).await.unwrap();
        notifications.subscribe(&ctx).await.unwrap();
        users.start_relay(&ctx);
        notifications.start_relay(&ctx);
        let router = Platform::new("Notifications Service", "notifications")
            .with(users.service())
            .with(notifications.service())
            .into_router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self {
            addr,
            client: Client::new(),
            notifications,
            users,
            ctx,
            _dir: dir,
            pg_database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Registers `name` (email `<name>@example.com`), logs in and waits until
    /// the notifications service knows the user: (id, token).
    pub async fn user(&self, name: &str) -> (i64, String) {
        let email = format!("{name}@example.com");
        let res = self
            .post_json(
                "/api/auth/register",
                &json!({"email": email, "username": name, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "registering {name}");
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let res = self
            .post_json(
                "/api/auth/login/json",
                &json!({"email": email, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let token = res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
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

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// GET that must answer 200 with JSON.
    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        let res = self.get(path, Some(token)).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// Sends a raw body with a content type, for malformed-input tests.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: Option<&str>,
        body: &'static [u8],
        token: Option<&str>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// The caller's notifications (first page, up to 100), newest first.
    pub async fn notifications(&self, token: &str) -> Vec<Value> {
        self.get_ok("/api/notifications?limit=100", token).await["notifications"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub async fn unread(&self, token: &str) -> i64 {
        self.get_ok("/api/notifications/unread-count", token).await["unread_count"]
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
    pub async fn stream(&self, token: &str, last_event_id: Option<&str>) -> SseClient {
        let mut req = self
            .client
            .get(self.url("/api/notifications/stream"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "opening the stream");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        SseClient {
            res,
            buf: String::new(),
        }
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

impl Drop for TestApp {
    fn drop(&mut self) {
        self.ctx.shutdown.cancel();
        let Some(name) = self.pg_database.take() else {
            return;
        };
        // Drop the throw-away database from a fresh runtime: Drop is sync.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&pg_admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin)
                        .await;
                }
            });
        })
        .join();
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

/// Polls `check` until it holds, failing after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One server-sent event (or keep-alive comment) as received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
    pub comment: Option<String>,
}

impl Frame {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// A minimal SSE reader over a streaming response.
pub struct SseClient {
    res: Response,
    buf: String,
}

impl SseClient {
    /// The next frame (comments included), or `None` after `wait`.
    pub async fn next_frame(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                let mut frame = Frame::default();
                for line in raw.lines().filter(|l| !l.is_empty()) {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "" => frame.comment = Some(value.to_owned()),
                        "id" => frame.id = Some(value.to_owned()),
                        "event" => frame.event = Some(value.to_owned()),
                        "data" => {
                            if !frame.data.is_empty() {
                                frame.data.push('\n');
                            }
                            frame.data.push_str(value);
                        }
                        _ => {}
                    }
                }
                return Some(frame);
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self
                    .buf
                    .push_str(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n")),
                _ => return None,
            }
        }
    }

    /// The next event, skipping keep-alive comments; `None` after `wait`.
    pub async fn next_event(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next_frame(left).await?;
            if frame.comment.is_none() || frame.event.is_some() {
                return Some(frame);
            }
        }
    }
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

/// Asserts a 4xx `{detail, code}` error and returns the code.
pub async fn expect_error(res: Response, status: u16, what: &str) -> String {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{what}: expected {status}, got {got}: {text}");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: body is not JSON: {text}"));
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: no detail in {text}"
    );
    body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no code in {text}"))
        .to_owned()
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

/// Instantiates each listed `async fn(&TestApp)` once per storage backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite).await;
                    super::$name(&app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await;
                    super::$name(&app).await;
                }
            )*
        }
    };
}

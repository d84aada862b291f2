//! `TestApp`: the chat service composed with the users service on one
//! runtime context (shared token verifier, in-process bus), as `banter serve
//! --target all` composes them, on a random port, over fresh SQLite files or
//! throw-away PostgreSQL databases (one per service). Users registered over
//! HTTP reach chat's read model through the bus; blocks are published on
//! `friend.events` the way the friends service publishes them.
#![allow(dead_code, clippy::unwrap_used)]

pub mod sse;

use chat::Chat;
use kit::context::Context;
use kit::db::Database;
use kit::events::{Event, StartFrom, Subscription, topics};
use kit::platform::Platform;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
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
    pub ctx: Context,
    pub chat: Arc<Chat>,
    pub users: Arc<Users>,
    /// Consumer groups of the tests' own on `chat.events` and
    /// `message.events`, joined before any request is made.
    chat_events: tokio::sync::Mutex<Box<dyn Subscription>>,
    message_events: tokio::sync::Mutex<Box<dyn Subscription>>,
    _dir: Option<tempfile::TempDir>,
    pg_databases: Vec<String>,
}

pub const PASSWORD: &str = "Passw0rd!";

async fn connect(
    backend: Backend,
    dir: &Option<tempfile::TempDir>,
    service: &str,
) -> (Database, Option<String>) {
    match backend {
        Backend::Sqlite => {
            let path = dir.as_ref().unwrap().path().join(format!("{service}.db"));
            (Database::connect_sqlite(&path, 4).await.unwrap(), None)
        }
        Backend::Postgres => {
            let name = format!("banter_test_{service}_{}", uuid::Uuid::new_v4().simple());
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
            let db = Database::connect_postgres(url.as_str(), 8).await.unwrap();
            (db, Some(name))
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        let dir = matches!(backend, Backend::Sqlite).then(|| tempfile::tempdir().unwrap());
        let (users_db, users_pg) = connect(backend, &dir, "users").await;
        let (chat_db, chat_pg) = connect(backend, &dir, "chat").await;
        let ctx = Context::embedded();
        let users_config = users::Config {
            hash_concurrency: 2,
            ..Default::default()
        };
        let users = Users::build(&users_config, users_db, &ctx).await.unwrap();
        let config = chat::Config { keep_alive_secs: 1 };
        let chat = Chat::build(&config, chat_db, &ctx).await.unwrap();
        // The startup order of `banter serve`: build, subscribe, relay.
        users.subscribe(&ctx).await.unwrap();
        chat.subscribe(&ctx).await.unwrap();
        let chat_events = ctx
            .bus
            .subscribe(topics::CHAT_EVENTS, "chat-tests", StartFrom::Earliest)
            .await
            .unwrap();
        let message_events = ctx
            .bus
            .subscribe(topics::MESSAGE_EVENTS, "chat-tests", StartFrom::Earliest)
            .await
            .unwrap();
        users.start_relay(&ctx);
        chat.start_relay(&ctx);
        let router = Platform::new(chat::TITLE, chat::SERVICE)
            .with(users.service())
            .with(chat.service())
            .into_router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = ctx.shutdown.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .unwrap();
        });
        Self {
            addr,
            client: Client::new(),
            ctx,
            chat,
            users,
            chat_events: tokio::sync::Mutex::new(chat_events),
            message_events: tokio::sync::Mutex::new(message_events),
            _dir: dir,
            pg_databases: [users_pg, chat_pg].into_iter().flatten().collect(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Registers `name` (email `<name>@example.com`), logs in, and waits
    /// until chat has heard of the new user: (id, token).
    pub async fn user(&self, name: &str) -> (i64, String) {
        let res = self
            .post_json(
                "/api/auth/register",
                &json!({"email": format!("{name}@example.com"), "username": name,
                        "password": PASSWORD, "display_name": format!("{name} display")}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "registering {name}");
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let res = self
            .post_json(
                "/api/auth/login/json",
                &json!({"email": format!("{name}@example.com"), "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let token = res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        self.wait_until_known(id).await;
        (id, token)
    }

    /// Waits for chat's users read model to hold `user_id`.
    pub async fn wait_until_known(&self, user_id: i64) {
        for _ in 0..500 {
            if !self.chat.store.users(&[user_id]).await.unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("user {user_id} never reached chat's users read model");
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
        for _ in 0..500 {
            let now = self
                .chat
                .store
                .blocked_between(blocker, &[blocked])
                .await
                .unwrap();
            if now == is_blocked {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{kind} {blocker}->{blocked} never reached chat's blocks read model");
    }

    /// The next event of `kind` on `topic` (`chat.events` or
    /// `message.events`); earlier events of other kinds are skipped.
    pub async fn next_event(&self, topic: &str, kind: &str) -> Event {
        let mut sub = if topic == topics::CHAT_EVENTS {
            self.chat_events.lock().await
        } else {
            self.message_events.lock().await
        };
        let wait = async {
            loop {
                let record = sub.next().await.unwrap();
                sub.commit(&record).await.unwrap();
                if record.event.kind == kind {
                    return record.event;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("no {kind} event on {topic}"))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send(reqwest::Method::GET, path, None, token).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.send(reqwest::Method::DELETE, path, None, token).await
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.send(reqwest::Method::POST, path, Some(body), token)
            .await
    }

    pub async fn put_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.send(reqwest::Method::PUT, path, Some(body), token)
            .await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(b);
        }
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

    /// GET expecting 200; the JSON body.
    pub async fn json(&self, path: &str, token: &str) -> Value {
        let res = self.get(path, Some(token)).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap()
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
    ) -> sse::SseClient {
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
        sse::SseClient::new(res)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.ctx.shutdown.cancel();
        let names = std::mem::take(&mut self.pg_databases);
        if names.is_empty() {
            return;
        }
        // Drop the throw-away databases from a fresh runtime: Drop is sync.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&pg_admin_url()).await {
                    for name in names {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&admin)
                                .await;
                    }
                }
            });
        })
        .join();
    }
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

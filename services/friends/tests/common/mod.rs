//! `TestApp`: the friends service composed with the users service on one
//! runtime context (shared token verifier, in-process bus), exactly as
//! `banter serve --target all` composes them, on a random port, over fresh
//! SQLite files or throw-away PostgreSQL databases (one per service).
//! Users registered over HTTP reach the friends read model through the bus.
#![allow(dead_code, clippy::unwrap_used)]

use friends::Friends;
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
    pub friends: Arc<Friends>,
    pub users: Arc<Users>,
    /// A consumer group of its own on `friend.events`, joined before any
    /// request is made.
    events: tokio::sync::Mutex<Box<dyn Subscription>>,
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
            let db = Database::connect_postgres(url.as_str(), 4).await.unwrap();
            (db, Some(name))
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, true).await
    }

    /// With `friends_relay` false the friends outbox is not published: its
    /// events stay in the database until a relay runs.
    pub async fn spawn_with(backend: Backend, friends_relay: bool) -> Self {
        let dir = matches!(backend, Backend::Sqlite).then(|| tempfile::tempdir().unwrap());
        let (users_db, users_pg) = connect(backend, &dir, "users").await;
        let (friends_db, friends_pg) = connect(backend, &dir, "friends").await;
        let ctx = Context::embedded();
        let users_config = users::Config {
            hash_concurrency: 2,
            ..Default::default()
        };
        let users = Users::build(&users_config, users_db, &ctx).await.unwrap();
        let friends = Friends::build(&friends::Config::default(), friends_db, &ctx)
            .await
            .unwrap();
        // The startup order of `banter serve`: build, subscribe, relay.
        users.subscribe(&ctx).await.unwrap();
        friends.subscribe(&ctx).await.unwrap();
        let events = ctx
            .bus
            .subscribe(topics::FRIEND_EVENTS, "friends-tests", StartFrom::Earliest)
            .await
            .unwrap();
        users.start_relay(&ctx);
        if friends_relay {
            friends.start_relay(&ctx);
        }
        let router = Platform::new(friends::TITLE, friends::SERVICE)
            .with(users.service())
            .with(friends.service())
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
            ctx,
            friends,
            users,
            events: tokio::sync::Mutex::new(events),
            _dir: dir,
            pg_databases: [users_pg, friends_pg].into_iter().flatten().collect(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn register(
        &self,
        email: &str,
        username: &str,
        display_name: Option<&str>,
    ) -> Response {
        self.post_json(
            "/api/auth/register",
            &json!({"email": email, "username": username, "password": PASSWORD, "display_name": display_name}),
            None,
        )
        .await
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
        let res = self
            .register(&format!("{name}@example.com"), name, display_name)
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "registering {name}");
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let token = self.login(&format!("{name}@example.com"), PASSWORD).await;
        self.wait_until_known(id).await;
        (id, token)
    }

    /// Waits for the users read model to hold `user_id`.
    pub async fn wait_until_known(&self, user_id: i64) {
        for _ in 0..500 {
            if self.friends.store.user_exists(user_id).await.unwrap() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("user {user_id} never reached the friends read model");
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self
            .post_json(
                "/api/auth/login/json",
                &json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
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
        let mut sub = self.events.lock().await;
        let wait = async {
            loop {
                let record = sub.next().await.unwrap();
                sub.commit(&record).await.unwrap();
                if record.event.kind == kind {
                    return record.event;
                }
            }
        };
        tokio::time::timeout(limit, wait).await.ok()
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

    pub async fn json(&self, path: &str, token: &str) -> Value {
        let res = self.get(path, Some(token)).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap()
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

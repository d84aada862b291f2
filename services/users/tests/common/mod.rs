//! `TestApp`: the users service composed exactly as `banter serve` composes
//! it, on a random port, over a fresh SQLite file or a throw-away PostgreSQL
//! database.
#![allow(dead_code, clippy::unwrap_used)]

use kit::context::Context;
use kit::db::Database;
use kit::platform::Platform;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
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
    pub users: Arc<Users>,
    pub ctx: Context,
    _dir: Option<tempfile::TempDir>,
    pg_database: Option<String>,
}

pub const PASSWORD: &str = "Passw0rd!";

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        let mut dir = None;
        let mut pg_database = None;
        let db = match backend {
            Backend::Sqlite => {
                let tmp = tempfile::tempdir().unwrap();
                let db = Database::connect_sqlite(&tmp.path().join("users.db"), 4)
                    .await
                    .unwrap();
                dir = Some(tmp);
                db
            }
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
        let ctx = Context::embedded();
        let config = users::Config {
            hash_concurrency: 2,
            presence_ttl_secs: 1,
            ..Default::default()
        };
        let users = Users::build(&config, db, &ctx).await.unwrap();
        users.subscribe(&ctx).await.unwrap();
        users.start_relay(&ctx);
        let router = Platform::new("Users Service", "users")
            .with(users.service())
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
            users,
            ctx,
            _dir: dir,
            pg_database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn register(&self, email: &str, username: &str) -> Response {
        self.post_json(
            "/api/auth/register",
            &json!({"email": email, "username": username, "password": PASSWORD}),
            None,
        )
        .await
    }

    /// Registers `name` (email `<name>@example.com`) and logs in: (id, token).
    pub async fn user(&self, name: &str) -> (i64, String) {
        let res = self.register(&format!("{name}@example.com"), name).await;
        assert_eq!(res.status(), StatusCode::CREATED, "registering {name}");
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        (
            id,
            self.login(&format!("{name}@example.com"), PASSWORD).await,
        )
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

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn put_json(&self, path: &str, body: &Value, token: &str) -> Response {
        self.client
            .put(self.url(path))
            .json(body)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
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

/// Sends a request whose body the server refuses as too large. The server
/// answers 413 without reading the rest of the body and closes the
/// connection, so the client may see a broken pipe while still writing; such
/// attempts are retried on a fresh connection until a response arrives.
pub async fn send_oversized(make: impl Fn(&Client) -> reqwest::RequestBuilder) -> Response {
    let mut last = None;
    for _ in 0..10 {
        match make(&Client::new()).send().await {
            Ok(res) => return res,
            Err(err) => last = Some(err),
        }
    }
    panic!("no response to an oversized request after 10 tries: {last:?}");
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

/// Reads server-sent events from a streaming response.
pub struct SseReader {
    stream: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

impl SseReader {
    pub fn new(res: Response) -> Self {
        assert_eq!(res.status(), StatusCode::OK, "stream opened");
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Self {
            stream: Box::pin(res.bytes_stream()),
            buf: String::new(),
        }
    }

    /// The next event (comments skipped), or None after `wait`.
    pub async fn next(&mut self, wait: std::time::Duration) -> Option<SseEvent> {
        use futures::StreamExt;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut ev = SseEvent {
                    id: None,
                    event: None,
                    data: String::new(),
                };
                let mut is_event = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        ev.id = Some(v.trim().to_owned());
                        is_event = true;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        ev.event = Some(v.trim().to_owned());
                        is_event = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        ev.data.push_str(v.trim_start());
                        is_event = true;
                    }
                }
                if is_event {
                    return Some(ev);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??
                .ok()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

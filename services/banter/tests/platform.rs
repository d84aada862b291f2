//! The embedded platform end to end, through the real binary: the
//! seed-benchmark journey of SPEC §6 on SQLite and on PostgreSQL, events
//! flowing between services into streams, and the outbox surviving a crash.
#![allow(clippy::unwrap_used)]

mod support;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use support::Banter;
use support::sse::SseReader;

const PASSWORD: &str = "Passw0rd!";

struct Api<'a> {
    app: &'a Banter,
    client: Client,
}

impl<'a> Api<'a> {
    fn new(app: &'a Banter) -> Self {
        Self {
            app,
            client: Client::new(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.app.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    async fn register(&self, name: &str) -> i64 {
        let body =
            json!({"email": format!("{name}@example.com"), "username": name, "password": PASSWORD});
        let (status, user) = self.post("/api/auth/register", None, body).await;
        assert_eq!(status, StatusCode::CREATED, "register {name}: {user}");
        for key in [
            "id",
            "email",
            "username",
            "display_name",
            "created_at",
            "updated_at",
        ] {
            assert!(user.get(key).is_some(), "{key} in {user}");
        }
        user["id"].as_i64().unwrap()
    }

    async fn login(&self, name: &str) -> String {
        let res = self
            .client
            .post(self.app.url("/api/auth/login"))
            .form(&[
                ("username", format!("{name}@example.com")),
                ("password", PASSWORD.to_owned()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["token_type"], "bearer");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// `POST /api/friends/request`, retried briefly while the friends
    /// service's read model learns about a user registered a moment ago.
    async fn request_friend(&self, token: &str, to: i64) -> (StatusCode, Value) {
        for _ in 0..50 {
            let (status, body) = self
                .post(
                    "/api/friends/request",
                    Some(token),
                    json!({"user_id_2": to}),
                )
                .await;
            if status != StatusCode::NOT_FOUND {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("user {to} never reached the friends service's read model");
    }

    async fn stream(&self, path: &str, token: &str, last_event_id: Option<&str>) -> SseReader {
        let mut req = self.client.get(self.app.url(path)).bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        SseReader::new(req.send().await.unwrap())
    }
}

/// The original k6 benchmark, step for step.
async fn seed_benchmark(app: &Banter) {
    let api = Api::new(app);
    let a = api.register("seed_a").await;
    let b = api.register("seed_b").await;
    let token_a = api.login("seed_a").await;
    let token_b = api.login("seed_b").await;

    let (status, me) = api.get("/api/profile/me", &token_a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["id"].as_i64(), me["username"].as_str()),
        (Some(a), Some("seed_a"))
    );

    let (status, found) = api
        .get("/api/users/search?query=seed&limit=10", &token_a)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["total_count"], 1, "{found}");
    assert_eq!(found["users"][0]["id"], b);

    let (status, request) = api.request_friend(&token_a, b).await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(
        (request["user_id_1"].as_i64(), request["user_id_2"].as_i64()),
        (Some(a), Some(b))
    );
    assert_eq!(request["status"], "pending");
    for key in ["id", "created_at", "updated_at", "deleted_at"] {
        assert!(request.get(key).is_some(), "{key} in {request}");
    }

    let (status, accepted) = api
        .call(
            reqwest::Method::PUT,
            &format!("/api/friends/status/{a}"),
            Some(&token_b),
            Some(json!({"action": "accept"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    let (_, friends) = api.get("/api/friends/list", &token_a).await;
    assert_eq!(friends[0]["user_id"], b, "{friends}");

    let (status, room) = api
        .get(&format!("/api/chat-rooms/check/{b}"), &token_a)
        .await;
    assert_eq!(status, StatusCode::OK, "{room}");
    assert_eq!(room["room_type"], "direct");
    let mut pair = [
        room["user_1_id"].as_i64().unwrap(),
        room["user_2_id"].as_i64().unwrap(),
    ];
    pair.sort_unstable();
    assert_eq!(pair, [a.min(b), a.max(b)]);
    let room_id = room["id"].as_i64().unwrap();

    for n in 1..=5 {
        let body = json!({"content": format!("hello {n}"), "message_type": "text"});
        let (status, msg) = api
            .post(&format!("/api/messages/{room_id}"), Some(&token_a), body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{msg}");
        assert!(msg["id"].is_string(), "message ids are strings: {msg}");
        assert_eq!(
            (msg["user_id"].as_i64(), msg["room_id"].as_i64()),
            (Some(a), Some(room_id))
        );
        assert_eq!(
            (msg["is_deleted"].as_bool(), msg["is_edited"].as_bool()),
            (Some(false), Some(false))
        );
    }

    let (status, page) = api
        .get(
            &format!("/api/messages/{room_id}?limit=50&skip=0"),
            &token_a,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total_count"], 5);
    assert_eq!(page["has_more"], false);
    let contents: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        ["hello 1", "hello 2", "hello 3", "hello 4", "hello 5"],
        "oldest first"
    );

    // B has 5 unread, reads them, has 0.
    let (_, unread) = api
        .get(
            &format!("/api/messages/room/{room_id}/unread-count"),
            &token_b,
        )
        .await;
    assert_eq!(unread["unread_count"], 5);
    let ids: Vec<Value> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    let (status, read) = api
        .post(
            "/api/messages/read",
            Some(&token_b),
            json!({"room_id": room_id, "message_ids": ids}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["read_count"], 5);
    let (_, unread) = api
        .get(
            &format!("/api/messages/room/{room_id}/unread-count"),
            &token_b,
        )
        .await;
    assert_eq!(unread["unread_count"], 0);
}

#[tokio::test]
async fn seed_benchmark_journey_on_sqlite() {
    let app = Banter::start(&[], &[]).await;
    seed_benchmark(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn seed_benchmark_journey_on_postgres() {
    let admin_url = std::env::var("BANTER_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("banter_platform_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let app = Banter::start(&["--database-url", &url], &[]).await;
    seed_benchmark(&app).await;
    app.stop().await;
    // Each service kept its tables in its own schema.
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT schema_name::text FROM information_schema.schemata WHERE schema_name IN ('users','friends','chat','notifications','posts') ORDER BY 1",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        schemas,
        ["chat", "friends", "notifications", "posts", "users"]
    );
    db.close().await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn events_reach_other_services_and_their_streams() {
    let app = Banter::start(&[], &[]).await;
    let api = Api::new(&app);
    let a = api.register("flow_a").await;
    let b = api.register("flow_b").await;
    let token_a = api.login("flow_a").await;
    let token_b = api.login("flow_b").await;

    // A friend request appears on B's notification stream.
    let mut notifications = api
        .stream("/api/notifications/stream", &token_b, None)
        .await;
    let (status, _) = api.request_friend(&token_a, b).await;
    assert_eq!(status, StatusCode::CREATED);
    let ev = notifications
        .next(Duration::from_secs(10))
        .await
        .expect("a notification for B");
    assert_eq!(ev.event.as_deref(), Some("notification.created"));
    assert!(ev.id.is_some());
    let n: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(n["type"], "friend_request", "{n}");

    // A message sent by A appears on B's room stream with its event id.
    let (_, room) = api
        .get(&format!("/api/chat-rooms/check/{b}"), &token_a)
        .await;
    let room_id = room["id"].as_i64().unwrap();
    let stream_path = format!("/api/messages/stream/{room_id}");
    let mut room_stream = api.stream(&stream_path, &token_b, None).await;
    let send_path = format!("/api/messages/{room_id}");
    let send = |n: i32| {
        api.post(
            &send_path,
            Some(&token_a),
            json!({"content": format!("m{n}"), "message_type": "text"}),
        )
    };
    let (status, first) = send(1).await;
    assert_eq!(status, StatusCode::CREATED);
    let ev = room_stream
        .next(Duration::from_secs(10))
        .await
        .expect("B sees A's message live");
    assert_eq!(ev.event.as_deref(), Some("message.created"));
    let seen: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(seen["id"], first["id"]);
    let first_id = ev.id.expect("event id");

    // B disconnects, A sends three more; B reconnects from the last id it saw
    // and gets exactly the three, in order.
    drop(room_stream);
    for n in 2..=4 {
        assert_eq!(send(n).await.0, StatusCode::CREATED);
    }
    let mut resumed = api.stream(&stream_path, &token_b, Some(&first_id)).await;
    let mut got = Vec::new();
    while let Some(ev) = resumed.next(Duration::from_millis(1500)).await {
        let m: Value = serde_json::from_str(&ev.data).unwrap();
        got.push(m["content"].as_str().unwrap().to_owned());
    }
    assert_eq!(got, ["m2", "m3", "m4"], "exactly the missed events");

    // B streamed the room when m1 arrived, but not m2-m4: notifications for those.
    let mut kinds = Vec::new();
    for _ in 0..30 {
        let (_, list) = api.get("/api/notifications?limit=50", &token_b).await;
        kinds = list["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap().to_owned())
            .collect();
        if kinds.iter().filter(|k| *k == "message").count() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        kinds.iter().filter(|k| *k == "message").count(),
        3,
        "{kinds:?}"
    );

    // A revoked token is refused by every service, not only users.
    assert_eq!(
        api.post("/api/auth/logout", Some(&token_a), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    for path in [
        "/api/profile/me",
        "/api/friends/list",
        "/api/chat-rooms",
        "/api/notifications",
        "/api/timeline/home",
    ] {
        let (status, body) = api.get(path, &token_a).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_eq!(body["code"], "TOKEN_REVOKED", "{path}");
    }
    let _ = a;
    app.stop().await;
}

#[tokio::test]
async fn an_event_committed_before_a_crash_is_delivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    // A normal run: A and B register, so every service knows them.
    let app = Banter::start_in(dir.path(), &[], &[]).await;
    let api = Api::new(&app);
    let a = api.register("crash_a").await;
    let b = api.register("crash_b").await;
    let token_a = api.login("crash_a").await;
    let token_b = api.login("crash_b").await;
    let (status, _) = api.request_friend(&token_a, b).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "users reached the friends service"
    );
    let (status, _) = api
        .call(
            reqwest::Method::DELETE,
            &format!("/api/friends/request/{b}"),
            Some(&token_a),
            None,
        )
        .await;
    assert!(status.is_success());
    drop(api);
    app.stop().await;

    // The relay publishes nothing in this run: B's request is committed, its
    // event waits in the outbox, and the process dies.
    let app = Banter::start_in(dir.path(), &[], &[("BANTER_OUTBOX_RELAY", "paused")]).await;
    let api = Api::new(&app);
    let (status, _) = api.request_friend(&token_b, a).await;
    assert_eq!(status, StatusCode::CREATED, "B's request is committed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, list) = api.get("/api/notifications", &token_a).await;
    let requests = |list: &Value| {
        list["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] == "friend_request")
            .count()
    };
    assert_eq!(
        requests(&list),
        0,
        "not delivered while the relay is paused: {list}"
    );
    drop(api);
    app.crash();

    // Restarted normally on the same data: the outbox delivers it, once.
    let app = Banter::start_in(dir.path(), &[], &[]).await;
    let api = Api::new(&app);
    let mut delivered = 0;
    for _ in 0..100 {
        let (_, list) = api.get("/api/notifications", &token_a).await;
        delivered = requests(&list);
        if delivered > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        delivered, 1,
        "the request committed before the crash reached A's notifications"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, list) = api.get("/api/notifications", &token_a).await;
    assert_eq!(requests(&list), 1, "and only once");
    drop(api);
    app.stop().await;
}

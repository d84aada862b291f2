//! `kit::server::run` over raw TCP, as slow, stalled or broken clients talk
//! to it: headers and bodies have bounded read times, an oversized
//! `Content-Length` is refused before the body is read, and a request line
//! hyper cannot parse still gets a JSON `{detail, code}` error.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::routing::{get, post};
use kit::config::ConnectionLimits;
use kit::extract::Json;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short bounds, so the tests see them act.
const LIMITS: ConnectionLimits = ConnectionLimits {
    header_read_timeout_secs: 1,
    body_read_timeout_secs: 1,
};

/// What a bound may be overshot by on a busy machine.
const SLACK: Duration = Duration::from_millis(1500);

async fn echo(Json(v): Json<Value>) -> Json<Value> {
    Json(v)
}

async fn peer(ConnectInfo(addr): ConnectInfo<SocketAddr>) -> String {
    addr.ip().to_string()
}

/// A response that takes its time: a tick every 200 ms, 20 of them.
async fn ticks() -> axum::body::Body {
    let ticks = futures::stream::unfold(0, |n| async move {
        if n == 20 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        Some((Ok::<_, std::io::Error>(format!("tick {n}\n")), n + 1))
    });
    axum::body::Body::from_stream(ticks)
}

/// A server with a JSON route (the default 2 MB limit), one taking up to
/// 6 MB (like the image upload), and one telling the peer's address.
async fn serve() -> SocketAddr {
    let router = Router::new()
        .route("/echo", post(echo))
        .route(
            "/upload",
            post(echo).layer(DefaultBodyLimit::max(6 * 1024 * 1024)),
        )
        .route("/peer", get(peer))
        .route("/ticks", get(ticks));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        kit::server::run(
            listener,
            router,
            std::future::pending(),
            Duration::from_secs(1),
            &LIMITS,
        )
        .await
        .unwrap();
    });
    addr
}

/// Reads until the server closes the connection or `wait` passes: (what
/// was read, whether the connection was closed).
async fn read_until_closed(conn: &mut TcpStream, wait: Duration) -> (String, bool) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

/// Reads one response (head and a `content-length` body) within `wait`.
async fn read_response(conn: &mut TcpStream, wait: Duration) -> (u16, Value) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= len {
                let status = head[9..12].parse().unwrap();
                let json = serde_json::from_str(&body[..len]).unwrap_or(Value::Null);
                return (status, json);
            }
        }
        match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            other => panic!(
                "no complete response within {wait:?} ({other:?}); got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
}

fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn requests_are_served_with_keep_alive_and_the_peer_address() {
    let addr = serve().await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    for _ in 0..2 {
        conn.write_all(
            b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}",
        )
        .await
        .unwrap();
        let (status, body) = read_response(&mut conn, Duration::from_secs(5)).await;
        assert_eq!((status, body), (200, serde_json::json!({"a": 1})));
    }
    let res = reqwest::get(format!("http://{addr}/peer")).await.unwrap();
    assert_eq!(res.text().await.unwrap(), "127.0.0.1");
}

/// The read limits bound what the client sends, not how long a response
/// (a stream) may take.
#[tokio::test]
async fn a_long_response_outlives_the_read_limits() {
    let addr = serve().await;
    let mut res = reqwest::get(format!("http://{addr}/ticks")).await.unwrap();
    let start = Instant::now();
    let mut text = String::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.ends_with("tick 19\n"), "{text}");
    assert!(start.elapsed() > LIMITS.header_read_timeout() + LIMITS.body_read_timeout());
}

#[tokio::test]
async fn an_oversized_content_length_is_refused_before_the_body() {
    let addr = serve().await;
    for (path, announced) in [
        ("/echo", 10_000_000_000_u64),
        ("/echo", 3_000_000),
        ("/upload", 7_000_000),
    ] {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let start = Instant::now();
        conn.write_all(
            format!(
                "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {announced}\r\n\r\n{{\"a\":"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        // Well before the body read timeout would answer.
        let (status, body) = read_response(&mut conn, Duration::from_millis(800)).await;
        assert_error(status, &body, 413, "PAYLOAD_TOO_LARGE");
        assert!(start.elapsed() < Duration::from_millis(800));
    }
}

#[tokio::test]
async fn a_slow_body_is_answered_408_and_closed_within_the_bound() {
    let addr = serve().await;
    // Within the route's limit (6 MB), so only time can stop it.
    for (path, announced) in [("/echo", 100), ("/upload", 3_000_000)] {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let start = Instant::now();
        conn.write_all(
            format!(
                "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {announced}\r\n\r\n{{\"a\":"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let bound = LIMITS.body_read_timeout() + SLACK;
        let (status, body) = read_response(&mut conn, bound).await;
        assert_error(status, &body, 408, "REQUEST_TIMEOUT");
        assert!(start.elapsed() >= LIMITS.body_read_timeout());
        let (_, closed) = read_until_closed(&mut conn, SLACK).await;
        assert!(closed, "the connection is closed after the 408");
    }
}

#[tokio::test]
async fn headers_sent_a_byte_at_a_time_are_cut_off() {
    let addr = serve().await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    let request = b"GET /peer HTTP/1.1\r\nhost: x\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut_off = false;
    for byte in request {
        if conn.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        let (_, closed) = read_until_closed(&mut conn, Duration::from_millis(100)).await;
        if closed {
            cut_off = true;
            break;
        }
    }
    assert!(
        cut_off,
        "the whole request went through in {:?}",
        start.elapsed()
    );
    let took = start.elapsed();
    assert!(
        took >= LIMITS.header_read_timeout() && took < LIMITS.header_read_timeout() + SLACK,
        "closed after {took:?}"
    );
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let addr = serve().await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let (_, closed) = read_until_closed(&mut conn, LIMITS.header_read_timeout() + SLACK).await;
    assert!(closed);
}

#[tokio::test]
async fn a_request_line_that_is_not_utf8_gets_a_json_400() {
    let addr = serve().await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /peer\xff\xfe/x HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (status, body) = read_response(&mut conn, Duration::from_secs(5)).await;
    assert_error(status, &body, 400, "BAD_REQUEST");

    // A header that is not HTTP either.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /peer HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n")
        .await
        .unwrap();
    let (status, body) = read_response(&mut conn, Duration::from_secs(5)).await;
    assert_error(status, &body, 400, "BAD_REQUEST");
}

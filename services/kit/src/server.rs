//! Binding and serving with graceful shutdown: stop accepting on SIGINT or
//! SIGTERM, drain in-flight requests for a bounded time, then return.
//!
//! Connections are served by hyper's HTTP/1 server directly rather than
//! `axum::serve`, which exposes none of hyper's read limits: a client gets
//! [`ConnectionLimits`]' time to send its headers and then its body (see
//! [`DeadlineBody`]), and a request hyper cannot parse (bytes that are not
//! HTTP in the request line or headers) is answered with `{detail, code}`
//! like every other error rather than hyper's empty 400 (see
//! [`ParseErrorsAsJson`]).

use crate::config::ConnectionLimits;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "port {port} on {ip} is already in use; stop the other process or choose another with --port"
    )]
    InUse { ip: std::net::IpAddr, port: u16 },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            ServeError::InUse {
                ip: addr.ip(),
                port: addr.port(),
            }
        } else {
            ServeError::Bind { addr, source }
        }
    })
}

/// Serves `router` until `shutdown` resolves, then drains connections for at
/// most `drain` before giving up on the stragglers (e.g. long-lived streams).
/// Handlers can extract the peer as `ConnectInfo<SocketAddr>`.
pub async fn run(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
    limits: &ConnectionLimits,
) -> Result<(), ServeError> {
    let limits = *limits;
    let (closing, closing_rx) = watch::channel(false);
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let conn = serve_connection(stream, peer, router.clone(), limits, closing_rx.clone());
                    connections.spawn(conn);
                }
                // The peer left before we accepted: nothing to do.
                Err(err) if is_connection_error(&err) => {}
                // Out of file descriptors and the like: accepting again at
                // once would spin.
                Err(err) => {
                    tracing::error!(error = %err, "accepting a connection failed; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
        }
    }
    tracing::info!("shutting down: no new connections, draining in-flight requests");
    drop(listener);
    let _ = closing.send(true);
    connections.close();
    if tokio::time::timeout(drain, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            drain_secs = drain.as_secs(),
            "drain deadline reached; closing remaining connections"
        );
    }
    Ok(())
}

fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One connection: HTTP/1.1 with keep-alive, the header read timeout, each
/// request's body behind its deadline, and the peer address for handlers.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut closing: watch::Receiver<bool>,
) {
    let body_timeout = limits.body_read_timeout();
    let service = router.map_request(move |req: Request<Incoming>| {
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(ConnectInfo(peer));
        Request::from_parts(parts, Body::new(DeadlineBody::new(body, body_timeout)))
    });
    let io = TokioIo::new(ParseErrorsAsJson::new(stream));
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout())
        .serve_connection(io, TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(err) = done {
                    // Timeouts, resets and malformed requests: the client's doing.
                    tracing::debug!(%peer, error = %err, "connection ended with an error");
                }
                return;
            }
            changed = closing.wait_for(|stop| *stop), if !draining => {
                draining = true;
                if changed.is_ok() {
                    // Finish the request in flight, then close.
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// The request body did not arrive within the body read timeout.
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body did not arrive within {} s; send it faster or in smaller requests",
    .0.as_secs()
)]
pub struct BodyTimeout(pub Duration);

/// A request body that fails with [`BodyTimeout`] once `limit` has passed
/// since the request's headers arrived, however slowly the bytes trickle in.
/// The clock is armed by the first read that has to wait, so bodies that are
/// never read, or arrive at once, cost no timer.
pub struct DeadlineBody<B> {
    inner: B,
    started: Instant,
    limit: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<B> DeadlineBody<B> {
    pub fn new(inner: B, limit: Duration) -> Self {
        Self {
            inner,
            started: Instant::now(),
            limit,
            deadline: None,
        }
    }
}

impl<B> http_body::Body for DeadlineBody<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let (started, limit) = (this.started, this.limit);
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(started + limit)));
        ready!(deadline.as_mut().poll(cx));
        Poll::Ready(Some(Err(Box::new(BodyTimeout(limit)))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's socket, rewriting the one response hyper writes by
/// itself: when the request line or headers cannot be parsed (bytes that
/// are not UTF-8 in the path, a malformed header, too long a URI or header
/// section), hyper answers 400, 414 or 431 with an empty body and closes the
/// connection before any handler or middleware sees a request. That response
/// gets the JSON `{detail, code}` body of every other error here. A response
/// of the application always has a body when it is an error, so a head with
/// `content-length: 0` and one of these statuses can only be hyper's.
pub struct ParseErrorsAsJson<T> {
    inner: T,
    /// The replacement being written, how much of it is written, and how
    /// many bytes of hyper's response it stands for.
    rewriting: Option<(Vec<u8>, usize, usize)>,
}

impl<T> ParseErrorsAsJson<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            rewriting: None,
        }
    }
}

/// The JSON response standing for hyper's automatic error response `head`,
/// if `head` is one.
fn parse_error_response(head: &[u8]) -> Option<Vec<u8>> {
    const EMPTY: &[u8] = b"\r\ncontent-length: 0\r\n";
    let (code, detail) = match head.get(..13)? {
        b"HTTP/1.1 400 " => (
            "BAD_REQUEST",
            "malformed HTTP request: the request line and headers must be valid HTTP/1.1 (percent-encode non-ASCII characters in the path)",
        ),
        b"HTTP/1.1 414 " => ("URI_TOO_LONG", "the request URI is too long"),
        b"HTTP/1.1 431 " => ("HEADERS_TOO_LARGE", "the request headers are too large"),
        _ => return None,
    };
    if !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let at = head.windows(EMPTY.len()).position(|w| w == EMPTY)?;
    let body = serde_json::json!({ "detail": detail, "code": code }).to_string();
    let mut out = Vec::with_capacity(head.len() + body.len() + 64);
    out.extend_from_slice(&head[..at]);
    out.extend_from_slice(b"\r\ncontent-type: application/json\r\nconnection: close");
    out.extend_from_slice(format!("\r\ncontent-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(&head[at + EMPTY.len()..]);
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

impl<T: AsyncWrite + Unpin> ParseErrorsAsJson<T> {
    /// Writes the pending replacement out; resolves to the length of the
    /// response it replaces.
    fn poll_rewrite(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        loop {
            let Some((out, written, stands_for)) = self.rewriting.as_mut() else {
                return Poll::Ready(Ok(0));
            };
            if *written == out.len() {
                let n = *stands_for;
                self.rewriting = None;
                return Poll::Ready(Ok(n));
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &out[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
    }

    fn start_rewrite(&mut self, buf: &[u8]) -> bool {
        if self.rewriting.is_none()
            && let Some(out) = parse_error_response(buf)
        {
            self.rewriting = Some((out, 0, buf.len()));
            return true;
        }
        self.rewriting.is_some()
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ParseErrorsAsJson<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ParseErrorsAsJson<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.start_rewrite(buf) {
            return this.poll_rewrite(cx);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // hyper's error response is a head alone: one buffer.
        let first = bufs.iter().find(|b| !b.is_empty());
        if let Some(head) = first
            && this.start_rewrite(head)
        {
            return this.poll_rewrite(cx);
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hypers_empty_error_heads_get_json_bodies() {
        let head = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 08:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(parse_error_response(head).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("\r\ncontent-type: application/json\r\n"));
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
        assert!(head.contains("\r\ndate: Mon"));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["code"], "BAD_REQUEST");
        // Responses with a body, other statuses, or a body after the head are the application's.
        for other in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
        ] {
            assert!(parse_error_response(other).is_none());
        }
    }
}

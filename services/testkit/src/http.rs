//! Talking to a served app over real HTTP, and checking its error bodies.

use crate::openapi::{Exchange, Recorder};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;

/// An HTTP client bound to one served app; `token`s go as bearer auth. With
/// a recorder, every exchange through it is kept for the OpenAPI check
/// (`crate::openapi`).
#[derive(Clone)]
pub struct ApiClient {
    pub addr: SocketAddr,
    pub client: Client,
    pub recorder: Option<Arc<Recorder>>,
}

impl ApiClient {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            client: Client::new(),
            recorder: None,
        }
    }

    /// The same client, recording into `recorder`.
    pub fn recording(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Sends a request built on [`ApiClient::client`] (a form, a multipart
    /// upload, custom headers), recording it like the verbs below.
    pub async fn execute(&self, req: RequestBuilder) -> Response {
        let request = req.build().unwrap();
        let (method, path) = (request.method().clone(), request.url().path().to_owned());
        let res = self.client.execute(request).await.unwrap();
        self.observe(method, path, res).await
    }

    /// Records the exchange when recording: JSON bodies are read and the
    /// response rebuilt around them; streams pass through unread.
    async fn observe(&self, method: Method, path: String, res: Response) -> Response {
        let Some(recorder) = &self.recorder else {
            return res;
        };
        let status = res.status();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if content_type.starts_with("text/event-stream") {
            recorder.record(Exchange {
                method,
                path,
                status: status.as_u16(),
                body: None,
            });
            return res;
        }
        let version = res.version();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap();
        let body = content_type
            .starts_with("application/json")
            .then(|| serde_json::from_slice::<Value>(&bytes).ok())
            .flatten();
        recorder.record(Exchange {
            method,
            path,
            status: status.as_u16(),
            body,
        });
        let mut rebuilt = axum::http::Response::new(bytes);
        *rebuilt.status_mut() = status;
        *rebuilt.version_mut() = version;
        *rebuilt.headers_mut() = headers;
        Response::from(rebuilt)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send(Method::GET, path, None, token).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.send(Method::DELETE, path, None, token).await
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.send(Method::POST, path, Some(body), token).await
    }

    pub async fn put_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.send(Method::PUT, path, Some(body), token).await
    }

    pub async fn send(
        &self,
        method: Method,
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
        self.execute(req).await
    }

    /// Sends a raw body with a content type, for malformed-input tests.
    pub async fn raw(
        &self,
        method: Method,
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
        self.execute(req).await
    }

    /// GET expecting 200; the JSON body.
    pub async fn json(&self, path: &str, token: &str) -> Value {
        let res = self.get(path, Some(token)).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }
}

/// Sends a request whose body the server refuses as too large. The server
/// answers 413 without reading the rest of the body and closes the
/// connection, so the client may see a broken pipe while still writing; such
/// attempts are retried on a fresh connection until a response arrives.
pub async fn send_oversized(make: impl Fn(&Client) -> RequestBuilder) -> Response {
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

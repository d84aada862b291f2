//! Serving a router on a random local port, the way `banter serve` serves it
//! (with the peer address available to handlers).

use crate::ApiClient;
use crate::openapi::Recorder;
use axum::Router;
use kit::context::Context;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// Serves `router` on 127.0.0.1 at a free port until the test's runtime ends.
pub async fn serve(router: Router) -> SocketAddr {
    serve_until(router, std::future::pending()).await
}

/// Like [`serve`], shutting down gracefully once `signal` completes.
pub async fn serve_until(
    router: Router,
    signal: impl Future<Output = ()> + Send + 'static,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .await
        .unwrap();
    });
    addr
}

/// The app under test, served: a client for it and the runtime context its
/// services share. Dropping it signals shutdown to the server, relays and
/// consumers, and — when its answers are checked against its OpenAPI
/// document ([`ServedApp::start_checked`]) — fails the test if one disagrees.
/// Derefs to the client (`app.get(..)`, `app.url(..)`).
pub struct ServedApp {
    pub http: ApiClient,
    pub ctx: Context,
}

impl ServedApp {
    /// Serves `router` until `ctx` shuts down.
    pub async fn start(router: Router, ctx: Context) -> Self {
        let shutdown = ctx.shutdown.clone();
        let addr = serve_until(router, async move { shutdown.cancelled().await }).await;
        Self {
            http: ApiClient::new(addr),
            ctx,
        }
    }

    /// Like [`ServedApp::start`], with a client that records every exchange
    /// to check it against the app's `/openapi.json` when the app is dropped.
    pub async fn start_checked(router: Router, ctx: Context) -> Self {
        let mut app = Self::start(router, ctx).await;
        let recorder = Arc::new(Recorder::default());
        let document = reqwest::get(app.http.url("/openapi.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        recorder.set_document(document);
        app.http.recorder = Some(recorder);
        app
    }
}

impl std::ops::Deref for ServedApp {
    type Target = ApiClient;

    fn deref(&self) -> &ApiClient {
        &self.http
    }
}

impl Drop for ServedApp {
    fn drop(&mut self) {
        self.ctx.shutdown.cancel();
        if let Some(recorder) = &self.http.recorder
            && !std::thread::panicking()
        {
            recorder.assert_documented();
        }
    }
}

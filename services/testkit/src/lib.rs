//! What the services' integration tests share, so each crate's
//! `tests/common` only composes its own `TestApp`: any set of modules started
//! the way `banter serve` starts them ([`AppBuilder`]), a throw-away database per
//! service on either backend ([`TestDb`]), the app served on a random port
//! ([`serve`]), an HTTP client with the verbs and the users API the tests
//! speak ([`ApiClient`]), an SSE reader ([`SseReader`]), polling and bus
//! helpers, and [`on_both_backends!`]; for the wire contract, pinned body
//! shapes ([`assert_shape`]) and every answer checked against the app's
//! `/openapi.json` ([`openapi`], [`AppBuilder::check_openapi`]). Used only as
//! a dev-dependency: it asserts and panics, as test code does.
#![allow(clippy::unwrap_used)]

mod accounts;
mod app;
mod bus;
mod db;
mod http;
pub mod kafka;
pub mod openapi;
mod serve;
mod shape;
mod sse;
mod wait;

pub use accounts::PASSWORD;
pub use app::{AppBuilder, Assembled, SpawnedApp};
pub use bus::next_of_kind;
pub use db::{Backend, TestDb, pg_admin_url};
pub use http::{ApiClient, expect_error, send_oversized};
pub use serve::{ServedApp, serve, serve_until};
pub use shape::assert_shape;
pub use sse::{SseEvent, SseReader};
pub use wait::{PATIENCE, eventually};

/// Instantiates each listed `async fn(&TestApp)` once per storage backend.
/// `TestApp` is whatever the invoking module has in scope under that name,
/// with an `async fn spawn(Backend) -> Self`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = super::TestApp::spawn($crate::Backend::Sqlite).await;
                    super::$name(&app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = super::TestApp::spawn($crate::Backend::Postgres).await;
                    super::$name(&app).await;
                }
            )*
        }
    };
}

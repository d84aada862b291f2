//! `TestApp`: the users service composed exactly as `banter serve` composes
//! it, on a random port, over a fresh SQLite file or a throw-away PostgreSQL
//! database. The shared pieces come from `testkit`.
#![allow(dead_code, clippy::unwrap_used)]

use kit::context::Context;
use std::sync::Arc;
use testkit::{AppBuilder, ServedApp, SpawnedApp, TestDb};
use users::Users;

// Each test binary uses its own subset.
#[allow(unused_imports)]
pub use testkit::{Backend, PASSWORD, SseReader, expect_error, on_both_backends, send_oversized};

pub struct TestApp {
    /// Comes first: dropping it signals shutdown before the databases go.
    pub served: SpawnedApp,
    pub users: Arc<Users>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(
            Arc::new(TestDb::create(backend, "users").await),
            Context::embedded(),
            Self::config(),
        )
        .await
    }

    /// The test configuration: fast hashing, a 1 s presence TTL.
    pub fn config() -> users::Config {
        users::Config {
            hash_concurrency: 2,
            presence_ttl_secs: 1,
            ..Default::default()
        }
    }

    /// One instance of the users service on `db` with `ctx` (e.g. on Redis).
    /// Instances sharing `db` and a Redis behave like separate processes.
    pub async fn spawn_with(db: Arc<TestDb>, ctx: Context, config: users::Config) -> Self {
        // The backend is `db`'s; the builder creates no database of its own.
        let served = AppBuilder::new(Backend::Sqlite)
            .context(ctx)
            .module_on::<Users>(db, config)
            .titled::<Users>()
            .check_openapi()
            .serve()
            .await;
        Self {
            users: served.module(),
            served,
        }
    }

    /// Registers `name` (email `<name>@example.com`) and logs in: (id, token).
    pub async fn user(&self, name: &str) -> (i64, String) {
        self.http.register_and_login(name, None).await
    }
}

/// The served app: `app.get(..)`, `app.url(..)`, `app.client`, `app.ctx`.
impl std::ops::Deref for TestApp {
    type Target = ServedApp;

    fn deref(&self) -> &ServedApp {
        &self.served
    }
}

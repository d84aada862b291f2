//! A database that lives as long as one test: a SQLite file in a temporary
//! directory, or a PostgreSQL database created for the test and dropped
//! after it.

use kit::db::Database;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Admin connection used to create and drop throw-away databases.
pub fn pg_admin_url() -> String {
    std::env::var("BANTER_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// One service's throw-away database; removed on drop.
pub struct TestDb {
    place: Place,
}

enum Place {
    Sqlite {
        path: PathBuf,
        _dir: tempfile::TempDir,
    },
    Postgres {
        url: String,
        name: String,
    },
}

impl TestDb {
    /// A fresh, empty database for `service` (the name shows in file and
    /// database names).
    pub async fn create(backend: Backend, service: &str) -> Self {
        let place = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                Place::Sqlite {
                    path: dir.path().join(format!("{service}.db")),
                    _dir: dir,
                }
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
                Place::Postgres {
                    url: url.into(),
                    name,
                }
            }
        };
        Self { place }
    }

    /// A pool of at most `max_connections` on this database.
    pub async fn connect(&self, max_connections: u32) -> Database {
        match &self.place {
            Place::Sqlite { path, .. } => Database::connect_sqlite(path, max_connections)
                .await
                .unwrap(),
            Place::Postgres { url, .. } => Database::connect_postgres(url, max_connections)
                .await
                .unwrap(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Place::Postgres { name, .. } = &self.place else {
            return;
        };
        let name = name.clone();
        // Drop the throw-away database from a fresh runtime: Drop is sync,
        // and FORCE ends the connections the app's pools still hold.
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

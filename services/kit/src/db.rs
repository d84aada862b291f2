//! Database connections for the two storage adapters (embedded SQLite and
//! PostgreSQL), with pool metrics every adapter reports the same way.

use crate::config::StorageConfig;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// A connected database, chosen by configuration at startup.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open database {target}: {source}")]
    Open { target: String, source: sqlx::Error },
}

impl Database {
    /// Connects the database of one service: `<data_dir>/<service>.db` on
    /// SQLite, or the configured PostgreSQL URL.
    pub async fn connect(config: &StorageConfig, service: &str) -> Result<Self, ConnectError> {
        match &config.database_url {
            Some(url) => {
                Self::connect_postgres_schema(url, config.db_max_connections, service).await
            }
            None => {
                std::fs::create_dir_all(&config.data_dir).map_err(|source| {
                    ConnectError::DataDir {
                        path: config.data_dir.display().to_string(),
                        source,
                    }
                })?;
                let path = config.data_dir.join(format!("{service}.db"));
                Self::connect_sqlite(&path, config.db_max_connections).await
            }
        }
    }

    pub async fn connect_sqlite(path: &std::path::Path, max: u32) -> Result<Self, ConnectError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| ConnectError::Open {
                target: path.display().to_string(),
                source,
            })?;
        Ok(Self::Sqlite(pool))
    }

    /// Connects with every table of the service in its own schema, so several
    /// services can share one PostgreSQL database without colliding.
    pub async fn connect_postgres_schema(
        url: &str,
        max: u32,
        schema: &str,
    ) -> Result<Self, ConnectError> {
        use sqlx::Connection;
        let redacted = redact_url(url);
        let open = |source| ConnectError::Open {
            target: redacted.clone(),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(open)?;
        let mut conn = sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(open)?;
        let ident = schema.replace('"', "");
        // Two instances starting together both try to create it; the loser's
        // unique violation means it exists, which is all that is wanted.
        let created = sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{ident}\""))
            .execute(&mut conn)
            .await;
        if let Err(err) = created {
            let raced = err
                .as_database_error()
                .and_then(|e| e.code())
                .is_some_and(|code| code == "23505" || code == "42P06");
            if !raced {
                return Err(open(err));
            }
        }
        let _ = conn.close().await;
        Self::pool_postgres(
            options.options([("search_path", ident.as_str())]),
            max,
            &redacted,
        )
        .await
    }

    pub async fn connect_postgres(url: &str, max: u32) -> Result<Self, ConnectError> {
        let redacted = redact_url(url);
        let options = PgConnectOptions::from_str(url).map_err(|source| ConnectError::Open {
            target: redacted.clone(),
            source,
        })?;
        Self::pool_postgres(options, max, &redacted).await
    }

    async fn pool_postgres(
        options: PgConnectOptions,
        max: u32,
        redacted: &str,
    ) -> Result<Self, ConnectError> {
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| ConnectError::Open {
                target: redacted.to_owned(),
                source,
            })?;
        Ok(Self::Postgres(pool))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(drop),
            Self::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(drop),
        }
    }

    /// Publishes pool gauges (`db_client_connections_*`) labelled by service.
    pub fn record_pool_metrics(&self, service: &'static str) {
        let (size, idle, max) = match self {
            Self::Sqlite(p) => (
                p.size(),
                p.num_idle() as u32,
                p.options().get_max_connections(),
            ),
            Self::Postgres(p) => (
                p.size(),
                p.num_idle() as u32,
                p.options().get_max_connections(),
            ),
        };
        let labels = [("service", service), ("db_system", self.kind())];
        metrics::gauge!("db_client_connections_usage", &labels)
            .set(f64::from(size.saturating_sub(idle)));
        metrics::gauge!("db_client_connections_idle", &labels).set(f64::from(idle));
        metrics::gauge!("db_client_connections_max", &labels).set(f64::from(max));
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(p) => p.close().await,
            Self::Postgres(p) => p.close().await,
        }
    }
}

/// Times one database operation into `db_client_operation_duration_seconds`
/// inside a child span, so slow queries show in metrics and traces alike.
pub async fn timed<T, F>(service: &'static str, operation: &'static str, fut: F) -> T
where
    F: std::future::Future<Output = T>,
{
    use tracing::Instrument;
    let span = tracing::info_span!(
        "db",
        otel.name = operation,
        otel.kind = "client",
        db.operation = operation
    );
    let start = Instant::now();
    let out = fut.instrument(span).await;
    metrics::histogram!(
        "db_client_operation_duration_seconds",
        "service" => service,
        "db_operation" => operation
    )
    .record(start.elapsed().as_secs_f64());
    out
}

/// Hides the password of a database URL for messages and logs.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<invalid url>".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
    }
}

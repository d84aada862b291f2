//! The database of one service, on either storage adapter (embedded SQLite or
//! PostgreSQL): connecting, migrations, the unit of work ([`Tx`]), queries
//! written once for both ([`query`], [`query_as`], [`query_scalar`]), and pool
//! metrics every adapter reports the same way. This module is the only place
//! that tells the two apart; `text` holds the small helpers for writing SQL
//! and showing URLs that do not touch a connection.

mod query;
mod text;

pub use query::{
    On, Param, Query, QueryAs, QueryScalar, Row, Value, query, query_as, query_scalar,
};
pub use text::{contains_pattern, is_unique_violation, placeholders, redact_url};

use crate::config::StorageConfig;
use crate::events::{Event, RelayHandle};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// The migrations of the invoking crate: `migrations/sqlite` and
/// `migrations/postgres` beside its `Cargo.toml` (the crate needs `sqlx`).
#[macro_export]
macro_rules! migrations {
    () => {
        $crate::db::Migrations {
            sqlite: sqlx::migrate!("migrations/sqlite"),
            postgres: sqlx::migrate!("migrations/postgres"),
        }
    };
}

/// A connected database, chosen by configuration at startup. Cloning is
/// cheap (the pool is shared).
#[derive(Clone, Debug)]
pub struct Database {
    pool: Pool,
    /// The service's outbox relay, woken when a unit of work that wrote
    /// events commits.
    outbox: Option<RelayHandle>,
    /// The process's faults and the service this database belongs to
    /// (`db-latency` delays its calls).
    faults: Option<(crate::faults::Faults, &'static str)>,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A service's migrations, one set per database where the DDL differs
/// (`sqlx::migrate!("migrations/sqlite")`, `..("migrations/postgres")`).
pub struct Migrations {
    pub sqlite: sqlx::migrate::Migrator,
    pub postgres: sqlx::migrate::Migrator,
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
                let max = config
                    .db_max_connections
                    .unwrap_or(crate::config::POSTGRES_MAX_CONNECTIONS);
                Self::connect_postgres_schema(url, max, service).await
            }
            None => {
                std::fs::create_dir_all(&config.data_dir).map_err(|source| {
                    ConnectError::DataDir {
                        path: config.data_dir.display().to_string(),
                        source,
                    }
                })?;
                let path = config.data_dir.join(format!("{service}.db"));
                let max = config
                    .db_max_connections
                    .unwrap_or(crate::config::SQLITE_MAX_CONNECTIONS);
                Self::connect_sqlite(&path, max).await
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
            // Idle connections (and their page caches) go after a burst.
            .idle_timeout(Duration::from_secs(60))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| ConnectError::Open {
                target: path.display().to_string(),
                source,
            })?;
        Ok(Self::from_pool(Pool::Sqlite(pool)))
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
        Ok(Self::from_pool(Pool::Postgres(pool)))
    }

    fn from_pool(pool: Pool) -> Self {
        Self {
            pool,
            outbox: None,
            faults: None,
        }
    }

    /// The same database, whose calls `db-latency` faults on `service` delay.
    pub fn with_faults(mut self, faults: crate::faults::Faults, service: &'static str) -> Self {
        self.faults = Some((faults, service));
        self
    }

    /// Waits out the latency a `db-latency` fault adds to this call, if any.
    async fn injected_latency(faults: Option<&(crate::faults::Faults, &'static str)>) {
        if let Some((faults, service)) = faults
            && let Some(delay) = faults.db_delay(service)
        {
            crate::faults::touched(crate::faults::Kind::DbLatency);
            tokio::time::sleep(delay).await;
        }
    }

    /// The same database, whose units of work wake `relay` when they commit
    /// events.
    pub fn with_outbox(mut self, relay: RelayHandle) -> Self {
        self.outbox = Some(relay);
        self
    }

    pub fn kind(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Whether several processes may share this database, so that rows one of
    /// them works on must be claimed (`FOR UPDATE SKIP LOCKED`) rather than
    /// just read.
    pub fn is_shared(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        query("SELECT 1").execute(self).await.map(drop)
    }

    /// Brings the schema up to date with the migrations of this database.
    /// Several migrators (a service's, the kit's event tables) share
    /// `_sqlx_migrations`, so each ignores the others' versions.
    pub async fn migrate(&self, migrations: Migrations) -> Result<(), sqlx::migrate::MigrateError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut m = migrations.sqlite;
                m.set_ignore_missing(true);
                m.run(pool).await
            }
            Pool::Postgres(pool) => {
                let mut m = migrations.postgres;
                m.set_ignore_missing(true);
                m.run(pool).await
            }
        }
    }

    /// Starts a unit of work. Reads see a consistent snapshot on PostgreSQL;
    /// on SQLite the write lock is taken at the first write.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        let inner = match &self.pool {
            Pool::Sqlite(pool) => TxInner::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(self.tx(inner))
    }

    /// Starts a unit of work that decides from what it reads, so no other
    /// writer of the same `key` may interleave: SQLite takes its one write
    /// lock at once (`BEGIN IMMEDIATE`); PostgreSQL a transaction-scoped
    /// advisory lock on `key`.
    pub async fn begin_exclusive(&self, key: i64) -> Result<Tx, sqlx::Error> {
        let mut tx = match &self.pool {
            Pool::Sqlite(pool) => {
                return Ok(self.tx(TxInner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)));
            }
            Pool::Postgres(pool) => self.tx(TxInner::Postgres(pool.begin().await?)),
        };
        query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut tx)
            .await?;
        Ok(tx)
    }

    fn tx(&self, inner: TxInner) -> Tx {
        Tx {
            inner,
            outbox: self.outbox.clone(),
            enqueued: false,
            faults: self.faults.clone(),
        }
    }

    /// Publishes pool gauges (`db_client_connections_*`) labelled by service.
    pub fn record_pool_metrics(&self, service: &'static str) {
        let (size, idle, max) = match &self.pool {
            Pool::Sqlite(p) => (
                p.size(),
                p.num_idle() as u32,
                p.options().get_max_connections(),
            ),
            Pool::Postgres(p) => (
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
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// A unit of work: one transaction on a service's database holding a use
/// case's row writes and the events they announce ([`Tx::enqueue`]).
/// Committing makes both durable at once and wakes the service's outbox
/// relay; dropping it uncommitted rolls both back.
pub struct Tx {
    inner: TxInner,
    outbox: Option<RelayHandle>,
    enqueued: bool,
    faults: Option<(crate::faults::Faults, &'static str)>,
}

enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// Writes `event` into the outbox; it is published once this unit of
    /// work commits.
    pub async fn enqueue(&mut self, topic: &str, event: &Event) -> Result<(), sqlx::Error> {
        let payload = serde_json::to_string(event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        query(
            "INSERT INTO outbox (event_id, topic, subject, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event.id.clone())
        .bind(topic.to_owned())
        .bind(event.subject.clone())
        .bind(payload)
        .bind(chrono::Utc::now())
        .execute(&mut *self)
        .await?;
        self.enqueued = true;
        Ok(())
    }

    /// Commits, then wakes the outbox relay if events were written.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        if self.enqueued
            && let Some(relay) = &self.outbox
        {
            relay.wake();
        }
        Ok(())
    }

    /// Ends the unit of work without writing anything (its events included).
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.rollback().await,
            TxInner::Postgres(tx) => tx.rollback().await,
        }
    }

    fn conn(&mut self) -> query::Conn<'_> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => query::Conn::Sqlite(tx),
            TxInner::Postgres(tx) => query::Conn::Postgres(tx),
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
    if !crate::telemetry::enabled() {
        return fut.await;
    }
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

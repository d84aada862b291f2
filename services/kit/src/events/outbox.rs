//! The transactional outbox: services write events into their own database in
//! the transaction of the state change ([`Enqueue`]); the [`Relay`] publishes
//! them to the bus and marks them published. A crash between commit and
//! publish loses nothing: the relay finds the row on the next start.

use super::{Bus, Event};
use crate::db::Database;
use chrono::Utc;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Writes an event into the outbox, inside the caller's transaction.
pub trait Enqueue {
    fn enqueue(
        &mut self,
        topic: &str,
        event: &Event,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

macro_rules! enqueue_for {
    ($conn:ty) => {
        impl Enqueue for $conn {
            async fn enqueue(&mut self, topic: &str, event: &Event) -> Result<(), sqlx::Error> {
                let payload = serde_json::to_string(event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
                sqlx::query(
                    "INSERT INTO outbox (event_id, topic, subject, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&event.id)
                .bind(topic)
                .bind(&event.subject)
                .bind(payload)
                .bind(Utc::now())
                .execute(&mut *self)
                .await
                .map(drop)
            }
        }
    };
}
enqueue_for!(sqlx::SqliteConnection);
enqueue_for!(sqlx::PgConnection);

/// Wakes the relay right after a commit, so events go out without waiting
/// for the next poll.
#[derive(Clone, Default)]
pub struct RelayHandle {
    wake: Arc<Notify>,
}

impl RelayHandle {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("outbox database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("publishing: {0}")]
    Bus(#[from] super::BusError),
}

/// Publishes a service's outbox.
pub struct Relay {
    db: Database,
    bus: Arc<dyn Bus>,
    service: &'static str,
    handle: RelayHandle,
    paused: bool,
}

const BATCH: i64 = 256;
/// Events published this recently are delivered again after a restart of an
/// in-process deployment.
const REPLAY_WINDOW: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_millis(250);
/// Published rows are kept this long (replay after a crash of the in-process bus).
const KEEP_PUBLISHED: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// Dedupe records are kept this long.
const KEEP_PROCESSED: chrono::TimeDelta = chrono::TimeDelta::hours(24);

type Row = (i64, String, String);

const SELECT_BATCH: &str =
    "SELECT id, topic, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1";
const MARK_PUBLISHED: &str = "UPDATE outbox SET published_at = $1 WHERE id = $2";

macro_rules! housekeeping {
    ($pool:expr) => {{
        let backlog: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one($pool)
                .await?;
        let now = Utc::now();
        sqlx::query("DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1")
            .bind(now - KEEP_PUBLISHED)
            .execute($pool)
            .await?;
        sqlx::query("DELETE FROM processed_events WHERE processed_at < $1")
            .bind(now - KEEP_PROCESSED)
            .execute($pool)
            .await?;
        Ok(backlog)
    }};
}

impl Relay {
    pub fn new(db: Database, bus: Arc<dyn Bus>, service: &'static str) -> Self {
        Self {
            db,
            bus,
            service,
            handle: RelayHandle::default(),
            paused: false,
        }
    }

    /// A relay that publishes nothing (operations and crash tests: events
    /// accumulate in the outbox until a normal relay runs).
    pub fn paused(mut self, paused: bool) -> Self {
        self.paused = paused;
        self
    }

    pub fn handle(&self) -> RelayHandle {
        self.handle.clone()
    }

    /// Publishes one batch of unpublished rows; returns how many.
    pub async fn publish_once(&self) -> Result<usize, RelayError> {
        match &self.db {
            // One writer at a time: no transaction, so the relay never holds
            // SQLite's write lock while it publishes.
            Database::Sqlite(pool) => {
                let rows: Vec<Row> = sqlx::query_as(SELECT_BATCH)
                    .bind(BATCH)
                    .fetch_all(pool)
                    .await?;
                let n = rows.len();
                for (id, topic, payload) in rows {
                    self.publish_row(&topic, &payload).await?;
                    sqlx::query(MARK_PUBLISHED)
                        .bind(Utc::now())
                        .bind(id)
                        .execute(pool)
                        .await?;
                }
                Ok(n)
            }
            // Several instances share the table: each locks the rows it publishes.
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let sql = format!("{SELECT_BATCH} FOR UPDATE SKIP LOCKED");
                let rows: Vec<Row> = sqlx::query_as(&sql).bind(BATCH).fetch_all(&mut *tx).await?;
                let n = rows.len();
                for (id, topic, payload) in rows {
                    self.publish_row(&topic, &payload).await?;
                    sqlx::query(MARK_PUBLISHED)
                        .bind(Utc::now())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(n)
            }
        }
    }

    async fn publish_row(&self, topic: &str, payload: &str) -> Result<(), RelayError> {
        let event: Event = match serde_json::from_str(payload) {
            Ok(e) => e,
            Err(err) => {
                // Unreadable rows are skipped (and kept in the table), never retried forever.
                tracing::error!(topic, error = %err, "outbox row is not an event; skipping");
                return Ok(());
            }
        };
        let span = tracing::info_span!(
            "publish",
            otel.name = format!("{topic} publish"),
            otel.kind = "producer",
            messaging.system = self.bus.name(),
            messaging.destination.name = topic,
            event.kind = %event.kind,
            event.id = %event.id,
        );
        crate::telemetry::traces::continue_from_traceparent(&span, event.traceparent.as_deref());
        self.bus.publish(topic, &event).instrument(span).await?;
        metrics::counter!("messaging_published_total", "service" => self.service, "topic" => topic.to_owned()).increment(1);
        Ok(())
    }

    /// Marks rows published within `window` unpublished again, so events the
    /// in-process bus held in memory when the process died are delivered
    /// again (consumers dedupe them).
    pub async fn replay_recent(&self, window: Duration) -> Result<u64, RelayError> {
        let since = Utc::now() - chrono::TimeDelta::from_std(window).unwrap_or(KEEP_PUBLISHED);
        let sql = "UPDATE outbox SET published_at = NULL WHERE published_at >= $1";
        let done = match &self.db {
            Database::Sqlite(pool) => sqlx::query(sql)
                .bind(since)
                .execute(pool)
                .await?
                .rows_affected(),
            Database::Postgres(pool) => sqlx::query(sql)
                .bind(since)
                .execute(pool)
                .await?
                .rows_affected(),
        };
        Ok(done)
    }

    /// Unpublished rows; also prunes old published rows and dedupe records.
    async fn housekeeping(&self) -> Result<i64, RelayError> {
        match &self.db {
            Database::Sqlite(pool) => housekeeping!(pool),
            Database::Postgres(pool) => housekeeping!(pool),
        }
    }

    /// Runs until the context shuts down, then publishes what is left.
    pub fn spawn(mut self, ctx: &crate::context::Context) {
        self.paused |= ctx.relay_paused;
        let shutdown = ctx.shutdown.clone();
        ctx.tasks.spawn(async move { self.run(shutdown).await });
    }

    async fn run(self, shutdown: CancellationToken) {
        if !self.paused && self.bus.name() == "in-process" {
            // The in-process bus loses what it held when the process died:
            // deliver recent events again; consumers dedupe them.
            match self.replay_recent(REPLAY_WINDOW).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    service = self.service,
                    events = n,
                    "replaying recent events after restart"
                ),
                Err(err) => {
                    tracing::warn!(service = self.service, error = %err, "could not replay recent events")
                }
            }
        }
        let mut failures = 0u32;
        let mut last_housekeeping = Instant::now() - Duration::from_secs(3600);
        loop {
            let mut more = false;
            if !self.paused {
                match self.publish_once().await {
                    Ok(n) => {
                        failures = 0;
                        more = n as i64 == BATCH;
                    }
                    Err(err) => {
                        failures += 1;
                        tracing::warn!(service = self.service, error = %err, failures, "outbox relay failed; will retry");
                    }
                }
            }
            if last_housekeeping.elapsed() > Duration::from_secs(5) || self.paused {
                match self.housekeeping().await {
                    Ok(backlog) => {
                        metrics::gauge!("messaging_outbox_backlog", "service" => self.service)
                            .set(backlog as f64);
                    }
                    Err(err) => {
                        tracing::warn!(service = self.service, error = %err, "outbox housekeeping failed")
                    }
                }
                last_housekeeping = Instant::now();
            }
            if more {
                continue;
            }
            let pause = if failures > 0 {
                POLL * 2u32.pow(failures.min(5))
            } else {
                POLL
            };
            tokio::select! {
                () = self.handle.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
                () = shutdown.cancelled() => break,
            }
        }
        if !self.paused {
            // Flush: whatever committed before shutdown goes out now.
            for _ in 0..10 {
                match self.publish_once().await {
                    Ok(n) if (n as i64) < BATCH => break,
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!(service = self.service, error = %err, "outbox flush on shutdown failed; rows stay for the next start");
                        break;
                    }
                }
            }
        }
    }
}

//! The transactional outbox: services write events into their own database in
//! the transaction of the state change ([`crate::db::Tx::enqueue`]); the [`Relay`] publishes
//! them to the bus and marks them published. A crash between commit and
//! publish loses nothing: the relay finds the row on the next start.

use super::{Bus, Event};
use crate::db::{Database, On, query, query_as, query_scalar};
use chrono::Utc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Wakes the relay right after a commit, so events go out without waiting
/// for the next poll.
#[derive(Clone, Debug, Default)]
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
    /// A `bus-stall` fault on the service holds its events while it is on.
    faults: crate::faults::Faults,
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

impl Relay {
    pub fn new(db: Database, bus: Arc<dyn Bus>, service: &'static str) -> Self {
        Self {
            db,
            bus,
            service,
            handle: RelayHandle::default(),
            paused: false,
            faults: crate::faults::Faults::default(),
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
        if !self.db.is_shared() {
            // One writer at a time: no transaction, so the relay never holds
            // SQLite's write lock while it publishes.
            return self.publish_batch(On::Pool(&self.db), SELECT_BATCH).await;
        }
        // Several instances share the table: each claims the rows it publishes.
        let mut tx = self.db.begin().await?;
        let sql = format!("{SELECT_BATCH} FOR UPDATE SKIP LOCKED");
        let n = self.publish_batch(On::Tx(&mut tx), &sql).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn publish_batch(&self, mut on: On<'_>, select: &str) -> Result<usize, RelayError> {
        let rows: Vec<Row> = query_as(select)
            .bind(BATCH)
            .fetch_all(on.reborrow())
            .await?;
        let n = rows.len();
        for (id, topic, payload) in rows {
            self.publish_row(&topic, &payload).await?;
            query(MARK_PUBLISHED)
                .bind(Utc::now())
                .bind(id)
                .execute(on.reborrow())
                .await?;
        }
        Ok(n)
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
        let done = query("UPDATE outbox SET published_at = NULL WHERE published_at >= $1")
            .bind(since)
            .execute(&self.db)
            .await?;
        Ok(done)
    }

    /// Unpublished rows; also prunes old published rows and dedupe records.
    async fn housekeeping(&self) -> Result<i64, RelayError> {
        let backlog: i64 = query_scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&self.db)
            .await?;
        let now = Utc::now();
        query("DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1")
            .bind(now - KEEP_PUBLISHED)
            .execute(&self.db)
            .await?;
        query("DELETE FROM processed_events WHERE processed_at < $1")
            .bind(now - KEEP_PROCESSED)
            .execute(&self.db)
            .await?;
        Ok(backlog)
    }

    /// Runs until the context shuts down, then publishes what is left.
    pub fn spawn(mut self, ctx: &crate::context::Context) {
        self.paused |= ctx.relay_paused;
        self.faults = ctx.faults.clone();
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
            let stalled = self.faults.bus_stalled(self.service);
            if !self.paused && !stalled {
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
            if last_housekeeping.elapsed() > Duration::from_secs(5) || self.paused || stalled {
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

//! Runs a consumer group: each event is deduplicated by id, handled with
//! retries and exponential backoff, dead-lettered to `<topic>.dlq` when it
//! keeps failing, committed after processing, measured and traced (the
//! consumer span continues the producer's trace from the envelope).

use super::{Bus, BusError, Event, StartFrom, dead_letter_topic};
use crate::db::{Database, query, query_scalar};
use async_trait::async_trait;
use chrono::Utc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying (database busy, dependency down).
    #[error("{0}")]
    Transient(String),
    /// Will never succeed (malformed event): dead-lettered at once.
    #[error("{0}")]
    Permanent(String),
}

impl From<sqlx::Error> for HandlerError {
    fn from(err: sqlx::Error) -> Self {
        Self::Transient(err.to_string())
    }
}

#[async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError>;
}

/// Remembers which events a consumer group processed, in the consumer's own
/// database.
#[derive(Clone)]
pub struct Inbox {
    db: Database,
    consumer: String,
}

impl Inbox {
    pub fn new(db: Database, consumer: impl Into<String>) -> Self {
        Self {
            db,
            consumer: consumer.into(),
        }
    }

    pub async fn seen(&self, event_id: &str) -> Result<bool, sqlx::Error> {
        let n: i64 = query_scalar(
            "SELECT COUNT(*) FROM processed_events WHERE consumer = $1 AND event_id = $2",
        )
        .bind(self.consumer.clone())
        .bind(event_id.to_owned())
        .fetch_one(&self.db)
        .await?;
        Ok(n > 0)
    }

    pub async fn mark(&self, event_id: &str) -> Result<(), sqlx::Error> {
        query(
            "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(self.consumer.clone())
        .bind(event_id.to_owned())
        .bind(Utc::now())
        .execute(&self.db)
        .await
        .map(drop)
    }
}

/// What a consumer reads and how it behaves.
pub struct ConsumerSpec {
    pub service: &'static str,
    pub topic: String,
    pub group: String,
    pub from: StartFrom,
    pub inbox: Option<Inbox>,
    pub max_attempts: u32,
    pub backoff: Duration,
}

impl ConsumerSpec {
    /// A durable consumer: starts from the earliest retained event, dedupes
    /// through the service's database.
    pub fn durable(service: &'static str, topic: &str, group: &str, db: Database) -> Self {
        Self {
            service,
            topic: topic.to_owned(),
            group: group.to_owned(),
            from: StartFrom::Earliest,
            inbox: Some(Inbox::new(db, format!("{group}:{topic}"))),
            max_attempts: 5,
            backoff: Duration::from_millis(50),
        }
    }

    /// A live fan-out consumer for this process only (its own group, events
    /// from now on), e.g. feeding SSE connections.
    pub fn live(service: &'static str, topic: &str, purpose: &str) -> Self {
        Self {
            service,
            topic: topic.to_owned(),
            group: format!("{service}-{purpose}-{}", uuid::Uuid::new_v4().simple()),
            from: StartFrom::Latest,
            inbox: None,
            max_attempts: 3,
            backoff: Duration::from_millis(20),
        }
    }

    /// Subscribes now (so nothing published after this call is missed) and
    /// processes in the background until `shutdown`.
    pub async fn spawn(
        self,
        ctx: &crate::context::Context,
        handler: Arc<dyn Handler>,
    ) -> Result<(), BusError> {
        let sub = ctx
            .bus
            .subscribe(&self.topic, &self.group, self.from)
            .await?;
        ctx.tasks.spawn(run(
            self,
            sub,
            ctx.bus.clone(),
            handler,
            ctx.shutdown.clone(),
            ctx.faults.clone(),
        ));
        Ok(())
    }
}

async fn run(
    spec: ConsumerSpec,
    mut sub: Box<dyn super::Subscription>,
    bus: Arc<dyn Bus>,
    handler: Arc<dyn Handler>,
    shutdown: CancellationToken,
    faults: crate::faults::Faults,
) {
    // Live groups get a random suffix; metrics label the stable part.
    let group_label = if spec.inbox.is_some() {
        spec.group.clone()
    } else {
        spec.group
            .rsplit_once('-')
            .map_or(spec.group.clone(), |(stem, _)| stem.to_owned())
    };
    let labels = [("topic", spec.topic.clone()), ("group", group_label)];
    let report_lag = || {
        if let Some(lag) = bus.lag(&spec.topic, &spec.group) {
            metrics::gauge!("messaging_consumer_lag", &labels).set(lag as f64);
        }
    };
    // Lag also grows while nothing arrives here (another instance is slow,
    // or this one is stuck): report it on a timer too.
    let mut lag_timer = tokio::time::interval(Duration::from_secs(5));
    lag_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let record = tokio::select! {
            r = sub.next() => r,
            _ = lag_timer.tick() => {
                report_lag();
                continue;
            }
            () = shutdown.cancelled() => break,
        };
        let record = match record {
            Ok(r) => r,
            Err(BusError::Closed) => break,
            Err(err) => {
                tracing::warn!(topic = %spec.topic, error = %err, "consumer cannot fetch; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let event = &record.event;
        let span = tracing::info_span!(
            "consume",
            otel.name = format!("{} process", spec.topic),
            otel.kind = "consumer",
            service = spec.service,
            messaging.system = bus.name(),
            messaging.destination.name = %spec.topic,
            messaging.consumer.group.name = %labels[1].1,
            event.kind = %event.kind,
            event.id = %event.id,
            fault = tracing::field::Empty,
        );
        crate::telemetry::traces::continue_from_traceparent(&span, event.traceparent.as_deref());
        let start = Instant::now();
        // A `consumer-failures` fault fails every attempt at this event, so
        // it takes the whole retry and dead-letter path.
        let injected = faults.consumer_fails(spec.service, &spec.topic, &labels[1].1);
        if injected {
            span.record("fault", crate::faults::Kind::ConsumerFailures.as_str());
        }
        let handler: &dyn Handler = if injected {
            &InjectedFailure
        } else {
            handler.as_ref()
        };
        let outcome = process(&spec, &bus, handler, event, &labels)
            .instrument(span)
            .await;
        metrics::histogram!("messaging_process_duration_seconds", &labels)
            .record(start.elapsed().as_secs_f64());
        let mut l = labels.to_vec();
        l.push(("outcome", outcome.to_owned()));
        metrics::counter!("messaging_consumed_total", &l).increment(1);
        if let Err(err) = sub.commit(&record).await {
            tracing::warn!(topic = %spec.topic, error = %err, "commit failed; the event may be delivered again");
        }
        report_lag();
    }
}

/// Stands in for a consumer's handler while a `consumer-failures` fault
/// picks the event.
struct InjectedFailure;

#[async_trait]
impl Handler for InjectedFailure {
    async fn handle(&self, _: &Event) -> Result<(), HandlerError> {
        Err(HandlerError::Transient(
            "fault injected: consumer-failures".into(),
        ))
    }
}

/// Handles one event; returns the outcome label.
async fn process(
    spec: &ConsumerSpec,
    bus: &Arc<dyn Bus>,
    handler: &dyn Handler,
    event: &Event,
    labels: &[(&'static str, String); 2],
) -> &'static str {
    if let Some(inbox) = &spec.inbox {
        match inbox.seen(&event.id).await {
            Ok(true) => return "duplicate",
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %err, "dedupe lookup failed; processing anyway"),
        }
    }
    let mut attempt = 0;
    let failure = loop {
        attempt += 1;
        match handler.handle(event).await {
            Ok(()) => {
                if let Some(inbox) = &spec.inbox
                    && let Err(err) = inbox.mark(&event.id).await
                {
                    tracing::warn!(error = %err, "could not record the event as processed");
                }
                return "success";
            }
            Err(HandlerError::Transient(msg)) if attempt < spec.max_attempts => {
                tracing::warn!(attempt, error = %msg, kind = %event.kind, "handler failed; retrying");
                let wait = spec
                    .backoff
                    .saturating_mul(2u32.saturating_pow(attempt - 1))
                    .min(Duration::from_secs(5));
                tokio::time::sleep(wait).await;
            }
            Err(err) => break err,
        }
    };
    let dlq = dead_letter_topic(&spec.topic);
    tracing::error!(attempts = attempt, error = %failure, kind = %event.kind, dlq = %dlq, "event dead-lettered");
    // The dead-letter publish must not be lost either: retry until it lands.
    let mut wait = Duration::from_millis(50);
    while let Err(err) = bus.publish(&dlq, event).await {
        tracing::warn!(error = %err, "dead-letter publish failed; retrying");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
    metrics::counter!("messaging_dead_lettered_total", labels).increment(1);
    if let Some(inbox) = &spec.inbox {
        let _ = inbox.mark(&event.id).await;
    }
    "dead_letter"
}

//! What the experiment measures itself, with or without Prometheus: a scrape
//! of the platform's `/metrics` every second, and from consecutive scrapes the
//! burn of every objective, measured by the SLO tool's own definition of a bad
//! event (`slo::check` on two snapshots), never a second definition here.

use serde::Serialize;
use slo::check::Report;
use slo::sources::scrape::{ScrapeSource, Snapshot};
use slo::spec::Spec;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One scrape, `t` seconds after the experiment's start.
pub struct Sample {
    pub t: f64,
    pub snapshot: Snapshot,
}

/// Scrapes `base` every second until [`Sampler::finish`]. Each sample keeps
/// only the metric families the objectives read (the exposition has many
/// more, and every sample is parsed again for each window it closes); the
/// last scrape is kept whole, for the event ledger.
pub struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    latest: Arc<Mutex<Option<Snapshot>>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    pub fn start(base: &str, start: Instant, spec: &Spec) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let latest = Arc::new(Mutex::new(None));
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let urls = vec![base.to_owned()];
        let sink = samples.clone();
        let last = latest.clone();
        let names = metric_names(spec);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => break,
                }
                // A missed scrape (the platform is starved) is a gap, not an error.
                if let Ok(snapshot) = Snapshot::scrape(&urls).await {
                    let t = start.elapsed().as_secs_f64();
                    let kept = Snapshot {
                        taken_at: snapshot.taken_at,
                        endpoints: snapshot
                            .endpoints
                            .iter()
                            .map(|(url, text)| (url.clone(), only(text, &names)))
                            .collect(),
                    };
                    lock(&sink).push(Sample { t, snapshot: kept });
                    *lock(&last) = Some(snapshot);
                }
            }
        });
        Self {
            samples,
            latest,
            stop,
            task,
        }
    }

    /// The last scrape taken so far, whole.
    pub fn latest(&self) -> Option<Snapshot> {
        lock(&self.latest).clone()
    }

    /// The samples, and the last scrape whole.
    pub async fn finish(self) -> (Vec<Sample>, Option<Snapshot>) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let latest = lock(&self.latest).take();
        (std::mem::take(&mut *lock(&self.samples)), latest)
    }
}

/// Every name the spec's objectives may read: the words of their queries and
/// histogram names, plus the process start time (restart detection).
fn metric_names(spec: &Spec) -> Vec<String> {
    let mut names = vec!["process_start_time_seconds".to_owned()];
    for slo in &spec.slos {
        let text = match &slo.sli {
            slo::spec::Sli::Events {
                error_query,
                total_query,
            } => format!("{error_query} {total_query}"),
            slo::spec::Sli::Raw { error_ratio_query } => error_ratio_query.clone(),
            slo::spec::Sli::Latency { metric, .. } => metric.clone(),
            slo::spec::Sli::Journey { .. } => String::new(),
        };
        names.extend(
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .filter(|w| w.len() > 3)
                .map(str::to_owned),
        );
    }
    names.sort();
    names.dedup();
    names
}

/// The lines of an exposition whose metric (or `# TYPE`/`# HELP` subject)
/// starts with one of `names`.
fn only(text: &str, names: &[String]) -> String {
    text.lines()
        .filter(|line| {
            let name = line
                .strip_prefix("# TYPE ")
                .or_else(|| line.strip_prefix("# HELP "))
                .unwrap_or(line);
            line.is_empty() || names.iter().any(|n| name.starts_with(n.as_str()))
        })
        .flat_map(|l| [l, "\n"])
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One objective over the run, a point per scrape.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectiveSeries {
    pub name: String,
    pub objective_percent: f64,
    pub latency: bool,
    /// Bad ratio / allowed ratio over the trailing window (none: no traffic).
    pub burn: Vec<Option<f64>>,
    /// Bad events / all events over the trailing window.
    pub bad_ratio: Vec<Option<f64>>,
    /// The objective's quantile over the trailing window (latency objectives), ms.
    pub quantile_ms: Vec<Option<f64>>,
}

/// The objectives measured between two scrapes.
pub async fn check_between(spec: &Spec, from: &Snapshot, to: &Snapshot) -> Option<Report> {
    let source = ScrapeSource::from_snapshots(Some(from), to).ok()?;
    Some(slo::check::check(spec, "experiment", &source).await)
}

/// Bad events, all events and the burn (bad ratio / allowed ratio) of one outcome.
pub fn burn_of(o: &slo::check::Outcome) -> (Option<f64>, Option<f64>, Option<f64>) {
    let m = o.measurement.as_ref();
    let bad = m.and_then(|m| m.bad);
    let total = m.and_then(|m| m.total);
    let allowed = 1.0 - o.objective_percent / 100.0;
    let burn = match (bad, total) {
        (Some(b), Some(t)) if t > 0.0 && allowed > 0.0 => Some(b / t / allowed),
        _ => None,
    };
    (bad, total, burn)
}

/// Every server-side objective of `spec` at each sample, over the trailing
/// `window` seconds.
pub async fn objective_series(
    spec: &Spec,
    samples: &[Sample],
    window: f64,
) -> (Vec<f64>, Vec<ObjectiveSeries>) {
    let mut series: Vec<ObjectiveSeries> = spec
        .server_side()
        .map(|s| ObjectiveSeries {
            name: s.name.clone(),
            objective_percent: s.objective_percent(),
            latency: s.is_latency(),
            burn: Vec::new(),
            bad_ratio: Vec::new(),
            quantile_ms: Vec::new(),
        })
        .collect();
    let mut times = Vec::new();
    for (i, now) in samples.iter().enumerate().skip(1) {
        let from = samples[..i]
            .iter()
            .find(|s| s.t >= now.t - window - 0.5)
            .unwrap_or(&samples[i - 1]);
        let report = check_between(spec, &from.snapshot, &now.snapshot).await;
        times.push(now.t);
        for s in &mut series {
            let outcome = report
                .as_ref()
                .and_then(|r| r.outcomes.iter().find(|o| o.name == s.name));
            let (bad, total, burn) = outcome.map(burn_of).unwrap_or_default();
            s.burn.push(burn);
            s.bad_ratio.push(match (bad, total) {
                (Some(b), Some(t)) if t > 0.0 => Some(b / t),
                _ => None,
            });
            s.quantile_ms.push(
                outcome
                    .and_then(|o| o.measurement.as_ref())
                    .and_then(|m| m.latency.as_ref())
                    .and_then(|l| l.estimate_seconds)
                    .map(|s| s * 1000.0),
            );
        }
    }
    (times, series)
}

/// The sample closest to `t` seconds.
pub fn at(samples: &[Sample], t: f64) -> Option<&Sample> {
    samples.iter().min_by(|a, b| {
        (a.t - t)
            .abs()
            .partial_cmp(&(b.t - t).abs())
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}

/// What one consumer group did with one topic's events.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventAccount {
    pub topic: String,
    pub group: String,
    /// Deliveries the producers' relays made on the topic (an event the
    /// relay published again after a stall counts twice).
    pub published: u64,
    /// Events the group handled (success or dead-lettered), redeliveries excluded.
    pub consumed: u64,
    /// Redeliveries the group recognised and skipped (at-least-once at work).
    pub redelivered: u64,
    pub dead_lettered: u64,
    /// Deliveries the group never saw (neither handled nor skipped).
    pub lost: u64,
    /// Handled more often than published.
    pub duplicated: u64,
}

/// The event ledger from one scrape: per consumer group (every group reports
/// its lag, so a group that consumed nothing is still listed), and the events
/// still waiting in the outboxes.
pub fn events(snapshot: &Snapshot) -> (Vec<EventAccount>, u64) {
    let series = snapshot.series().unwrap_or_default();
    let sum = |name: &str, keep: &dyn Fn(&slo::promql::Labels) -> bool| -> u64 {
        series
            .iter()
            .filter(|s| s.name == name && keep(&s.labels))
            .map(|s| s.value)
            .sum::<f64>() as u64
    };
    let label = |l: &slo::promql::Labels, k: &str| l.get(k).cloned().unwrap_or_default();
    let mut groups: Vec<(String, String)> = series
        .iter()
        .filter(|s| s.name == "messaging_consumer_lag" || s.name == "messaging_consumed_total")
        .map(|s| (label(&s.labels, "topic"), label(&s.labels, "group")))
        .filter(|(topic, _)| !topic.ends_with(".dlq"))
        .collect();
    groups.sort();
    groups.dedup();
    let accounts = groups
        .into_iter()
        .map(|(topic, group)| {
            let ours =
                |l: &slo::promql::Labels| label(l, "topic") == topic && label(l, "group") == group;
            let published = sum("messaging_published_total", &|l| label(l, "topic") == topic);
            let consumed = sum("messaging_consumed_total", &|l| {
                ours(l) && label(l, "outcome") != "duplicate"
            });
            let redelivered = sum("messaging_consumed_total", &|l| {
                ours(l) && label(l, "outcome") == "duplicate"
            });
            // A relay may publish an event twice (at-least-once); the group's
            // dedupe then skips it. Lost: a delivery no group saw at all.
            EventAccount {
                lost: published.saturating_sub(consumed + redelivered),
                duplicated: consumed.saturating_sub(published),
                dead_lettered: sum("messaging_dead_lettered_total", &ours),
                topic,
                group,
                published,
                consumed,
                redelivered,
            }
        })
        .collect();
    let backlog = sum("messaging_outbox_backlog", &|_| true);
    (accounts, backlog)
}

/// Whether every published event has been handled by every group and no
/// outbox holds any: the platform has drained.
pub fn drained(snapshot: &Snapshot) -> bool {
    let (accounts, backlog) = events(snapshot);
    backlog == 0 && accounts.iter().all(|a| a.lost == 0)
}

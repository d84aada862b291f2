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

/// One scrape of every process, `t` seconds after the experiment's start.
pub struct Sample {
    pub t: f64,
    pub snapshot: Snapshot,
}

/// Scrapes every process's `/metrics` every second until
/// [`Sampler::finish`]. Each sample keeps only the metric families the
/// objectives read (the exposition has many more, and every sample is parsed
/// again for each window it closes); the last scrape of each process is kept
/// whole, for the event ledger.
///
/// A process that does not answer (killed, restarting) keeps its last scrape
/// in the samples: it counted nothing since. One that answers with another
/// start time restarted: its counters begin again at zero, so the last scrape
/// of its previous life stays in the ledger (what it published and consumed
/// then still happened). A tick where no process answers is a gap.
pub struct Sampler {
    state: Arc<Mutex<State>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct State {
    samples: Vec<Sample>,
    /// Per process (its base URL, in the order given), its last scrape.
    current: Vec<(String, Option<Scrape>)>,
    /// The last scrape of every process life that ended with a restart.
    ended: Vec<(String, String)>,
}

struct Scrape {
    /// When the request was sent: a slow answer never replaces a newer one.
    sent: Instant,
    started: Option<String>,
    text: String,
}

impl State {
    fn record(&mut self, url: &str, sent: Instant, text: String) {
        let Some((_, slot)) = self.current.iter_mut().find(|(u, _)| u == url) else {
            return;
        };
        let started = start_time(&text);
        if let Some(prev) = slot {
            if prev.sent > sent {
                return;
            }
            if prev.started != started {
                // Its counters only: the gauges of a dead process are stale.
                let counters: Vec<String> = LEDGER_COUNTERS.map(str::to_owned).to_vec();
                self.ended.push((
                    format!("{url} (before a restart)"),
                    only(&prev.text, &counters),
                ));
            }
        }
        *slot = Some(Scrape {
            sent,
            started,
            text,
        });
    }

    /// Every process's last scrape, once each has answered at least once.
    fn whole(&self, keep: impl Fn(&str) -> String) -> Option<Vec<(String, String)>> {
        self.current
            .iter()
            .map(|(url, scrape)| {
                scrape
                    .as_ref()
                    .map(|s| (slo::sources::scrape::metrics_url(url), keep(&s.text)))
            })
            .collect()
    }

    /// What the event ledger reads: the last scrape of every process and of
    /// every life that ended.
    fn ledger(&self) -> Option<Snapshot> {
        let mut endpoints = self.whole(str::to_owned)?;
        endpoints.extend(self.ended.iter().cloned());
        Some(Snapshot {
            taken_at: chrono::Utc::now(),
            endpoints,
        })
    }
}

/// The counters the event ledger adds up.
const LEDGER_COUNTERS: [&str; 3] = [
    "messaging_published_total",
    "messaging_consumed_total",
    "messaging_dead_lettered_total",
];

/// The `process_start_time_seconds` line's value, as written.
fn start_time(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("process_start_time_seconds "))
        .map(|v| v.trim().to_owned())
}

async fn scrape_one(url: String) -> (String, Instant, Option<String>) {
    let sent = Instant::now();
    let text = Snapshot::scrape(std::slice::from_ref(&url))
        .await
        .ok()
        .and_then(|s| s.endpoints.into_iter().next())
        .map(|(_, text)| text);
    (url, sent, text)
}

impl Sampler {
    /// Scrapes `urls` (each process's base URL) every second from now on.
    pub fn start(urls: &[String], start: Instant, spec: &Spec) -> Self {
        let state = Arc::new(Mutex::new(State {
            current: urls.iter().map(|u| (u.clone(), None)).collect(),
            ..State::default()
        }));
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let urls = urls.to_vec();
        let shared = state.clone();
        let names = metric_names(spec);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => break,
                }
                let taken_at = chrono::Utc::now();
                let mut scrapes = tokio::task::JoinSet::new();
                for url in &urls {
                    scrapes.spawn(scrape_one(url.clone()));
                }
                let mut answered = false;
                while let Some(done) = scrapes.join_next().await {
                    if let Ok((url, sent, Some(text))) = done {
                        answered = true;
                        lock(&shared).record(&url, sent, text);
                    }
                }
                let mut state = lock(&shared);
                if let (true, Some(endpoints)) = (answered, state.whole(|t| only(t, &names))) {
                    let t = start.elapsed().as_secs_f64();
                    state.samples.push(Sample {
                        t,
                        snapshot: Snapshot {
                            taken_at,
                            endpoints,
                        },
                    });
                }
                drop(state);
            }
        });
        Self { state, stop, task }
    }

    /// Scrapes the process at `url` now, so that what it counted until this
    /// moment is in the ledger (before it is killed: a crash takes the
    /// counters it did not report with it).
    pub async fn capture(&self, url: &str) -> anyhow::Result<()> {
        let (url, sent, text) = scrape_one(url.to_owned()).await;
        let text = text.ok_or_else(|| anyhow::anyhow!("cannot scrape {url}/metrics"))?;
        lock(&self.state).record(&url, sent, text);
        Ok(())
    }

    /// What the event ledger reads so far (see [`events`]).
    pub fn ledger(&self) -> Option<Snapshot> {
        lock(&self.state).ledger()
    }

    /// The samples, and what the event ledger reads.
    pub async fn finish(self) -> (Vec<Sample>, Option<Snapshot>) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let mut state = lock(&self.state);
        let ledger = state.ledger();
        (std::mem::take(&mut state.samples), ledger)
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

/// Live consumer groups (SSE fan-out) are named `<service>-sse`: each
/// process has its own, from the moment it starts, and none is durable.
const LIVE_GROUP_SUFFIX: &str = "-sse";

/// Which consumer groups the ledger judges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Groups {
    /// Every group: one process, so a live fan-out group sees every event too.
    All,
    /// Several processes: each has its own live group, which gets every event
    /// once per process and none of those published while it was down (by
    /// design: a stream resumes from the database); only durable groups
    /// promise delivery, so only they are judged.
    Durable,
}

/// The event ledger from one scrape of every process (see
/// [`Sampler::ledger`]): per consumer group (every group reports its lag, so
/// a group that consumed nothing is still listed), and the events still
/// waiting in the outboxes.
pub fn events(snapshot: &Snapshot, groups: Groups) -> (Vec<EventAccount>, u64) {
    let series = snapshot.series().unwrap_or_default();
    let sum = |name: &str, keep: &dyn Fn(&slo::promql::Labels) -> bool| -> u64 {
        series
            .iter()
            .filter(|s| s.name == name && keep(&s.labels))
            .map(|s| s.value)
            .sum::<f64>() as u64
    };
    let label = |l: &slo::promql::Labels, k: &str| l.get(k).cloned().unwrap_or_default();
    let mut found: Vec<(String, String)> = series
        .iter()
        .filter(|s| s.name == "messaging_consumer_lag" || s.name == "messaging_consumed_total")
        .map(|s| (label(&s.labels, "topic"), label(&s.labels, "group")))
        .filter(|(topic, _)| !topic.ends_with(".dlq"))
        .filter(|(_, group)| groups == Groups::All || !group.ends_with(LIVE_GROUP_SUFFIX))
        .collect();
    found.sort();
    found.dedup();
    let accounts = found
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
    // Every process of a service reports the backlog of the outbox table they
    // share: the largest report per service counts.
    let mut backlog: std::collections::BTreeMap<String, f64> = Default::default();
    for s in series
        .iter()
        .filter(|s| s.name == "messaging_outbox_backlog")
    {
        let b = backlog.entry(label(&s.labels, "service")).or_default();
        *b = b.max(s.value);
    }
    (accounts, backlog.values().sum::<f64>() as u64)
}

/// Whether every published event has been handled by every group and no
/// outbox holds any: the platform has drained.
pub fn drained(snapshot: &Snapshot, groups: Groups) -> bool {
    let (accounts, backlog) = events(snapshot, groups);
    backlog == 0 && accounts.iter().all(|a| a.lost == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(endpoints: &[(&str, &str)]) -> Snapshot {
        Snapshot {
            taken_at: chrono::Utc::now(),
            endpoints: endpoints
                .iter()
                .map(|(u, t)| (format!("{u}/metrics"), (*t).to_owned()))
                .collect(),
        }
    }

    fn requests(ok: u64, failed: u64) -> String {
        format!(
            "http_server_request_duration_seconds_count{{service=\"chat\",http_response_status_code=\"200\"}} {ok}\n\
             http_server_request_duration_seconds_count{{service=\"chat\",http_response_status_code=\"503\"}} {failed}\n"
        )
    }

    #[tokio::test]
    async fn the_objectives_add_up_every_process() {
        let (spec, _) = slo::objectives::load_or_builtin(None).unwrap();
        let (a, b) = ("http://127.0.0.1:1", "http://127.0.0.1:2");
        let mut from = snapshot(&[(a, &requests(0, 0)), (b, &requests(0, 0))]);
        from.taken_at -= chrono::TimeDelta::seconds(10);
        let to = snapshot(&[(a, &requests(100, 0)), (b, &requests(50, 10))]);
        let report = check_between(&spec, &from, &to).await.unwrap();
        let chat = report
            .outcomes
            .iter()
            .find(|o| o.name == "chat-availability")
            .unwrap();
        let (bad, total, _) = burn_of(chat);
        assert_eq!((bad, total), (Some(10.0), Some(160.0)));
    }

    fn events_text(start: u64, published: u64, consumed: u64) -> String {
        format!(
            "process_start_time_seconds {start}\n\
             messaging_published_total{{service=\"chat\",topic=\"message.events\"}} {published}\n\
             messaging_consumed_total{{topic=\"message.events\",group=\"notifications\",outcome=\"success\"}} {consumed}\n\
             messaging_consumed_total{{topic=\"message.events\",group=\"chat-sse\",outcome=\"success\"}} {consumed}\n\
             messaging_outbox_backlog{{service=\"chat\"}} 4\n"
        )
    }

    #[test]
    fn a_restarted_process_keeps_what_it_counted_before() {
        let url = "http://127.0.0.1:1";
        let mut state = State {
            current: vec![(url.to_owned(), None)],
            ..State::default()
        };
        let t0 = Instant::now();
        state.record(url, t0 + Duration::from_secs(1), events_text(100, 10, 10));
        // An older scrape answering late changes nothing.
        state.record(url, t0, events_text(100, 5, 5));
        // The process restarted: its counters begin again.
        state.record(url, t0 + Duration::from_secs(2), events_text(200, 3, 3));
        let (accounts, backlog) = events(&state.ledger().unwrap(), Groups::All);
        let ours = accounts
            .iter()
            .find(|a| a.group == "notifications")
            .unwrap();
        assert_eq!((ours.published, ours.consumed, ours.lost), (13, 13, 0));
        // The gauge of the dead life is not counted.
        assert_eq!(backlog, 4);
    }

    #[test]
    fn several_processes_judge_durable_groups_and_share_the_outbox() {
        let text = events_text(100, 5, 5);
        let both = snapshot(&[("http://127.0.0.1:1", &text), ("http://127.0.0.1:2", &text)]);
        let (accounts, backlog) = events(&both, Groups::Durable);
        let groups: Vec<&str> = accounts.iter().map(|a| a.group.as_str()).collect();
        assert_eq!(groups, ["notifications"]);
        assert_eq!((accounts[0].published, accounts[0].consumed), (10, 10));
        // Both processes report the table they share.
        assert_eq!(backlog, 4);
        let (all, _) = events(&both, Groups::All);
        assert_eq!(all.len(), 2);
        // Events in an outbox: not drained.
        assert!(!drained(&snapshot(&[("http://x:1", &text)]), Groups::All));
    }
}

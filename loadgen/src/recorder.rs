//! Client-side measurements: one HDR histogram per journey step, errors by
//! kind, and a per-second timeline, for the measured window only.
//!
//! Coordinated omission: a closed-model user that waits for a slow response
//! sends fewer requests, so the slow period is under-sampled. When a step has an
//! expected interval (the journey's pacing), samples are corrected the
//! HdrHistogram way (`record_correct`: the requests that should have been sent
//! meanwhile are back-filled). In the open model the scheduler knows when each
//! iteration was *due*, and the first step's latency is counted from then, so
//! queueing in the load generator is never hidden.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use runrecord::{ErrorKind, Failure, LatencyHistogram, LoadSample, Percentiles, Step, Window};

/// A named, separately measured step of a journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepId {
    pub journey: &'static str,
    pub name: &'static str,
    /// The service the step exercises; `None` for end-to-end measurements
    /// that span services (e.g. delivery through a stream).
    pub service: Option<&'static str>,
}

struct StepData {
    step: Step,
    latency: Histogram<u64>,
    /// The latencies of the wall-clock second `second`, for the timeline's
    /// percentiles (set into the step when the second is over).
    second: i64,
    second_latency: Histogram<u64>,
}

impl StepData {
    /// Writes the percentiles of the second being collected into the timeline
    /// and starts second `t`.
    fn roll_to(&mut self, t: i64) {
        if self.second == t {
            return;
        }
        let h = &self.second_latency;
        if !h.is_empty() {
            self.step.set_second_latency(
                self.second,
                Percentiles {
                    p50: h.value_at_quantile(0.5),
                    p95: h.value_at_quantile(0.95),
                    p99: h.value_at_quantile(0.99),
                },
            );
        }
        self.second_latency.reset();
        self.second = t;
    }
}

/// An empty histogram with the run record's precision (3 significant digits).
fn new_histogram() -> Histogram<u64> {
    LatencyHistogram::new().hdr().clone()
}

#[derive(Default)]
struct State {
    window_start: Option<DateTime<Utc>>,
    window_end: Option<DateTime<Utc>>,
    order: Vec<StepId>,
    steps: HashMap<StepId, StepData>,
    load: Vec<LoadSample>,
}

/// Live totals, including warm-up (for progress lines and /metrics).
#[derive(Debug, Clone, Default)]
pub struct StepTotals {
    pub id: Option<StepId>,
    pub requests: u64,
    pub errors: [u64; 4],
    /// Latency of the measured window so far.
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub measured: u64,
    /// The measured window's latencies (µs), for /metrics' histogram buckets.
    pub latency: Option<Histogram<u64>>,
}

/// Shared by every goose user of a run.
pub struct Recorder {
    started: Instant,
    state: Mutex<State>,
    live: Mutex<HashMap<StepId, (u64, [u64; 4])>>,
    requests: AtomicU64,
    errors: AtomicU64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

fn kind_index(kind: ErrorKind) -> usize {
    match kind {
        ErrorKind::Status => 0,
        ErrorKind::Timeout => 1,
        ErrorKind::Connect => 2,
        ErrorKind::Body => 3,
    }
}

pub const ERROR_KINDS: [&str; 4] = ["status", "timeout", "connect", "body"];

impl Recorder {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            state: Mutex::new(State::default()),
            live: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seconds since the recorder was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Warm-up is over: from now on samples count.
    pub fn open_window(&self) {
        let mut s = self.state();
        if s.window_start.is_none() {
            s.window_start = Some(Utc::now());
        }
    }

    /// The measured window is over: later samples are dropped.
    pub fn close_window(&self) {
        let mut s = self.state();
        if s.window_start.is_some() && s.window_end.is_none() {
            s.window_end = Some(Utc::now());
        }
    }

    pub fn measuring(&self) -> bool {
        let s = self.state();
        s.window_start.is_some() && s.window_end.is_none()
    }

    /// Records one finished request (or end-to-end measurement) of `step`.
    /// `latency` is `None` when no response came back; `expected_interval` is
    /// the step's nominal pacing for coordinated-omission correction.
    pub fn record(
        &self,
        step: StepId,
        latency: Option<Duration>,
        error: Option<ErrorKind>,
        expected_interval: Option<Duration>,
    ) {
        self.record_outcome(step, latency, error, None, expected_interval);
    }

    /// Records one failed request with its details (status code, route, body
    /// excerpt, request id), kept in the step's bounded failure sample.
    pub fn record_failure(
        &self,
        step: StepId,
        latency: Option<Duration>,
        kind: ErrorKind,
        failure: Failure,
        expected_interval: Option<Duration>,
    ) {
        self.record_outcome(step, latency, Some(kind), Some(failure), expected_interval);
    }

    fn record_outcome(
        &self,
        step: StepId,
        latency: Option<Duration>,
        error: Option<ErrorKind>,
        failure: Option<Failure>,
        expected_interval: Option<Duration>,
    ) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if error.is_some() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        {
            let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            let entry = live.entry(step).or_default();
            entry.0 += 1;
            if let Some(kind) = error {
                entry.1[kind_index(kind)] += 1;
            }
        }
        let mut s = self.state();
        if s.window_start.is_none() || s.window_end.is_some() {
            return;
        }
        if !s.steps.contains_key(&step) {
            s.order.push(step);
            s.steps.insert(
                step,
                StepData {
                    step: Step::new(Some(step.journey), step.name, step.service),
                    latency: new_histogram(),
                    second: 0,
                    second_latency: new_histogram(),
                },
            );
        }
        let Some(data) = s.steps.get_mut(&step) else {
            return;
        };
        let now = Utc::now();
        data.roll_to(now.timestamp());
        data.step.record(now, None, error);
        if let Some(failure) = failure {
            data.step.note_failure(failure);
        }
        if let Some(latency) = latency {
            let us = (latency.as_micros().min(u128::from(u64::MAX)) as u64).max(1);
            let interval = expected_interval.map_or(0, |i| i.as_micros() as u64);
            let recorded = if interval > 0 {
                data.latency.record_correct(us, interval)
            } else {
                data.latency.record(us)
            };
            if recorded.is_err() {
                let high = data.latency.high();
                let _ = data.latency.record(high);
            }
            // The timeline's percentiles show what was measured, uncorrected.
            let _ = data.second_latency.record(us);
        }
    }

    /// Samples the active users and open streams (once a second, while the
    /// window is open).
    pub fn sample_load(&self, users: u64, streams: u64) {
        let mut s = self.state();
        if s.window_start.is_none() || s.window_end.is_some() {
            return;
        }
        let t = Utc::now().timestamp();
        if s.load.last().is_none_or(|l| l.t < t) {
            s.load.push(LoadSample { t, users, streams });
        }
    }

    /// Requests and errors so far (warm-up included).
    pub fn totals(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }

    /// Per-step totals (warm-up included) and window percentiles, in first-seen order.
    pub fn step_totals(&self) -> Vec<StepTotals> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let s = self.state();
        let mut ids: Vec<StepId> = s.order.clone();
        let mut rest: Vec<StepId> = live.keys().filter(|k| !ids.contains(k)).copied().collect();
        rest.sort_by_key(|k| (k.journey, k.name));
        ids.extend(rest);
        ids.into_iter()
            .map(|id| {
                let (requests, errors) = live.get(&id).copied().unwrap_or_default();
                let mut t = StepTotals {
                    id: Some(id),
                    requests,
                    errors,
                    ..StepTotals::default()
                };
                if let Some(d) = s.steps.get(&id) {
                    t.measured = d.latency.len();
                    t.p50_us = d.latency.value_at_quantile(0.5);
                    t.p95_us = d.latency.value_at_quantile(0.95);
                    t.p99_us = d.latency.value_at_quantile(0.99);
                    t.latency = Some(d.latency.clone());
                }
                t
            })
            .collect()
    }

    /// The measured window, its steps and its load samples, ready for a run
    /// record.
    pub fn finish(&self) -> (Window, Vec<Step>, Vec<LoadSample>) {
        self.close_window();
        let mut s = self.state();
        let now = Utc::now();
        let window = Window {
            start: s.window_start.unwrap_or(now),
            end: s.window_end.unwrap_or(now),
        };
        for data in s.steps.values_mut() {
            data.roll_to(i64::MIN);
        }
        let steps = s
            .order
            .iter()
            .filter_map(|id| s.steps.get(id))
            .map(|d| {
                let mut step = d.step.clone();
                step.latency = LatencyHistogram::from_hdr(d.latency.clone());
                step
            })
            .collect();
        (window, steps, s.load.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: StepId = StepId {
        journey: "j",
        name: "s",
        service: Some("users"),
    };

    #[test]
    fn only_the_window_is_recorded() {
        let r = Recorder::new();
        r.record(STEP, Some(Duration::from_millis(5)), None, None);
        r.open_window();
        r.record(STEP, Some(Duration::from_millis(7)), None, None);
        r.record(STEP, None, Some(ErrorKind::Timeout), None);
        r.close_window();
        r.record(STEP, Some(Duration::from_millis(9)), None, None);
        let (_, steps, _) = r.finish();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].requests, 2);
        assert_eq!(steps[0].errors.timeout, 1);
        assert_eq!(steps[0].latency.count(), 1);
        assert_eq!(r.totals(), (4, 1));
    }

    #[test]
    fn failures_keep_their_status_and_route() {
        let r = Recorder::new();
        r.open_window();
        let failure = Failure {
            at: Utc::now(),
            kind: "status".into(),
            method: "POST".into(),
            route: "/api/friends/request".into(),
            status: Some(404),
            body: Some("{\"code\":\"not_found\"}".into()),
            request_id: Some("r-1".into()),
            trace_id: None,
        };
        r.record_failure(
            STEP,
            Some(Duration::from_millis(2)),
            ErrorKind::Status,
            failure,
            None,
        );
        let (_, steps, _) = r.finish();
        assert_eq!(steps[0].errors.status, 1);
        assert_eq!(steps[0].error_statuses.get("404"), Some(&1));
        assert_eq!(steps[0].failures[0].route, "/api/friends/request");
        let second = &steps[0].timeline[0];
        assert_eq!(second.error_statuses.get("404"), Some(&1));
        let p = second.latency_us.unwrap();
        assert!(p.p50 >= 1900 && p.p50 <= 2100 && p.p99 >= p.p95, "{p:?}");
    }

    #[test]
    fn slow_responses_are_corrected_for_coordinated_omission() {
        let r = Recorder::new();
        r.open_window();
        r.record(
            STEP,
            Some(Duration::from_millis(1000)),
            None,
            Some(Duration::from_millis(100)),
        );
        let (_, steps, _) = r.finish();
        // 1000 ms, plus the 900, 800, … 100 ms samples the stalled user missed.
        assert_eq!(steps[0].latency.count(), 10);
        assert_eq!(steps[0].requests, 1);
    }
}

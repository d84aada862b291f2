//! One journey step's measurements: requests, failures by kind and status
//! code with a bounded sample kept in full, the latency histogram and the
//! per-second timeline.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{LatencyHistogram, MAX_BODY_EXCERPT, MAX_FAILURES_PER_STEP, RunRecordError};

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The response had an unexpected HTTP status.
    Status,
    /// No response within the timeout.
    Timeout,
    /// The connection could not be made or broke.
    Connect,
    /// The response arrived but its body failed the step's check.
    Body,
}

/// Failed requests by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Errors {
    pub status: u64,
    pub timeout: u64,
    pub connect: u64,
    pub body: u64,
}

impl Errors {
    pub fn total(&self) -> u64 {
        self.status + self.timeout + self.connect + self.body
    }

    fn add(&mut self, other: &Errors) {
        self.status += other.status;
        self.timeout += other.timeout;
        self.connect += other.connect;
        self.body += other.body;
    }

    fn count(&mut self, kind: ErrorKind) {
        match kind {
            ErrorKind::Status => self.status += 1,
            ErrorKind::Timeout => self.timeout += 1,
            ErrorKind::Connect => self.connect += 1,
            ErrorKind::Body => self.body += 1,
        }
    }
}

/// Requests and errors in one wall-clock second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Second {
    /// Unix time in seconds.
    pub t: i64,
    pub requests: u64,
    pub errors: u64,
    /// Latency percentiles of the requests that completed in this second, in
    /// µs, when the writer measured them. Merged records keep the highest of
    /// the workers' (an upper bound: quantiles do not add).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<Percentiles>,
    /// Failed requests of kind `status` in this second, by status code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_statuses: BTreeMap<String, u64>,
}

/// p50, p95 and p99 of some latencies, in µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
}

impl Percentiles {
    fn max(self, other: Percentiles) -> Percentiles {
        Percentiles {
            p50: self.p50.max(other.p50),
            p95: self.p95.max(other.p95),
            p99: self.p99.max(other.p99),
        }
    }
}

/// How many virtual users were active and how many event streams were open,
/// sampled once a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadSample {
    /// Unix time in seconds.
    pub t: i64,
    pub users: u64,
    pub streams: u64,
}

/// One failed request, kept in full so it can be diagnosed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// When the response (or the failure) came.
    pub at: DateTime<Utc>,
    /// `status`, `timeout`, `connect` or `body`.
    pub kind: String,
    /// HTTP method (`GET`, `POST`, …); `STREAM` for an event stream delivery.
    pub method: String,
    /// The route template (`/api/messages/{id}`), not the concrete path.
    pub route: String,
    /// The HTTP status, when a response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The start of the response body (at most [`MAX_BODY_EXCERPT`] characters),
    /// or what went wrong when there was no response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The `x-request-id` the platform answered with (its logs carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The trace id, when the platform returned one (`traceparent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Status => "status",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Body => "body",
        }
    }
}

/// `text` cut to at most [`MAX_BODY_EXCERPT`] characters (on a char boundary).
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(MAX_BODY_EXCERPT) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// What one journey step measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The journey this step belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey: Option<String>,
    pub name: String,
    /// The service the step exercises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub requests: u64,
    pub errors: Errors,
    /// Failed requests of kind `status` by HTTP status code (`"404": 3`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_statuses: BTreeMap<String, u64>,
    /// The first [`MAX_FAILURES_PER_STEP`] failures, in full.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
    /// Latency of every completed request, in microseconds.
    #[serde(rename = "latency_us")]
    pub latency: LatencyHistogram,
    pub timeline: Vec<Second>,
}

impl Step {
    pub fn new(journey: Option<&str>, name: &str, service: Option<&str>) -> Self {
        Self {
            journey: journey.map(str::to_owned),
            name: name.to_owned(),
            service: service.map(str::to_owned),
            requests: 0,
            errors: Errors::default(),
            error_statuses: BTreeMap::new(),
            failures: Vec::new(),
            latency: LatencyHistogram::new(),
            timeline: Vec::new(),
        }
    }

    /// `journey/name`, or `name` alone for a step outside any journey.
    pub fn key(&self) -> String {
        match &self.journey {
            Some(journey) => format!("{journey}/{}", self.name),
            None => self.name.clone(),
        }
    }

    /// Records one request that finished at `at` after `latency`; `error` says
    /// why it failed, if it did. `latency` is `None` when no response came back
    /// (a timeout or a refused connection): it then counts but has no latency.
    pub fn record(
        &mut self,
        at: DateTime<Utc>,
        latency: Option<std::time::Duration>,
        error: Option<ErrorKind>,
    ) {
        self.requests += 1;
        if let Some(kind) = error {
            self.errors.count(kind);
        }
        if let Some(latency) = latency {
            self.latency
                .record_us(latency.as_micros().min(u128::from(u64::MAX)) as u64);
        }
        let second = Second {
            t: at.timestamp(),
            requests: 1,
            errors: u64::from(error.is_some()),
            latency_us: None,
            error_statuses: BTreeMap::new(),
        };
        add_seconds(&mut self.timeline, &[second]);
    }

    /// Sets the latency percentiles of second `t` (a writer that measures them
    /// per second calls this once the second is over).
    pub fn set_second_latency(&mut self, t: i64, p: Percentiles) {
        if let Ok(i) = self.timeline.binary_search_by_key(&t, |x| x.t) {
            self.timeline[i].latency_us = Some(p);
        }
    }

    /// Notes the details of a failed request already counted by
    /// [`Step::record`]: its status code, and the failure in full while the step
    /// keeps fewer than [`MAX_FAILURES_PER_STEP`].
    pub fn note_failure(&mut self, failure: Failure) {
        if let Some(status) = failure.status
            && failure.kind == ErrorKind::Status.as_str()
        {
            let code = status.to_string();
            *self.error_statuses.entry(code.clone()).or_default() += 1;
            if let Ok(i) = self
                .timeline
                .binary_search_by_key(&failure.at.timestamp(), |x| x.t)
            {
                *self.timeline[i].error_statuses.entry(code).or_default() += 1;
            }
        }
        if self.failures.len() < MAX_FAILURES_PER_STEP {
            self.failures.push(failure);
        }
    }

    /// Failed requests answered with a server error (5xx).
    pub fn server_errors(&self) -> u64 {
        self.error_statuses
            .iter()
            .filter(|(code, _)| code.starts_with('5'))
            .map(|(_, n)| n)
            .sum()
    }

    /// Failed requests / requests (0 without requests).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors.total() as f64 / self.requests as f64
        }
    }

    pub(crate) fn merge(&mut self, other: &Step) -> Result<(), RunRecordError> {
        self.requests += other.requests;
        self.errors.add(&other.errors);
        for (code, n) in &other.error_statuses {
            *self.error_statuses.entry(code.clone()).or_default() += n;
        }
        let room = MAX_FAILURES_PER_STEP.saturating_sub(self.failures.len());
        self.failures
            .extend(other.failures.iter().take(room).cloned());
        self.latency
            .add(&other.latency)
            .map_err(|msg| RunRecordError::Merge(format!("step {}: {msg}", self.key())))?;
        add_seconds(&mut self.timeline, &other.timeline);
        Ok(())
    }
}

fn add_seconds(timeline: &mut Vec<Second>, more: &[Second]) {
    for s in more {
        match timeline.binary_search_by_key(&s.t, |x| x.t) {
            Ok(i) => {
                let mine = &mut timeline[i];
                mine.requests += s.requests;
                mine.errors += s.errors;
                mine.latency_us = match (mine.latency_us, s.latency_us) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                for (code, n) in &s.error_statuses {
                    *mine.error_statuses.entry(code.clone()).or_default() += n;
                }
            }
            Err(i) => timeline.insert(i, s.clone()),
        }
    }
}

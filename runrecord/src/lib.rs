//! The run record: what one load-generator run measured, as a versioned JSON file.
//!
//! A load generator (`loadgen`) writes one record per run or per worker; the SLO tool
//! (`slo check --run`, `slo compare`) reads them. This crate owns the format and
//! nothing else: it knows no HTTP client, no load-testing framework and no service.
//!
//! # Format (version 1)
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "tool": { "name": "banter-loadgen", "version": "0.1.0" },
//!   "targets": [ { "url": "http://127.0.0.1:8000", "service": null, "git_sha": "4e64a6c" } ],
//!   "journeys": ["seed-benchmark"],
//!   "profile": { "name": "load", "parameters": { "users": 50 } },
//!   "window": { "start": "2026-11-21T10:00:05Z", "end": "2026-11-21T10:01:05Z" },
//!   "workers": 1,
//!   "steps": [ {
//!       "journey": "seed-benchmark", "name": "login", "service": "users",
//!       "requests": 1200,
//!       "errors": { "status": 3, "timeout": 0, "connect": 0, "body": 0 },
//!       "error_statuses": { "404": 3 },
//!       "failures": [ { "at": "2026-11-21T10:00:07Z", "kind": "status",
//!                       "method": "POST", "route": "/api/friends/request",
//!                       "status": 404, "body": "{\"code\":\"user_not_found\"}",
//!                       "request_id": "6f0c…" } ],
//!       "latency_us": "HISTFAAAAB54nJNpmSzMwMDAwQABzFCaEUzMfLl...",
//!       "timeline": [ { "t": 1795255205, "requests": 20, "errors": 0 } ]
//!   } ],
//!   "interrupted": false
//! }
//! ```
//!
//! - `window` is the measured window: warm-up is excluded, so throughput is
//!   `requests / (end - start)`.
//! - `latency_us` is an HDR histogram of every completed request's latency in
//!   **microseconds** with 3 significant digits, in the HdrHistogram V2 format with
//!   deflate compression, base64-encoded (readable by every HdrHistogram port).
//! - `errors` counts failed requests by kind: `status` (unexpected HTTP status),
//!   `timeout`, `connect` (connection refused/reset) and `body` (the response body
//!   failed the step's check). A failed request is counted in `requests` too.
//! - `error_statuses` counts the failed requests of kind `status` by HTTP status
//!   code, and `failures` keeps the first [`MAX_FAILURES_PER_STEP`] failures of the
//!   step in full (time, method, route template, status, body excerpt, the request
//!   id the platform returned), so an error can be diagnosed from the record alone.
//! - `interrupted` is true when the run was stopped before its measured window
//!   ended (e.g. Ctrl-C); `requested_seconds` is the window that was asked for.
//! - A timeline second may carry `latency_us` (`p50`, `p95`, `p99` of the
//!   requests completed in it) and `error_statuses`; `load` samples active users
//!   and open streams once a second. All are optional: older records read.
//! - `timeline` has one entry per wall-clock second (`t`, Unix seconds) in which the
//!   step sent requests, sorted by `t`; seconds without traffic are omitted.
//! - `service` (optional) names the service a step exercises, so that per-service
//!   objectives can be checked on the client's view.
//!
//! Records of parallel workers [`RunRecord::merge`] losslessly: counts add up, the
//! histograms add bucket by bucket, so percentiles of the merged record equal those
//! of one record holding every sample.

mod histogram;
mod step;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use histogram::LatencyHistogram;
pub use step::{ErrorKind, Errors, Failure, LoadSample, Percentiles, Second, Step, excerpt};

/// The version this crate writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 1;

/// How many failures a step keeps in full (the counts keep counting).
pub const MAX_FAILURES_PER_STEP: usize = 10;

/// How much of a failed response's body a failure keeps, in characters.
pub const MAX_BODY_EXCERPT: usize = 300;

/// Everything one run (or one worker of a run) measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The program that produced the record.
    pub tool: Tool,
    /// The base URL(s) under load.
    pub targets: Vec<Target>,
    /// The journeys (scenarios) that ran.
    pub journeys: Vec<String>,
    /// The load profile.
    pub profile: Profile,
    /// The measured window (warm-up excluded).
    pub window: Window,
    /// How many worker records this one is made of (1 for a single process).
    #[serde(default = "one")]
    pub workers: u32,
    /// Per journey step, in first-seen order.
    pub steps: Vec<Step>,
    /// The run was stopped before its measured window was over.
    #[serde(default, skip_serializing_if = "is_false")]
    pub interrupted: bool,
    /// The measured window that was asked for, in seconds (the actual one is
    /// `window`; shorter when `interrupted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_seconds: Option<f64>,
    /// Active users and open streams, once a second over the window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load: Vec<LoadSample>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn one() -> u32 {
    1
}

/// The program that produced a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// One target base URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub url: String,
    /// The service behind this URL when each service has its own URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The target's git sha, when it reports one (e.g. from `build_info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_sha: Option<String>,
}

/// The load profile and its parameters (users, rates, durations, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, serde_json::Value>,
}

/// The measured window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// Length in seconds (never negative).
    pub fn seconds(&self) -> f64 {
        ((self.end - self.start).num_milliseconds().max(0) as f64) / 1000.0
    }
}

/// Reading, writing or merging a record failed.
#[derive(Debug, thiserror::Error)]
pub enum RunRecordError {
    #[error("cannot read run record {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write run record {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid run record: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error(
        "{path} has run record format_version {found}; this build reads version {FORMAT_VERSION}"
    )]
    Version { path: String, found: u64 },
    #[error("cannot merge run records: {0}")]
    Merge(String),
}

impl RunRecord {
    /// An empty record for a run over `window`.
    pub fn new(tool: Tool, targets: Vec<Target>, profile: Profile, window: Window) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            tool,
            targets,
            journeys: Vec::new(),
            profile,
            window,
            workers: 1,
            steps: Vec::new(),
            interrupted: false,
            requested_seconds: None,
            load: Vec::new(),
        }
    }

    /// The step `name` of `journey`, created (empty) on first use.
    pub fn step_mut(
        &mut self,
        journey: Option<&str>,
        name: &str,
        service: Option<&str>,
    ) -> &mut Step {
        if let Some(journey) = journey
            && !self.journeys.iter().any(|j| j == journey)
        {
            self.journeys.push(journey.to_owned());
        }
        let i = match self
            .steps
            .iter()
            .position(|s| s.journey.as_deref() == journey && s.name == name)
        {
            Some(i) => i,
            None => {
                self.steps.push(Step::new(journey, name, service));
                self.steps.len() - 1
            }
        };
        &mut self.steps[i]
    }

    /// The step whose [`Step::key`] is `key`.
    pub fn step(&self, key: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.key() == key)
    }

    /// Adds `other` (e.g. another worker's record of the same run) into `self`:
    /// the window widens to cover both, steps with the same journey and name add
    /// up, new steps, targets and journeys are appended.
    pub fn merge(&mut self, other: &RunRecord) -> Result<(), RunRecordError> {
        if other.format_version != self.format_version {
            return Err(RunRecordError::Merge(format!(
                "format_version {} and {} differ",
                self.format_version, other.format_version
            )));
        }
        self.window.start = self.window.start.min(other.window.start);
        self.window.end = self.window.end.max(other.window.end);
        self.workers += other.workers;
        self.interrupted |= other.interrupted;
        // Parallel workers' users and streams add up, second by second.
        for sample in &other.load {
            match self.load.binary_search_by_key(&sample.t, |x| x.t) {
                Ok(i) => {
                    self.load[i].users += sample.users;
                    self.load[i].streams += sample.streams;
                }
                Err(i) => self.load.insert(i, *sample),
            }
        }
        for t in &other.targets {
            if !self.targets.contains(t) {
                self.targets.push(t.clone());
            }
        }
        for j in &other.journeys {
            if !self.journeys.contains(j) {
                self.journeys.push(j.clone());
            }
        }
        for step in &other.steps {
            match self
                .steps
                .iter_mut()
                .find(|s| s.journey == step.journey && s.name == step.name)
            {
                Some(mine) => mine.merge(step)?,
                None => self.steps.push(step.clone()),
            }
        }
        Ok(())
    }

    /// Merges several records into one; `None` for an empty list.
    pub fn merge_all(records: &[RunRecord]) -> Result<Option<RunRecord>, RunRecordError> {
        let Some((first, rest)) = records.split_first() else {
            return Ok(None);
        };
        let mut merged = first.clone();
        for r in rest {
            merged.merge(r)?;
        }
        Ok(Some(merged))
    }

    /// Reads and checks a record written by [`RunRecord::write`].
    pub fn read(path: impl AsRef<Path>) -> Result<Self, RunRecordError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RunRecordError::Read {
            path: name.clone(),
            source,
        })?;
        Self::from_json(&text, &name)
    }

    /// Parses a record; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, RunRecordError> {
        // Look at the version first, so a record from a newer writer gets a clear
        // message rather than a confusing "missing field".
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|source| RunRecordError::Parse {
                path: origin.to_owned(),
                source,
            })?;
        match value.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(found) => {
                return Err(RunRecordError::Version {
                    path: origin.to_owned(),
                    found,
                });
            }
            None => {
                return Err(RunRecordError::Parse {
                    path: origin.to_owned(),
                    source: serde::de::Error::custom("missing field `format_version`"),
                });
            }
        }
        serde_json::from_value(value).map_err(|source| RunRecordError::Parse {
            path: origin.to_owned(),
            source,
        })
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the record as pretty JSON.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), RunRecordError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json() + "\n").map_err(|source| RunRecordError::Write {
            path: path.display().to_string(),
            source,
        })
    }
}

#[cfg(test)]
mod tests;

//! What every journey shares during a run: targets, the recorder, the open-model
//! arrival schedule, event streams, and one helper that sends a request through
//! goose and measures it as a named step.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use goose::prelude::*;
use rand::Rng as _;
use runrecord::{ErrorKind, Failure};
use serde_json::Value;
use tokio::task::AbortHandle;

mod failure;
mod request;
mod streams;

pub use failure::route_template;
use failure::{Detail, classify, error_text};
pub use request::{Body, Req, Step};
pub use streams::Stream;

use crate::journeys::social::graph::{GraphSize, World};
use crate::recorder::{Recorder, StepId};
use crate::target::Targets;

/// The open model's schedule: iteration `i` is due at `start + i / rate`.
pub struct Arrivals {
    start: Instant,
    interval: Duration,
    next: AtomicU64,
}

impl Arrivals {
    pub fn new(rate_per_second: f64, start: Instant) -> Self {
        Self {
            start,
            interval: Duration::from_secs_f64(1.0 / rate_per_second.max(1e-3)),
            next: AtomicU64::new(0),
        }
    }

    /// Waits for the next due slot; returns how late it is taken (the time
    /// the iteration spent queued in the load generator).
    pub async fn wait(&self) -> Duration {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let due = self.start + self.interval.mul_f64(i as f64);
        let now = Instant::now();
        if now < due {
            tokio::time::sleep_until(due.into()).await;
            Duration::ZERO
        } else {
            now - due
        }
    }
}

/// Settings of a run that journeys read.
#[derive(Debug, Clone)]
pub struct JourneySettings {
    /// Share of chat users (0..=1) whose partner holds an SSE stream.
    pub stream_share: f64,
    /// How long a journey waits for an event on a stream.
    pub event_timeout: Duration,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// The community the social journey seeds.
    pub social: GraphSize,
}

impl Default for JourneySettings {
    fn default() -> Self {
        Self {
            stream_share: 0.5,
            event_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            social: GraphSize::default(),
        }
    }
}

/// Shared by all goose users of one run.
pub struct Ctx {
    pub targets: Targets,
    pub recorder: std::sync::Arc<Recorder>,
    /// `Some` in the open model.
    pub arrivals: Option<Arrivals>,
    /// Coordinated-omission correction interval for the closed model.
    pub co_interval: Option<Duration>,
    pub settings: JourneySettings,
    /// The social journey's community and recent posts.
    pub social: World,
    /// Long-lived requests (SSE) must not have goose's total timeout.
    stream_client: reqwest::Client,
    tag: String,
    seq: AtomicU64,
    chat_users: AtomicU64,
    deliveries: Mutex<HashMap<String, (Instant, StepId)>>,
    streams: Mutex<Vec<AbortHandle>>,
    helpers: Mutex<Vec<AbortHandle>>,
    /// When each goose user last sent a request, for the users-over-time chart.
    last_seen: Mutex<HashMap<usize, Instant>>,
}

/// A user counts as active while its last request is this recent (longer than
/// any pause of the journeys).
pub const ACTIVE_WITHIN: Duration = Duration::from_secs(5);

/// A registered, logged-in account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub token: String,
}

/// Per goose user state, kept in goose's session data.
#[derive(Clone, Default)]
pub struct Session {
    /// Open model: how late the current iteration started; added to the next
    /// request's latency.
    pub lag: Option<Duration>,
    /// A step of this iteration failed: skip the rest of it.
    pub failed: bool,
    pub me: Option<Account>,
    pub peer: Option<Account>,
    pub room: Option<i64>,
    /// Message ids received by `me` that are not marked read yet.
    pub unread: Vec<String>,
    pub my_stream: Option<std::sync::Arc<Stream>>,
    pub peer_stream: Option<std::sync::Arc<Stream>>,
    /// social: a follow this user made (fan, author: indexes into the
    /// community), undone by its next unfollow.
    pub social_follow: Option<(usize, usize)>,
}

/// The goose user's [`Session`], created on first use.
pub fn session(user: &mut GooseUser) -> &mut Session {
    if user.get_session_data::<Session>().is_none() {
        user.set_session_data(Session::default());
    }
    user.get_session_data_unchecked_mut::<Session>()
}

impl Ctx {
    pub fn new(
        targets: Targets,
        recorder: std::sync::Arc<Recorder>,
        arrivals: Option<Arrivals>,
        co_interval: Option<Duration>,
        settings: JourneySettings,
    ) -> Self {
        let tag: String = rand::thread_rng()
            .sample_iter(rand::distributions::Alphanumeric)
            .take(6)
            .map(|c| char::from(c).to_ascii_lowercase())
            .collect();
        let stream_client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            targets,
            recorder,
            arrivals,
            co_interval,
            settings,
            social: World::default(),
            stream_client,
            tag: format!("lg{tag}"),
            seq: AtomicU64::new(0),
            chat_users: AtomicU64::new(0),
            deliveries: Mutex::new(HashMap::new()),
            streams: Mutex::new(Vec::new()),
            helpers: Mutex::new(Vec::new()),
            last_seen: Mutex::new(HashMap::new()),
        }
    }

    /// A username nobody has used yet (unique per run and process).
    pub fn unique_name(&self) -> String {
        format!("{}_{}", self.tag, self.seq.fetch_add(1, Ordering::Relaxed))
    }

    /// Numbers the chat journey's users 0, 1, 2, … in the order they sign up
    /// (goose's user index interleaves journeys, so it cannot spread a share).
    pub fn next_chat_user(&self) -> usize {
        self.chat_users.fetch_add(1, Ordering::Relaxed) as usize
    }

    /// Starts an iteration: in the open model, waits for the next due arrival.
    pub async fn arrive(&self, user: &mut GooseUser) {
        let lag = match &self.arrivals {
            Some(a) => Some(a.wait().await),
            None => None,
        };
        let s = session(user);
        s.failed = false;
        s.lag = lag;
    }

    /// Records a measurement that is not one HTTP request (e.g. delivery
    /// through a stream).
    pub fn record(&self, step: StepId, latency: Option<Duration>, error: Option<ErrorKind>) {
        self.recorder.record(step, latency, error, self.co_interval);
    }

    /// Sends `req` through goose as its step, measures it (until the body
    /// has arrived), checks the status and the body with `check`, and records
    /// the outcome; a failure is recorded with its status, route, body excerpt
    /// and request id. `None` means the step failed (already recorded); the
    /// iteration is then marked failed.
    pub async fn call<T>(
        &self,
        user: &mut GooseUser,
        req: Req,
        check: impl FnOnce(&Value) -> Option<T>,
    ) -> Option<T> {
        let lag = session(user).lag.take().unwrap_or_default();
        self.seen(user);
        let step = req.step.id;
        let url = self.targets.url(req.step.service, &req.path);
        let method = req.method.to_string();
        let route = route_template(&req.path);
        let exchange = self.exchange(user, &step, &url, req).await;
        let failed = |latency: Option<Duration>, kind: ErrorKind, detail: Detail| {
            let failure = Failure {
                at: chrono::Utc::now(),
                kind: kind.as_str().to_owned(),
                method: method.clone(),
                route: route.clone(),
                status: detail.status,
                body: detail.body.as_deref().map(runrecord::excerpt),
                request_id: detail.request_id,
                trace_id: None,
            };
            self.recorder.record_failure(
                step,
                latency.map(|l| l + lag),
                kind,
                failure,
                self.co_interval,
            );
        };
        let result = match exchange {
            Err((latency, kind, detail)) => {
                failed(latency, kind, detail);
                None
            }
            Ok((latency, body, detail)) => {
                let value = if body.is_empty() {
                    Ok(Value::Null)
                } else {
                    serde_json::from_slice::<Value>(&body)
                };
                match value.ok().as_ref().and_then(check) {
                    Some(t) => {
                        self.record(step, Some(latency + lag), None);
                        Some(t)
                    }
                    None => {
                        let detail = Detail {
                            body: Some(String::from_utf8_lossy(&body).into_owned()),
                            ..detail
                        };
                        failed(Some(latency), ErrorKind::Body, detail);
                        None
                    }
                }
            }
        };
        if result.is_none() {
            session(user).failed = true;
        }
        result
    }

    async fn exchange(
        &self,
        user: &mut GooseUser,
        step: &StepId,
        url: &str,
        req: Req,
    ) -> Result<(Duration, bytes::Bytes, Detail), (Option<Duration>, ErrorKind, Detail)> {
        let no_response = |kind: ErrorKind, why: String| {
            (
                None,
                kind,
                Detail {
                    body: Some(why),
                    ..Detail::default()
                },
            )
        };
        let mut rb = user
            .get_request_builder(&req.method, url)
            .map_err(|e| no_response(ErrorKind::Connect, format!("{e:?}")))?
            .timeout(self.settings.request_timeout);
        if let Some(token) = &req.token {
            rb = rb.bearer_auth(token);
        }
        rb = match req.body {
            Body::None => rb,
            Body::Json(v) => rb.json(&v),
            Body::Form(f) => rb.form(&f),
        };
        let name = format!("{}/{}", step.journey, step.name);
        let request = GooseRequest::builder()
            .method(req.method)
            .path(url)
            .name(name.as_str())
            .expect_status_code(req.expect)
            .set_request_builder(rb)
            .build();
        let started = Instant::now();
        let response = match user.request(request).await {
            Ok(goose) => goose.response,
            Err(e) => return Err(no_response(ErrorKind::Connect, format!("{e}"))),
        };
        let response = response.map_err(|e| no_response(classify(&e), error_text(&e)))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let detail = Detail {
            status: Some(status),
            request_id: header("x-request-id"),
            body: None,
        };
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Err((
                    None,
                    classify(&e),
                    Detail {
                        body: Some(error_text(&e)),
                        ..detail
                    },
                ));
            }
        };
        let latency = started.elapsed();
        if status != req.expect {
            let detail = Detail {
                body: Some(String::from_utf8_lossy(&body).into_owned()),
                ..detail
            };
            return Err((Some(latency), ErrorKind::Status, detail));
        }
        Ok((latency, body, detail))
    }

    fn seen(&self, user: &GooseUser) {
        self.last_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user.weighted_users_index, Instant::now());
    }

    /// Users that sent a request within [`ACTIVE_WITHIN`].
    pub fn active_users(&self) -> usize {
        let mut seen = self.last_seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, at| at.elapsed() <= ACTIVE_WITHIN);
        seen.len()
    }
}

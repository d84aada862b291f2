//! Event streams (SSE) and the deliveries timed through them: opening a stream
//! as a measured step, waiting for an event, and timing a message from send to
//! arrival on another user's stream.

use std::time::{Duration, Instant};

use goose::prelude::*;
use runrecord::{ErrorKind, Failure};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::failure::{classify, error_text, route_template};
use super::{Ctx, Step, session};
use crate::recorder::StepId;
use crate::sse;

/// An open SSE stream; dropping the last handle closes it.
pub struct Stream {
    pub events: tokio::sync::Mutex<mpsc::UnboundedReceiver<sse::Event>>,
    task: AbortHandle,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stream {
    /// The next event of type `event` whose data satisfies `matches`, within
    /// `timeout`; other events are skipped.
    pub async fn wait_for(
        &self,
        event: &str,
        timeout: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Result<(Instant, Value), ErrorKind> {
        let mut rx = self.events.lock().await;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) => return Err(ErrorKind::Timeout),
                Ok(None) => return Err(ErrorKind::Connect),
                Ok(Some(e)) if e.event == event => {
                    let data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
                    if matches(&data) {
                        return Ok((e.received, data));
                    }
                }
                Ok(Some(_)) => {}
            }
        }
    }
}

impl Ctx {
    /// Opens an SSE stream at `path` on the step's service as `token`,
    /// measured as `step` (time to the response headers: the server subscribes
    /// before it answers, so events sent after this returns are delivered).
    pub async fn open_stream(
        &self,
        user: &mut GooseUser,
        step: Step,
        path: &str,
        token: &str,
    ) -> Option<std::sync::Arc<Stream>> {
        let url = self.targets.url(step.service, path);
        let step = step.id;
        let started = Instant::now();
        let result = self
            .stream_client
            .get(&url)
            .bearer_auth(token)
            .header("accept", "text/event-stream")
            .timeout(Duration::from_secs(24 * 3600))
            .send()
            .await;
        let latency = started.elapsed();
        let stream_failure = |kind: ErrorKind, status, body, request_id| Failure {
            at: chrono::Utc::now(),
            kind: kind.as_str().to_owned(),
            method: "GET".into(),
            route: route_template(path),
            status,
            body,
            request_id,
            trace_id: None,
        };
        let response = match result {
            Err(e) => {
                let kind = classify(&e);
                let failure = stream_failure(kind, None, Some(error_text(&e)), None);
                self.recorder
                    .record_failure(step, None, kind, failure, self.co_interval);
                session(user).failed = true;
                return None;
            }
            Ok(r) if r.status().as_u16() != 200 => {
                let status = r.status().as_u16();
                let request_id = r
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = r.text().await.ok().map(|b| runrecord::excerpt(&b));
                let failure = stream_failure(ErrorKind::Status, Some(status), body, request_id);
                self.recorder.record_failure(
                    step,
                    Some(latency),
                    ErrorKind::Status,
                    failure,
                    self.co_interval,
                );
                session(user).failed = true;
                return None;
            }
            Ok(r) => r,
        };
        self.record(step, Some(latency), None);
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(sse::pump(response, tx)).abort_handle();
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task.clone());
        Some(std::sync::Arc::new(Stream {
            events: tokio::sync::Mutex::new(rx),
            task,
        }))
    }

    /// Remembers that a message carrying `nonce` is being sent now, so its
    /// arrival on a stream can be timed as `step`.
    pub fn expect_delivery(&self, nonce: &str, step: StepId) {
        self.deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(nonce.to_owned(), (Instant::now(), step));
    }

    /// The send failed: nothing will arrive.
    pub fn forget_delivery(&self, nonce: &str) {
        self.deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(nonce);
    }

    /// A message carrying `nonce` arrived at `at`: records its delivery latency.
    pub fn delivered(&self, nonce: &str, at: Instant) {
        let found = self
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(nonce);
        if let Some((sent, step)) = found {
            // Nobody waits for this arrival, so a slow one holds nothing back:
            // no coordinated-omission correction.
            self.recorder
                .record(step, Some(at.saturating_duration_since(sent)), None, None);
        }
    }

    /// Counts messages that did not arrive within the event timeout as
    /// timed-out deliveries. `final_sweep` drops (does not count) the ones
    /// still in flight when the run ends.
    pub fn sweep_deliveries(&self, final_sweep: bool) {
        let timeout = self.settings.event_timeout;
        let mut expired = Vec::new();
        {
            let mut map = self.deliveries.lock().unwrap_or_else(|p| p.into_inner());
            map.retain(|_, (sent, step)| {
                if sent.elapsed() > timeout {
                    expired.push(*step);
                    false
                } else {
                    !final_sweep
                }
            });
        }
        for step in expired {
            let failure = Failure {
                at: chrono::Utc::now(),
                kind: ErrorKind::Timeout.as_str().to_owned(),
                method: "STREAM".into(),
                route: format!("{} (event stream delivery)", step.name),
                status: None,
                body: Some(format!(
                    "the message did not arrive on the stream within {} s",
                    timeout.as_secs()
                )),
                request_id: None,
                trace_id: None,
            };
            self.recorder
                .record_failure(step, None, ErrorKind::Timeout, failure, None);
        }
    }

    /// Aborts `task` when the run ends.
    pub fn track(&self, task: AbortHandle) {
        self.helpers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
    }

    /// Closes every stream still open (the run is over).
    pub fn close_streams(&self) {
        for tasks in [&self.streams, &self.helpers] {
            for task in tasks.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
                task.abort();
            }
        }
    }

    /// Streams opened and not yet closed.
    pub fn open_streams(&self) -> usize {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.retain(|t| !t.is_finished());
        streams.len()
    }
}

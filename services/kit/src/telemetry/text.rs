//! Log lines for a person at a terminal:
//!
//! ```text
//! 14:02:07.311 INFO  users  banter listening on http://127.0.0.1:8000 storage=sqlite in ./data
//! 14:02:09.020 ERROR chat   POST /api/rooms 500 3.1 ms  request failed  trace_id=4bf9…
//! 14:02:17.000 INFO  banter 1204 requests in 10 s: 1190 2xx, 14 4xx; slowest 84.2 ms
//! ```
//!
//! Requests that did not fail are summed into one line per 10 s instead of one
//! line each, so a load test does not scroll everything else off the screen
//! (`--log-format json` keeps one line per request). Sensitive values are
//! redacted exactly as in the JSON lines.

use super::logs::{JsonVisitor, MakeLine, SpanFields, Spans};
use serde_json::{Map, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{Event, Level};
use tracing_subscriber::layer::Context;

/// The access log's message for a request that did not fail (kit::http).
const REQUEST_COMPLETED: &str = "request completed";
/// How often the summed access lines are written.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// Requests counted since the last summary line.
#[derive(Default)]
struct Tally {
    since: Option<Instant>,
    by_class: [u64; 6], // index = status / 100
    slowest_ms: f64,
}

impl Tally {
    fn total(&self) -> u64 {
        self.by_class.iter().sum()
    }

    fn add(&mut self, status: Option<u64>, duration_ms: Option<f64>) {
        self.since.get_or_insert_with(Instant::now);
        let class = status.map_or(0, |s| (s / 100).min(5) as usize);
        self.by_class[class] += 1;
        if let Some(ms) = duration_ms {
            self.slowest_ms = self.slowest_ms.max(ms);
        }
    }

    /// The summary line's text, and a fresh tally.
    fn take(&mut self) -> Option<String> {
        let total = self.total();
        let since = self.since?;
        let classes: Vec<String> = self
            .by_class
            .iter()
            .enumerate()
            .filter(|(class, n)| *class > 0 && **n > 0)
            .map(|(class, n)| format!("{n} {class}xx"))
            .collect();
        let secs = since.elapsed().as_secs_f64().max(1.0);
        let text = format!(
            "{total} request{} in {secs:.0} s: {}; slowest {:.1} ms",
            if total == 1 { "" } else { "s" },
            classes.join(", "),
            self.slowest_ms
        );
        *self = Tally::default();
        Some(text)
    }
}

struct Shared<W> {
    service: &'static str,
    make_writer: W,
    tally: Mutex<Tally>,
}

impl<W: MakeLine> Shared<W> {
    fn write_line(&self, level: Level, service: &str, text: &str) {
        let time = chrono::Local::now().format("%H:%M:%S%.3f");
        let line = format!("{time} {:<5} {service:<6} {text}\n", level.as_str());
        // One write per line keeps lines whole when threads log concurrently.
        let _ = self.make_writer.make().write_all(line.as_bytes());
    }

    fn flush_tally(&self) {
        let summary = self.tally.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(text) = summary {
            self.write_line(Level::INFO, self.service, &text);
        }
    }
}

/// Writes human-readable lines (see the module docs).
pub struct TextLayer<W> {
    shared: Arc<Shared<W>>,
}

impl TextLayer<fn() -> std::io::Stdout> {
    /// Lines on stdout, with the request summary written every [`SUMMARY_EVERY`].
    pub fn stdout(service: &'static str) -> Self {
        let layer = Self::new(service, std::io::stdout as fn() -> std::io::Stdout);
        let shared = Arc::downgrade(&layer.shared);
        let _ = std::thread::Builder::new()
            .name("log-summary".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(SUMMARY_EVERY);
                    match shared.upgrade() {
                        Some(shared) => shared.flush_tally(),
                        None => return,
                    }
                }
            });
        layer
    }
}

impl<W: MakeLine> TextLayer<W> {
    /// Lines written to `make_writer()`; the summary is written before the
    /// next other line or by [`TextLayer::flush`].
    pub fn new(service: &'static str, make_writer: W) -> Self {
        Self {
            shared: Arc::new(Shared {
                service,
                make_writer,
                tally: Mutex::new(Tally::default()),
            }),
        }
    }

    /// Writes the summary of the requests counted so far, if any.
    pub fn flush(&self) {
        self.shared.flush_tally();
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `POST /api/rooms 201 3.1 ms` from the request span's fields.
fn request_summary(span: &Map<String, Value>) -> Option<String> {
    let method = span.get("http.request.method")?;
    let route = span.get("http.route")?;
    let mut text = format!("{} {}", as_text(method), as_text(route));
    if let Some(status) = span.get("http.response.status_code") {
        text.push_str(&format!(" {}", as_text(status)));
    }
    if let Some(ms) = span.get("duration_ms").and_then(Value::as_f64) {
        text.push_str(&format!(" {ms:.1} ms"));
    }
    Some(text)
}

/// Span fields already said by [`request_summary`] or too long for a terminal.
const SPAN_FIELDS_SHOWN_ELSEWHERE: &[&str] = &[
    "service",
    "http.request.method",
    "http.route",
    "url.path",
    "http.response.status_code",
    "duration_ms",
    "span_id",
    "request_id",
];

impl<S: Spans, W: MakeLine> tracing_subscriber::Layer<S> for TextLayer<W> {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut spans = Map::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    spans.extend(fields.0.clone());
                }
            }
        }
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        let message = fields.remove("message").map(|m| as_text(&m));
        let level = *event.metadata().level();

        if level == Level::INFO && message.as_deref() == Some(REQUEST_COMPLETED) {
            self.shared
                .tally
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add(
                    spans
                        .get("http.response.status_code")
                        .and_then(Value::as_u64),
                    spans.get("duration_ms").and_then(Value::as_f64),
                );
            return;
        }
        // Keep the order of events: requests counted so far come first.
        self.shared.flush_tally();

        let service = spans
            .get("service")
            .map(as_text)
            .unwrap_or_else(|| self.shared.service.to_owned());
        let mut text = String::new();
        if let Some(request) = request_summary(&spans) {
            text.push_str(&request);
            text.push_str("  ");
        }
        text.push_str(message.as_deref().unwrap_or_default());
        for (key, value) in &fields {
            text.push_str(&format!(" {key}={}", as_text(value)));
        }
        for (key, value) in &spans {
            if !SPAN_FIELDS_SHOWN_ELSEWHERE.contains(&key.as_str()) && !fields.contains_key(key) {
                text.push_str(&format!(" {key}={}", as_text(value)));
            }
        }
        self.shared.write_line(level, &service, &text);
    }
}

#[cfg(test)]
mod tests;

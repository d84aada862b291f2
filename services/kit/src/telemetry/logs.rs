//! JSON log lines: one object per event with timestamp, level, service,
//! message, the fields of the event and of every enclosing span (so a line
//! logged inside a request carries `trace_id`, `span_id`, `request_id` and the
//! HTTP fields). Values of sensitive keys are never written.

use serde_json::{Map, Value};
use std::io::Write;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Field names whose values are replaced by `[redacted]` wherever they appear.
const SENSITIVE: &[&str] = &[
    "password",
    "new_password",
    "token",
    "access_token",
    "refresh_token",
    "authorization",
    "email",
    "secret",
    "cookie",
    "private_key",
];

/// Whether `name` is, or ends in `_<key>` / `.<key>` of, a sensitive key, in
/// any case. It runs for every field of every span and event, so it allocates
/// nothing.
fn is_sensitive(name: &str) -> bool {
    let name = name.as_bytes();
    SENSITIVE.iter().any(|s| {
        let s = s.as_bytes();
        let Some(start) = name.len().checked_sub(s.len()) else {
            return false;
        };
        name[start..].eq_ignore_ascii_case(s)
            && (start == 0 || matches!(name[start - 1], b'_' | b'.'))
    })
}

/// Fields recorded on a span, kept in the span's extensions.
pub(super) struct SpanFields(pub(super) Map<String, Value>);

pub(super) struct JsonVisitor<'a>(pub(super) &'a mut Map<String, Value>);

impl JsonVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if name.starts_with("otel.") || name.starts_with("log.") {
            return;
        }
        let value = if is_sensitive(name) {
            Value::from("[redacted]")
        } else {
            value
        };
        self.0.insert(name.to_owned(), value);
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }
}

/// A subscriber that keeps spans (the registry, as the layers see it).
pub trait Spans: Subscriber + for<'a> LookupSpan<'a> {}
impl<S: Subscriber + for<'a> LookupSpan<'a>> Spans for S {}

/// Where log lines go: a function that gives a writer for each line.
pub trait MakeLine: Send + Sync + 'static {
    type Out: Write;
    fn make(&self) -> Self::Out;
}

impl<F: Fn() -> O + Send + Sync + 'static, O: Write> MakeLine for F {
    type Out = O;
    fn make(&self) -> O {
        self()
    }
}

/// Keeps every span's fields (redacted) in its extensions, for the lines of
/// the events inside it: what the JSON and the text lines both need, so it
/// is installed once beside whichever of them writes.
pub struct SpanFieldsLayer;

impl<S: Spans> tracing_subscriber::Layer<S> for SpanFieldsLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(fields) = ext.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(&mut fields.0));
        }
    }
}

/// Writes one JSON object per event to a writer.
pub struct JsonLayer<W> {
    service: &'static str,
    make_writer: W,
}

impl JsonLayer<fn() -> super::writer::Background> {
    /// Lines to stdout through the background writer, so a request never
    /// waits on the write itself.
    pub fn stdout(service: &'static str) -> Self {
        Self {
            service,
            make_writer: super::writer::Background::default,
        }
    }
}

thread_local! {
    /// The line being built, reused so a line costs no buffer allocation.
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Appends `"key":value` (with a leading comma after the first).
fn put(line: &mut Vec<u8>, key: &str, value: &impl serde::Serialize) {
    if line.len() > 1 {
        line.push(b',');
    }
    // Writing to a Vec cannot fail, and neither can serialising a str or Value.
    let _ = serde_json::to_writer(&mut *line, key);
    line.push(b':');
    let _ = serde_json::to_writer(&mut *line, value);
}

fn level_name(level: tracing::Level) -> &'static str {
    match level {
        tracing::Level::ERROR => "error",
        tracing::Level::WARN => "warn",
        tracing::Level::INFO => "info",
        tracing::Level::DEBUG => "debug",
        tracing::Level::TRACE => "trace",
    }
}

impl<W: MakeLine> JsonLayer<W> {
    pub fn new(service: &'static str, make_writer: W) -> Self {
        Self {
            service,
            make_writer,
        }
    }

    /// Writes the event's line into `line`: the event's fields, then those of
    /// the enclosing spans (an inner span's value wins over an outer one's,
    /// the event's over any span's), then timestamp, level, service and
    /// target unless a field already had that name. Straight to bytes: no
    /// intermediate map, no copy of a span's fields.
    fn write_line<S>(&self, line: &mut Vec<u8>, event: &Event<'_>, ctx: &Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let meta = event.metadata();
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        let spans: Vec<_> = ctx
            .event_scope(event)
            .map(|scope| scope.collect())
            .unwrap_or_default();
        let extensions: Vec<_> = spans.iter().map(|s| s.extensions()).collect();
        // Innermost first, as `event_scope` yields them.
        let maps: Vec<&Map<String, Value>> = extensions
            .iter()
            .filter_map(|e| e.get::<SpanFields>())
            .map(|f| &f.0)
            .collect();
        let taken = |key: &str, inner: &[&Map<String, Value>]| {
            fields.contains_key(key) || inner.iter().any(|m| m.contains_key(key))
        };

        line.push(b'{');
        for (k, v) in &fields {
            put(line, k, v);
        }
        for (i, map) in maps.iter().enumerate() {
            for (k, v) in map.iter() {
                if !taken(k, &maps[..i]) {
                    put(line, k, v);
                }
            }
        }
        if !taken("message", &maps) {
            put(line, "message", &"");
        }
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        for (key, value) in [
            ("timestamp", timestamp.as_str()),
            ("level", level_name(*meta.level())),
            ("service", self.service),
            ("target", meta.target()),
        ] {
            if !taken(key, &maps) {
                put(line, key, &value);
            }
        }
        line.extend_from_slice(b"}\n");
    }
}

impl<S: Spans, W: MakeLine> tracing_subscriber::Layer<S> for JsonLayer<W> {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let write = |line: &mut Vec<u8>| {
            line.clear();
            self.write_line(line, event, &ctx);
            // One write per line keeps lines whole when threads log concurrently.
            let _ = self.make_writer.make().write_all(line);
        };
        LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => {
                write(&mut line);
                // A huge line once must not pin its buffer for good.
                line.shrink_to(16 << 10);
            }
            // An event logged while a line is being written (by a writer).
            Err(_) => write(&mut Vec::new()),
        });
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    /// Lines written by a layer under test.
    #[derive(Clone, Default)]
    pub(crate) struct Buf(pub(crate) Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_carry_span_fields_and_hide_secrets() {
        let buf = Buf::default();
        let w = buf.clone();
        let subscriber = tracing_subscriber::registry()
            .with(SpanFieldsLayer)
            .with(JsonLayer::new("users", move || w.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span =
                tracing::info_span!("req", request_id = "r-1", trace_id = tracing::field::Empty);
            span.record("trace_id", "abc");
            let _g = span.enter();
            tracing::info!(
                email = "a@b.c",
                user_password = "hunter2",
                user_id = 7,
                "registered"
            );
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let v: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["message"], "registered");
        assert_eq!(v["service"], "users");
        assert_eq!(v["level"], "info");
        assert_eq!(v["trace_id"], "abc");
        assert_eq!(v["request_id"], "r-1");
        assert_eq!(v["user_id"], 7);
        assert_eq!(v["email"], "[redacted]");
        assert_eq!(v["user_password"], "[redacted]");
        assert!(!text.contains("hunter2") && !text.contains("a@b.c"));
    }

    #[test]
    fn inner_values_win_and_sensitive_names_match_whole_words() {
        let buf = Buf::default();
        let w = buf.clone();
        let subscriber = tracing_subscriber::registry()
            .with(SpanFieldsLayer)
            .with(JsonLayer::new("banter", move || w.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!("outer", service = "users", step = "outer");
            let _o = outer.enter();
            let inner = tracing::info_span!("inner", step = "inner", Auth_Token = "t0k3n");
            let _i = inner.enter();
            tracing::warn!(emailed = true, message_count = 2, "done");
            tracing::info!(step = "event");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first = &lines[0];
        assert_eq!(first["service"], "users", "a span's service wins: {first}");
        assert_eq!(first["step"], "inner", "the inner span wins: {first}");
        assert_eq!(first["Auth_Token"], "[redacted]");
        assert_eq!(first["emailed"], true, "only whole names are sensitive");
        assert_eq!(first["level"], "warn");
        assert_eq!(first["message"], "done");
        assert!(
            first["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        assert_eq!(lines[1]["step"], "event", "the event's own field wins");
        assert_eq!(lines[1]["message"], "");
        assert!(!text.contains("t0k3n"));
    }
}

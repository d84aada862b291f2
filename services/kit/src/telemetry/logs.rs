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

fn is_sensitive(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SENSITIVE
        .iter()
        .any(|s| name == *s || name.ends_with(&format!("_{s}")) || name.ends_with(&format!(".{s}")))
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

/// Keeps a new span's fields (redacted) in its extensions, for the log lines
/// of the events inside it.
pub(super) fn keep_span_fields<S>(attrs: &Attributes<'_>, id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    let mut fields = Map::new();
    attrs.record(&mut JsonVisitor(&mut fields));
    span.extensions_mut().insert(SpanFields(fields));
}

/// Adds the fields recorded on a span after its creation.
pub(super) fn update_span_fields<S>(id: &Id, values: &Record<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    let mut ext = span.extensions_mut();
    if let Some(fields) = ext.get_mut::<SpanFields>() {
        values.record(&mut JsonVisitor(&mut fields.0));
    }
}

/// Writes one JSON object per event to a writer.
pub struct JsonLayer<W> {
    service: &'static str,
    make_writer: W,
}

impl JsonLayer<fn() -> std::io::Stdout> {
    pub fn stdout(service: &'static str) -> Self {
        Self {
            service,
            make_writer: std::io::stdout,
        }
    }
}

impl<W, O> JsonLayer<W>
where
    W: Fn() -> O + Send + Sync + 'static,
    O: Write,
{
    pub fn new(service: &'static str, make_writer: W) -> Self {
        Self {
            service,
            make_writer,
        }
    }

    fn line<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>) -> Map<String, Value>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        line.insert(
            "level".into(),
            Value::from(meta.level().as_str().to_ascii_lowercase()),
        );
        line.insert("service".into(), Value::from(self.service));
        line.insert("target".into(), Value::from(meta.target()));
        // Span fields from the outermost inwards, so inner spans win.
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    for (k, v) in &fields.0 {
                        line.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        for (k, v) in fields {
            line.insert(k, v);
        }
        line.entry("message").or_insert_with(|| Value::from(""));
        line
    }
}

impl<S, W, O> tracing_subscriber::Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: Fn() -> O + Send + Sync + 'static,
    O: Write,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        keep_span_fields(attrs, id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        update_span_fields(id, values, &ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let line = self.line(event, &ctx);
        let mut buf = serde_json::to_vec(&line).unwrap_or_default();
        buf.push(b'\n');
        // One write per line keeps lines whole when threads log concurrently.
        let _ = (self.make_writer)().write_all(&buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
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
        let subscriber =
            tracing_subscriber::registry().with(JsonLayer::new("users", move || w.clone()));
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
}

//! OpenTelemetry tracing: spans always carry W3C ids (so logs can show
//! `trace_id`); they are exported over OTLP/HTTP only when an endpoint is set.

use super::TelemetryError;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::registry::LookupSpan;

pub(super) fn provider(
    service: &'static str,
    endpoint: Option<&url::Url>,
) -> Result<SdkTracerProvider, TelemetryError> {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service)
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            crate::VERSION,
        ))
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = endpoint {
        use opentelemetry_otlp::WithExportConfig;
        let url = format!("{}/v1/traces", endpoint.as_str().trim_end_matches('/'));
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(url)
            .build()
            .map_err(|e| TelemetryError::Traces(e.to_string()))?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(provider)
}

pub(super) fn layer<S>(
    provider: &SdkTracerProvider,
) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("banter"))
}

struct HeaderExtractor<'a>(&'a axum::http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut axum::http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(key.as_bytes()),
            axum::http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// Continues the trace of an incoming W3C `traceparent` header, if any.
pub fn continue_from_headers(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    let cx = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    span.set_parent(cx);
}

/// Continues the trace of a stored W3C `traceparent` (e.g. from an event).
pub fn continue_from_traceparent(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(value) = traceparent.and_then(|t| axum::http::HeaderValue::from_str(t).ok()) else {
        return;
    };
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("traceparent", value);
    continue_from_headers(span, &headers);
}

/// Writes the `traceparent` of `span` into outgoing headers.
pub fn inject_into_headers(span: &tracing::Span, headers: &mut axum::http::HeaderMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(headers));
}

/// The W3C `traceparent` of a span, for event envelopes.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let mut headers = axum::http::HeaderMap::new();
    inject_into_headers(span, &mut headers);
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Hex trace and span ids of a span (all zeros when tracing is off).
pub fn ids(span: &tracing::Span) -> (String, String) {
    use opentelemetry::trace::TraceContextExt;
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    (sc.trace_id().to_string(), sc.span_id().to_string())
}

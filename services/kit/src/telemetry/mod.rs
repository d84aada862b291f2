//! Telemetry set up once per process: Prometheus metrics, logs (JSON lines, or
//! human-readable lines on a terminal; optionally shipped to Loki) and
//! OpenTelemetry traces (optionally exported over OTLP). `--telemetry off`
//! (benchmarks only) turns request metrics, traces and access logs off.

pub mod exposition;
pub mod logs;
pub mod metrics;
pub mod text;
pub mod traces;
pub mod writer;

use crate::config::{LogFormat, Telemetry, TelemetryConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Off only after `init` with `--telemetry off`: then requests and database
/// calls are neither timed, traced nor logged.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Whether requests are measured, traced and logged (always, except when a
/// benchmark runs with `--telemetry off`).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Writes out buffered log lines when dropped, also on an early error return.
struct FlushLogs;

impl Drop for FlushLogs {
    fn drop(&mut self) {
        writer::flush(Duration::from_secs(5));
    }
}

/// Keeps exporters alive; flushes them when the process shuts down.
pub struct TelemetryGuard {
    _logs: FlushLogs,
    tracer: opentelemetry_sdk::trace::SdkTracerProvider,
    loki: Option<(
        tracing_loki::BackgroundTaskController,
        tokio::task::JoinHandle<()>,
    )>,
}

impl TelemetryGuard {
    /// Flushes pending spans and log lines. Called on graceful shutdown.
    pub async fn shutdown(self) {
        let tracer = self.tracer;
        // The OTLP exporter blocks while it flushes.
        let flushed = tokio::task::spawn_blocking(move || tracer.shutdown()).await;
        if let Ok(Err(err)) = flushed {
            eprintln!("trace exporter shutdown: {err}");
        }
        if let Some((controller, task)) = self.loki {
            controller.shutdown().await;
            if tokio::time::timeout(std::time::Duration::from_secs(5), task)
                .await
                .is_err()
            {
                eprintln!("loki shipping: gave up flushing after 5s");
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log filter `{0}`: {1}")]
    Filter(String, String),
    #[error("cannot set up trace export: {0}")]
    Traces(String),
    #[error("cannot set up Loki shipping: {0}")]
    Loki(String),
    #[error("a global logger is already installed")]
    AlreadyInstalled,
}

/// Installs the process-wide subscriber and metrics recorder. `service` names
/// the process in logs and traces (`banter` when it runs every service).
///
/// Must be called from within a Tokio runtime when Loki shipping is enabled.
pub fn init(
    service: &'static str,
    config: &TelemetryConfig,
) -> Result<TelemetryGuard, TelemetryError> {
    metrics::install();
    let on = config.telemetry == Telemetry::On;
    ENABLED.store(on, Ordering::Relaxed);
    // Off: warnings and errors only, and no span is given to OpenTelemetry.
    let level = if on {
        config.log_level.as_str()
    } else {
        "warn"
    };
    let filter = EnvFilter::try_new(level)
        .map_err(|e| TelemetryError::Filter(level.to_owned(), e.to_string()))?;
    let tracer = traces::provider(service, config.otlp_endpoint.as_ref())?;
    let otel = on.then(|| traces::layer(&tracer));
    let fmt = match config.log_format.resolve() {
        LogFormat::Text => text::TextLayer::stdout(service).boxed(),
        LogFormat::Json | LogFormat::Auto => logs::JsonLayer::stdout(service).boxed(),
    };
    let (loki, loki_task) = match &config.loki_url {
        Some(url) => {
            let (layer, controller, task) = tracing_loki::builder()
                .label("service", service)
                .and_then(|b| b.label("app", "banter"))
                .and_then(|b| b.build_controller_url(url.clone()))
                .map_err(|e| TelemetryError::Loki(e.to_string()))?;
            (Some(layer), Some((controller, tokio::spawn(task))))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(otel)
        .with(logs::SpanFieldsLayer)
        .with(fmt)
        .with(loki)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(TelemetryGuard {
        _logs: FlushLogs,
        tracer,
        loki: loki_task,
    })
}

//! Prometheus metrics: one global recorder, `/metrics` rendering, process
//! metrics and `build_info`.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Latency buckets in seconds. 0.2 is the SLO threshold and must stay an exact
/// bucket boundary, so "requests ≤ 200 ms" is a count, not an interpolation.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75, 1.0, 2.5,
    5.0, 10.0,
];

type Collector = Box<dyn Fn() + Send + Sync>;

struct Registry {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
    collectors: Mutex<Vec<Collector>>,
}

static REGISTRY: OnceLock<Registry> = OnceLock::new();

fn registry() -> &'static Registry {
    REGISTRY.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .expect("static bucket list is not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // A recorder may already be installed (e.g. by a test harness); then
        // we still render our own handle's view.
        let _ = ::metrics::set_global_recorder(recorder);
        let process = metrics_process::Collector::default();
        process.describe();
        describe();
        spawn_upkeep(handle.clone());
        Registry {
            handle,
            process,
            collectors: Mutex::new(Vec::new()),
        }
    })
}

fn spawn_upkeep(handle: PrometheusHandle) {
    // Histograms are drained into the exposition by upkeep; without it memory
    // grows between scrapes.
    let _ = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                handle.run_upkeep();
            }
        });
}

fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        "http_server_request_duration_seconds",
        Unit::Seconds,
        "Duration of HTTP server requests."
    );
    describe_gauge!(
        "http_server_active_requests",
        "Number of HTTP requests in flight."
    );
    describe_gauge!("build_info", "Build of a running service (always 1).");
    describe_gauge!(
        "fault_active",
        "1 while an injected fault of that kind is on for that service, else 0."
    );
    describe_histogram!(
        "db_client_operation_duration_seconds",
        Unit::Seconds,
        "Duration of database operations."
    );
    describe_gauge!(
        "db_client_connections_usage",
        "Database connections in use."
    );
    describe_gauge!("db_client_connections_idle", "Idle database connections.");
    describe_gauge!(
        "db_client_connections_max",
        "Largest allowed number of database connections."
    );
    describe_counter!(
        "auth_password_hashes_total",
        "Password hashes and verifications, by operation."
    );
    describe_counter!(
        "auth_jwks_fetches_total",
        "Fetches of the users service's token keys, by outcome."
    );
    describe_counter!(
        "messaging_published_total",
        "Events published from the outbox, by service and topic."
    );
    describe_counter!(
        "messaging_consumed_total",
        "Events handled by consumers, by topic, consumer group and outcome."
    );
    describe_histogram!(
        "messaging_process_duration_seconds",
        Unit::Seconds,
        "Duration of event handling by consumers."
    );
    describe_gauge!(
        "messaging_consumer_lag",
        "Events published but not yet handled, per topic and consumer group."
    );
    describe_gauge!(
        "messaging_outbox_backlog",
        "Events written to the outbox and not yet published."
    );
    describe_counter!(
        "messaging_dead_lettered_total",
        "Events a consumer gave up on (sent to the topic's dead-letter queue)."
    );
    describe_gauge!(
        "sse_connections_active",
        "Open server-sent-event streams, by service and stream."
    );
    describe_counter!(
        "sse_events_sent_total",
        "Events written to server-sent-event streams."
    );
    describe_counter!(
        "read_model_catch_up_total",
        "Waits for a read model to learn an id from its owner, by outcome."
    );
    describe_counter!(
        "cache_requests_total",
        "Cache lookups, by cache and result (hit or miss)."
    );
}

/// Records one request's duration in `http_server_request_duration_seconds`
/// and keeps its trace id as the exemplar of the bucket it falls in.
pub fn record_request_duration(labels: [(&'static str, &str); 4], seconds: f64, trace_id: &str) {
    let owned: Vec<(&'static str, String)> =
        labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    ::metrics::histogram!("http_server_request_duration_seconds", &owned).record(seconds);
    super::exposition::keep_exemplar(&labels, seconds, trace_id);
}

/// Installs the global recorder (idempotent).
pub fn install() {
    registry();
}

/// Registers a function run before each render, for gauges read on demand
/// (pool sizes, queue depths).
pub fn on_scrape(f: impl Fn() + Send + Sync + 'static) {
    registry()
        .collectors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Box::new(f));
}

/// The Prometheus text exposition of everything recorded in this process.
pub fn render() -> String {
    let reg = registry();
    reg.process.collect();
    for collect in reg
        .collectors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        collect();
    }
    super::exposition::sorted(&reg.handle.render())
}

/// Sets `build_info{service,version,git_sha} 1` for one service.
pub fn build_info(service: &'static str) {
    install();
    ::metrics::gauge!(
        "build_info",
        "service" => service,
        "version" => crate::VERSION,
        "git_sha" => crate::GIT_SHA
    )
    .set(1.0);
}

/// `GET /metrics`: the text format 0.0.4, or OpenMetrics with exemplars when
/// the `Accept` header asks for it.
pub async fn handler(headers: axum::http::HeaderMap) -> impl axum::response::IntoResponse {
    use super::exposition;
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let text = render();
    if exposition::wants_openmetrics(accept) {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                exposition::OPENMETRICS_CONTENT_TYPE,
            )],
            exposition::openmetrics(&text),
        )
    } else {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
    }
}

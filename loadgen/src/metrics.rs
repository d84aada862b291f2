//! `--metrics-port`: the client's view in Prometheus text format while a run
//! is in progress (requests and errors per step including warm-up, latency
//! of the measured window as quantiles and as a histogram, open streams).

use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::recorder::ERROR_KINDS;
use crate::run::Live;

fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The page served at `/metrics`.
pub fn render(live: &Live) -> String {
    let mut out = String::new();
    let guard = live.lock().unwrap_or_else(|p| p.into_inner());
    let Some((recorder, ctx)) = guard.as_ref() else {
        out.push_str("# no run in progress\n");
        return out;
    };
    let steps = recorder.step_totals();
    out.push_str("# HELP loadgen_requests_total Requests (or end-to-end measurements) per journey step, warm-up included.\n# TYPE loadgen_requests_total counter\n");
    for s in &steps {
        let Some(id) = s.id else { continue };
        let _ = writeln!(
            out,
            "loadgen_requests_total{{journey=\"{}\",step=\"{}\",service=\"{}\"}} {}",
            label(id.journey),
            label(id.name),
            id.service.unwrap_or(""),
            s.requests
        );
    }
    out.push_str("# HELP loadgen_errors_total Failed requests per journey step and kind (status, timeout, connect, body).\n# TYPE loadgen_errors_total counter\n");
    for s in &steps {
        let Some(id) = s.id else { continue };
        for (kind, n) in ERROR_KINDS.iter().zip(s.errors) {
            let _ = writeln!(
                out,
                "loadgen_errors_total{{journey=\"{}\",step=\"{}\",kind=\"{kind}\"}} {n}",
                label(id.journey),
                label(id.name)
            );
        }
    }
    out.push_str("# HELP loadgen_step_latency_seconds Client-side latency per step over the measured window so far (HDR, coordinated-omission aware).\n# TYPE loadgen_step_latency_seconds summary\n");
    for s in &steps {
        let Some(id) = s.id else { continue };
        for (q, us) in [("0.5", s.p50_us), ("0.95", s.p95_us), ("0.99", s.p99_us)] {
            let _ = writeln!(
                out,
                "loadgen_step_latency_seconds{{journey=\"{}\",step=\"{}\",quantile=\"{q}\"}} {}",
                label(id.journey),
                label(id.name),
                us as f64 / 1e6
            );
        }
        let _ = writeln!(
            out,
            "loadgen_step_latency_seconds_count{{journey=\"{}\",step=\"{}\"}} {}",
            label(id.journey),
            label(id.name),
            s.measured
        );
    }
    step_duration_histogram(&steps, &mut out);
    let _ = write!(
        out,
        "# HELP loadgen_open_streams SSE streams held open by virtual users.\n# TYPE loadgen_open_streams gauge\nloadgen_open_streams {}\n\
         # HELP loadgen_measuring 1 while the measured window is open (0 during warm-up).\n# TYPE loadgen_measuring gauge\nloadgen_measuring {}\n",
        ctx.open_streams(),
        u8::from(recorder.measuring())
    );
    out
}

/// Bucket bounds in seconds: the server's (SPEC §5), 0.2 exact.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
];

/// `loadgen_step_duration_seconds`: the measured window's latencies as a
/// cumulative histogram, so dashboards take quantiles of a recent window
/// (`rate(...[1m])`) instead of the whole run's.
fn step_duration_histogram(steps: &[crate::recorder::StepTotals], out: &mut String) {
    out.push_str("# HELP loadgen_step_duration_seconds Client-side latency per step in the measured window (from the HDR histograms; rate() it for a recent window).\n# TYPE loadgen_step_duration_seconds histogram\n");
    for s in steps {
        let (Some(id), Some(h)) = (s.id, &s.latency) else {
            continue;
        };
        let labels = format!(
            "journey=\"{}\",step=\"{}\"",
            label(id.journey),
            label(id.name)
        );
        for le in BUCKETS {
            let n = h.count_between(0, (le * 1e6) as u64);
            let _ = writeln!(
                out,
                "loadgen_step_duration_seconds_bucket{{{labels},le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "loadgen_step_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
             loadgen_step_duration_seconds_sum{{{labels}}} {}\n\
             loadgen_step_duration_seconds_count{{{labels}}} {}",
            h.len(),
            h.mean() * h.len() as f64 / 1e6,
            h.len()
        );
    }
}

async fn page(State(live): State<Live>) -> ([(&'static str, &'static str); 1], String) {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        render(&live),
    )
}

/// Serves `/metrics` on 127.0.0.1:`port` until the returned task is aborted.
pub async fn serve(port: u16, live: Live) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            anyhow::anyhow!("--metrics-port {port}: cannot listen on 127.0.0.1:{port}: {e}")
        })?;
    let app = Router::new().route("/metrics", get(page)).with_state(live);
    Ok(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }))
}

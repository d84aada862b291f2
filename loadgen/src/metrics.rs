//! `--metrics-port`: the client's view in Prometheus text format while a run
//! is in progress (requests and errors per step including warm-up, latency
//! quantiles of the measured window, open streams).

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
    let _ = write!(
        out,
        "# HELP loadgen_open_streams SSE streams held open by virtual users.\n# TYPE loadgen_open_streams gauge\nloadgen_open_streams {}\n\
         # HELP loadgen_measuring 1 while the measured window is open (0 during warm-up).\n# TYPE loadgen_measuring gauge\nloadgen_measuring {}\n",
        ctx.open_streams(),
        u8::from(recorder.measuring())
    );
    out
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

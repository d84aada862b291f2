//! The two overview charts of a run: latency percentiles per step and
//! throughput over the window.

use std::collections::BTreeMap;

use plotters::prelude::*;
use runrecord::RunRecord;

use reportkit::chart::{
    self, BLUE as P50, ERROR, LABELS, Line, Lines, ORANGE as P95, RED as P99, SERIES,
    error as chart_err,
};

use super::{SLO_MS, rows};

/// Horizontal bars per step: p99 (light), p95 and p50 overlaid.
pub(super) fn latency_chart(r: &RunRecord) -> Result<String, String> {
    let rows = rows(r);
    let n = rows.len().max(1);
    let keys: Vec<String> = rows.iter().map(|x| x.step.key()).collect();
    let max = rows
        .iter()
        .map(|x| x.p99 as f64 / 1000.0)
        .fold(1.0f64, f64::max)
        * 1.1;
    let height = (90 + 34 * n) as u32;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (960, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Latency per step (ms): p50, p95, p99", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(300)
            .build_cartesian_2d(0f64..max, -0.5f64..(n as f64 - 0.5))
            .map_err(chart_err)?;
        let label = chart::row_label(&keys);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n * 2 + 1)
            .label_style(LABELS)
            .y_label_formatter(&label)
            .x_desc("milliseconds")
            .draw()
            .map_err(chart_err)?;
        for (name, color, pick, half) in [
            ("p99", P99, 2usize, 0.36f64),
            ("p95", P95, 1, 0.26),
            ("p50", P50, 0, 0.16),
        ] {
            let bars = rows.iter().enumerate().map(|(i, x)| {
                let y = (n - 1 - i) as f64;
                let v = [x.p50, x.p95, x.p99][pick] as f64 / 1000.0;
                Rectangle::new([(0.0, y - half), (v, y + half)], color.filled())
            });
            chart
                .draw_series(bars)
                .map_err(chart_err)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        if max >= SLO_MS {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(SLO_MS, -0.5), (SLO_MS, n as f64 - 0.5)],
                    BLACK.stroke_width(2),
                )))
                .map_err(chart_err)?
                .label("200 ms (SLO)")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], BLACK.stroke_width(2))
                });
        }
        chart::legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present().map_err(chart_err)?;
    }
    Ok(buf)
}

/// Requests per second over the window, per journey, and errors per second.
pub(super) fn throughput_chart(r: &RunRecord) -> Result<String, String> {
    let start = r.window.start.timestamp();
    let mut per_journey: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    let mut errors: BTreeMap<i64, u64> = BTreeMap::new();
    for s in &r.steps {
        let series = per_journey
            .entry(s.journey.clone().unwrap_or_else(|| "steps".into()))
            .or_default();
        for sec in &s.timeline {
            *series.entry(sec.t - start).or_default() += sec.requests;
            *errors.entry(sec.t - start).or_default() += sec.errors;
        }
    }
    let seconds = (r.window.seconds().ceil() as i64).max(1);
    let mut lines: Vec<Line> = per_journey
        .iter()
        .enumerate()
        .map(|(i, (journey, series))| {
            Line::new(
                journey.clone(),
                SERIES[i % SERIES.len()],
                chart::every_second(series, seconds),
            )
        })
        .collect();
    lines.push(Line::new(
        "errors",
        ERROR,
        chart::every_second(&errors, seconds),
    ));
    let look = Lines {
        caption: Some("Throughput (requests per second)"),
        size: (960, 360),
        seconds,
        y_desc: Some("requests/s"),
        headroom: 1.35,
        ..Lines::default()
    };
    chart::lines(&look, &lines)
}

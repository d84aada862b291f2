//! Charts over the measured window: latency percentiles per step (small
//! multiples grouped by journey, so 40 steps stay readable: each chart is
//! named in HTML, not by crowded axis labels), errors by status over time, and
//! active users and open streams over time.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use plotters::prelude::*;
use runrecord::{RunRecord, Step};

use super::{ERR, LABELS, P50, P95, P99, SERIES, SLO_MS, chart_err, escape_html};

fn span(r: &RunRecord) -> (i64, i64) {
    (
        r.window.start.timestamp(),
        (r.window.seconds().ceil() as i64).max(1),
    )
}

/// One step's p50/p95/p99 per second, as a small SVG.
fn step_chart(r: &RunRecord, s: &Step) -> Result<Option<String>, String> {
    let (start, len) = span(r);
    let points: Vec<(i64, [f64; 3])> = s
        .timeline
        .iter()
        .filter_map(|sec| {
            let p = sec.latency_us?;
            Some((
                sec.t - start,
                [p.p50, p.p95, p.p99].map(|us| us as f64 / 1000.0),
            ))
        })
        .collect();
    if points.is_empty() {
        return Ok(None);
    }
    let top = points
        .iter()
        .map(|(_, v)| v[2])
        .fold(1.0f64, f64::max)
        .max(1.0)
        * 1.15;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (360, 200)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(52)
            .build_cartesian_2d(0i64..len, 0f64..top)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_labels(5)
            .y_labels(4)
            .label_style(LABELS)
            .y_label_formatter(&|v| format!("{v:.0} ms"))
            .x_label_formatter(&|v| format!("{v} s"))
            .draw()
            .map_err(chart_err)?;
        // p99 first: with few requests a second p95 often equals p99 and
        // must stay visible on top of it.
        for (i, color) in [(2, P99), (1, P95), (0, P50)] {
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|(t, v)| (*t, v[i])),
                    color.stroke_width(2),
                ))
                .map_err(chart_err)?;
        }
        if top >= SLO_MS {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(0, SLO_MS), (len, SLO_MS)],
                    BLACK.stroke_width(1),
                )))
                .map_err(chart_err)?;
        }
        root.present().map_err(chart_err)?;
    }
    Ok(Some(buf))
}

/// Latency over time, one small chart per step, grouped by journey.
pub fn latency_section(r: &RunRecord) -> Result<String, String> {
    let mut journeys: Vec<Option<&str>> = Vec::new();
    for s in &r.steps {
        if !journeys.contains(&s.journey.as_deref()) {
            journeys.push(s.journey.as_deref());
        }
    }
    let mut out = String::from(
        "<h2>Latency over time</h2>\n<p class=\"legend\"><span style=\"color:#4272c4\">━ p50</span> \
         <span style=\"color:#dd8452\">━ p95</span> <span style=\"color:#c44e52\">━ p99</span> \
         ━ 200 ms (SLO) · per second of the measured window, as measured (not corrected)</p>\n",
    );
    let mut drawn = 0;
    for journey in journeys {
        let mut figures = String::new();
        for s in r.steps.iter().filter(|s| s.journey.as_deref() == journey) {
            if let Some(svg) = step_chart(r, s)? {
                let _ = write!(
                    figures,
                    "<figure class=\"chart\"><figcaption>{}</figcaption>{svg}</figure>",
                    escape_html(&s.name)
                );
                drawn += 1;
            }
        }
        if !figures.is_empty() {
            let _ = writeln!(
                out,
                "<h3>{}</h3>\n<div class=\"grid\">{figures}</div>",
                escape_html(journey.unwrap_or("steps"))
            );
        }
    }
    if drawn == 0 {
        out.push_str(
            "<p>No per-second latency in this record (written by an older loadgen).</p>\n",
        );
    }
    Ok(out)
}

/// Errors per second by status code (and by kind for failures without one).
pub fn errors_section(r: &RunRecord) -> Result<String, String> {
    let (start, len) = span(r);
    let mut series: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    for s in &r.steps {
        for sec in &s.timeline {
            let coded: u64 = sec.error_statuses.values().sum();
            for (code, n) in &sec.error_statuses {
                *series
                    .entry(code.clone())
                    .or_default()
                    .entry(sec.t - start)
                    .or_default() += n;
            }
            let other = sec.errors.saturating_sub(coded);
            if other > 0 {
                *series
                    .entry("timeout, connect, body".into())
                    .or_default()
                    .entry(sec.t - start)
                    .or_default() += other;
            }
        }
    }
    if series.is_empty() {
        return Ok("<h2>Errors over time</h2>\n<p>No request failed.</p>\n".into());
    }
    let top = series
        .values()
        .flat_map(|m| m.values())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.3;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (960, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0i64..len, 0f64..top)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .label_style(LABELS)
            .x_desc("seconds into the measured window")
            .y_desc("failed requests/s")
            .draw()
            .map_err(chart_err)?;
        for (i, (name, m)) in series.iter().enumerate() {
            let color = if name.starts_with('5') {
                ERR
            } else {
                SERIES[i % SERIES.len()]
            };
            let points: Vec<(i64, f64)> = (0..len)
                .map(|t| (t, m.get(&t).copied().unwrap_or(0) as f64))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(chart_err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .label_font(LABELS)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(format!(
        "<h2>Errors over time</h2>\n<figure class=\"chart wide\">{buf}</figure>\n"
    ))
}

/// Active users (a request within the last 5 s) and open event streams.
pub fn load_section(r: &RunRecord) -> Result<String, String> {
    if r.load.is_empty() {
        return Ok(String::new());
    }
    let (start, len) = span(r);
    let top = r
        .load
        .iter()
        .map(|l| l.users.max(l.streams))
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.25;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (960, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0i64..len, 0f64..top)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .label_style(LABELS)
            .x_desc("seconds into the measured window")
            .draw()
            .map_err(chart_err)?;
        for (name, color, pick) in [
            ("active users", SERIES[0], 0usize),
            ("open streams", SERIES[1], 1),
        ] {
            let points: Vec<(i64, f64)> = r
                .load
                .iter()
                .map(|l| (l.t - start, [l.users, l.streams][pick] as f64))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(chart_err)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .label_font(LABELS)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(format!(
        "<h2>Users and streams</h2>\n<figure class=\"chart wide\">{buf}</figure>\n"
    ))
}

//! Charts over the measured window: latency percentiles per step (small
//! multiples grouped by journey, so 40 steps stay readable: each chart is
//! named in HTML, not by crowded axis labels), errors by status over time, and
//! active users and open streams over time.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use reportkit::chart::{
    self, BLUE as P50, ERROR, Line, Lines, ORANGE as P95, RED as P99, SERIES, SeriesLabelPosition,
};
use runrecord::{RunRecord, Step};

use super::{SLO_MS, escape_html};

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
    // p99 first: with few requests a second p95 often equals p99 and
    // must stay visible on top of it.
    let lines: Vec<Line> = [("p99", 2, P99), ("p95", 1, P95), ("p50", 0, P50)]
        .into_iter()
        .map(|(name, i, color)| {
            Line::new(
                name,
                color,
                points.iter().map(|(t, v)| (*t, v[i])).collect(),
            )
        })
        .collect();
    let look = Lines {
        size: (360, 200),
        seconds: len,
        x_desc: None,
        headroom: 1.15,
        legend: None,
        reference: Some((SLO_MS, "200 ms (SLO)")),
        compact: true,
        ..Lines::default()
    };
    chart::lines(&look, &lines).map(Some)
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
    let lines: Vec<Line> = series
        .iter()
        .enumerate()
        .map(|(i, (name, m))| {
            let color = if name.starts_with('5') {
                ERROR
            } else {
                SERIES[i % SERIES.len()]
            };
            Line::new(name.clone(), color, chart::every_second(m, len))
        })
        .collect();
    let look = Lines {
        seconds: len,
        y_desc: Some("failed requests/s"),
        headroom: 1.3,
        ..Lines::default()
    };
    let buf = chart::lines(&look, &lines)?;
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
    let lines: Vec<Line> = [("active users", SERIES[0]), ("open streams", SERIES[1])]
        .into_iter()
        .enumerate()
        .map(|(pick, (name, color))| {
            let points = r
                .load
                .iter()
                .map(|l| (l.t - start, [l.users, l.streams][pick] as f64))
                .collect();
            Line::new(name, color, points)
        })
        .collect();
    let look = Lines {
        size: (960, 260),
        seconds: len,
        legend: Some(SeriesLabelPosition::LowerRight),
        ..Lines::default()
    };
    let buf = chart::lines(&look, &lines)?;
    Ok(format!(
        "<h2>Users and streams</h2>\n<figure class=\"chart wide\">{buf}</figure>\n"
    ))
}

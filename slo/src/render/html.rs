//! `slo compare` as one self-contained HTML file: tables plus inline SVG charts
//! (drawn with plotters), no scripts, no external assets.

use std::fmt::Write as _;

use plotters::prelude::*;

use super::compare::{interval, meaningful, relative, signed, value};
use super::escape_xml;
use crate::compare::Comparison;

const BASE_COLOR: RGBColor = RGBColor(66, 114, 196);
const CAND_COLOR: RGBColor = RGBColor(221, 132, 82);

fn err<E: std::fmt::Display>(e: E) -> String {
    format!("cannot draw chart: {e}")
}

/// p95 bars per step for both runs, with p50 and p99 ticks.
fn latency_chart(c: &Comparison) -> Result<String, String> {
    let keys: Vec<String> = c.steps.iter().map(|s| s.key.clone()).collect();
    let n = keys.len().max(1);
    let mut rows = Vec::new();
    for s in &c.steps {
        let get = |name: &str| {
            s.deltas
                .iter()
                .find(|d| d.metric.name() == name)
                .map_or((f64::NAN, f64::NAN), |d| (d.base * 1000.0, d.cand * 1000.0))
        };
        rows.push((get("p50"), get("p95"), get("p99")));
    }
    let max = rows
        .iter()
        .flat_map(|(_, _, p99)| [p99.0, p99.1])
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max)
        * 1.1;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (960, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Latency per step (ms): bars p95, ticks p50 and p99",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(70)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..max)
            .map_err(err)?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                keys.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&label)
            .y_desc("milliseconds")
            .draw()
            .map_err(err)?;
        for (side, off, color) in [(0usize, -0.2f64, BASE_COLOR), (1, 0.2, CAND_COLOR)] {
            let pick = |p: (f64, f64)| if side == 0 { p.0 } else { p.1 };
            let bars = rows.iter().enumerate().filter_map(|(i, r)| {
                let p95 = pick(r.1);
                p95.is_finite().then(|| {
                    let x = i as f64 + off;
                    Rectangle::new([(x - 0.17, 0.0), (x + 0.17, p95)], color.mix(0.8).filled())
                })
            });
            let series = chart.draw_series(bars).map_err(err)?;
            series
                .label(if side == 0 {
                    c.base.clone()
                } else {
                    c.cand.clone()
                })
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
            let ticks = rows.iter().enumerate().flat_map(|(i, r)| {
                let x = i as f64 + off;
                [pick(r.0), pick(r.2)]
                    .into_iter()
                    .filter(|v| v.is_finite())
                    .map(move |v| {
                        PathElement::new(vec![(x - 0.17, v), (x + 0.17, v)], BLACK.stroke_width(2))
                    })
            });
            chart.draw_series(ticks).map_err(err)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// Requests per second over each run's window.
fn throughput_chart(c: &Comparison) -> Result<String, String> {
    let base = c.base_run.total_timeline();
    let cand = c.cand_run.total_timeline();
    let max_t = base
        .iter()
        .chain(&cand)
        .map(|x| x.0)
        .max()
        .unwrap_or(1)
        .max(1);
    let max_n = base
        .iter()
        .chain(&cand)
        .map(|x| x.1)
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.1;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (960, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Throughput (requests per second, all steps)",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0i64..max_t, 0f64..max_n)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("seconds into the window")
            .y_desc("requests/s")
            .draw()
            .map_err(err)?;
        for (label, points, color) in [(&c.base, &base, BASE_COLOR), (&c.cand, &cand, CAND_COLOR)] {
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|(t, n)| (*t, *n as f64)),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

pub fn html(c: &Comparison) -> Result<String, String> {
    let verdict = if c.passed() { "pass" } else { "regression" };
    let mut out = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Run comparison: {verdict}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1000px; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.fail {{ background: #fde2e1; }} .pass {{ color: #1a7f37; }} .bad {{ color: #cf222e; font-weight: bold; }}
</style></head><body>
<h1>Run comparison: <span class="{cls}">{verdict}</span></h1>
<p>Base <code>{base}</code> · candidate <code>{cand}</code> · criteria {crit}</p>
<p>A latency delta is <em>meaningful</em> when its 95&nbsp;% bootstrap interval excludes zero; a criterion fails only on a meaningful delta.</p>
"#,
        cls = if c.passed() { "pass" } else { "bad" },
        base = escape_xml(&c.base),
        cand = escape_xml(&c.cand),
        crit = if c.criteria.is_empty() {
            "none".to_owned()
        } else {
            c.criteria
                .iter()
                .map(|x| format!("<code>{}</code>", escape_xml(&x.text)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    out.push_str(&latency_chart(c)?);
    out.push('\n');
    if !(c.base_run.total_timeline().is_empty() && c.cand_run.total_timeline().is_empty()) {
        out.push_str(&throughput_chart(c)?);
        out.push('\n');
    }
    for s in &c.steps {
        let _ = write!(
            out,
            "<h2>{} <span class=\"{}\">{}</span></h2>\n<table><tr><th>metric</th><th>base</th><th>candidate</th><th>Δ</th><th>Δ %</th><th>95 % interval of Δ</th><th>meaningful</th><th>criteria</th></tr>\n",
            escape_xml(&s.key),
            if s.passed() { "pass" } else { "bad" },
            if s.passed() { "pass" } else { "regression" }
        );
        for d in &s.deltas {
            let failed = !d.failed.is_empty();
            let _ = writeln!(
                out,
                "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if failed { " class=\"fail\"" } else { "" },
                d.metric.name(),
                escape_xml(&value(d.metric, d.base)),
                escape_xml(&value(d.metric, d.cand)),
                escape_xml(&signed(d.metric, d.absolute)),
                escape_xml(&relative(d.relative)),
                escape_xml(&interval(d)),
                meaningful(d),
                escape_xml(&d.failed.join(", "))
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

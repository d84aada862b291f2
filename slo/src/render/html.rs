//! `slo compare` as one self-contained HTML file: tables plus inline SVG charts
//! (drawn with plotters), no scripts, no external assets.

use std::fmt::Write as _;

use plotters::prelude::*;

use super::compare::{interval, meaningful, relative, signed, value};
use super::escape_xml;
use crate::compare::Comparison;

use reportkit::chart::{
    self, BLUE as BASE_COLOR, ERROR as WORSE, GREEN as BETTER, GREY as NOISE, Line, Lines,
    ORANGE as CAND_COLOR, error as err,
};

/// A step's row of the p95 chart: name, Δ in ms, its interval, meaningful.
type DeltaRow = (String, f64, Option<(f64, f64)>, Option<bool>);

/// One row per step (so 40 steps stay readable: labels never share a line):
/// the change of p95 in ms, its 95 % bootstrap interval as a whisker, colored
/// when the delta is meaningful (red slower, green faster), grey when noise can
/// explain it.
fn latency_chart(c: &Comparison) -> Result<String, String> {
    let rows: Vec<DeltaRow> = c
        .steps
        .iter()
        .map(|s| {
            let d = s.deltas.iter().find(|d| d.metric.name() == "p95");
            (
                s.key.clone(),
                d.map_or(f64::NAN, |d| d.absolute * 1000.0),
                d.and_then(|d| d.interval)
                    .map(|(lo, hi)| (lo * 1000.0, hi * 1000.0)),
                d.and_then(|d| d.meaningful),
            )
        })
        .collect();
    let n = rows.len().max(1);
    let reach = rows
        .iter()
        .flat_map(|(_, v, i, _)| [Some(*v), i.map(|x| x.0), i.map(|x| x.1)])
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.5f64, |m, v| m.max(v.abs()))
        * 1.15;
    let height = (110 + 28 * n) as u32;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (960, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Change of p95 per step (ms), with its 95 % bootstrap interval",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(320)
            .build_cartesian_2d(-reach..reach, -0.5f64..(n as f64 - 0.5))
            .map_err(err)?;
        let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let label = chart::row_label(&keys);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n * 2 + 1)
            .y_label_formatter(&label)
            .x_labels(9)
            .label_style(("sans-serif", 13))
            .x_desc("candidate − base, milliseconds (right: slower)")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                BLACK.stroke_width(1),
            )))
            .map_err(err)?;
        for (i, (_, v, interval, meaningful)) in rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let color = match (meaningful, *v > 0.0) {
                (Some(true), true) => WORSE,
                (Some(true), false) => BETTER,
                _ => NOISE,
            };
            if let Some((lo, hi)) = interval {
                chart
                    .draw_series([
                        PathElement::new(vec![(*lo, y), (*hi, y)], color.stroke_width(3)),
                        PathElement::new(
                            vec![(*lo, y - 0.25), (*lo, y + 0.25)],
                            color.stroke_width(2),
                        ),
                        PathElement::new(
                            vec![(*hi, y - 0.25), (*hi, y + 0.25)],
                            color.stroke_width(2),
                        ),
                    ])
                    .map_err(err)?;
            }
            if v.is_finite() {
                chart
                    .draw_series(std::iter::once(Circle::new((*v, y), 5, color.filled())))
                    .map_err(err)?;
            }
        }
        for (name, color) in [
            ("meaningfully slower", WORSE),
            ("meaningfully faster", BETTER),
            ("within noise", NOISE),
        ] {
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 6, y), 5, color.filled()));
        }
        chart::legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// Requests per second over each run's window.
fn throughput_chart(c: &Comparison) -> Result<String, String> {
    let base = c.base_run.total_timeline();
    let cand = c.cand_run.total_timeline();
    let seconds = base.iter().chain(&cand).map(|x| x.0).max().unwrap_or(1);
    let line = |label: &String, points: &[(i64, u64)], color| {
        Line::new(
            label.clone(),
            color,
            points.iter().map(|(t, n)| (*t, *n as f64)).collect(),
        )
    };
    let look = Lines {
        caption: Some("Throughput (requests per second, all steps)"),
        size: (960, 360),
        seconds,
        x_desc: Some("seconds into the window"),
        y_desc: Some("requests/s"),
        headroom: 1.1,
        legend: Some(SeriesLabelPosition::UpperRight),
        ..Lines::default()
    };
    chart::lines(
        &look,
        &[
            line(&c.base, &base, BASE_COLOR),
            line(&c.cand, &cand, CAND_COLOR),
        ],
    )
}

/// One line per step: the compact view above the charts and the details.
fn summary_table(c: &Comparison) -> String {
    let mut out = String::from(
        "<table><tr><th>step</th><th>p95 base → candidate</th><th>Δ p95 (95 % interval)</th><th>Δ error rate</th><th>Δ throughput</th><th>verdict</th></tr>\n",
    );
    for s in &c.steps {
        let row = super::compare::summary_row(s);
        let _ = writeln!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            if s.passed() { "" } else { " class=\"fail\"" },
            escape_xml(&s.key),
            escape_xml(&row[0]),
            escape_xml(&row[1]),
            escape_xml(&row[2]),
            escape_xml(&row[3]),
            if s.passed() { "pass" } else { "bad" },
            if s.passed() { "pass" } else { "regression" }
        );
    }
    out.push_str("</table>\n<h2>Charts</h2>\n");
    out
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
{summary}
"#,
        summary = summary_table(c),
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
    out.push_str("<h2>Details per step</h2>\n");
    for s in &c.steps {
        let _ = write!(
            out,
            "<h3>{} <span class=\"{}\">{}</span></h3>\n<table><tr><th>metric</th><th>base</th><th>candidate</th><th>Δ</th><th>Δ %</th><th>95 % interval of Δ</th><th>meaningful</th><th>criteria</th></tr>\n",
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

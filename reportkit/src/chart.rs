//! Lines over the seconds of a window, drawn with plotters as an SVG string:
//! the one chart shape the run report and the comparison report draw many
//! times (throughput, errors by status, users and streams, latency of one
//! step). The palette lives here so every report uses the same colours.

pub use plotters::chart::SeriesLabelPosition;
use plotters::prelude::*;
pub use plotters::style::RGBColor;

/// p50 lines and the first series.
pub const BLUE: RGBColor = RGBColor(66, 114, 196);
/// p95 lines and a comparison's candidate.
pub const ORANGE: RGBColor = RGBColor(221, 132, 82);
/// p99 lines.
pub const RED: RGBColor = RGBColor(196, 78, 82);
/// Errors and regressions.
pub const ERROR: RGBColor = RGBColor(207, 34, 46);
/// Improvements.
pub const GREEN: RGBColor = RGBColor(26, 127, 55);
/// A shaded window (a fault was on).
pub const SHADE: RGBColor = RGBColor(240, 180, 40);
/// What noise can explain.
pub const GREY: RGBColor = RGBColor(140, 140, 140);
/// Colours of successive named series.
pub const SERIES: [RGBColor; 4] = [
    BLUE,
    RGBColor(85, 168, 104),
    RGBColor(129, 114, 179),
    RGBColor(204, 185, 116),
];
/// Axis and legend text: readable at the page's size.
pub const LABELS: (&str, u32) = ("sans-serif", 13);

/// A drawing error as the reports show it.
pub fn error<E: std::fmt::Display>(e: E) -> String {
    format!("cannot draw chart: {e}")
}

/// The y-axis labels of a horizontal bar chart with one bar (or group of
/// bars) per key, the first key on top: plotters asks for a label at every
/// half step and only whole steps name a row.
pub fn row_label<K: AsRef<str>>(keys: &[K]) -> impl Fn(&f64) -> String + '_ {
    let n = keys.len();
    move |y: &f64| {
        let i = y.round();
        if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
            keys.get(n - 1 - i as usize)
                .map(|k| k.as_ref().to_owned())
                .unwrap_or_default()
        } else {
            String::new()
        }
    }
}

/// Draws the legend of every labelled series of `chart` in a framed box at
/// `position`: the one legend look of every report.
pub fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .label_font(LABELS)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(position)
        .draw()
        .map_err(error)
}

/// One named line: a value per second of the window (x = seconds from its start).
pub struct Line {
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<(i64, f64)>,
}

impl Line {
    pub fn new(name: impl Into<String>, color: RGBColor, points: Vec<(i64, f64)>) -> Self {
        Self {
            name: name.into(),
            color,
            points,
        }
    }
}

/// Where the legend goes (`None`: no legend, as on small multiples whose
/// legend is written once in the page).
pub type Legend = Option<SeriesLabelPosition>;

/// How a chart of [`Line`]s looks.
pub struct Lines<'a> {
    /// A title drawn in the chart (pages that caption in HTML leave it out).
    pub caption: Option<&'a str>,
    pub size: (u32, u32),
    /// x runs from 0 to this many seconds.
    pub seconds: i64,
    pub x_desc: Option<&'a str>,
    pub y_desc: Option<&'a str>,
    /// The y axis reaches the highest point times this (room for the legend).
    pub headroom: f64,
    pub legend: Legend,
    /// A horizontal reference line (value, legend name), e.g. the SLO's 200 ms;
    /// drawn only when the chart reaches it.
    pub reference: Option<(f64, &'a str)>,
    /// Small multiples: tighter margins, few ticks, `ms`/`s` tick labels.
    pub compact: bool,
    /// A stretch of the x axis shaded behind the lines (from, to, legend
    /// name), e.g. the window a fault was on.
    pub shade: Option<(i64, i64, &'a str)>,
}

impl Default for Lines<'_> {
    fn default() -> Self {
        Self {
            caption: None,
            size: (960, 300),
            seconds: 1,
            x_desc: Some("seconds into the measured window"),
            y_desc: None,
            headroom: 1.25,
            legend: Some(SeriesLabelPosition::UpperRight),
            reference: None,
            compact: false,
            shade: None,
        }
    }
}

/// `lines` drawn as an SVG document (a string to inline in HTML).
pub fn lines(look: &Lines, lines: &[Line]) -> Result<String, String> {
    let seconds = look.seconds.max(1);
    let top = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(1.0f64, f64::max)
        * look.headroom;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, look.size).into_drawing_area();
        root.fill(&WHITE).map_err(error)?;
        let mut builder = ChartBuilder::on(&root);
        if let Some(caption) = look.caption {
            builder.caption(caption, ("sans-serif", 18));
        }
        let (margin, x_area, y_area) = if look.compact {
            (8, 28, 52)
        } else {
            (12, 36, 60)
        };
        let mut chart = builder
            .margin(margin)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(0i64..seconds, 0f64..top)
            .map_err(error)?;
        let mut mesh = chart.configure_mesh();
        mesh.label_style(LABELS);
        if look.compact {
            mesh.x_labels(5)
                .y_labels(4)
                .y_label_formatter(&|v| format!("{v:.0} ms"))
                .x_label_formatter(&|v| format!("{v} s"));
        }
        if let Some(x) = look.x_desc {
            mesh.x_desc(x);
        }
        if let Some(y) = look.y_desc {
            mesh.y_desc(y);
        }
        mesh.draw().map_err(error)?;
        if let Some((from, to, name)) = look.shade {
            let fill = SHADE.mix(0.25).filled();
            let series = chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(from.max(0), 0.0), (to.min(seconds), top)],
                    fill,
                )))
                .map_err(error)?;
            if look.legend.is_some() {
                series
                    .label(name)
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], fill));
            }
        }
        for line in lines {
            let color = line.color;
            let series = chart
                .draw_series(LineSeries::new(
                    line.points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(error)?;
            if look.legend.is_some() {
                series.label(line.name.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                });
            }
        }
        if let Some((value, name)) = look.reference.filter(|(v, _)| top >= *v) {
            let width = if look.compact { 1 } else { 2 };
            let series = chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(0, value), (seconds, value)],
                    BLACK.stroke_width(width),
                )))
                .map_err(error)?;
            if look.legend.is_some() {
                series.label(name).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], BLACK.stroke_width(width))
                });
            }
        }
        if let Some(position) = look.legend.clone() {
            legend(&mut chart, position)?;
        }
        root.present().map_err(error)?;
    }
    Ok(buf)
}

/// `points` (sparse, by second) as a value for every second of `0..seconds`,
/// 0 where nothing happened, so a quiet second is drawn as a dip, not skipped.
pub fn every_second(
    points: &std::collections::BTreeMap<i64, u64>,
    seconds: i64,
) -> Vec<(i64, f64)> {
    (0..seconds)
        .map(|t| (t, points.get(&t).copied().unwrap_or(0) as f64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_line_its_legend_and_the_reference_it_reaches() {
        let look = Lines {
            seconds: 3,
            reference: Some((2.0, "limit")),
            ..Lines::default()
        };
        let svg = lines(
            &look,
            &[
                Line::new("requests", BLUE, vec![(0, 1.0), (1, 3.0), (2, 2.0)]),
                Line::new("errors", ERROR, vec![(0, 0.0), (1, 1.0), (2, 0.0)]),
            ],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in ["requests", "errors", "limit"] {
            assert!(svg.contains(text), "legend lacks {text}");
        }
        // Each line is drawn in its colour (plotters writes upper-case hex).
        for colour in ["#4272C4", "#CF222E"] {
            assert!(svg.contains(colour), "no line in {colour}");
        }
    }

    #[test]
    fn a_reference_above_the_data_is_left_out() {
        let look = Lines {
            reference: Some((200.0, "200 ms (SLO)")),
            ..Lines::default()
        };
        let svg = lines(&look, &[Line::new("p95", ORANGE, vec![(0, 5.0)])]).unwrap();
        assert!(!svg.contains("200 ms (SLO)"));
    }

    #[test]
    fn a_shaded_window_is_drawn_behind_the_lines_and_named() {
        let look = Lines {
            seconds: 10,
            shade: Some((2, 5, "fault on")),
            ..Lines::default()
        };
        let svg = lines(&look, &[Line::new("burn", BLUE, vec![(0, 1.0), (9, 2.0)])]).unwrap();
        assert!(svg.contains("fault on"), "{svg}");
        assert!(svg.contains("#F0B428"), "no shaded rectangle: {svg}");
    }

    #[test]
    fn quiet_seconds_are_zero() {
        let points = [(1, 4u64)].into_iter().collect();
        assert_eq!(every_second(&points, 3), vec![(0, 0.0), (1, 4.0), (2, 0.0)]);
    }
}

//! Renderers: `slo check` reports as text, JSON, Markdown or JUnit XML, and
//! `slo compare` reports as Markdown or self-contained HTML with SVG charts.

pub mod check;
pub mod compare;
pub mod html;

/// Escapes text for XML and HTML.
pub use reportkit::escape_html as escape_xml;

/// Seconds as a short human duration (`183 ms`, `1.20 s`, `850 µs`).
pub fn human_seconds(s: f64) -> String {
    if !s.is_finite() {
        "—".into()
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 0.001 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

/// A percentage with enough digits to tell 99.9 from 99.95.
pub fn percent(p: f64) -> String {
    let digits = if p >= 99.0 { 3 } else { 2 };
    let s = format!("{p:.digits$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} %")
}

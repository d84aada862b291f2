//! The spec's text forms: durations and thresholds, Sloth's `{{.window}}`
//! placeholder, the `le` label of a bucket, names, and label matchers read out
//! of PromQL.

use promql_parser::label::Matcher;

/// A regex matching the `le` label of the bucket at `seconds` however the exporter
/// or Prometheus (3.x normalises `1` to `1.0`) formats it.
pub fn le_regex(seconds: f64) -> String {
    let s = format_seconds(seconds);
    let escaped = s.replace('.', "\\\\.");
    if s.contains('.') || s.contains('e') {
        format!("{escaped}0*")
    } else {
        format!("{escaped}(\\\\.0+)?")
    }
}

/// Shortest decimal form of a number of seconds (`0.2`, `1`, `0.0025`).
pub fn format_seconds(seconds: f64) -> String {
    format!("{seconds}")
}

/// Replaces Sloth's `{{.window}}` placeholder (any spacing) with `window`.
pub fn with_window(query: &str, window: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + len].trim();
        out.push_str(&rest[..start]);
        if inner == ".window" {
            out.push_str(window);
        } else {
            out.push_str(&rest[start..start + len + 2]);
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

pub(super) fn has_window(query: &str) -> bool {
    with_window(query, "\u{0}") != query
}

/// Parses a threshold: a number of seconds (`0.2`) or a duration (`200ms`, `1.5s`).
pub fn parse_threshold(value: &serde_yaml_ng::Value) -> Result<f64, String> {
    let seconds = match value {
        serde_yaml_ng::Value::Number(n) => n.as_f64().ok_or("not a number")?,
        serde_yaml_ng::Value::String(s) => parse_duration_seconds(s)?,
        _ => return Err("must be a duration such as 200ms or a number of seconds".into()),
    };
    if seconds.is_finite() && seconds > 0.0 {
        Ok(seconds)
    } else {
        Err(format!("must be positive, got {seconds}"))
    }
}

/// `200ms`, `1.5s`, `2m`, `1h`, `250us` → seconds.
pub fn parse_duration_seconds(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 200ms, 1.5s or 5m"))?;
    let scale = match unit.trim() {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use us, ms, s, m, h or d)"
            ));
        }
    };
    Ok(n * scale)
}

pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub(super) fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The matcher on `label` in `query`, if all selectors agree on exactly one.
pub(super) fn label_matcher(query: &str, label: &str) -> Option<Matcher> {
    let expr = promql_parser::parser::parse(query).ok()?;
    let mut found: Vec<Matcher> = Vec::new();
    crate::promql::visit_selectors(&expr, &mut |vs| {
        for m in &vs.matchers.matchers {
            if m.name == label && !found.contains(m) {
                found.push(m.clone());
            }
        }
    });
    if found.len() == 1 { found.pop() } else { None }
}

//! What `/metrics` serves, on top of the recorder's text: metric families and
//! series in a stable (sorted) order on every scrape, and the OpenMetrics
//! format with trace-id exemplars on the request-duration histogram for
//! scrapers that ask for it (Prometheus sends `Accept:
//! application/openmetrics-text` first), so a slow bucket links to a trace.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::metrics::LATENCY_BUCKETS;

/// The histogram whose buckets carry exemplars.
pub const EXEMPLAR_HISTOGRAM: &str = "http_server_request_duration_seconds";

/// One observation kept to illustrate a bucket.
#[derive(Clone, Debug)]
struct Exemplar {
    trace_id: String,
    value: f64,
    unix_secs: f64,
}

/// Label set (sorted `name=value` pairs) → the latest exemplar per bucket
/// (the last slot is `+Inf`).
type Exemplars = HashMap<Vec<(String, String)>, Vec<Option<Exemplar>>>;

fn exemplars() -> &'static Mutex<Exemplars> {
    static EXEMPLARS: OnceLock<Mutex<Exemplars>> = OnceLock::new();
    EXEMPLARS.get_or_init(Default::default)
}

/// Keeps `trace_id` as the exemplar of the bucket `value` falls in, for the
/// series of [`EXEMPLAR_HISTOGRAM`] with these labels. A trace id of zeros
/// (no trace) is not kept.
pub fn keep_exemplar(labels: &[(&str, &str)], value: f64, trace_id: &str) {
    if trace_id.is_empty() || trace_id.bytes().all(|b| b == b'0') {
        return;
    }
    let mut key: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    key.sort();
    let bucket = LATENCY_BUCKETS
        .iter()
        .position(|le| value <= *le)
        .unwrap_or(LATENCY_BUCKETS.len());
    let unix_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut all = exemplars().lock().unwrap_or_else(|e| e.into_inner());
    let slots = all
        .entry(key)
        .or_insert_with(|| vec![None; LATENCY_BUCKETS.len() + 1]);
    slots[bucket] = Some(Exemplar {
        trace_id: trace_id.to_owned(),
        value,
        unix_secs,
    });
}

/// A sample line's metric name and labels (in order), or `None` for a line
/// that is not a sample.
fn parse_sample(line: &str) -> Option<(&str, Vec<(String, String)>)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut labels = Vec::new();
    if line[name_end..].starts_with('{') {
        let mut chars = line[name_end + 1..].chars();
        loop {
            let mut key = String::new();
            for c in chars.by_ref() {
                if c == '=' {
                    break;
                }
                if c == '}' {
                    return Some((name, labels));
                }
                if c != ',' {
                    key.push(c);
                }
            }
            if chars.next() != Some('"') {
                return None;
            }
            let mut value = String::new();
            let mut escaped = false;
            for c in chars.by_ref() {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    (true, 'n') => {
                        value.push('\n');
                        escaped = false;
                    }
                    (_, c) => {
                        value.push(c);
                        escaped = false;
                    }
                }
            }
            labels.push((key.trim().to_owned(), value));
        }
    }
    Some((name, labels))
}

/// The family a line belongs to (the name in `# HELP`/`# TYPE`, or the
/// sample's metric name).
fn family_name(block: &str) -> &str {
    let first = block.lines().next().unwrap_or_default();
    match first
        .strip_prefix("# HELP ")
        .or_else(|| first.strip_prefix("# TYPE "))
    {
        Some(rest) => rest.split(' ').next().unwrap_or_default(),
        None => first.split(['{', ' ']).next().unwrap_or_default(),
    }
}

/// A series' identity within its family: its labels without `le`/`quantile`
/// (a histogram's buckets, sum and count stay together and in order).
fn series_key(line: &str) -> String {
    let Some((_, labels)) = parse_sample(line) else {
        return String::new();
    };
    labels
        .iter()
        .filter(|(k, _)| k != "le" && k != "quantile")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The recorder's text with families sorted by name and series sorted by
/// labels, so two scrapes list the same things in the same order.
pub fn sorted(text: &str) -> String {
    let mut families: Vec<&str> = text
        .split("\n\n")
        .map(|b| b.trim_matches('\n'))
        .filter(|b| !b.is_empty())
        .collect();
    families.sort_by(|a, b| family_name(a).cmp(family_name(b)));
    let mut out = String::with_capacity(text.len());
    for family in families {
        let (comments, samples): (Vec<&str>, Vec<&str>) =
            family.lines().partition(|l| l.starts_with('#'));
        // Consecutive lines of one series form a group; groups are sorted.
        let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
        for line in samples {
            let key = series_key(line);
            match groups.last_mut() {
                Some((last, lines)) if *last == key => lines.push(line),
                _ => groups.push((key, vec![line])),
            }
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for line in comments {
            out.push_str(line);
            out.push('\n');
        }
        for (_, lines) in groups {
            for line in lines {
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out
}

/// Whether an `Accept` header asks for OpenMetrics.
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("application/openmetrics-text"))
}

/// The content type of [`openmetrics`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// OpenMetrics 1.0 from the (sorted) text format: counter families are named
/// without their `_total` suffix, buckets of [`EXEMPLAR_HISTOGRAM`] carry the
/// latest exemplar that fell in them, and the exposition ends with `# EOF`.
pub fn openmetrics(text: &str) -> String {
    let exemplars = exemplars()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let counters: std::collections::HashSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(text.len() + 1024);
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.splitn(2, ' ');
            let name = parts.next().unwrap_or_default();
            let kind = parts.next().unwrap_or_default();
            if kind == "counter" {
                match name.strip_suffix("_total") {
                    Some(family) => out.push_str(&format!("# TYPE {family} counter\n")),
                    // OpenMetrics counters' samples end in `_total`; one
                    // that does not is passed on untyped.
                    None => out.push_str(&format!("# TYPE {name} unknown\n")),
                }
                continue;
            }
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            if let Some(family) = name.strip_suffix("_total")
                && counters.contains(name)
            {
                out.push_str(&format!("# HELP {family}{}\n", &rest[name.len()..]));
                continue;
            }
        }
        out.push_str(line);
        if let Some(exemplar) = bucket_exemplar(line, &exemplars) {
            out.push_str(&exemplar);
        }
        out.push('\n');
    }
    out.push_str("# EOF\n");
    out
}

/// ` # {trace_id="…"} value timestamp` for a bucket line that has one.
fn bucket_exemplar(line: &str, exemplars: &Exemplars) -> Option<String> {
    let (name, labels) = parse_sample(line)?;
    if name.strip_suffix("_bucket")? != EXEMPLAR_HISTOGRAM {
        return None;
    }
    let le = labels.iter().find(|(k, _)| k == "le")?.1.clone();
    let bucket = if le == "+Inf" {
        LATENCY_BUCKETS.len()
    } else {
        let bound: f64 = le.parse().ok()?;
        LATENCY_BUCKETS
            .iter()
            .position(|b| (b - bound).abs() < 1e-12)?
    };
    let mut key: Vec<(String, String)> = labels.into_iter().filter(|(k, _)| k != "le").collect();
    key.sort();
    let exemplar = exemplars.get(&key)?.get(bucket)?.as_ref()?;
    Some(format!(
        " # {{trace_id=\"{}\"}} {} {:.3}",
        exemplar.trace_id, exemplar.value, exemplar.unix_secs
    ))
}

#[cfg(test)]
mod tests;

//! The errors section of the reports: per step, failures by kind and status
//! code, and the sampled failures in full (time, method, route, status, body
//! excerpt, request id), so an error is diagnosed from the report alone.

use reportkit::markdown::{Table, left, right};
use std::fmt::Write as _;

use runrecord::{RunRecord, Step};

use super::escape_html;

/// `404 ×3, timeout ×1`: a step's failures by status code, then by the other
/// kinds (a status failure without a recorded code shows as `status`).
pub fn breakdown(s: &Step) -> String {
    let mut parts: Vec<String> = s
        .error_statuses
        .iter()
        .map(|(code, n)| format!("{code} ×{n}"))
        .collect();
    let coded: u64 = s.error_statuses.values().sum();
    for (n, kind) in [
        (s.errors.status.saturating_sub(coded), "status"),
        (s.errors.timeout, "timeout"),
        (s.errors.connect, "connect"),
        (s.errors.body, "body check"),
    ] {
        if n > 0 {
            parts.push(format!("{kind} ×{n}"));
        }
    }
    parts.join(", ")
}

fn failing(r: &RunRecord) -> impl Iterator<Item = &Step> {
    r.steps.iter().filter(|s| s.errors.total() > 0)
}

/// The Markdown errors section (empty when nothing failed).
pub fn markdown(r: &RunRecord) -> String {
    if failing(r).next().is_none() {
        return String::new();
    }
    let mut out = String::from("\n## Errors\n\n");
    let mut table = Table::new(&[
        left("step"),
        left("service"),
        right("failed"),
        right("of"),
        left("by status and kind"),
    ]);
    for s in failing(r) {
        table.row(&[
            &s.key(),
            &s.service.as_deref().unwrap_or("—"),
            &s.errors.total(),
            &s.requests,
            &breakdown(s),
        ]);
    }
    out.push_str(&table.finish());
    out.push_str("\n### Sampled failures\n\n");
    let mut table = Table::new(&[
        left("time"),
        left("step"),
        left("request"),
        left("status"),
        left("response"),
        left("request id"),
    ]);
    for s in failing(r) {
        for f in &s.failures {
            table.row(&[
                &f.at.format("%H:%M:%S%.3f"),
                &s.key(),
                &format_args!("`{} {}`", f.method, f.route),
                &outcome(f),
                &f.body
                    .as_deref()
                    .unwrap_or("")
                    .replace('|', "\\|")
                    .replace('\n', " "),
                &f.request_id.as_deref().unwrap_or("—"),
            ]);
        }
    }
    out.push_str(&table.finish());
    out
}

/// The HTML errors section (empty when nothing failed).
pub fn html(r: &RunRecord) -> String {
    if failing(r).next().is_none() {
        return String::new();
    }
    let mut out = String::from(
        "<h2 id=\"errors\">Errors</h2>\n<table><tr><th>step</th><th>service</th><th>failed</th><th>of</th><th>by status and kind</th></tr>\n",
    );
    for s in failing(r) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"bad\">{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&s.key()),
            escape_html(s.service.as_deref().unwrap_or("—")),
            s.errors.total(),
            s.requests,
            escape_html(&breakdown(s))
        );
    }
    out.push_str("</table>\n<h3>Sampled failures</h3>\n<table class=\"failures\"><tr><th>time</th><th>step</th><th>request</th><th>status</th><th>response</th><th>request id</th></tr>\n");
    for s in failing(r) {
        for f in &s.failures {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td><code>{} {}</code></td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                f.at.format("%H:%M:%S%.3f"),
                escape_html(&s.key()),
                escape_html(&f.method),
                escape_html(&f.route),
                escape_html(&outcome(f)),
                escape_html(f.body.as_deref().unwrap_or("")),
                escape_html(f.request_id.as_deref().unwrap_or("—"))
            );
        }
    }
    out.push_str("</table>\n");
    out
}

/// What a failed request got: its status code, or the kind of failure
/// (timeout, connect, body) when no answer came.
pub(super) fn outcome(f: &runrecord::Failure) -> String {
    f.status.map_or_else(|| f.kind.clone(), |c| c.to_string())
}

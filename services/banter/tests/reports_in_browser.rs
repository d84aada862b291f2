//! The HTML reports in a real browser (Debian's headless `chromium`, found on
//! PATH; the test fails without it, as CI installs it): `loadgen`'s run report
//! of 40 steps in four journeys, with errors and load samples, and `slo
//! compare`'s report of the same 40 steps against a slower run, load offline
//! with no console error, every chart renders non-empty, and no two labels of
//! a chart overlap.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use runrecord::{
    ErrorKind, Failure, LoadSample, Percentiles, Profile, RunRecord, Target, Tool, Window,
};

/// 4 journeys × 10 steps over 60 s: latency drifting up (times `slower`), a
/// burst of 404s and a few timeouts, users ramping up.
fn forty_steps(slower: u64) -> RunRecord {
    let start = DateTime::<Utc>::from_timestamp(1_795_255_200, 0).unwrap();
    let mut r = RunRecord::new(
        Tool {
            name: "banter-loadgen".into(),
            version: "0".into(),
        },
        vec![Target {
            url: "http://127.0.0.1:8000".into(),
            service: None,
            git_sha: Some("4e64a6c".into()),
        }],
        Profile {
            name: "load".into(),
            parameters: Default::default(),
        },
        Window {
            start,
            end: start + chrono::Duration::seconds(60),
        },
    );
    for j in 0..4 {
        let journey = format!("journey-number-{j}");
        for k in 0..10 {
            let name = format!("a-rather-long-step-name-{k}");
            let step = r.step_mut(Some(&journey), &name, Some("users"));
            for t in 0..60i64 {
                let at = start + chrono::Duration::seconds(t);
                for n in 0..5u64 {
                    let ms = (5 + (t as u64) / 4 + n * 3 + k) * slower;
                    let error = (k == 3 && (20..25).contains(&t) && n == 0)
                        .then_some(ErrorKind::Status)
                        .or((k == 7 && t == 40 && n == 1).then_some(ErrorKind::Timeout));
                    step.record(at, Some(Duration::from_millis(ms)), error);
                    if let Some(kind) = error {
                        step.note_failure(Failure {
                            at,
                            kind: kind.as_str().into(),
                            method: "POST".into(),
                            route: "/api/friends/request".into(),
                            status: (kind == ErrorKind::Status).then_some(404),
                            body: Some(
                                "{\"code\":\"NOT_FOUND\",\"detail\":\"<user> not found\"}".into(),
                            ),
                            request_id: Some(format!("req-{t}")),
                            trace_id: None,
                        });
                    }
                }
                let base = 5_000 + t as u64 * 250 + k * 1000;
                step.set_second_latency(
                    start.timestamp() + t,
                    Percentiles {
                        p50: base,
                        p95: base * 2,
                        p99: base * 3,
                    },
                );
            }
        }
        r.journeys.push(journey);
    }
    r.load = (0..60)
        .map(|t| LoadSample {
            t: start.timestamp() + t,
            users: (t as u64).min(50),
            streams: (t as u64 / 2).min(25),
        })
        .collect();
    r
}

/// Checks the page once loaded and writes the verdict into the DOM, where
/// `--dump-dom` shows it.
const PROBE: &str = r#"<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push('error: ' + (e.message || e.target.outerHTML)), true);
const realError = console.error;
console.error = (...a) => { window.__errors.push('console: ' + a.join(' ')); realError(...a); };
window.addEventListener('load', () => {
  const problems = [...window.__errors];
  const svgs = [...document.querySelectorAll('svg')];
  svgs.forEach((svg, i) => {
    const box = svg.getBoundingClientRect();
    const marks = svg.querySelectorAll('path, polyline, line, rect, circle').length;
    if (box.width < 50 || box.height < 50 || marks < 5) problems.push(`chart ${i} empty: ${box.width}x${box.height}, ${marks} marks`);
    const texts = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim() !== '').map(t => [t.textContent, t.getBoundingClientRect()]);
    for (let a = 0; a < texts.length; a++) for (let b = a + 1; b < texts.length; b++) {
      const [ta, ra] = texts[a], [tb, rb] = texts[b];
      const overlap = ra.left < rb.right - 1 && rb.left < ra.right - 1 && ra.top < rb.bottom - 1 && rb.top < ra.bottom - 1;
      if (overlap) problems.push(`chart ${i}: labels "${ta}" and "${tb}" overlap`);
    }
  });
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({charts: svgs.length, problems});
  document.body.appendChild(out);
});
</script>"#;

/// Loads `html` (with the probe) in headless chromium; returns what the probe
/// found.
fn probe(html: &str) -> serde_json::Value {
    assert!(
        !html.contains("<script") && !html.contains("src=\"http"),
        "a report needs no script and no network"
    );
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, html.replacen("<head>", &format!("<head>{PROBE}"), 1)).unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,900",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run chromium (apt-get install chromium): {e}"));
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<pre id=\"probe\">").unwrap_or_else(|| {
        panic!(
            "the probe did not run:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let rest = &dom[start + "<pre id=\"probe\">".len()..];
    let json = rest[..rest.find("</pre>").unwrap()]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let found: serde_json::Value = serde_json::from_str(&json).unwrap();
    println!("{found}");
    assert_eq!(found["problems"], serde_json::json!([]), "{found}");
    found
}

#[test]
fn the_run_report_renders_in_headless_chromium() {
    let found = probe(&loadgen::report::html(&forty_steps(1)).unwrap());
    // Steps bar chart, throughput, users, errors, and one chart per step.
    assert!(found["charts"].as_u64().unwrap() >= 44, "{found}");
}

#[test]
fn the_compare_report_renders_in_headless_chromium_and_stays_compact() {
    use slo::compare::{Criterion, Run, compare};
    let base = forty_steps(1);
    let cand = forty_steps(2);
    let c = compare(
        Run::from_record("base.json", &base),
        Run::from_record("cand.json", &cand),
        Criterion::defaults(),
    );
    assert_eq!(c.steps.len(), 40);
    let html = slo::render::html::html(&c).unwrap();
    let found = probe(&html);
    assert_eq!(found["charts"], 2, "{found}");
    // Every step's interval is drawn: a whisker per step.
    assert!(html.contains("95 % bootstrap interval"));
    // The Markdown summary: one table line per step before the details.
    let md = slo::render::compare::markdown(&c);
    let summary = &md[..md.find("<details>").unwrap()];
    assert!(summary.lines().count() <= 40 + 12, "{summary}");
    assert_eq!(
        summary.matches("| journey-number-").count(),
        40,
        "{summary}"
    );
}

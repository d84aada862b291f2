//! A real headless Chromium (Debian's `chromium`, on PATH; the test fails
//! without it, as CI installs it) loading a self-contained HTML report.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::Command;

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
pub fn probe(html: &str) -> serde_json::Value {
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

//! A real Prometheus (Debian package `prometheus`, found on PATH) for tests, and
//! `promtool`. Both fail the test when missing: they are never skipped.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The executable `name` on PATH; panics with how to install it.
pub fn on_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not on PATH: install the Debian package `prometheus` (./test.sh does)"
            )
        })
}

/// Runs `promtool <args>` in `dir`; panics with its output unless it succeeds.
pub fn promtool(args: &[&str], dir: &Path) -> String {
    let out = Command::new(on_path("promtool"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

/// A Prometheus on a free port with a given configuration, killed on drop.
pub struct Prometheus {
    child: Child,
    pub url: String,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Scrapes `target` (host:port) every second as job `banter`.
    pub async fn start(target: &str) -> Self {
        Self::start_with(|_| {
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: banter\n    static_configs:\n      - targets: ['{target}']\n"
            )
        })
        .await
    }

    /// Starts Prometheus with the configuration `config(port)` returns (the port
    /// it will listen on, for a self-scrape) and waits until it is ready.
    pub async fn start_with(config: impl FnOnce(u16) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = super::free_port();
        let file = dir.path().join("prometheus.yml");
        std::fs::write(&file, config(port)).unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(on_path("prometheus"))
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Exemplars (trace ids on duration buckets) come with OpenMetrics scrapes.
            .arg("--enable-feature=exemplar-storage")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut me = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(res) = reqwest::get(format!("{}/-/ready", me.url)).await
                && res.status() == 200
            {
                break;
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!("prometheus exited early ({status}): {}", me.log());
            }
            assert!(Instant::now() < deadline, "prometheus not ready after 60s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        me
    }

    /// What Prometheus logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `GET /api/v1/<path>` with query parameters; the parsed JSON body.
    pub async fn api(&self, path: &str, params: &[(&str, &str)]) -> Value {
        reqwest::Client::new()
            .get(format!("{}/api/v1/{path}", self.url))
            .query(params)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until `targets` targets of `job` have been scraped successfully.
    pub async fn wait_for_job(&self, job: &str, targets: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let query = format!("count(up{{job=\"{job}\"}} == 1)");
        loop {
            let res = self.api("query", &[("query", &query)]).await;
            if res["data"]["result"][0]["value"][1] == targets.to_string().as_str() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus never scraped {targets} targets of job {job}: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

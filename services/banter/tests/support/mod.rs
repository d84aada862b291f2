//! Runs the real `banter` binary as a child process and collects its log lines.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Banter {
    pub child: Child,
    pub base: String,
    pub lines: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<String>>,
    _dir: Option<tempfile::TempDir>,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_banter"))
}

/// The port each service listens on unless told otherwise, as `banter serve
/// --help` lists them from the binary's module table
/// (`  users: Users Service (port 8005)`).
pub fn default_ports() -> std::collections::BTreeMap<String, u16> {
    let out = command().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let ports: std::collections::BTreeMap<String, u16> = help
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once(": ")?;
            let port = rest.rsplit_once("(port ")?.1.strip_suffix(')')?;
            Some((name.to_owned(), port.parse().ok()?))
        })
        .filter(|(name, _)| name != "all")
        .collect();
    assert_eq!(ports.len(), 5, "five services in {help}");
    ports
}

impl Banter {
    /// Starts `banter serve <args>` on a free port with a fresh data dir and
    /// waits until `/ready` answers 200.
    pub async fn start(args: &[&str], envs: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut app = Self::start_in(dir.path(), args, envs).await;
        app._dir = Some(dir);
        app
    }

    /// Like [`Banter::start`], on a data directory the caller owns (to
    /// restart on the same data).
    pub async fn start_in(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut cmd = command();
        cmd.arg("serve")
            .args(args)
            .args(["--port", &port.to_string(), "--data-dir"])
            .arg(dir)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("LOKI_URL")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_pipe = child.stderr.take().unwrap();
        let err_sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                let mut s = err_sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(res) = reqwest::get(format!("{base}/ready")).await
                && res.status() == 200
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("banter exited early ({status}): {}", stderr.lock().unwrap());
            }
            assert!(Instant::now() < deadline, "banter not ready after 60s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            child,
            base,
            lines,
            stderr,
            _dir: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn crash(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM and waits for a clean exit; returns all stdout lines.
    pub async fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "banter did not stop within 30s of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(
            status.success(),
            "graceful shutdown exits 0, got {status}: {}",
            self.stderr.lock().unwrap()
        );
        // Let the reader thread drain the pipe.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Banter {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
pub mod browser;
pub mod journeys;
pub mod prometheus;
pub mod read_your_writes;
pub mod sse;

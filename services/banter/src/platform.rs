//! The platform as a child process (`banter serve --target all` on the data
//! directory given), for the commands that drive load at it: `demo` and
//! `bench`. Its stdout (the log) goes to a file, its stderr is echoed.

use anyhow::{Context as _, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The platform child process.
pub struct Platform {
    child: tokio::process::Child,
    last_error: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Platform {
    /// Starts `banter serve --target all` on `port`, with SQLite in `data`
    /// unless `args` give a `--database-url`; `args` and `env` are added.
    pub fn start(
        port: u16,
        data: &Path,
        log: &Path,
        args: &[String],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the banter executable")?;
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = tokio::process::Command::new(exe)
            .args([
                "serve",
                "--target",
                "all",
                "--port",
                &port.to_string(),
                "--data-dir",
            ])
            .arg(data)
            .args(args)
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .stdout(log_file)
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the platform")?;
        let last_error = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let sink = last_error.clone();
            let stderr = stderr.into_owned_fd().map(std::fs::File::from);
            if let Ok(file) = stderr {
                std::thread::spawn(move || {
                    for line in BufReader::new(file).lines().map_while(Result::ok) {
                        eprintln!("platform: {line}");
                        *sink.lock().unwrap_or_else(|e| e.into_inner()) = line;
                    }
                });
            }
        }
        Ok(Self { child, last_error })
    }

    /// The child's process id, for reading its CPU time and memory.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => {
                let last = self
                    .last_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                Some(if last.is_empty() {
                    status.to_string()
                } else {
                    last
                })
            }
            _ => None,
        }
    }

    pub async fn wait_ready(&mut self, base: &str) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(reason) = self.exited() {
                bail!("the platform did not start: {reason}");
            }
            if let Ok(res) = client.get(format!("{base}/ready")).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop().await;
                bail!("the platform was not ready after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, …) to the process.
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let pid = self.child.id().context("the platform has exited")?;
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .context("cannot run kill")?;
        if !status.success() {
            bail!("kill -{signal} {pid} failed ({status})");
        }
        Ok(())
    }

    /// SIGTERM, then SIGKILL if it has not stopped after 10 s.
    pub async fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

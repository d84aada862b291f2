//! The experiment's own Prometheus (the `prometheus` executable on PATH): it
//! scrapes every process of the platform every second and evaluates the rule files; afterwards
//! it is asked which alerts were pending or firing, second by second.

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `prometheus` on PATH, if any.
pub fn find() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("prometheus"))
            .find(|p| p.is_file())
    })
}

pub struct Prometheus {
    child: tokio::process::Child,
    pub url: String,
    dir: PathBuf,
    client: reqwest::Client,
}

/// One alert series (its labels without `alertstate`) and the seconds it was
/// pending or firing.
#[derive(Debug, Clone, Serialize)]
pub struct AlertSeries {
    pub alert: String,
    pub labels: BTreeMap<String, String>,
    /// Unix seconds at which Prometheus had the alert firing.
    pub firing: Vec<i64>,
    pub pending: Vec<i64>,
}

impl Prometheus {
    /// Starts `exe` with `config` written into `dir` (with the rule files the
    /// config names, already there) and waits until it is ready.
    pub async fn start(exe: &Path, dir: &Path, config: &str, port: u16) -> anyhow::Result<Self> {
        let file = dir.join("prometheus.yml");
        std::fs::write(&file, config)
            .with_context(|| format!("cannot write {}", file.display()))?;
        let log = std::fs::File::create(dir.join("prometheus.log"))?;
        let child = tokio::process::Command::new(exe)
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start prometheus")?;
        let mut me = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir: dir.to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(res) = me.client.get(format!("{}/-/ready", me.url)).send().await
                && res.status().is_success()
            {
                return Ok(me);
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                bail!("prometheus exited at start ({status}): {}", me.log_tail());
            }
            if Instant::now() > deadline {
                bail!("prometheus was not ready after 60 s: {}", me.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }

    async fn api(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> anyhow::Result<serde_json::Value> {
        let body: serde_json::Value = self
            .client
            .get(format!("{}/api/v1/{path}", self.url))
            .query(params)
            .send()
            .await
            .with_context(|| format!("prometheus /api/v1/{path}"))?
            .json()
            .await?;
        if body["status"] != "success" {
            bail!("prometheus /api/v1/{path}: {}", body["error"]);
        }
        Ok(body["data"].clone())
    }

    /// Waits until each of the `targets` processes of `job` has been scraped
    /// (`up == 1`).
    pub async fn wait_scraped(&self, job: &str, targets: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let query = format!("count(up{{job=\"{job}\"}} == 1)");
        loop {
            let data = self.api("query", &[("query", query.clone())]).await?;
            let up = data["result"][0]["value"][1]
                .as_str()
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if up >= targets {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "prometheus scraped {up} of the {targets} processes within 30 s: {}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Rule groups Prometheus loaded, and the rules whose last evaluation failed.
    pub async fn rule_health(&self) -> anyhow::Result<(usize, Vec<String>)> {
        let data = self.api("rules", &[]).await?;
        let groups = data["groups"].as_array().cloned().unwrap_or_default();
        let broken = groups
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .filter(|r| r["health"] == "err")
            .map(|r| format!("{}: {}", r["name"], r["lastError"]))
            .collect();
        Ok((groups.len(), broken))
    }

    /// Every alert that was pending or firing between `from` and `to`.
    pub async fn alerts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> anyhow::Result<Vec<AlertSeries>> {
        let data = self
            .api(
                "query_range",
                &[
                    ("query", "ALERTS".to_owned()),
                    ("start", from.timestamp().to_string()),
                    ("end", (to.timestamp() + 1).to_string()),
                    ("step", "1".to_owned()),
                ],
            )
            .await?;
        let mut by_series: BTreeMap<(String, BTreeMap<String, String>), AlertSeries> =
            BTreeMap::new();
        for series in data["result"].as_array().cloned().unwrap_or_default() {
            let mut labels: BTreeMap<String, String> = series["metric"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            let state = labels.remove("alertstate").unwrap_or_default();
            let alert = labels.remove("alertname").unwrap_or_default();
            labels.remove("__name__");
            let times: Vec<i64> = series["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v[0].as_f64())
                .map(|t| t as i64)
                .collect();
            let entry = by_series
                .entry((alert.clone(), labels.clone()))
                .or_insert_with(|| AlertSeries {
                    alert,
                    labels,
                    firing: Vec::new(),
                    pending: Vec::new(),
                });
            if state == "firing" {
                entry.firing.extend(times);
            } else {
                entry.pending.extend(times);
            }
        }
        Ok(by_series.into_values().collect())
    }

    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}

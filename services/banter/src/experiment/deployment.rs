//! What an experiment runs against: the embedded platform (one process, every
//! service) or the split deployment (`--cluster`: one process per service
//! instance behind the nginx gateway, on PostgreSQL, Redis and a broker). The
//! rest of the experiment sees the same things of both: where the load goes,
//! which processes to scrape, where a fault's admin calls go.

use super::cluster::{Cluster, Process};
use super::rules::Target;
use crate::platform::Platform;
use std::path::PathBuf;

pub enum Deployment {
    Embedded {
        platform: Platform,
        base: String,
        log: PathBuf,
    },
    Cluster(Cluster),
}

impl Deployment {
    /// Where the load goes: the platform, or the gateway.
    pub fn gateway(&self) -> &str {
        match self {
            Self::Embedded { base, .. } => base,
            Self::Cluster(c) => &c.gateway,
        }
    }

    /// Every process's base URL (what the burn sampler scrapes).
    pub fn urls(&self) -> Vec<String> {
        match self {
            Self::Embedded { base, .. } => vec![base.clone()],
            Self::Cluster(c) => c.processes.iter().map(|p| p.url.clone()).collect(),
        }
    }

    /// The Prometheus job and its targets: `banter`, one target, or
    /// `banter-split`, a target per process labelled with its service and its
    /// name (`process="chat-1"`), as deploy/prometheus.yml labels them.
    pub fn scrape_targets(&self) -> (&'static str, Vec<Target>) {
        let address = |url: &str| url.trim_start_matches("http://").to_owned();
        match self {
            Self::Embedded { base, .. } => (
                "banter",
                vec![Target {
                    address: address(base),
                    labels: Vec::new(),
                }],
            ),
            Self::Cluster(c) => (
                "banter-split",
                c.processes
                    .iter()
                    .map(|p| Target {
                        address: address(&p.url),
                        labels: vec![
                            ("deployment", "split".into()),
                            ("target", p.service.clone()),
                            ("process", p.name.clone()),
                        ],
                    })
                    .collect(),
            ),
        }
    }

    /// The base URLs whose `/admin/faults` a fault on `service` (`instance`:
    /// one process of it) goes to; the error names the processes there are.
    pub fn admin_urls(&self, service: &str, instance: Option<u8>) -> anyhow::Result<Vec<String>> {
        match self {
            Self::Embedded { base, .. } => Ok(vec![base.clone()]),
            Self::Cluster(c) => {
                let hit: Vec<&Process> = c
                    .processes
                    .iter()
                    .filter(|p| service == "all" || p.service == service)
                    .filter(|p| instance.is_none_or(|i| p.instance == i))
                    .collect();
                if hit.is_empty() {
                    let names: Vec<&str> = c.processes.iter().map(|p| p.name.as_str()).collect();
                    anyhow::bail!(
                        "the fault names {service}{} but the split deployment runs {}",
                        instance.map_or(String::new(), |i| format!("-{i}")),
                        names.join(", ")
                    );
                }
                Ok(hit.into_iter().map(|p| p.url.clone()).collect())
            }
        }
    }

    /// Why the platform (or a process of it) is not running any more, if so.
    pub async fn exited(&mut self) -> Option<String> {
        match self {
            Self::Embedded { platform, .. } => platform.exited(),
            Self::Cluster(c) => c.exited().await,
        }
    }

    /// Where its logs are.
    pub fn logs(&self) -> PathBuf {
        match self {
            Self::Embedded { log, .. } => log.clone(),
            Self::Cluster(c) => c.logs(),
        }
    }

    /// Stops every process (the split deployment also drops its data).
    pub async fn stop(&mut self) {
        match self {
            Self::Embedded { platform, .. } => platform.stop().await,
            Self::Cluster(c) => c.down(),
        }
    }

    /// What the report says ran.
    pub fn describe(&self) -> String {
        match self {
            Self::Embedded { base, .. } => {
                format!("embedded: one process for every service at {base}, SQLite")
            }
            Self::Cluster(c) => format!(
                "split deployment (deploy/local-cluster.sh): {} processes behind the gateway {}, PostgreSQL, Redis, Kafka protocol (tansu)",
                c.processes.len(),
                c.gateway
            ),
        }
    }
}

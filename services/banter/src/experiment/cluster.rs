//! The split deployment as an experiment's platform: `deploy/local-cluster.sh
//! up` with its state in `<out>/cluster`, on a free port range, with
//! throw-away databases and Redis keys and the experiment's admin secret in
//! every process's environment; `down` and the data dropped when the
//! experiment ends, whatever happened (also on error: [`Drop`]).

use super::step;
use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::Output;

/// The script, relative to the repository's root (where experiments run).
const SCRIPT: &str = "deploy/local-cluster.sh";

/// Ports a cluster may use from its base (the layout of `local-cluster.sh
/// help` ends at base+51); bases are this far apart.
const LAYOUT_PORTS: u16 = 60;

/// One process of the split deployment, as `cluster.env` names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    /// `chat-1`: the name `local-cluster.sh kill|restart|logs` takes.
    pub name: String,
    pub service: String,
    pub instance: u8,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

/// What `up` writes into `<state>/cluster.env`: `GATEWAY_URL=…`,
/// `PROMETHEUS_URL=…` and a `<SERVICE>_<I>_URL=…` line per process.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterEnv {
    pub gateway: String,
    pub processes: Vec<Process>,
}

impl ClusterEnv {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut gateway = None;
        let mut processes = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let Some((key, value)) = line.split_once('=') else {
                bail!("`{line}` is not KEY=VALUE");
            };
            if key == "GATEWAY_URL" {
                gateway = Some(value.to_owned());
                continue;
            }
            // <SERVICE>_<I>_URL; other keys (PROMETHEUS_URL, KAFKA_BROKERS) are not processes.
            let Some((service, instance)) = key
                .strip_suffix("_URL")
                .and_then(|k| k.rsplit_once('_'))
                .and_then(|(s, i)| Some((s, i.parse::<u8>().ok()?)))
            else {
                continue;
            };
            let service = service.to_ascii_lowercase();
            processes.push(Process {
                name: format!("{service}-{instance}"),
                service,
                instance,
                url: value.to_owned(),
            });
        }
        let gateway = gateway.context("no GATEWAY_URL line")?;
        if processes.is_empty() {
            bail!("no <SERVICE>_<I>_URL line");
        }
        Ok(Self { gateway, processes })
    }
}

/// A split deployment this experiment started.
pub struct Cluster {
    dir: PathBuf,
    env: Vec<(&'static str, String)>,
    db_prefix: String,
    redis_prefix: String,
    pub gateway: String,
    pub processes: Vec<Process>,
    down: bool,
}

impl Cluster {
    /// `local-cluster.sh up` in `<out>/cluster` with the running binary, every
    /// process's admin surface on `secret`; waits until every process is ready.
    pub async fn up(out: &Path, secret: &str) -> anyhow::Result<Self> {
        if !Path::new(SCRIPT).is_file() {
            bail!("{SCRIPT} not found: run the experiment from the repository's root");
        }
        let exe = std::env::current_exe().context("cannot find the banter executable")?;
        let dir = out.join("cluster");
        let base = match std::env::var("BANTER_CLUSTER_PORT_BASE") {
            Ok(b) => b.parse().with_context(|| {
                format!("BANTER_CLUSTER_PORT_BASE={b} is not a port: unset it to pick a free range")
            })?,
            Err(_) => free_port_base()?,
        };
        // Unique per run, so runs beside each other never share a database or a key.
        let tag = &super::fault::secret()?[..12];
        let mut cluster = Self {
            env: vec![
                ("BANTER_BIN", exe.to_string_lossy().into_owned()),
                ("BANTER_CLUSTER_DIR", dir.to_string_lossy().into_owned()),
                ("BANTER_CLUSTER_PORT_BASE", base.to_string()),
                ("BANTER_CLUSTER_DB_PREFIX", format!("banter_exp_{tag}")),
                ("BANTER_CLUSTER_REDIS_PREFIX", format!("banter-exp-{tag}")),
                // Inherited by every process the script starts (and restarts).
                ("BANTER_ADMIN_SECRET", secret.to_owned()),
            ],
            db_prefix: format!("banter_exp_{tag}"),
            redis_prefix: format!("banter-exp-{tag}"),
            dir,
            gateway: String::new(),
            processes: Vec::new(),
            down: false,
        };
        step(&format!(
            "starting the split deployment (deploy/local-cluster.sh up, ports {base}..{}, state in {})",
            base + 51,
            cluster.dir.display()
        ));
        let out = cluster.script(&["up"]).await?;
        std::fs::create_dir_all(&cluster.dir)?;
        let _ = std::fs::write(cluster.dir.join("up.log"), both(&out));
        if !out.status.success() {
            bail!(
                "{SCRIPT} up failed ({}):\n{}",
                out.status,
                tail(&String::from_utf8_lossy(&out.stderr), 30)
            );
        }
        let file = cluster.dir.join("cluster.env");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("{SCRIPT} up wrote no {}", file.display()))?;
        let env = ClusterEnv::parse(&text).with_context(|| format!("{}", file.display()))?;
        cluster.gateway = env.gateway;
        cluster.processes = env.processes;
        Ok(cluster)
    }

    async fn script(&self, args: &[&str]) -> anyhow::Result<Output> {
        tokio::process::Command::new(SCRIPT)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true)
            .output()
            .await
            .with_context(|| format!("cannot run {SCRIPT} {}", args.join(" ")))
    }

    async fn checked(&self, args: &[&str]) -> anyhow::Result<()> {
        let out = self.script(args).await?;
        if !out.status.success() {
            bail!(
                "{SCRIPT} {} failed ({}): {}",
                args.join(" "),
                out.status,
                tail(&both(&out), 20)
            );
        }
        Ok(())
    }

    /// The process named `name` (`chat-1`); the error lists the ones there are.
    pub fn process(&self, name: &str) -> anyhow::Result<&Process> {
        self.processes
            .iter()
            .find(|p| p.name == name)
            .with_context(|| {
                format!(
                    "the split deployment has no process {name} (it runs {})",
                    self.names()
                )
            })
    }

    fn names(&self) -> String {
        let names: Vec<&str> = self.processes.iter().map(|p| p.name.as_str()).collect();
        names.join(", ")
    }

    /// The pid `up` recorded for `name`.
    fn pid(&self, name: &str) -> anyhow::Result<u32> {
        let file = self.dir.join("run").join(format!("{name}.pid"));
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("{name} is not running ({} missing)", file.display()))?;
        text.split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("{} holds no pid", file.display()))
    }

    /// Freezes `name` (SIGSTOP): it does nothing more, and counts nothing more,
    /// from now on.
    pub fn freeze(&self, name: &str) -> anyhow::Result<()> {
        let pid = self.pid(name)?;
        let status = std::process::Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .context("cannot run kill")?;
        if !status.success() {
            bail!("kill -STOP {pid} ({name}) failed ({status})");
        }
        Ok(())
    }

    /// `local-cluster.sh kill NAME`: SIGKILL, as a crash.
    pub async fn kill(&self, name: &str) -> anyhow::Result<()> {
        self.checked(&["kill", name]).await
    }

    /// `local-cluster.sh restart NAME`: started again as `up` did; returns once
    /// it is ready.
    pub async fn restart(&self, name: &str) -> anyhow::Result<()> {
        self.checked(&["restart", name]).await
    }

    /// `None` while every process runs and is ready; else `status`'s table.
    pub async fn exited(&self) -> Option<String> {
        match self.script(&["status"]).await {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(format!(
                "{SCRIPT} status ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout)
            )),
            Err(e) => Some(format!("{e:#}")),
        }
    }

    /// Where the processes' logs are.
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// `local-cluster.sh down`, then the databases and Redis keys of this run
    /// dropped. Blocking (also runs from [`Drop`]); once.
    pub fn down(&mut self) {
        if self.down {
            return;
        }
        self.down = true;
        step("stopping the split deployment (deploy/local-cluster.sh down)");
        match std::process::Command::new(SCRIPT)
            .arg("down")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "warning: {SCRIPT} down failed ({}): {}\nstop it by hand: BANTER_CLUSTER_DIR={} {SCRIPT} down",
                out.status,
                tail(&both(&out), 10),
                self.dir.display()
            ),
            Err(e) => eprintln!("warning: cannot run {SCRIPT} down: {e}"),
        }
        self.drop_data();
    }

    /// Drops the databases `up` created (`<prefix>_<service>`) and the Redis
    /// keys under this run's prefix; a failure is a warning.
    fn drop_data(&self) {
        let admin = std::env::var("DATABASE_ADMIN_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let psql = |sql: &str| {
            std::process::Command::new("psql")
                .arg(&admin)
                .arg("-XAtqc")
                .arg(sql)
                .output()
        };
        let listed = psql(&format!(
            "SELECT datname FROM pg_database WHERE starts_with(datname, '{}_')",
            self.db_prefix
        ));
        match listed {
            Ok(out) if out.status.success() => {
                for db in String::from_utf8_lossy(&out.stdout).lines() {
                    match psql(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")) {
                        Ok(o) if o.status.success() => {}
                        _ => {
                            eprintln!("warning: could not drop the database {db}: drop it by hand")
                        }
                    }
                }
            }
            _ => eprintln!(
                "warning: could not list the databases {}_*: drop them by hand",
                self.db_prefix
            ),
        }
        let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let keys = std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"redis-cli -u "$1" --scan --pattern "$2*" | xargs -r redis-cli -u "$1" del >/dev/null"#)
            .args(["sh", &redis, &self.redis_prefix])
            .status();
        if !keys.is_ok_and(|s| s.success()) {
            eprintln!(
                "warning: could not delete the Redis keys {}*: redis-cli --scan --pattern '{}*' | xargs redis-cli del",
                self.redis_prefix, self.redis_prefix
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.down();
    }
}

/// A base port whose whole layout is free now, below the ephemeral range
/// (where the experiment's own Prometheus and the platform's clients get
/// their ports).
fn free_port_base() -> anyhow::Result<u16> {
    let seed = u64::from(std::process::id())
        ^ u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .subsec_nanos(),
        );
    for attempt in 0..200u64 {
        let slot = seed.wrapping_mul(2_654_435_761).wrapping_add(attempt * 997) % 200;
        let base = 20_000 + u16::try_from(slot)? * LAYOUT_PORTS;
        if (0..LAYOUT_PORTS).all(|o| std::net::TcpListener::bind(("127.0.0.1", base + o)).is_ok()) {
            return Ok(base);
        }
    }
    bail!("no free range of {LAYOUT_PORTS} ports from 20000 to 32000: set BANTER_CLUSTER_PORT_BASE")
}

fn both(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_env_names_the_gateway_and_every_process() {
        let text = "GATEWAY_URL=http://127.0.0.1:20000\nPROMETHEUS_URL=http://127.0.0.1:20001\n\
            KAFKA_BROKERS=127.0.0.1:20002\nUSERS_1_URL=http://127.0.0.1:20010\n\
            NOTIFICATIONS_2_URL=http://127.0.0.1:20041\n";
        let env = ClusterEnv::parse(text).unwrap();
        assert_eq!(env.gateway, "http://127.0.0.1:20000");
        assert_eq!(
            env.processes,
            vec![
                Process {
                    name: "users-1".into(),
                    service: "users".into(),
                    instance: 1,
                    url: "http://127.0.0.1:20010".into()
                },
                Process {
                    name: "notifications-2".into(),
                    service: "notifications".into(),
                    instance: 2,
                    url: "http://127.0.0.1:20041".into()
                },
            ]
        );
        assert!(ClusterEnv::parse("USERS_1_URL=x\n").is_err());
        assert!(ClusterEnv::parse("GATEWAY_URL=x\n").is_err());
    }
}

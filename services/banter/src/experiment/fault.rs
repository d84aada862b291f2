//! The fault's window: switched on at its start and off at its end through
//! the processes' admin surface (on a one-off secret), or by the runner
//! itself: `pause-instance` freezes and thaws the embedded platform,
//! `kill-instance` kills one process of the split deployment and restarts it.

use super::deployment::Deployment;
use super::observe::Sampler;
use super::scenario::{FaultDecl, KILL_INSTANCE, PAUSE_INSTANCE, Scenario};
use super::step;
use super::verdict::FaultWindow;
use anyhow::{Context as _, bail};
use std::time::{Duration, Instant};

/// One-off admin secret: 32 hex characters from the system's randomness.
pub fn secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    use std::io::Read as _;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for the admin secret")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Waits for the fault's start, switches it on, waits for its end and
/// switches it off; its window in seconds from `start`. Admin-surface faults
/// go to every process of the fault's service (or the one `instance` names);
/// `pause-instance` freezes the embedded platform; `kill-instance` kills one
/// process of the split deployment and starts it again.
pub async fn window(
    deployment: &Deployment,
    sampler: &Sampler,
    secret: &str,
    decl: &FaultDecl,
    scenario: &Scenario,
    start: Instant,
) -> anyhow::Result<FaultWindow> {
    tokio::time::sleep_until((start + scenario.timeline.steady).into()).await;
    let end = start + scenario.timeline.steady + scenario.timeline.fault;
    let since = |at: Instant| at.duration_since(start).as_secs_f64();
    match (decl.kind.as_str(), deployment) {
        (PAUSE_INSTANCE, Deployment::Embedded { platform, .. }) => {
            platform.signal("STOP")?;
            let from = since(Instant::now());
            step("platform frozen (SIGSTOP)");
            tokio::time::sleep_until(end.into()).await;
            platform.signal("CONT")?;
            step("platform thawed (SIGCONT); recovering");
            Ok(FaultWindow {
                start: from,
                end: since(Instant::now()),
            })
        }
        (KILL_INSTANCE, Deployment::Cluster(cluster)) => {
            let victim = cluster.process(&decl.victim())?.clone();
            // What it counted until now goes into the ledger, and it counts
            // nothing more: a crash takes unreported counters with it.
            sampler
                .capture(&victim.url)
                .await
                .with_context(|| format!("{} before killing it", victim.name))?;
            cluster.freeze(&victim.name)?;
            let from = since(Instant::now());
            cluster.kill(&victim.name).await?;
            step(&format!("{} killed (SIGKILL)", victim.name));
            tokio::time::sleep_until(end.into()).await;
            step(&format!("restarting {}", victim.name));
            cluster.restart(&victim.name).await?;
            let to = since(Instant::now());
            step(&format!(
                "{} ready again, {:.0} s after it was killed; recovering",
                victim.name,
                to - from
            ));
            Ok(FaultWindow {
                start: from,
                end: to,
            })
        }
        (kind, _) if decl.by_runner() => {
            bail!("fault {kind} cannot run on this deployment (see `banter experiment --help`)")
        }
        _ => admin_window(deployment, secret, decl, start, end).await,
    }
}

/// A fault of kit's registry, on and off through `/admin/faults` of every
/// process it concerns.
async fn admin_window(
    deployment: &Deployment,
    secret: &str,
    decl: &FaultDecl,
    start: Instant,
    end: Instant,
) -> anyhow::Result<FaultWindow> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let urls = deployment.admin_urls(&decl.service, decl.instance)?;
    let mut on = Vec::new();
    for base in &urls {
        let res = client
            .post(format!("{base}/admin/faults"))
            .bearer_auth(secret)
            .json(&decl.body())
            .send()
            .await
            .with_context(|| format!("cannot reach {base}/admin/faults"))?;
        if !res.status().is_success() {
            let status = res.status();
            bail!(
                "{base} refused the fault ({status}): {}",
                res.text().await.unwrap_or_default()
            );
        }
        let body: serde_json::Value = res.json().await?;
        let id = body["id"]
            .as_u64()
            .with_context(|| format!("{base}/admin/faults answered no fault id"))?;
        on.push((base, id));
    }
    let from = start.elapsed().as_secs_f64();
    step(&format!(
        "fault {} on ({} process{})",
        decl.title(),
        on.len(),
        if on.len() == 1 { "" } else { "es" }
    ));
    tokio::time::sleep_until(end.into()).await;
    for (base, id) in on {
        let res = client
            .delete(format!("{base}/admin/faults/{id}"))
            .bearer_auth(secret)
            .send()
            .await
            .with_context(|| format!("cannot reach {base}/admin/faults to switch the fault off"))?;
        if !res.status().is_success() {
            bail!("{base} did not switch the fault off ({})", res.status());
        }
    }
    let to = start.elapsed().as_secs_f64();
    step("fault off; recovering");
    Ok(FaultWindow {
        start: from,
        end: to,
    })
}

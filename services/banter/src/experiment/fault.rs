//! The fault's window: switched on at its start and off at its end through
//! the platform's admin surface (on a one-off secret), or, for
//! `pause-instance`, by freezing and thawing the platform process.

use super::scenario::{FaultDecl, Scenario};
use super::step;
use super::verdict::FaultWindow;
use crate::platform::Platform;
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

/// Waits for the fault's start, switches it on through the admin surface,
/// waits for its end and switches it off; its window in seconds from `start`.
pub async fn window(
    platform: &Platform,
    base: &str,
    secret: &str,
    decl: &FaultDecl,
    scenario: &Scenario,
    start: Instant,
) -> anyhow::Result<FaultWindow> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    tokio::time::sleep_until((start + scenario.timeline.steady).into()).await;
    let end = start + scenario.timeline.steady + scenario.timeline.fault;
    if decl.by_runner() {
        platform.signal("STOP")?;
        let from = start.elapsed().as_secs_f64();
        step("platform frozen (SIGSTOP)");
        tokio::time::sleep_until(end.into()).await;
        platform.signal("CONT")?;
        step("platform thawed (SIGCONT); recovering");
        let to = start.elapsed().as_secs_f64();
        return Ok(FaultWindow {
            start: from,
            end: to,
        });
    }
    let res = client
        .post(format!("{base}/admin/faults"))
        .bearer_auth(secret)
        .json(&decl.body())
        .send()
        .await
        .context("cannot reach /admin/faults")?;
    let from = start.elapsed().as_secs_f64();
    if !res.status().is_success() {
        let status = res.status();
        bail!(
            "the platform refused the fault ({status}): {}",
            res.text().await.unwrap_or_default()
        );
    }
    let on: serde_json::Value = res.json().await?;
    let id = on["id"]
        .as_u64()
        .context("the admin surface answered no fault id")?;
    step(&format!("fault {} on (id {id})", decl.flag()));
    tokio::time::sleep_until(end.into()).await;
    let res = client
        .delete(format!("{base}/admin/faults/{id}"))
        .bearer_auth(secret)
        .send()
        .await
        .context("cannot reach /admin/faults to switch the fault off")?;
    let to = start.elapsed().as_secs_f64();
    if !res.status().is_success() {
        bail!(
            "the platform did not switch the fault off ({})",
            res.status()
        );
    }
    step("fault off; recovering");
    Ok(FaultWindow {
        start: from,
        end: to,
    })
}

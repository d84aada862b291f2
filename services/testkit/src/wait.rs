//! Waiting for effects that travel through the bus.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long event-driven effects get to show up.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `check` until it holds, failing after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

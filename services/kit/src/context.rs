//! What every service of a process shares at runtime: the event bus, the
//! token verifier, and the shutdown signal with the background tasks that
//! must finish before the process exits.

use crate::auth::{InMemoryRevocations, TokenVerifier};
use crate::events::{Bus, InProcessBus};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct Context {
    pub bus: Arc<dyn Bus>,
    pub verifier: Arc<TokenVerifier>,
    /// Fires when the process begins shutting down.
    pub shutdown: CancellationToken,
    /// Background work (relays, consumers) awaited on shutdown.
    pub tasks: TaskTracker,
    /// Publish nothing from outboxes (operations and crash tests).
    pub relay_paused: bool,
}

impl Context {
    /// The embedded setup: in-process bus, in-memory revocations.
    pub fn embedded() -> Self {
        Self {
            bus: Arc::new(InProcessBus::default()),
            verifier: Arc::new(TokenVerifier::new(Arc::new(InMemoryRevocations::default()))),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            relay_paused: false,
        }
    }

    /// Signals shutdown and waits (at most `grace`) for background tasks,
    /// which flush outboxes on their way out.
    pub async fn stop(&self, grace: Duration) {
        self.shutdown.cancel();
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "background tasks still running at exit"
            );
        }
    }
}

//! Reading what a service published, from a consumer group of the test's own.

use kit::events::{Event, Subscription};
use std::time::Duration;

/// The next event of `kind` on `sub` (earlier events of other kinds are
/// committed and skipped), or `None` when none arrives `within`.
pub async fn next_of_kind(
    sub: &mut dyn Subscription,
    kind: &str,
    within: Duration,
) -> Option<Event> {
    let wait = async {
        loop {
            let record = sub.next().await.unwrap();
            sub.commit(&record).await.unwrap();
            if record.event.kind == kind {
                return record.event;
            }
        }
    };
    tokio::time::timeout(within, wait).await.ok()
}

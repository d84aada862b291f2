//! Events between services (SPEC §3): the envelope, the bus port with its
//! in-process and Kafka adapters, the transactional outbox and its relay, and the
//! consumer runner (idempotent, retried, dead-lettered, measured, traced).

pub mod bus;
pub mod consumer;
pub mod envelope;
pub mod kafka;
pub mod memory;
pub mod outbox;

pub use bus::{Bus, BusError, Record, StartFrom, Subscribed, Subscription};
pub use consumer::{ConsumerSpec, Handler, HandlerError, Inbox};
pub use envelope::Event;
pub use kafka::{KafkaBus, KafkaConfig};
pub use memory::InProcessBus;
pub use outbox::{Relay, RelayHandle};

/// Topics of SPEC §3 (owned by the event contracts).
pub use contracts::topics;

/// The dead-letter topic of `topic`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// Runs the kit's event tables migration (outbox, processed events) on a
/// service database. Versions live far above service migrations so both
/// migrators share `_sqlx_migrations`.
pub async fn migrate(db: &crate::db::Database) -> Result<(), sqlx::migrate::MigrateError> {
    db.migrate(crate::migrations!()).await
}

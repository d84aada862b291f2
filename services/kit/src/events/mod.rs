//! Events between services (SPEC §3): the envelope, the bus port with its
//! in-process and Kafka adapters, the transactional outbox and its relay, and the
//! consumer runner (idempotent, retried, dead-lettered, measured, traced).

pub mod bus;
pub mod consumer;
pub mod envelope;
pub mod kafka;
pub mod memory;
pub mod outbox;

pub use bus::{Bus, BusError, Record, StartFrom, Subscription};
pub use consumer::{ConsumerSpec, Handler, HandlerError, Inbox};
pub use envelope::Event;
pub use kafka::{KafkaBus, KafkaConfig};
pub use memory::InProcessBus;
pub use outbox::{Relay, RelayHandle};

/// Topics of SPEC §3.
pub mod topics {
    pub const USER_EVENTS: &str = "user.events";
    pub const USER_ONLINE_STATUS: &str = "user.online_status";
    pub const FRIEND_EVENTS: &str = "friend.events";
    pub const CHAT_EVENTS: &str = "chat.events";
    pub const MESSAGE_EVENTS: &str = "message.events";
    pub const NOTIFICATION_EVENTS: &str = "notification.events";
}

/// The dead-letter topic of `topic`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// Runs the kit's event tables migration (outbox, processed events) on a
/// service database. Versions live far above service migrations so both
/// migrators share `_sqlx_migrations`.
pub async fn migrate(db: &crate::db::Database) -> Result<(), sqlx::migrate::MigrateError> {
    db.migrate(crate::db::Migrations {
        sqlite: sqlx::migrate!("migrations/sqlite"),
        postgres: sqlx::migrate!("migrations/postgres"),
    })
    .await
}

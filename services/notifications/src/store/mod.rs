//! Plain reads and writes of the notifications service's tables
//! (`notifications`, their per-user counters, and the `known_users` read
//! model), one SQL implementation for SQLite and PostgreSQL (`sql.rs`).
//!
//! A concrete struct, not a trait: there is one implementation and nothing
//! decorates it. Writes that belong to a use case take its `&mut Tx`; no
//! method begins or commits a transaction or builds an event (that is
//! `crate::app`'s job).

mod sql;

use kit::db::Database;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored notification is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Notifications on either database.
pub struct SqlNotificationStore {
    db: Database,
}

impl SqlNotificationStore {
    /// The store of `db`, whose schema the module runner brought up to date.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

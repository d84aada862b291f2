//! Plain reads and writes of the users service's tables, one implementation
//! for SQLite and PostgreSQL ([`SqlUserStore`]): accounts and profiles in
//! `users.rs`, presence and the friendships read model in `presence.rs`.
//! Writes take the use case's `&mut Tx`; no method begins or commits a
//! transaction or builds an event (that is `crate::app`'s job).
//!
//! The one trait, [`UserLookup`], earns its keep as the read path that a
//! Redis cache can sit in front of ([`CachedLookup`]); everything else is a
//! concrete struct. Revoked tokens are in `revocations.rs`.

mod cached;
mod presence;
mod revocations;
mod users;

pub use cached::{CachedLookup, ProfileCache};
pub use presence::PresenceChange;
pub use users::taken;

use crate::domain::User;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kit::db::Database;
use serde::{Deserialize, Serialize};

/// The `service` label of the store's query timings.
const SERVICE: &str = "users";

/// The columns of a [`UserRow`], in its order.
const COLUMNS: &str = "id, email, username, display_name, status_message, image_updated_at, last_seen_at, created_at, updated_at";

/// A user as stored: a `users` row (without its password hash) and, as JSON,
/// a profile cache entry, so both formats are spelled out once, here.
#[derive(sqlx::FromRow, Serialize, Deserialize)]
struct UserRow {
    id: i64,
    email: String,
    username: String,
    display_name: Option<String>,
    status_message: Option<String>,
    image_updated_at: Option<DateTime<Utc>>,
    last_seen_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        Self {
            id: r.id,
            email: r.email,
            username: r.username,
            display_name: r.display_name,
            status_message: r.status_message,
            image_updated_at: r.image_updated_at,
            last_seen_at: r.last_seen_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<&User> for UserRow {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            status_message: u.status_message.clone(),
            image_updated_at: u.image_updated_at,
            last_seen_at: u.last_seen_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// Users by id: the hot read path (profiles, lookups, batches), which a
/// cache may answer.
#[async_trait]
pub trait UserLookup: Send + Sync {
    async fn get(&self, id: i64) -> sqlx::Result<Option<User>>;
    /// Users with these ids, in ascending id order; unknown ids are skipped.
    async fn get_many(&self, ids: &[i64]) -> sqlx::Result<Vec<User>>;
    /// `id`'s row changed (and the change is committed): drop whatever was
    /// remembered of it. Nothing to do without a cache.
    async fn forget(&self, _id: i64) -> Result<(), String> {
        Ok(())
    }
}

/// The users database.
pub struct SqlUserStore {
    db: Database,
}

impl SqlUserStore {
    /// The store of `db`, whose schema the module runner brought up to date.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

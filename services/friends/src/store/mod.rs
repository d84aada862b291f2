//! Plain reads and writes of the friends database, one module per table:
//! `friendships` (requests and friendships), `blocks`, and `users` (the
//! read model of the users service, and the search over it).
//!
//! No trait and no struct: these are functions that take where to run —
//! the pool for plain reads, or the caller's unit of work (`&mut Tx`) for
//! reads a decision depends on and for writes. They never begin or commit a
//! transaction, never enqueue an event and never refuse anything: they
//! return what they found or changed (`Option`, `bool`, rows), and the
//! application layer (`crate::app`) decides what that means. The SQL is
//! written once for SQLite and PostgreSQL (numbered `$n` parameters); schema
//! differences live in the per-database migrations.

pub mod blocks;
pub mod friendships;
pub mod users;

/// Errors of the store: the database's own.
pub type StoreResult<T> = Result<T, sqlx::Error>;

/// The `service` label of the store's timed queries.
const SERVICE: &str = crate::SERVICE;

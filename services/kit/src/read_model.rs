//! Read models of facts other services own, in the one shape every service
//! keeps them: who exists and under which names (from `user.events`), and who
//! blocked whom (from `friend.events`).
//!
//! A service names its tables — users `(user_id PRIMARY KEY, username,
//! display_name, updated_at)`, blocks `(blocker_id, blocked_id)` with that
//! pair as primary key — and gets their reads and writes here ([`Users`],
//! [`Blocks`]); its use cases implement [`ReadModels`], and [`consumers`]
//! feeds them. Both writes are idempotent (an upsert, set semantics), since
//! delivery is at least once. Whether a copy may be trusted yet is another
//! question, answered by [`crate::owners`].

use crate::db::{Database, On, placeholders, query, query_scalar, timed};
use crate::events::topics::{FRIEND_EVENTS, USER_EVENTS};
use crate::events::{Event, Handler, HandlerError};
use crate::module::Consumer;
use crate::owners::Owners;
use async_trait::async_trait;
use chrono::{SubsecRound, Utc};
use contracts::{UserBlocked, UserProfileUpdated, UserRegistered, UserUnblocked};
use std::fmt::Display;
use std::sync::Arc;

/// A user as a read model knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNames {
    pub user_id: i64,
    pub username: String,
    pub display_name: Option<String>,
}

/// A service's copy of who exists (its table `table`; `service` labels the
/// query metrics).
#[derive(Debug, Clone, Copy)]
pub struct Users {
    service: &'static str,
    table: &'static str,
}

impl Users {
    pub const fn new(service: &'static str, table: &'static str) -> Self {
        Self { service, table }
    }

    /// Inserts or refreshes a user.
    pub async fn upsert(
        &self,
        on: impl Into<On<'_>>,
        user_id: i64,
        username: &str,
        display_name: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO {} (user_id, username, display_name, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, \
             display_name = excluded.display_name, updated_at = excluded.updated_at",
            self.table
        );
        let upsert = query(&sql)
            .bind(user_id)
            .bind(username)
            .bind(display_name)
            // Microseconds: what both databases keep.
            .bind(Utc::now().trunc_subsecs(6));
        timed(self.service, "upsert_user", upsert.execute(on)).await?;
        Ok(())
    }

    /// Records a user heard of on `user.events` and wakes the use cases of
    /// this process waiting for them ([`Owners::user_recorded`]).
    pub async fn record(
        &self,
        db: &Database,
        owners: &Owners,
        user: &UserNames,
    ) -> Result<(), sqlx::Error> {
        let display_name = user.display_name.as_deref();
        self.upsert(db, user.user_id, &user.username, display_name)
            .await?;
        owners.user_recorded(user.user_id);
        Ok(())
    }

    /// Whether the copy holds `user_id` now (no catching up).
    pub async fn knows(&self, on: impl Into<On<'_>>, user_id: i64) -> Result<bool, sqlx::Error> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE user_id = $1", self.table);
        let select = query_scalar::<i64>(&sql).bind(user_id);
        Ok(timed(self.service, "select_user", select.fetch_one(on)).await? > 0)
    }
}

/// A service's copy of who blocked whom (or, for the friends service, the
/// table itself: it has the same two columns).
#[derive(Debug, Clone, Copy)]
pub struct Blocks {
    service: &'static str,
    table: &'static str,
}

impl Blocks {
    pub const fn new(service: &'static str, table: &'static str) -> Self {
        Self { service, table }
    }

    /// Records that `blocker` blocked `blocked` (`is_blocked`) or lifted the
    /// block; either is idempotent.
    pub async fn set(
        &self,
        on: impl Into<On<'_>>,
        blocker: i64,
        blocked: i64,
        is_blocked: bool,
    ) -> Result<(), sqlx::Error> {
        let sql = if is_blocked {
            format!(
                "INSERT INTO {} (blocker_id, blocked_id) VALUES ($1, $2) \
                 ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
                self.table
            )
        } else {
            format!(
                "DELETE FROM {} WHERE blocker_id = $1 AND blocked_id = $2",
                self.table
            )
        };
        let write = query(&sql).bind(blocker).bind(blocked);
        timed(self.service, "set_block", write.execute(on)).await?;
        Ok(())
    }

    /// Whether `user` blocked any of `others` or any of them blocked `user`.
    pub async fn between(
        &self,
        on: impl Into<On<'_>>,
        user: i64,
        others: &[i64],
    ) -> Result<bool, sqlx::Error> {
        if others.is_empty() {
            return Ok(false);
        }
        let others_list = placeholders(2, others.len());
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE (blocker_id = $1 AND blocked_id IN ({others_list})) \
             OR (blocked_id = $1 AND blocker_id IN ({others_list}))",
            self.table
        );
        let select = query_scalar::<i64>(&sql)
            .bind(user)
            .bind_all(others.iter().copied());
        Ok(timed(self.service, "select_blocks", select.fetch_one(on)).await? > 0)
    }
}

/// The use cases that keep a service's users and blocks read models.
#[async_trait]
pub trait ReadModels: Send + Sync + 'static {
    type Error: Display + Send;

    /// A user registered or changed their profile.
    async fn record_user(&self, user: UserNames) -> Result<(), Self::Error>;

    /// `blocker` blocked `blocked` (`is_blocked`) or lifted the block.
    async fn record_block(
        &self,
        blocker: i64,
        blocked: i64,
        is_blocked: bool,
    ) -> Result<(), Self::Error>;
}

/// The durable consumers (group `group`) that keep `model` up to date:
/// `user.events` into its users, `friend.events` into its blocks. Other
/// kinds on those topics are skipped.
pub fn consumers<M: ReadModels>(group: &str, model: Arc<M>) -> Vec<Consumer> {
    vec![
        Consumer::durable(USER_EVENTS, group, Arc::new(UsersFeed(model.clone()))),
        Consumer::durable(FRIEND_EVENTS, group, Arc::new(BlocksFeed(model))),
    ]
}

fn transient(err: impl Display) -> HandlerError {
    HandlerError::Transient(err.to_string())
}

/// `user.events` → the users read model.
struct UsersFeed<M>(Arc<M>);

#[async_trait]
impl<M: ReadModels> Handler for UsersFeed<M> {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let (user_id, username, display_name) = if event.is::<UserRegistered>() {
            let e: UserRegistered = event.data()?;
            (e.user_id, e.username, e.display_name)
        } else if event.is::<UserProfileUpdated>() {
            let e: UserProfileUpdated = event.data()?;
            (e.user_id, e.username, e.display_name)
        } else {
            return Ok(());
        };
        let user = UserNames {
            user_id,
            username,
            display_name,
        };
        self.0.record_user(user).await.map_err(transient)
    }
}

/// `friend.events` → the blocks read model.
struct BlocksFeed<M>(Arc<M>);

#[async_trait]
impl<M: ReadModels> Handler for BlocksFeed<M> {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let (blocker, blocked, is_blocked) = if event.is::<UserBlocked>() {
            let e: UserBlocked = event.data()?;
            (e.blocker_id, e.blocked_id, true)
        } else if event.is::<UserUnblocked>() {
            let e: UserUnblocked = event.data()?;
            (e.blocker_id, e.blocked_id, false)
        } else {
            return Ok(());
        };
        let recorded = self.0.record_block(blocker, blocked, is_blocked).await;
        recorded.map_err(transient)
    }
}

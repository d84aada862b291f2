//! The users read model: who exists (for requests and blocks, resolved from
//! the users service when the model has not heard of a user yet), and names,
//! emails and last seen (for lists and search), kept from the users
//! service's events. An event is applied only over older data — its time is
//! the row's version — so redeliveries and replays after a crash never roll
//! a user back.

use super::{App, Error, Result};
use crate::domain::UserRecord;
use crate::store::users;
use chrono::{DateTime, Utc};
use contracts::{UserOnlineStatusChanged, UserProfileUpdated, UserRegistered};
use kit::auth::AuthUser;

fn version(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

impl App {
    /// Whether the read model has heard of `user_id`.
    pub async fn knows_user(&self, user_id: i64) -> Result<bool> {
        Ok(users::exists(&self.db, user_id).await?)
    }

    /// [`Error::UnknownUser`] unless `user_id` exists: a user the read model
    /// has not heard of yet is looked up at the users service (with the
    /// `caller`'s token), and then awaited in the read model.
    pub(super) async fn require_user(&self, caller: &AuthUser, user_id: i64) -> Result<()> {
        let known = || self.knows_user(user_id);
        if self
            .owners
            .resolve_user(user_id, &caller.token, known)
            .await?
        {
            Ok(())
        } else {
            Err(Error::UnknownUser)
        }
    }

    /// A user registered (announced at `at`).
    pub async fn record_user(&self, e: UserRegistered, at: DateTime<Utc>) -> Result<()> {
        let user = UserRecord {
            user_id: e.user_id,
            email: e.email,
            username: e.username,
            display_name: e.display_name,
        };
        users::upsert(&self.db, &user, version(at)).await?;
        self.owners.user_recorded(user.user_id);
        Ok(())
    }

    /// A user changed their profile (announced at `at`).
    pub async fn record_profile(&self, e: UserProfileUpdated, at: DateTime<Utc>) -> Result<()> {
        let (name, display) = (Some(e.username.as_str()), e.display_name.as_deref());
        Ok(users::update_profile(&self.db, e.user_id, name, display, version(at)).await?)
    }

    /// A user's presence changed; only when they were last seen matters here.
    pub async fn record_last_seen(&self, e: UserOnlineStatusChanged) -> Result<()> {
        match e.last_seen_at {
            Some(at) => Ok(users::touch_last_seen(&self.db, e.user_id, at).await?),
            None => Ok(()),
        }
    }
}

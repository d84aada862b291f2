//! The users and blocks read models: kept up by the consumers of
//! `user.events` and `friend.events`, asked by the room use cases, with the
//! one read-your-writes fallback for users the model has not heard of yet.

use super::{App, ChatResult};
use crate::domain::Participant;
use crate::store::read_models;

impl App {
    /// A user registered or changed their profile.
    pub async fn record_user(&self, user: &Participant) -> ChatResult<()> {
        Ok(read_models::upsert_user(&self.db, user).await?)
    }

    /// `blocker` blocked `blocked` (`is_blocked`) or lifted the block.
    pub async fn record_block(
        &self,
        blocker: i64,
        blocked: i64,
        is_blocked: bool,
    ) -> ChatResult<()> {
        Ok(read_models::set_blocked(&self.db, blocker, blocked, is_blocked).await?)
    }

    /// Whether the users read model holds `user_id` now (no catching up).
    pub async fn has_heard_of(&self, user_id: i64) -> ChatResult<bool> {
        Ok(!read_models::users(&self.db, &[user_id]).await?.is_empty())
    }

    /// Whether a block stands between `user` and `other`, either way.
    pub async fn blocked_between(&self, user: i64, other: i64) -> ChatResult<bool> {
        Ok(read_models::blocked_between(&self.db, user, &[other]).await?)
    }

    /// Whether `user_id` exists as far as chat can tell: the read model knows
    /// them, or the users service does and the model catches up within a few
    /// seconds (read-your-writes for a client that acts right after a
    /// registration). `token` is the caller's, for asking the users service.
    pub(crate) async fn known_user(&self, user_id: i64, token: &str) -> ChatResult<bool> {
        if self.has_heard_of(user_id).await? {
            return Ok(true);
        }
        let known = || async { self.has_heard_of(user_id).await.unwrap_or(false) };
        Ok(self.users.catch_up(user_id, token, known).await)
    }

    /// The first of `ids` that is not a [`known_user`](Self::known_user).
    pub(crate) async fn first_unknown(&self, ids: &[i64], token: &str) -> ChatResult<Option<i64>> {
        let heard_of = read_models::users(&self.db, ids).await?;
        for &id in ids {
            if !heard_of.iter().any(|u| u.user_id == id) && !self.known_user(id, token).await? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}

//! The users and blocks read models: kept up by the consumers of
//! `user.events` and `friend.events`, with the one read-your-writes fallback
//! for users the model has not heard of yet.

use super::{App, PostsResult};
use crate::store::{follows, read_models};

impl App {
    /// A user registered or changed their profile.
    pub async fn record_user(
        &self,
        user_id: i64,
        username: &str,
        display_name: Option<&str>,
    ) -> PostsResult<()> {
        read_models::upsert_user(&self.db, user_id, username, display_name).await?;
        self.owners.user_recorded(user_id);
        Ok(())
    }

    /// `blocker` blocked `blocked`: from now on neither sees the other's
    /// posts, comments or follows, and neither follows the other any more
    /// (their posts leave each other's timelines). Idempotent.
    pub async fn record_block(&self, blocker: i64, blocked: i64) -> PostsResult<()> {
        let mut tx = self.db.begin().await?;
        read_models::set_blocked(&mut tx, blocker, blocked, true).await?;
        for (a, b) in [(blocker, blocked), (blocked, blocker)] {
            follows::delete(&mut tx, a, b).await?;
            self.timelines.drop_author(&mut tx, a, b).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `blocker` lifted their block of `blocked` (follows stay ended).
    pub async fn record_unblock(&self, blocker: i64, blocked: i64) -> PostsResult<()> {
        Ok(read_models::set_blocked(&self.db, blocker, blocked, false).await?)
    }

    /// Whether the users read model holds `user_id` now (no catching up).
    pub async fn has_heard_of(&self, user_id: i64) -> PostsResult<bool> {
        Ok(read_models::knows_user(&self.db, user_id).await?)
    }

    /// Whether a block stands between `a` and `b` as far as posts knows.
    pub async fn blocked_between(&self, a: i64, b: i64) -> PostsResult<bool> {
        Ok(read_models::blocked_between(&self.db, a, b).await?)
    }

    /// Whether `user_id` exists as far as posts can tell: the read model knows
    /// them, or the users service does and the model catches up within a few
    /// seconds (read-your-writes right after a registration).
    pub(crate) async fn known_user(&self, user_id: i64, token: &str) -> PostsResult<bool> {
        let known = || self.has_heard_of(user_id);
        self.owners.resolve_user(user_id, token, known).await
    }
}

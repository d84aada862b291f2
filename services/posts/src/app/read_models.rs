//! The users and blocks read models: kept up by kit's consumers of
//! `user.events` and `friend.events` ([`kit::read_model`]), with the one
//! read-your-writes fallback for users the model has not heard of yet.

use super::{App, PostsError, PostsResult};
use crate::store::follows;
use crate::store::read_models::{BLOCKS, USERS};
use kit::read_model::{ReadModels, UserNames};

#[async_trait::async_trait]
impl ReadModels for App {
    type Error = PostsError;

    async fn record_user(&self, user: UserNames) -> PostsResult<()> {
        Ok(USERS.record(&self.db, &self.owners, &user).await?)
    }

    /// A block: from now on neither sees the other's posts, comments or
    /// follows, and neither follows the other any more (their posts leave
    /// each other's timelines). A block lifted: follows stay ended.
    /// Idempotent.
    async fn record_block(&self, blocker: i64, blocked: i64, is_blocked: bool) -> PostsResult<()> {
        if !is_blocked {
            return Ok(BLOCKS.set(&self.db, blocker, blocked, false).await?);
        }
        let mut tx = self.db.begin().await?;
        BLOCKS.set(&mut tx, blocker, blocked, true).await?;
        for (a, b) in [(blocker, blocked), (blocked, blocker)] {
            follows::delete(&mut tx, a, b).await?;
            self.timelines.drop_author(&mut tx, a, b).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl App {
    /// Whether the users read model holds `user_id` now (no catching up).
    pub async fn has_heard_of(&self, user_id: i64) -> PostsResult<bool> {
        Ok(USERS.knows(&self.db, user_id).await?)
    }

    /// Whether a block stands between `a` and `b` as far as posts knows.
    pub async fn blocked_between(&self, a: i64, b: i64) -> PostsResult<bool> {
        Ok(BLOCKS.between(&self.db, a, &[b]).await?)
    }

    /// Whether `user_id` exists as far as posts can tell: the read model knows
    /// them, or the users service does and the model catches up within a few
    /// seconds (read-your-writes right after a registration).
    pub(crate) async fn known_user(&self, user_id: i64, token: &str) -> PostsResult<bool> {
        let known = || self.has_heard_of(user_id);
        self.owners.resolve_user(user_id, token, known).await
    }
}

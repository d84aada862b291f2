//! The users and blocks read models: kept up by kit's consumers of
//! `user.events` and `friend.events` ([`kit::read_model`]), and the facts the
//! room and message use cases decide on, taken from the owners (users,
//! friends) where the models may lag (see [`kit::owners`]).

use super::{App, ChatError, ChatResult};
use crate::store::read_models::{self, BLOCKS, USERS};
use kit::read_model::{ReadModels, UserNames};

#[async_trait::async_trait]
impl ReadModels for App {
    type Error = ChatError;

    async fn record_user(&self, user: UserNames) -> ChatResult<()> {
        Ok(USERS.record(&self.db, &self.owners, &user).await?)
    }

    async fn record_block(&self, blocker: i64, blocked: i64, is_blocked: bool) -> ChatResult<()> {
        Ok(BLOCKS.set(&self.db, blocker, blocked, is_blocked).await?)
    }
}

impl App {
    /// Whether the users read model holds `user_id` now (no catching up).
    pub async fn has_heard_of(&self, user_id: i64) -> ChatResult<bool> {
        Ok(USERS.knows(&self.db, user_id).await?)
    }

    /// Whether the blocks read model has a block between `user` and `other`,
    /// either way (it may lag the friends service).
    pub async fn blocked_between(&self, user: i64, other: i64) -> ChatResult<bool> {
        Ok(BLOCKS.between(&self.db, user, &[other]).await?)
    }

    /// The first of `ids` that does not exist, once the users read model
    /// knows the others (resolved from the users service; `token` is the
    /// caller's).
    pub(crate) async fn first_unknown(&self, ids: &[i64], token: &str) -> ChatResult<Option<i64>> {
        let heard_of = read_models::users(&self.db, ids).await?;
        for &id in ids {
            if heard_of.iter().any(|u| u.user_id == id) {
                continue;
            }
            let known = || self.has_heard_of(id);
            if !self.owners.resolve_user(id, token, known).await? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Whether a block stands, either way, between `user` and any of
    /// `others` right now, as the friends service says (`token` is `user`'s).
    pub(crate) async fn blocked_now(
        &self,
        user: i64,
        token: &str,
        others: &[i64],
    ) -> ChatResult<bool> {
        let read_model = async { Ok(BLOCKS.between(&self.db, user, others).await?) };
        self.owners
            .blocked_between(user, others, token, read_model)
            .await
    }
}

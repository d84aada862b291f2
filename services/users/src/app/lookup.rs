//! Looking users up: search, by id, in batches, existence.

use super::{Result, UserStatus};
use crate::Users;
use crate::domain;

impl Users {
    /// Users (other than `viewer`) whose username or display name contains
    /// `query`, with the total number of matches. Names are matched by their
    /// key ([`domain::name_key`]), so `ärger` finds `ÄRGER` and `ａｌｉ`
    /// finds `alice` on every database.
    pub async fn search(
        &self,
        viewer: i64,
        query: Option<&str>,
        limit: Option<u32>,
    ) -> Result<(Vec<UserStatus>, i64)> {
        let query = domain::search_query(query)?;
        let limit = domain::search_limit(limit)?;
        let (found, total) = self
            .store
            .search(&domain::name_key(&query), limit, viewer)
            .await?;
        Ok((self.with_status(found).await?, total))
    }

    /// Users by comma-separated ids (`1,2,3`); unknown ids are left out.
    pub async fn users_by_id_list(&self, raw: &str) -> Result<Vec<UserStatus>> {
        self.users_by_ids(domain::id_list(raw)?).await
    }

    /// Users by id, ascending; unknown ids are left out.
    pub async fn users_by_ids(&self, ids: Vec<i64>) -> Result<Vec<UserStatus>> {
        let ids = domain::batch_ids(ids)?;
        let found = self.lookup.get_many(&ids).await?;
        self.with_status(found).await
    }

    pub async fn exists(&self, user_id: i64) -> Result<bool> {
        Ok(self.lookup.get(user_id).await?.is_some())
    }
}

//! Friendships: the caller's friends, unfriending, and finding users to add.

use super::friend_events::{self as announce, TOPIC};
use super::{App, Error, Result};
use crate::domain::{self, Candidate, Friend, Friendship};
use crate::store::{friendships, users};
use chrono::Utc;
use kit::auth::AuthUser;

impl App {
    /// `caller`'s friends, by username.
    pub async fn friends(&self, caller: &AuthUser) -> Result<Vec<Friend>> {
        Ok(friendships::friends_of(&self.db, caller.id).await?)
    }

    /// `caller` ends their friendship with `friend`.
    pub async fn unfriend(&self, caller: &AuthUser, friend: i64) -> Result<Friendship> {
        let mut tx = self.begin_pair(caller.id, friend).await?;
        let friendship = friendships::end_friendship(&mut tx, caller.id, friend, Utc::now())
            .await?
            .ok_or(Error::NotFriends)?;
        tx.enqueue(TOPIC, &announce::friend_deleted(&friendship, caller.id))
            .await?;
        tx.commit().await?;
        tracing::info!(friendship_id = friendship.id, "friendship ended");
        Ok(friendship)
    }

    /// Users `caller` may add whose username or display name contains
    /// `query`: at most `limit` (default 20), without the caller, their
    /// friends and users blocked either way.
    pub async fn search(
        &self,
        caller: &AuthUser,
        query: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<Candidate>> {
        let term = domain::search_query(query)?;
        let limit = domain::search_limit(limit)?;
        Ok(users::search(&self.db, caller.id, &term, limit).await?)
    }
}

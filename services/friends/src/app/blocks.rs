//! Blocking: a block ends any friendship or pending request between the two
//! and stops new requests in either direction until it is lifted.

use super::friend_events::{self as announce, TOPIC};
use super::{App, Error, Result};
use crate::domain::{self, BlockDecision, BlockFacts, BlockedUser};
use crate::store::{blocks, friendships, users};
use chrono::{DateTime, Utc};
use kit::auth::AuthUser;

impl App {
    /// `caller` blocks `user_id` (blocking again changes nothing); when the
    /// block took effect.
    pub async fn block(&self, caller: &AuthUser, user_id: i64) -> Result<DateTime<Utc>> {
        domain::check_block_target(caller.id, user_id)?;
        self.require_user(caller, user_id).await?;
        self.record_block(caller.id, user_id).await
    }

    async fn record_block(&self, blocker: i64, blocked: i64) -> Result<DateTime<Utc>> {
        let mut tx = self.begin_pair(blocker, blocked).await?;
        let facts = BlockFacts {
            blocked_known: users::exists(&mut tx, blocked).await?,
            since: blocks::since(&mut tx, blocker, blocked).await?,
        };
        if let BlockDecision::AlreadyBlocked(since) = domain::decide_block(&facts)? {
            tx.rollback().await?;
            return Ok(since);
        }
        let now = Utc::now();
        let blocked_at = blocks::insert(&mut tx, blocker, blocked, now).await?;
        // A block ends whatever the two had; consumers hear why.
        for ended in friendships::end_live(&mut tx, blocker, blocked, now).await? {
            tx.enqueue(TOPIC, &announce::ended_by(&ended, blocker))
                .await?;
        }
        tx.enqueue(TOPIC, &announce::user_blocked(blocker, blocked))
            .await?;
        tx.commit().await?;
        tracing::info!(blocker_id = blocker, blocked_id = blocked, "user blocked");
        Ok(blocked_at)
    }

    /// `caller` lifts their block of `user_id`.
    pub async fn unblock(&self, caller: &AuthUser, user_id: i64) -> Result<()> {
        domain::check_block_target(caller.id, user_id)?;
        let mut tx = self.begin_pair(caller.id, user_id).await?;
        if !blocks::delete(&mut tx, caller.id, user_id).await? {
            tx.rollback().await?;
            return Err(Error::NotBlocked);
        }
        tx.enqueue(TOPIC, &announce::user_unblocked(caller.id, user_id))
            .await?;
        tx.commit().await?;
        tracing::info!(
            blocker_id = caller.id,
            blocked_id = user_id,
            "user unblocked"
        );
        Ok(())
    }

    /// Whether a block stands, either way, between `user` and any of
    /// `others`: what chat asks before it opens a room or lets a message out
    /// (this table is the truth; chat's copy may lag).
    pub async fn blocked_between(&self, user: i64, others: &[i64]) -> Result<bool> {
        Ok(blocks::between(&self.db, user, others).await?)
    }

    /// Users `caller` blocked, newest first.
    pub async fn blocked(&self, caller: &AuthUser) -> Result<Vec<BlockedUser>> {
        Ok(blocks::blocked_by(&self.db, caller.id).await?)
    }
}

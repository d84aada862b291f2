//! Follows: follow and unfollow (both idempotent), and the two lists.

use super::announce::{self, TOPIC};
use super::{App, Page, PostsError, PostsResult};
use crate::domain::{self, FollowEntry, PageRequest, Refusal};
use crate::store::follows::{self, Side};
use crate::store::read_models::BLOCKS;
use chrono::{DateTime, Utc};
use kit::auth::AuthUser;

// Also the answer of the follow and unfollow endpoints, as it is (its
// OpenAPI name is the one that answer always had).
/// Whether the caller follows the user now.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = FollowBody)]
pub struct Following {
    pub follower_id: i64,
    pub followee_id: i64,
    pub following: bool,
    /// When the follow began; `null` when not following.
    pub followed_at: Option<DateTime<Utc>>,
}

impl App {
    /// The caller follows `target` (following again changes nothing). The
    /// target's earlier fanned-out posts join the caller's timeline in the
    /// same unit of work; their later ones reach it by fan-out.
    pub async fn follow(&self, caller: &AuthUser, target: i64) -> PostsResult<Following> {
        domain::check_follow_target(caller.id, target)?;
        if !self.known_user(target, &caller.token).await? {
            return Err(Refusal::UnknownUser.into());
        }
        // A block just made counts at once: friends, the owner of blocks,
        // is asked (the local copy only when there is no friends service).
        let local = BLOCKS.between(&self.db, caller.id, std::slice::from_ref(&target));
        let blocked = self
            .owners
            .blocked_between(caller.id, &[target], &caller.token, async {
                Ok::<_, PostsError>(local.await?)
            })
            .await?;
        if blocked {
            return Err(Refusal::Blocked.into());
        }
        let mut tx = self.begin(domain::author_lock_key(target)).await?;
        if let Some(since) = follows::since(&mut tx, caller.id, target).await? {
            tx.rollback().await?;
            return Ok(Following {
                follower_id: caller.id,
                followee_id: target,
                following: true,
                followed_at: Some(since),
            });
        }
        let now = domain::now();
        follows::insert(&mut tx, caller.id, target, now).await?;
        let backfilled = self.timelines.backfill(&mut tx, caller.id, target).await?;
        tx.enqueue(TOPIC, &announce::user_followed(caller.id, target, now))
            .await?;
        tx.commit().await?;
        tracing::info!(
            follower_id = caller.id,
            followee_id = target,
            backfilled,
            "user followed"
        );
        Ok(Following {
            follower_id: caller.id,
            followee_id: target,
            following: true,
            followed_at: Some(now),
        })
    }

    /// The caller stops following `target` (if they did); the target's posts
    /// leave the caller's timeline.
    pub async fn unfollow(&self, caller: i64, target: i64) -> PostsResult<Following> {
        domain::check_follow_target(caller, target)?;
        let mut tx = self.begin(domain::author_lock_key(target)).await?;
        if follows::delete(&mut tx, caller, target).await? {
            self.timelines.drop_author(&mut tx, caller, target).await?;
        }
        tx.commit().await?;
        Ok(Following {
            follower_id: caller,
            followee_id: target,
            following: false,
            followed_at: None,
        })
    }

    /// A page of those who follow `user`, newest follow first.
    pub async fn followers(
        &self,
        viewer: i64,
        user: i64,
        page: PageRequest,
    ) -> PostsResult<Page<FollowEntry>> {
        self.follow_list(viewer, user, Side::Followers, page).await
    }

    /// A page of those `user` follows, newest follow first.
    pub async fn following(
        &self,
        viewer: i64,
        user: i64,
        page: PageRequest,
    ) -> PostsResult<Page<FollowEntry>> {
        self.follow_list(viewer, user, Side::Following, page).await
    }

    async fn follow_list(
        &self,
        viewer: i64,
        user: i64,
        side: Side,
        page: PageRequest,
    ) -> PostsResult<Page<FollowEntry>> {
        let rows = follows::list(&self.db, viewer, user, side, page.before(), page.fetch()).await?;
        let (items, next_cursor) = page.cut(rows, |f| f.follow_id);
        Ok(Page { items, next_cursor })
    }

    /// How many follow `user` and how many `user` follows.
    pub async fn follow_counts(&self, user: i64) -> PostsResult<(i64, i64)> {
        Ok((
            follows::count_followers(&self.db, user).await?,
            follows::count_following(&self.db, user).await?,
        ))
    }
}

//! The `follows` table: who follows whom, since when.

use super::{SERVICE, StoreResult, add_pair, remove_pair};
use crate::domain::{Author, FollowEntry};
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, query_as, query_scalar, timed};

#[derive(sqlx::FromRow)]
struct FollowRow {
    follow_id: i64,
    user_id: i64,
    username: Option<String>,
    display_name: Option<String>,
    followed_at: DateTime<Utc>,
}

/// When `follower` started following `followee`; `None` when they do not.
pub async fn since(
    on: impl Into<On<'_>>,
    follower: i64,
    followee: i64,
) -> StoreResult<Option<DateTime<Utc>>> {
    timed(
        SERVICE,
        "select_follow",
        query_scalar("SELECT created_at FROM follows WHERE follower_id = $1 AND followee_id = $2")
            .bind(follower)
            .bind(followee)
            .fetch_optional(on),
    )
    .await
}

/// Records the follow.
pub async fn insert(
    tx: &mut Tx,
    follower: i64,
    followee: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let insert = "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3) \
                  ON CONFLICT (follower_id, followee_id) DO NOTHING";
    add_pair(tx, "insert_follow", insert, (follower, followee), at).await?;
    Ok(())
}

/// Ends the follow; `false` when there was none.
pub async fn delete(on: impl Into<On<'_>>, follower: i64, followee: i64) -> StoreResult<bool> {
    let delete = "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2";
    remove_pair(on, "delete_follow", delete, (follower, followee)).await
}

/// How many users follow `user`.
pub async fn count_followers(on: impl Into<On<'_>>, user: i64) -> StoreResult<i64> {
    timed(
        SERVICE,
        "count_followers",
        query_scalar("SELECT COUNT(*) FROM follows WHERE followee_id = $1")
            .bind(user)
            .fetch_one(on),
    )
    .await
}

/// Who follows `user` (the readers a fan-out on write reaches).
pub async fn follower_ids(on: impl Into<On<'_>>, user: i64) -> StoreResult<Vec<i64>> {
    timed(
        SERVICE,
        "select_follower_ids",
        query_scalar("SELECT follower_id FROM follows WHERE followee_id = $1")
            .bind(user)
            .fetch_all(on),
    )
    .await
}

/// How many users `user` follows.
pub async fn count_following(on: impl Into<On<'_>>, user: i64) -> StoreResult<i64> {
    timed(
        SERVICE,
        "count_following",
        query_scalar("SELECT COUNT(*) FROM follows WHERE follower_id = $1")
            .bind(user)
            .fetch_one(on),
    )
    .await
}

/// Which side of a follow a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    /// Those who follow the user.
    Followers,
    /// Those the user follows.
    Following,
}

/// One side of `user`'s follows with ids below `before`, newest follow
/// first, leaving out users a block separates from `viewer`.
pub async fn list(
    on: impl Into<On<'_>>,
    viewer: i64,
    user: i64,
    side: Side,
    before: i64,
    limit: i64,
) -> StoreResult<Vec<FollowEntry>> {
    let (shown, by) = match side {
        Side::Followers => ("f.follower_id", "f.followee_id"),
        Side::Following => ("f.followee_id", "f.follower_id"),
    };
    let sql = format!(
        "SELECT f.id AS follow_id, {shown} AS user_id, u.username, u.display_name, \
         f.created_at AS followed_at \
         FROM follows f LEFT JOIN posts_users u ON u.user_id = {shown} \
         WHERE {by} = $2 AND f.id < $3 AND NOT EXISTS (SELECT 1 FROM posts_blocks b WHERE \
         (b.blocker_id = $1 AND b.blocked_id = {shown}) OR \
         (b.blocker_id = {shown} AND b.blocked_id = $1)) \
         ORDER BY f.id DESC LIMIT $4"
    );
    let rows = timed(
        SERVICE,
        "select_follows",
        query_as::<FollowRow>(&sql)
            .bind(viewer)
            .bind(user)
            .bind(before)
            .bind(limit)
            .fetch_all(on),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| FollowEntry {
            follow_id: r.follow_id,
            user: Author {
                user_id: r.user_id,
                username: r.username,
                display_name: r.display_name,
            },
            followed_at: r.followed_at,
        })
        .collect())
}

//! Likes: a set per post (liking twice is one like, unliking what one did not
//! like changes nothing), with the count kept on the post.

use super::announce::{self, TOPIC};
use super::{App, PostsResult};
use crate::domain::{self, Refusal};
use crate::store::{likes, posts};

/// Whether the caller likes the post now, and its like count.
#[derive(Debug, Clone, PartialEq)]
pub struct LikeState {
    pub post_id: i64,
    pub liked: bool,
    pub like_count: i64,
}

impl App {
    /// `user` likes the post. `PostLiked` (which tells the author) goes out
    /// for the first like of this user on this post only: not for a
    /// repeated like, nor for a like taken back and given again — liking,
    /// unliking and liking again notifies the author once, not twice.
    pub async fn like(&self, user: i64, post_id: i64) -> PostsResult<LikeState> {
        let mut tx = self.begin(domain::post_lock_key(post_id)).await?;
        let post = posts::visible(&mut tx, user, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        let now = domain::now();
        let like_count = if likes::insert(&mut tx, post_id, user, now).await? {
            let count = posts::add_likes(&mut tx, post_id, 1).await?;
            if likes::announce_once(&mut tx, post_id, user, now).await? {
                tx.enqueue(TOPIC, &announce::post_liked(&post, user, count))
                    .await?;
            }
            count
        } else {
            post.like_count
        };
        tx.commit().await?;
        Ok(LikeState {
            post_id,
            liked: true,
            like_count,
        })
    }

    /// `user` takes their like back (if any).
    pub async fn unlike(&self, user: i64, post_id: i64) -> PostsResult<LikeState> {
        let mut tx = self.begin(domain::post_lock_key(post_id)).await?;
        let post = posts::visible(&mut tx, user, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        let like_count = if likes::delete(&mut tx, post_id, user).await? {
            posts::add_likes(&mut tx, post_id, -1).await?
        } else {
            post.like_count
        };
        tx.commit().await?;
        Ok(LikeState {
            post_id,
            liked: false,
            like_count,
        })
    }
}

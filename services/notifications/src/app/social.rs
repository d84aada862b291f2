//! What `post.events` do here: a like, a comment (or reply) and a follow
//! become notifications for the people they concern, through the same
//! idempotent delivery as friend and message notifications.

use super::Result;
use crate::Notifications;
use crate::domain::{self, CommentNotice};
use contracts::{CommentAdded, Contract, PostLiked, UserFollowed};

impl Notifications {
    /// The post's author hears of the like.
    pub async fn post_liked(&self, event_id: &str, l: &PostLiked) -> Result<()> {
        let name = self.name(l.user_id).await?;
        let draft = domain::post_liked(l.post_id, l.author_id, l.user_id, &name, l.like_count)?;
        let drafts: Vec<_> = draft.into_iter().collect();
        self.deliver(event_id, PostLiked::KIND, &drafts).await
    }

    /// The post's author, and for a reply the parent comment's author, hear
    /// of the comment.
    pub async fn comment_added(&self, event_id: &str, c: &CommentAdded) -> Result<()> {
        let notice = CommentNotice {
            comment_id: c.comment_id,
            post_id: c.post_id,
            post_author_id: c.post_author_id,
            author_id: c.author_id,
            parent: c.parent_id.zip(c.parent_author_id),
            text: &c.text,
        };
        let name = self.name(c.author_id).await?;
        let drafts = domain::comment_added(&notice, &name)?;
        self.deliver(event_id, CommentAdded::KIND, &drafts).await
    }

    /// The followed user hears of the new follower.
    pub async fn user_followed(&self, event_id: &str, f: &UserFollowed) -> Result<()> {
        let name = self.name(f.follower_id).await?;
        let draft = domain::followed(f.follower_id, f.followee_id, &name)?;
        self.deliver(event_id, UserFollowed::KIND, &[draft]).await
    }
}

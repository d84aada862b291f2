//! Comments on posts and one level of replies to them.

use super::announce::{self, TOPIC};
use super::{App, Page, PostsResult};
use crate::domain::{self, Comment, PageRequest, Refusal};
use crate::store::{comments, posts};

impl App {
    /// `author` comments on the post, or replies to its comment `parent_id`
    /// (a top-level one).
    pub async fn comment(
        &self,
        author: i64,
        post_id: i64,
        text: &str,
        parent_id: Option<i64>,
    ) -> PostsResult<Comment> {
        let text = domain::comment_text(text)?;
        let mut tx = self.begin(domain::post_lock_key(post_id)).await?;
        let post = posts::visible(&mut tx, author, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        let parent = match parent_id {
            Some(id) => {
                let parent = comments::find(&mut tx, post_id, id)
                    .await?
                    .ok_or(Refusal::CommentNotFound)?;
                domain::check_reply_parent(&parent)?;
                Some(parent)
            }
            None => None,
        };
        let id =
            comments::insert(&mut tx, post_id, author, parent_id, &text, domain::now()).await?;
        posts::add_comment(&mut tx, post_id).await?;
        if let Some(parent) = &parent {
            comments::add_reply(&mut tx, parent.id).await?;
        }
        let comment = comments::find(&mut tx, post_id, id)
            .await?
            .ok_or(Refusal::CommentNotFound)?;
        tx.enqueue(
            TOPIC,
            &announce::comment_added(&post, &comment, parent.as_ref()),
        )
        .await?;
        tx.commit().await?;
        Ok(comment)
    }

    /// A page of the post's top-level comments, oldest first.
    pub async fn comments(
        &self,
        viewer: i64,
        post_id: i64,
        page: PageRequest,
    ) -> PostsResult<Page<Comment>> {
        posts::visible(&self.db, viewer, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        let rows =
            comments::list(&self.db, viewer, post_id, None, page.after(), page.fetch()).await?;
        let (items, next_cursor) = page.cut(rows, |c| c.id);
        Ok(Page { items, next_cursor })
    }

    /// A page of the replies to the post's comment `comment_id`, oldest first.
    pub async fn replies(
        &self,
        viewer: i64,
        post_id: i64,
        comment_id: i64,
        page: PageRequest,
    ) -> PostsResult<Page<Comment>> {
        posts::visible(&self.db, viewer, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        comments::find(&self.db, post_id, comment_id)
            .await?
            .ok_or(Refusal::CommentNotFound)?;
        let rows = comments::list(
            &self.db,
            viewer,
            post_id,
            Some(comment_id),
            page.after(),
            page.fetch(),
        )
        .await?;
        let (items, next_cursor) = page.cut(rows, |c| c.id);
        Ok(Page { items, next_cursor })
    }
}

//! Posts: write (with the fan-out decision), edit and delete (author only),
//! read one or an author's.

use super::announce::{self, TOPIC};
use super::{App, Page, PostView, PostsResult};
use crate::domain::{self, Invalid, PageRequest, Refusal};
use crate::store::images::POST_IMAGES;
use crate::store::{follows, posts};

impl App {
    /// `author` publishes a post. In the same unit of work it reaches the
    /// author's own timeline and — when the author has at most the fan-out
    /// threshold of followers — every follower's, so the next request of any
    /// of them sees it (read-your-writes). Above the threshold followers read
    /// it from the author's posts when they read their timeline.
    pub async fn create_post(
        &self,
        author: i64,
        text: &str,
        tags: &[String],
    ) -> PostsResult<PostView> {
        let text = domain::post_text(text)?;
        let tags = domain::tags(tags)?;
        let mut tx = self.begin(domain::author_lock_key(author)).await?;
        let followers = follows::count_followers(&mut tx, author).await?;
        let fan_out = domain::fans_out_on_write(followers, self.fanout_threshold);
        let id = posts::insert(&mut tx, author, &text, &tags, fan_out, domain::now()).await?;
        let post = posts::find(&mut tx, id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        let reached = self.timelines.add(&mut tx, &post, fan_out).await?;
        tx.enqueue(TOPIC, &announce::post_created(&post, fan_out))
            .await?;
        tx.commit().await?;
        tracing::info!(
            post_id = id,
            author_id = author,
            followers,
            fanned_out = fan_out,
            timelines_written = reached,
            "post created"
        );
        Ok(PostView {
            post,
            liked_by_me: false,
        })
    }

    /// The author changes the text and/or the tags of their post;
    /// `PostEdited` announces the new text.
    pub async fn edit_post(
        &self,
        caller: i64,
        post_id: i64,
        text: Option<&str>,
        tags: Option<&[String]>,
    ) -> PostsResult<PostView> {
        if text.is_none() && tags.is_none() {
            return Err(Invalid("give text, tags or both".into()).into());
        }
        let text = text.map(domain::post_text).transpose()?;
        let tags = tags.map(domain::tags).transpose()?;
        let mut tx = self.begin(domain::post_lock_key(post_id)).await?;
        let post = posts::find(&mut tx, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        domain::check_author(&post, caller)?;
        let text = text.unwrap_or(post.text);
        let tags = tags.unwrap_or(post.tags);
        posts::update(&mut tx, post_id, &text, &tags, domain::now()).await?;
        let post = posts::find(&mut tx, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        tx.enqueue(TOPIC, &announce::post_edited(&post)).await?;
        tx.commit().await?;
        let mut views = self.views(caller, vec![post]).await?;
        views.pop().ok_or(Refusal::PostNotFound.into())
    }

    /// The author deletes their post (soft delete): it leaves every timeline
    /// and list at once, and its image is removed.
    pub async fn delete_post(&self, caller: i64, post_id: i64) -> PostsResult<()> {
        let mut tx = self.begin(domain::post_lock_key(post_id)).await?;
        let post = posts::find(&mut tx, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        domain::check_author(&post, caller)?;
        posts::soft_delete(&mut tx, post_id, domain::now()).await?;
        POST_IMAGES.remove(&mut tx, post_id).await?;
        self.timelines.drop_post(&mut tx, post_id).await?;
        tx.enqueue(TOPIC, &announce::post_deleted(&post)).await?;
        tx.commit().await?;
        tracing::info!(post_id, author_id = caller, "post deleted");
        Ok(())
    }

    /// One post, unless it is deleted or a block hides it from `viewer`.
    pub async fn post(&self, viewer: i64, post_id: i64) -> PostsResult<PostView> {
        let post = posts::visible(&self.db, viewer, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        let mut views = self.views(viewer, vec![post]).await?;
        views.pop().ok_or(Refusal::PostNotFound.into())
    }

    /// A page of `author`'s posts, newest first (none when a block stands
    /// between `viewer` and `author`).
    pub async fn posts_by(
        &self,
        viewer: i64,
        author: i64,
        page: PageRequest,
    ) -> PostsResult<Page<PostView>> {
        let rows = posts::by_author(&self.db, viewer, author, page.before(), page.fetch()).await?;
        let (posts, next_cursor) = page.cut(rows, |p| p.id);
        Ok(Page {
            items: self.views(viewer, posts).await?,
            next_cursor,
        })
    }
}

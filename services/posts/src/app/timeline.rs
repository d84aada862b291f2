//! The home timeline, the textbook hybrid: posts of ordinary authors were
//! written into each follower's timeline when they were posted (fan-out on
//! write); posts of authors above the threshold are read from their posts
//! now (fan-out on read). Whether a post was fanned out is recorded on the
//! post, so an author crossing the threshold in either direction leaves no
//! post unreachable and none twice.

use super::{App, Page, PostView, PostsResult};
use crate::domain::{self, PageRequest};
use crate::store::timeline;

impl App {
    /// A page of `reader`'s home timeline: their own posts and those of the
    /// users they follow, newest first.
    #[tracing::instrument(skip(self), fields(written, read))]
    pub async fn home_timeline(
        &self,
        reader: i64,
        page: PageRequest,
    ) -> PostsResult<Page<PostView>> {
        // Each half's newest page-and-one past the cursor holds the merged
        // page-and-one: nothing newer can hide further down either half.
        let written = timeline::written(&self.db, reader, page.before(), page.fetch()).await?;
        let read = timeline::read_on_read(&self.db, reader, page.before(), page.fetch()).await?;
        let span = tracing::Span::current();
        span.record("written", written.len());
        span.record("read", read.len());
        let merged = domain::merge_newest_first(written, read);
        let (posts, next_cursor) = page.cut(merged, |p| p.id);
        Ok(Page {
            items: self.views(reader, posts).await?,
            next_cursor,
        })
    }
}

//! The home timeline, the textbook hybrid: posts of ordinary authors were
//! written into each follower's timeline when they were posted (fan-out on
//! write); posts of authors above the threshold are read from their posts
//! now (fan-out on read). Whether a post was fanned out is recorded on the
//! post, so an author crossing the threshold in either direction leaves no
//! post unreachable and none twice.
//!
//! The written half lives in Redis sorted sets when Redis is configured, in
//! the `timeline_entries` table otherwise ([`Timelines`]); either keeps the
//! newest `--posts-timeline-length` posts per reader. Redis is written inside
//! the unit of work, before it commits: a failing Redis fails the use case
//! (nothing is committed), and a commit failing after Redis was written
//! leaves members naming no post, which reads skip.

use super::{App, Page, PostView, PostsResult};
use crate::domain::{self, PageRequest, Post};
use crate::store::redis_timeline::{Entry, RedisTimelines};
use crate::store::timeline::{self, Half};
use crate::store::{follows, posts};
use kit::db::{Database, Tx};

/// Where the written half of home timelines lives.
#[derive(Clone)]
pub enum Timelines {
    /// The `timeline_entries` table, trimmed to `max` rows per reader.
    Table { max: i64 },
    /// Redis sorted sets (the deployment's Redis).
    Redis(RedisTimelines),
}

impl Timelines {
    /// Puts a new post into its author's timeline and, when `fan_out`, into
    /// every follower's; how many follower timelines it reached.
    pub(super) async fn add(&self, tx: &mut Tx, post: &Post, fan_out: bool) -> PostsResult<u64> {
        let author = post.author.user_id;
        match self {
            Self::Table { max } => Ok(timeline::add(tx, post.id, author, fan_out, *max).await?),
            Self::Redis(redis) => {
                let mut readers = vec![author];
                if fan_out {
                    readers.extend(follows::follower_ids(&mut *tx, author).await?);
                }
                let entry = Entry {
                    post_id: post.id,
                    author_id: author,
                };
                redis.add(&readers, entry).await?;
                Ok(readers.len() as u64 - 1)
            }
        }
    }

    /// A new follower's timeline gets `author`'s earlier fanned-out posts.
    pub(super) async fn backfill(
        &self,
        tx: &mut Tx,
        follower: i64,
        author: i64,
    ) -> PostsResult<u64> {
        match self {
            Self::Table { max } => Ok(timeline::backfill(tx, follower, author, *max).await?),
            Self::Redis(redis) => {
                let ids = posts::fanned_out_ids(&mut *tx, author, redis.max()).await?;
                let entries: Vec<Entry> = ids
                    .iter()
                    .map(|&post_id| Entry {
                        post_id,
                        author_id: author,
                    })
                    .collect();
                redis.add_many(&[follower], &entries).await?;
                Ok(entries.len() as u64)
            }
        }
    }

    /// Takes `author`'s posts out of `reader`'s timeline.
    pub(super) async fn drop_author(
        &self,
        tx: &mut Tx,
        reader: i64,
        author: i64,
    ) -> PostsResult<()> {
        match self {
            Self::Table { .. } => timeline::drop_author(tx, reader, author).await?,
            Self::Redis(redis) => redis.drop_author(reader, author).await?,
        }
        Ok(())
    }

    /// Takes a deleted post out of the timelines. Redis members of deleted
    /// posts stay until trimmed: reads skip them (the fan-out may have
    /// reached more readers than the author has followers now).
    pub(super) async fn drop_post(&self, tx: &mut Tx, post_id: i64) -> PostsResult<()> {
        if let Self::Table { .. } = self {
            timeline::drop_post(tx, post_id).await?;
        }
        Ok(())
    }

    /// The written half of `reader`'s timeline: up to `limit` visible posts
    /// below id `before`, newest first.
    async fn written(
        &self,
        db: &Database,
        reader: i64,
        before: i64,
        limit: i64,
    ) -> PostsResult<Vec<Post>> {
        let redis = match self {
            Self::Table { .. } => {
                return Ok(timeline::select(db, reader, Half::Written, before, limit).await?);
            }
            Self::Redis(redis) => redis,
        };
        // Members of deleted, hidden or unrelated posts are skipped, so a
        // batch may yield less than asked: read on until the page is full
        // or the timeline ends.
        let mut found = Vec::new();
        let mut below = before;
        loop {
            let entries = redis.page(reader, below, limit).await?;
            let Some(last) = entries.last() else {
                return Ok(found);
            };
            below = last.post_id;
            let ids: Vec<i64> = entries.iter().map(|e| e.post_id).collect();
            let named = timeline::select(db, reader, Half::Posts(&ids), before, limit).await?;
            found.extend(named.into_iter().filter(|p| {
                entries.contains(&Entry {
                    post_id: p.id,
                    author_id: p.author.user_id,
                })
            }));
            if found.len() as i64 >= limit || (entries.len() as i64) < limit {
                found.truncate(limit as usize);
                return Ok(found);
            }
        }
    }
}

impl App {
    /// Ids of the posts the written half of `reader`'s timeline holds,
    /// newest first, as stored (diagnostics and tests: where a post went).
    pub async fn written_timeline(&self, reader: i64) -> PostsResult<Vec<i64>> {
        let posts = match &self.timelines {
            Timelines::Table { .. } => {
                let all = Half::Written;
                timeline::select(&self.db, reader, all, i64::MAX, i64::MAX).await?
            }
            Timelines::Redis(redis) => {
                let entries = redis.page(reader, i64::MAX, i64::MAX).await?;
                return Ok(entries.iter().map(|e| e.post_id).collect());
            }
        };
        Ok(posts.iter().map(|p| p.id).collect())
    }

    /// How many entries the written halves of `readers`' timelines hold in
    /// all (benchmarks: what a post's fan-out wrote).
    pub async fn written_entries(&self, readers: &[i64]) -> PostsResult<u64> {
        Ok(match &self.timelines {
            Timelines::Table { .. } => timeline::count_entries(&self.db, readers).await?,
            Timelines::Redis(redis) => redis.total_len(readers).await?,
        })
    }

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
        let (before, fetch) = (page.before(), page.fetch());
        let written = self
            .timelines
            .written(&self.db, reader, before, fetch)
            .await?;
        let read = timeline::select(&self.db, reader, Half::OnRead, before, fetch).await?;
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

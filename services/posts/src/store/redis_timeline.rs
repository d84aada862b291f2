//! The written half of home timelines in Redis, when Redis is configured:
//! one sorted set per reader (`<prefix>:posts:timeline:<reader>`), scored by
//! post id (ids grow with creation, so the score orders newest first and is
//! the page cursor), each trimmed to its newest `max` members.
//!
//! A member is `<post_id>:<author_id>`: taking an author's posts out of a
//! timeline (an unfollow, a block) needs no database read, and a member
//! whose post id names another author's post (an id the database handed
//! out again after the writing transaction rolled back) is recognised and
//! skipped. What the members name is read from the database (`timeline`'s
//! one query), which leaves out deleted posts and what a block hides.

use kit::redis::Redis;

/// Errors of Redis.
pub type RedisResult<T> = Result<T, redis::RedisError>;

/// Home timelines in Redis sorted sets.
#[derive(Clone)]
pub struct RedisTimelines {
    redis: Redis,
    /// Members kept per timeline.
    max: i64,
}

/// A post as a timeline names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub post_id: i64,
    pub author_id: i64,
}

impl Entry {
    fn member(self) -> String {
        format!("{}:{}", self.post_id, self.author_id)
    }

    fn parse(member: &str) -> Option<Self> {
        let (post, author) = member.split_once(':')?;
        Some(Self {
            post_id: post.parse().ok()?,
            author_id: author.parse().ok()?,
        })
    }
}

impl RedisTimelines {
    pub fn new(redis: Redis, max: i64) -> Self {
        Self { redis, max }
    }

    /// Members kept per timeline.
    pub fn max(&self) -> i64 {
        self.max
    }

    fn key(&self, reader: i64) -> String {
        self.redis.key(&format!("posts:timeline:{reader}"))
    }

    /// Adds `entry` to the timeline of every reader in `readers` and trims
    /// each to its newest `max` members, in one round trip.
    pub async fn add(&self, readers: &[i64], entry: Entry) -> RedisResult<()> {
        self.add_many(readers, &[entry]).await
    }

    /// Adds `entries` to the timelines of `readers`, trimming each.
    pub async fn add_many(&self, readers: &[i64], entries: &[Entry]) -> RedisResult<()> {
        if readers.is_empty() || entries.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for reader in readers {
            let key = self.key(*reader);
            let zadd = pipe.cmd("ZADD").arg(&key);
            for entry in entries {
                zadd.arg(entry.post_id).arg(entry.member());
            }
            zadd.ignore();
            pipe.cmd("ZREMRANGEBYRANK")
                .arg(&key)
                .arg(0)
                .arg(-(self.max + 1))
                .ignore();
        }
        pipe.query_async::<()>(&mut self.redis.conn()).await
    }

    /// Takes `author`'s posts out of `reader`'s timeline (at most `max`
    /// members to look at).
    pub async fn drop_author(&self, reader: i64, author: i64) -> RedisResult<()> {
        let key = self.key(reader);
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.redis.conn())
            .await?;
        let theirs: Vec<String> = members
            .into_iter()
            .filter(|m| Entry::parse(m).is_some_and(|e| e.author_id == author))
            .collect();
        if theirs.is_empty() {
            return Ok(());
        }
        redis::cmd("ZREM")
            .arg(&key)
            .arg(theirs)
            .query_async::<()>(&mut self.redis.conn())
            .await
    }

    /// Up to `limit` entries of `reader`'s timeline below post id `before`,
    /// newest first.
    pub async fn page(&self, reader: i64, before: i64, limit: i64) -> RedisResult<Vec<Entry>> {
        let max = match before {
            i64::MAX => "+inf".to_owned(),
            id => format!("({id}"),
        };
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.key(reader))
            .arg(max)
            .arg("-inf")
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut self.redis.conn())
            .await?;
        Ok(members.iter().filter_map(|m| Entry::parse(m)).collect())
    }

    /// How many members the timelines of `readers` hold in all, in one
    /// round trip.
    pub async fn total_len(&self, readers: &[i64]) -> RedisResult<u64> {
        if readers.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for reader in readers {
            pipe.cmd("ZCARD").arg(self.key(*reader));
        }
        let lens: Vec<u64> = pipe.query_async(&mut self.redis.conn()).await?;
        Ok(lens.iter().sum())
    }

    /// How many members `reader`'s timeline holds (tests, diagnostics).
    pub async fn len(&self, reader: i64) -> RedisResult<i64> {
        redis::cmd("ZCARD")
            .arg(self.key(reader))
            .query_async(&mut self.redis.conn())
            .await
    }
}

//! Home timelines in the database. The written half is the
//! `timeline_entries` table (one row per reader and post: fan-out on write),
//! used when no Redis is configured (`redis_timeline` otherwise), each
//! reader's rows trimmed to the newest `max`; the read half is the posts of
//! followed authors that were not fanned out (fan-out on read), read from
//! `posts` through `follows` when the timeline is read. One query reads
//! either half, or the posts a Redis timeline names ([`Half`]), leaving out
//! deleted posts and what a block hides, so `app` only merges.

use super::{NOT_BLOCKED, POST_COLUMNS, PostRow, SERVICE, StoreResult};
use crate::domain::Post;
use kit::db::{On, Tx, placeholders, query, query_as, query_scalar, timed};

/// Puts the post into its author's own timeline and, when `fan_out`, into
/// the timeline of every follower of its author; how many timelines it
/// reached. Each of them is trimmed to its newest `max` entries.
pub async fn add(
    tx: &mut Tx,
    post_id: i64,
    author: i64,
    fan_out: bool,
    max: i64,
) -> StoreResult<u64> {
    timed(
        SERVICE,
        "insert_timeline_entry",
        query(
            "INSERT INTO timeline_entries (user_id, post_id, author_id) VALUES ($1, $2, $1) \
             ON CONFLICT (user_id, post_id) DO NOTHING",
        )
        .bind(author)
        .bind(post_id)
        .execute(&mut *tx),
    )
    .await?;
    let reached = if fan_out {
        let insert = query(
            "INSERT INTO timeline_entries (user_id, post_id, author_id) \
             SELECT follower_id, $1, $2 FROM follows WHERE followee_id = $2 \
             ON CONFLICT (user_id, post_id) DO NOTHING",
        )
        .bind(post_id)
        .bind(author)
        .execute(&mut *tx);
        timed(SERVICE, "fan_out_post", insert).await?
    } else {
        0
    };
    let readers = if fan_out {
        "SELECT $1 AS user_id UNION SELECT follower_id FROM follows WHERE followee_id = $1"
    } else {
        "SELECT $1 AS user_id"
    };
    trim(tx, readers, author, 1, max).await?;
    Ok(reached)
}

/// A new follower's timeline gets the (newest `max`) fanned-out posts
/// `author` wrote before (later ones reach it by fan-out; the others are
/// read on read).
pub async fn backfill(tx: &mut Tx, follower: i64, author: i64, max: i64) -> StoreResult<u64> {
    let added = timed(
        SERVICE,
        "backfill_timeline",
        query(
            "INSERT INTO timeline_entries (user_id, post_id, author_id) \
             SELECT $1, id, author_id FROM posts \
             WHERE author_id = $2 AND fanned_out = TRUE AND deleted_at IS NULL \
             ORDER BY id DESC LIMIT $3 \
             ON CONFLICT (user_id, post_id) DO NOTHING",
        )
        .bind(follower)
        .bind(author)
        .bind(max)
        .execute(&mut *tx),
    )
    .await?;
    let added_rows = i64::try_from(added).unwrap_or(i64::MAX);
    trim(tx, "SELECT $1 AS user_id", follower, added_rows, max).await?;
    Ok(added)
}

/// Counts `added` more entries in each timeline of `readers` (a query of
/// `user_id`s, `$1` = `user`) and cuts those that grew too long back to
/// their newest `max` entries. A timeline is trimmed once
/// it holds more than `max` + `max / 8` (its length is counted in
/// `timeline_lengths`), so a fan-out measures no timeline most of the time:
/// measuring each (walking `max` index entries) cost 0.7 ms per reader on
/// PostgreSQL, 0.7 s for an author with 1 000 followers.
async fn trim(tx: &mut Tx, readers: &str, user: i64, added: i64, max: i64) -> StoreResult<()> {
    let count = format!(
        "INSERT INTO timeline_lengths (user_id, length) SELECT user_id, $2 FROM ({readers}) r \
         WHERE TRUE ON CONFLICT (user_id) \
         DO UPDATE SET length = timeline_lengths.length + excluded.length"
    );
    let count = query(&count).bind(user).bind(added).execute(&mut *tx);
    timed(SERVICE, "count_timelines", count).await?;
    let over: Vec<i64> = timed(
        SERVICE,
        "select_long_timelines",
        query_scalar(&format!(
            "SELECT l.user_id FROM ({readers}) r JOIN timeline_lengths l ON l.user_id = r.user_id \
             WHERE l.length > $2"
        ))
        .bind(user)
        .bind(max + max / 8)
        .fetch_all(&mut *tx),
    )
    .await?;
    for reader in over {
        let cut = query(
            "DELETE FROM timeline_entries WHERE user_id = $1 AND post_id <= \
             (SELECT post_id FROM timeline_entries WHERE user_id = $1 \
              ORDER BY post_id DESC LIMIT 1 OFFSET $2)",
        )
        .bind(reader)
        .bind(max)
        .execute(&mut *tx);
        timed(SERVICE, "trim_timeline", cut).await?;
        let length = query(
            "UPDATE timeline_lengths SET length = \
             (SELECT COUNT(*) FROM timeline_entries WHERE user_id = $1) WHERE user_id = $1",
        )
        .bind(reader)
        .execute(&mut *tx);
        timed(SERVICE, "count_timeline", length).await?;
    }
    Ok(())
}

/// Takes `author`'s posts out of `reader`'s timeline (an unfollow, a block).
pub async fn drop_author(on: impl Into<On<'_>>, reader: i64, author: i64) -> StoreResult<()> {
    timed(
        SERVICE,
        "delete_timeline_author",
        query("DELETE FROM timeline_entries WHERE user_id = $1 AND author_id = $2")
            .bind(reader)
            .bind(author)
            .execute(on),
    )
    .await?;
    Ok(())
}

/// Takes a deleted post out of every timeline.
pub async fn drop_post(tx: &mut Tx, post_id: i64) -> StoreResult<()> {
    timed(
        SERVICE,
        "delete_timeline_post",
        query("DELETE FROM timeline_entries WHERE post_id = $1")
            .bind(post_id)
            .execute(tx),
    )
    .await?;
    Ok(())
}

/// How many entries the timelines of `readers` hold in all.
pub async fn count_entries(db: &kit::db::Database, readers: &[i64]) -> StoreResult<u64> {
    let mut total = 0;
    // Bound the parameters of one statement (SQLite allows 32 766).
    for chunk in readers.chunks(1000) {
        let sql = format!(
            "SELECT COUNT(*) FROM timeline_entries WHERE user_id IN ({})",
            placeholders(1, chunk.len())
        );
        let count: i64 = timed(
            SERVICE,
            "count_timeline_entries",
            query_scalar(&sql)
                .bind_all(chunk.iter().copied())
                .fetch_one(db),
        )
        .await?;
        total += u64::try_from(count).unwrap_or(0);
    }
    Ok(total)
}

/// Which posts of a reader's home timeline a read takes.
#[derive(Debug, Clone, Copy)]
pub enum Half<'a> {
    /// The `timeline_entries` rows of the reader.
    Written,
    /// Posts of followed authors that were not fanned out.
    OnRead,
    /// These posts (what a Redis timeline holds).
    Posts(&'a [i64]),
}

/// Posts of `reader`'s timeline below id `before` from `half`, newest
/// first, at most `limit`.
pub async fn select(
    on: impl Into<On<'_>>,
    reader: i64,
    half: Half<'_>,
    before: i64,
    limit: i64,
) -> StoreResult<Vec<Post>> {
    let (from, which, label) = match half {
        Half::Written => (
            "timeline_entries t JOIN posts p ON p.id = t.post_id",
            "t.user_id = $1".to_owned(),
            "select_timeline_written",
        ),
        Half::OnRead => (
            "follows f JOIN posts p ON p.author_id = f.followee_id",
            "f.follower_id = $1 AND p.fanned_out = FALSE".to_owned(),
            "select_timeline_pulled",
        ),
        Half::Posts([]) => return Ok(Vec::new()),
        Half::Posts(ids) => (
            "posts p",
            format!("p.id IN ({})", placeholders(4, ids.len())),
            "select_timeline_posts",
        ),
    };
    let sql = format!(
        "SELECT {POST_COLUMNS} FROM {from} LEFT JOIN posts_users u ON u.user_id = p.author_id \
         WHERE {which} AND p.id < $2 AND p.deleted_at IS NULL AND {NOT_BLOCKED} \
         ORDER BY p.id DESC LIMIT $3"
    );
    let mut select = query_as::<PostRow>(&sql)
        .bind(reader)
        .bind(before)
        .bind(limit);
    if let Half::Posts(ids) = half {
        select = ids.iter().fold(select, |q, id| q.bind(*id));
    }
    let rows = timed(SERVICE, label, select.fetch_all(on)).await?;
    Ok(rows.into_iter().map(Post::from).collect())
}

//! Part g: what one post costs as its author's follower count grows (10,
//! 1 000, 10 000), with the posts service's hybrid fan-out at its default
//! threshold and with every post fanned out on write (what the hybrid
//! avoids), on each storage of home timelines.
//!
//! The posts module runs in this process, assembled as `banter serve`
//! assembles it (migrations, outbox relay, consumers) on a fresh database,
//! and its use cases are called directly: the figures are the use case's
//! unit of work — the fan-out — without HTTP around it. Followers are
//! written through the service's own store (`store::follows::insert`, one
//! unit of work per author): 11 010 follows take seconds this way, where
//! registering 11 010 users over HTTP would hash 11 010 passwords first.
//! Entries written are counted in storage (table rows or sorted-set members
//! of the author's and the followers' timelines) before and after the posts,
//! not taken from the service's own account of them.

use super::measure::median;
use super::runs;
use anyhow::Context as _;
use kit::context::Context;
use kit::db::Database;
use kit::module::{Assembly, Planned};
use posts::Posts;
use posts::domain::PageRequest;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The follower counts measured.
pub const FOLLOWERS: [usize; 3] = [10, 1_000, 10_000];
/// Posts timed per author (after one not timed).
const POSTS: usize = 9;
/// Home-timeline reads timed per follower (after one not timed).
const READS: usize = 20;

/// Where home timelines live in one measurement.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum Storage {
    /// The embedded default: SQLite, timelines in a table.
    Sqlite,
    /// PostgreSQL, timelines in a table (no Redis configured).
    Postgres,
    /// PostgreSQL with Redis: timelines in sorted sets.
    PostgresRedis,
}

impl Storage {
    pub const ALL: [Storage; 3] = [Storage::Sqlite, Storage::Postgres, Storage::PostgresRedis];

    pub fn label(self) -> &'static str {
        match self {
            Storage::Sqlite => "SQLite (table)",
            Storage::Postgres => "PostgreSQL (table)",
            Storage::PostgresRedis => "PostgreSQL + Redis (sorted sets)",
        }
    }
}

/// How posts reach followers in one measurement.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum Mode {
    /// `--posts-fanout-threshold` at its default.
    Hybrid,
    /// A threshold above every author: every post fanned out on write.
    AllOnWrite,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Hybrid, Mode::AllOnWrite];

    fn threshold(self) -> u32 {
        match self {
            Mode::Hybrid => posts::DEFAULT_FANOUT_THRESHOLD,
            Mode::AllOnWrite => u32::MAX,
        }
    }

    pub fn label(self) -> String {
        match self {
            Mode::Hybrid => format!("hybrid, threshold {}", posts::DEFAULT_FANOUT_THRESHOLD),
            Mode::AllOnWrite => "all on write".to_owned(),
        }
    }
}

/// One author's posts in one storage and mode.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub storage: Storage,
    pub mode: Mode,
    pub followers: usize,
    /// Whether the service fanned these posts out on write.
    pub fanned_out_on_write: bool,
    pub create_p50_ms: f64,
    pub create_p95_ms: f64,
    /// Timeline entries written per post (the author's own included).
    pub entries_per_post: f64,
    /// A follower's home timeline (first page): read on read, merged.
    pub read_p50_ms: f64,
    pub read_p95_ms: f64,
    /// Seconds to write the author's followers through the store.
    pub seed_seconds: f64,
}

/// Part g on every storage; a storage that cannot be reached is reported,
/// not fatal.
pub async fn run(postgres: &str, redis: &str) -> Vec<(Storage, Result<Vec<Row>, String>)> {
    let mut out = Vec::new();
    for storage in Storage::ALL {
        let mut rows = Vec::new();
        let mut failed = None;
        for mode in Mode::ALL {
            super::step(&format!(
                "fan-out cost: {}, {}, authors with {FOLLOWERS:?} followers",
                storage.label(),
                mode.label()
            ));
            match measure(storage, mode, postgres, redis).await {
                Ok(r) => rows.extend(r),
                Err(e) => {
                    failed = Some(format!("{e:#}"));
                    break;
                }
            }
        }
        out.push((storage, failed.map_or(Ok(rows), Err)));
    }
    out
}

/// The posts module on a fresh database of `storage`, and what it needs
/// to be stopped.
struct InProcess {
    ctx: Context,
    started: kit::module::Started,
    posts: Arc<Posts>,
    db: Database,
    redis: Option<kit::redis::Redis>,
    _data: Option<tempfile::TempDir>,
}

impl InProcess {
    async fn start(
        storage: Storage,
        mode: Mode,
        postgres: &str,
        redis: &str,
    ) -> anyhow::Result<Self> {
        let (db, data) = match storage {
            Storage::Sqlite => {
                let data = tempfile::Builder::new()
                    .prefix("banter-bench-fanout-")
                    .tempdir()?;
                let db = Database::connect_sqlite(&data.path().join("posts.db"), 4).await?;
                (db, Some(data))
            }
            Storage::Postgres | Storage::PostgresRedis => {
                let url = runs::fresh_postgres(postgres, "banter_bench_fanout").await?;
                (Database::connect_postgres(&url, 16).await?, None)
            }
        };
        let (ctx, redis) = match storage {
            Storage::PostgresRedis => {
                let prefix = format!("banter-bench-fanout-{}", std::process::id());
                let r = kit::redis::Redis::connect(redis, &prefix)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                (Context::embedded().with_redis(r.clone()), Some(r))
            }
            _ => (Context::embedded(), None),
        };
        let config = posts::Config {
            fanout_threshold: mode.threshold(),
            ..Default::default()
        };
        let assembly = Assembly::build(&ctx, vec![(Planned::new::<Posts>(config), db.clone())])
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let started = assembly.start();
        let posts = started
            .get::<Posts>()
            .context("the posts module did not start")?;
        Ok(Self {
            ctx,
            started,
            posts,
            db,
            redis,
            _data: data,
        })
    }

    async fn stop(self) {
        self.ctx.stop(Duration::from_secs(5)).await;
        self.started.close().await;
        if let Some(redis) = &self.redis {
            let _ = redis.purge().await;
        }
    }
}

/// The three authors (ids 1, 2, 3) with 10, 1 000 and 10 000 followers of
/// their own, each posting in turn.
async fn measure(
    storage: Storage,
    mode: Mode,
    postgres: &str,
    redis: &str,
) -> anyhow::Result<Vec<Row>> {
    let running = InProcess::start(storage, mode, postgres, redis).await?;
    let result = measure_on(&running, storage, mode).await;
    running.stop().await;
    result
}

async fn measure_on(p: &InProcess, storage: Storage, mode: Mode) -> anyhow::Result<Vec<Row>> {
    let app = &p.posts.app;
    let mut rows = Vec::new();
    let mut next_id = 1_000_000_i64;
    for (i, &count) in FOLLOWERS.iter().enumerate() {
        let author = i as i64 + 1;
        let followers: Vec<i64> = (next_id..next_id + count as i64).collect();
        next_id += count as i64;

        let seeded = Instant::now();
        let mut tx = p.db.begin().await?;
        let now = posts::domain::now();
        for &fan in &followers {
            posts::store::follows::insert(&mut tx, fan, author, now).await?;
        }
        tx.commit().await?;
        let seed_seconds = seeded.elapsed().as_secs_f64();

        let mut readers = followers.clone();
        readers.push(author);
        let page = PageRequest::parse(None, None).map_err(|e| anyhow::anyhow!("{e}"))?;
        app.create_post(author, "warm-up", &[]).await?;
        let before = app.written_entries(&readers).await?;
        let mut creates = Vec::with_capacity(POSTS);
        for n in 0..POSTS {
            let start = Instant::now();
            app.create_post(author, &format!("post {n}"), &[]).await?;
            creates.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        let after = app.written_entries(&readers).await?;

        let reader = followers[0];
        let first = app.home_timeline(reader, page).await?;
        anyhow::ensure!(
            first
                .items
                .first()
                .is_some_and(|v| v.post.author.user_id == author),
            "a follower of author {author} does not see their newest post first"
        );
        let mut reads = Vec::with_capacity(READS);
        for _ in 0..READS {
            let start = Instant::now();
            app.home_timeline(reader, page).await?;
            reads.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        rows.push(Row {
            storage,
            mode,
            followers: count,
            fanned_out_on_write: posts::domain::fans_out_on_write(count as i64, mode.threshold()),
            create_p50_ms: median(&creates),
            create_p95_ms: nearest_rank(&creates, 0.95),
            entries_per_post: after.saturating_sub(before) as f64 / POSTS as f64,
            read_p50_ms: median(&reads),
            read_p95_ms: nearest_rank(&reads, 0.95),
            seed_seconds,
        });
    }
    Ok(rows)
}

/// The `q` quantile of `values` by nearest rank (0 when empty).
pub fn nearest_rank(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let rank = (q * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.95), 19.0);
        assert_eq!(nearest_rank(&v, 0.5), 10.0);
        assert_eq!(nearest_rank(&v[..9], 0.95), 9.0);
        assert_eq!(nearest_rank(&[], 0.95), 0.0);
    }
}

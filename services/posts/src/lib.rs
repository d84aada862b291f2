//! The posts service: posts (write, edit, soft delete, read; text, tags and
//! an image), comments with one level of replies, likes, follows, and home
//! timelines.
//!
//! It owns the `posts` database and nothing else. What it knows of users
//! (names for authors, who exists) and of blocks comes from `user.events` and
//! `friend.events` into local read models; what it does goes out as
//! `post.events` through its outbox.
//!
//! The home timeline is the textbook hybrid (see `app::timeline`): posts of
//! authors with at most `--posts-fanout-threshold` followers are written into
//! their followers' timelines in the unit of work that creates them, posts of
//! authors above it are read from the author's posts at read time, and the
//! two halves merge newest first. The written half is one Redis sorted set
//! per reader when Redis is configured (`--redis-url`), a table otherwise,
//! either trimmed to `--posts-timeline-length` posts per reader. A post's
//! image follows kit's upload rules (`kit::upload`, as profile images do),
//! kept in this database.
//!
//! Inside, the shape every service takes: `domain` (rules, no I/O), `app`
//! (the use cases), `store` (rows) and `http` (handlers), wired together
//! here; its only consumers are kit's read-model ones
//! ([`kit::read_model::consumers`]).

pub mod app;
pub mod domain;
pub mod http;
pub mod store;

use app::Timelines;
use kit::module::{About, BuildError, Consumer, Deps, Module};
use std::sync::Arc;
use store::redis_timeline::RedisTimelines;

/// The `service` label and the `source` of the posts service's events.
pub const SERVICE: &str = "posts";

/// Settings of the posts service.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "posts_config")]
#[command(next_help_heading = "Posts service")]
pub struct Config {
    /// Authors with at most this many followers have each post written into
    /// every follower's home timeline (fan-out on write); the posts of
    /// authors with more are read when a follower reads (fan-out on read).
    #[arg(id = "posts_fanout_threshold", long = "posts-fanout-threshold", env = "BANTER_POSTS_FANOUT_THRESHOLD",
          default_value_t = DEFAULT_FANOUT_THRESHOLD, value_name = "FOLLOWERS")]
    pub fanout_threshold: u32,

    /// Posts kept in each reader's written home timeline (a Redis sorted set
    /// with --redis-url, table rows without, which may grow an eighth past it
    /// before they are cut back), newest first: older fanned-out posts fall
    /// off and a timeline pages back no further through them (posts read on
    /// read are not bounded). E.g. `--posts-timeline-length 200` keeps a
    /// quarter of the default per reader.
    #[arg(id = "posts_timeline_length", long = "posts-timeline-length", env = "BANTER_POSTS_TIMELINE_LENGTH",
          default_value_t = DEFAULT_TIMELINE_LENGTH, value_name = "POSTS",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub timeline_length: u32,
}

/// Default of `--posts-fanout-threshold`.
pub const DEFAULT_FANOUT_THRESHOLD: u32 = 1000;

/// Default of `--posts-timeline-length`.
pub const DEFAULT_TIMELINE_LENGTH: u32 = 800;

/// Every flag at the default its `#[arg]` gives (written once, there).
impl Default for Config {
    fn default() -> Self {
        kit::config::defaults()
    }
}

/// Everything the handlers and consumers share.
pub struct Posts {
    /// The use cases.
    pub app: app::App,
    pub verifier: Arc<kit::auth::TokenVerifier>,
}

impl Module for Posts {
    const ABOUT: About = About::new(SERVICE, 8006, || kit::migrations!());
    type Config = Config;

    async fn build(config: &Config, deps: Deps<'_>) -> Result<Arc<Self>, BuildError> {
        let max = i64::from(config.timeline_length);
        let timelines = match &deps.ctx.redis {
            Some(redis) => Timelines::Redis(RedisTimelines::new(redis.clone(), max)),
            None => Timelines::Table { max },
        };
        let owners = deps.ctx.owners.clone();
        Ok(Arc::new(Self {
            app: app::App::new(deps.db, owners, config.fanout_threshold, timelines),
            verifier: deps.ctx.verifier.clone(),
        }))
    }

    fn routes(self: &Arc<Self>) -> (axum::Router, utoipa::openapi::OpenApi) {
        http::router(self.clone())
    }

    /// The users and blocks read models.
    fn consumers(self: &Arc<Self>) -> Vec<Consumer> {
        kit::read_model::consumers(SERVICE, Arc::new(self.app.clone()))
    }
}

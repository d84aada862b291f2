//! The posts service: posts (write, edit, soft delete, read; text and tags),
//! comments with one level of replies, likes, follows, and home timelines.
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
//! two halves merge newest first. Both halves are tables, on SQLite and
//! PostgreSQL alike; timelines in Redis sorted sets are a later step. Images
//! on posts (the users service's upload rules) are not implemented yet.
//!
//! Inside, the shape every service takes: `domain` (rules, no I/O), `app`
//! (the use cases), `store` (rows) and `http` (handlers), wired together
//! here; its only consumers are kit's read-model ones
//! ([`kit::read_model::consumers`]).

pub mod app;
pub mod domain;
pub mod http;
pub mod store;

use kit::module::{About, BuildError, Consumer, Deps, Module};
use std::sync::Arc;

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
}

/// Default of `--posts-fanout-threshold`.
pub const DEFAULT_FANOUT_THRESHOLD: u32 = 1000;

impl Default for Config {
    fn default() -> Self {
        Self {
            fanout_threshold: DEFAULT_FANOUT_THRESHOLD,
        }
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
        Ok(Arc::new(Self {
            app: app::App::new(deps.db, deps.ctx.owners.clone(), config.fanout_threshold),
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

//! The friends service: friend requests (send, accept, reject, cancel),
//! friendships (list, unfriend), blocks, and a search for users to add.
//!
//! It owns the `friends` database: friendships, blocks, the transactional
//! outbox of `friend.events`, and a read model of users (names, emails, last
//! seen) fed by `user.events` and `user.online_status`. It never reads the
//! users service's tables. It owns blocks: chat asks it whether one stands
//! before deciding (in process through [`kit::owners::LocalBlocks`], else
//! `GET /api/friends/block-status/{user_id}`).
//!
//! Inside, the shape every service takes: `domain` (rules and decisions,
//! no I/O), `app` (the use cases), `store` (rows), `http` (handlers) and
//! `events` (consumers), wired together here.

pub mod app;
pub mod domain;
pub mod events;
pub mod http;
pub mod store;

use kit::auth::TokenVerifier;
use kit::db::Database;
use kit::events::topics;
use kit::module::{About, BuildError, Consumer, Deps, Module};
use std::sync::Arc;

/// The `service` label and event source of this service.
pub const SERVICE: &str = "friends";

/// Settings of the friends service (none yet).
#[derive(clap::Args, Debug, Clone, Default)]
#[group(id = "friends_config")]
#[command(next_help_heading = "Friends service")]
pub struct Config {}

/// Everything the handlers and consumers share.
pub struct Friends {
    /// The use cases.
    pub app: app::App,
    pub verifier: Arc<TokenVerifier>,
    /// The service's database (its outbox included).
    pub db: Database,
}

impl Module for Friends {
    const ABOUT: About = About::new(SERVICE, 8003, || kit::migrations!());
    type Config = Config;

    async fn build(_config: &Config, deps: Deps<'_>) -> Result<Arc<Self>, BuildError> {
        let app = app::App::new(deps.db.clone(), deps.ctx.owners.clone());
        // Other modules of this process ask us, not our events, whether a
        // block stands (a block enforced at once).
        deps.ctx
            .owners
            .serve_blocks_locally(Arc::new(LocalBlocks(app.clone())));
        Ok(Arc::new(Self {
            app,
            verifier: deps.ctx.verifier.clone(),
            db: deps.db,
        }))
    }

    fn routes(self: &Arc<Self>) -> (axum::Router, utoipa::openapi::OpenApi) {
        http::router(self.clone())
    }

    /// The users read model, fed by `user.events` and `user.online_status`.
    fn consumers(self: &Arc<Self>) -> Vec<Consumer> {
        let directory = Arc::new(events::UserDirectory {
            app: self.app.clone(),
        });
        [topics::USER_EVENTS, topics::USER_ONLINE_STATUS]
            .into_iter()
            .map(|topic| Consumer::durable(topic, SERVICE, directory.clone()))
            .collect()
    }
}

/// Whether a block stands, answered from this process's friends database.
struct LocalBlocks(app::App);

#[async_trait::async_trait]
impl kit::owners::LocalBlocks for LocalBlocks {
    async fn blocked_between(&self, user: i64, others: &[i64]) -> Option<bool> {
        self.0.blocked_between(user, others).await.ok()
    }
}

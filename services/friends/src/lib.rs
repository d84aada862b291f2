//! The friends service: friend requests (send, accept, reject, cancel),
//! friendships (list, unfriend), blocks, and a search for users to add.
//!
//! It owns the `friends` database: friendships, blocks, the transactional
//! outbox of `friend.events`, and a read model of users (names, emails, last
//! seen) fed by `user.events` and `user.online_status`. It never reads the
//! users service's tables.

pub mod domain;
pub mod events;
pub mod http;
pub mod store;

use kit::auth::TokenVerifier;
use kit::db::{Database, Migrations};
use kit::events::topics;
use kit::module::{BuildError, Consumer, Deps, Module};
use std::sync::Arc;

/// The `service` label and event source of this service.
pub const SERVICE: &str = "friends";

/// Settings of the friends service (none yet).
#[derive(clap::Args, Debug, Clone, Default)]
#[group(id = "friends_config")]
#[command(next_help_heading = "Friends service")]
pub struct Config {}

/// Everything the handlers share.
pub struct Friends {
    pub store: Arc<dyn store::FriendStore>,
    pub verifier: Arc<TokenVerifier>,
    pub db: Database,
    /// Asked when the users read model has not yet heard of a user.
    pub users: kit::users::UsersDirectory,
}

#[async_trait::async_trait]
impl Module for Friends {
    const NAME: &'static str = SERVICE;
    const TITLE: &'static str = "Friends Service";
    const PORT: u16 = 8003;
    type Config = Config;

    fn migrations() -> Migrations {
        kit::migrations!()
    }

    async fn build(_config: &Config, deps: Deps<'_>) -> Result<Arc<Self>, BuildError> {
        let store: Arc<dyn store::FriendStore> =
            Arc::new(store::SqlFriendStore::new(deps.db.clone()));
        Ok(Arc::new(Self {
            store,
            verifier: deps.ctx.verifier.clone(),
            db: deps.db,
            users: deps.ctx.users.clone(),
        }))
    }

    fn routes(self: &Arc<Self>) -> (axum::Router, utoipa::openapi::OpenApi) {
        http::router(self.clone())
    }

    /// The users read model, fed by `user.events` and `user.online_status`.
    fn consumers(self: &Arc<Self>) -> Vec<Consumer> {
        let directory = Arc::new(events::UserDirectory {
            store: self.store.clone(),
        });
        [topics::USER_EVENTS, topics::USER_ONLINE_STATUS]
            .into_iter()
            .map(|topic| Consumer::durable(topic, SERVICE, directory.clone()))
            .collect()
    }
}

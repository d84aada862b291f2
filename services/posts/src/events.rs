//! What the posts service consumes: `user.events` (author names) and
//! `friend.events` (blocks), each event decoded into its contract and handed
//! to one use case (`crate::app::read_models`). Both are idempotent (upserts,
//! set semantics), since delivery is at least once. What the service
//! publishes is built in `crate::app::announce`.

use crate::app::{App, PostsError};
use async_trait::async_trait;
use contracts::{UserBlocked, UserProfileUpdated, UserRegistered, UserUnblocked};
use kit::events::{Event, Handler, HandlerError};

fn transient(err: PostsError) -> HandlerError {
    HandlerError::Transient(err.to_string())
}

/// `user.events` → the users read model (usernames, display names).
pub struct UsersModel(pub App);

#[async_trait]
impl Handler for UsersModel {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let (user_id, username, display_name) = if event.is::<UserRegistered>() {
            let e: UserRegistered = event.data()?;
            (e.user_id, e.username, e.display_name)
        } else if event.is::<UserProfileUpdated>() {
            let e: UserProfileUpdated = event.data()?;
            (e.user_id, e.username, e.display_name)
        } else {
            return Ok(());
        };
        self.0
            .record_user(user_id, &username, display_name.as_deref())
            .await
            .map_err(transient)
    }
}

/// `friend.events` → who blocked whom.
pub struct BlocksModel(pub App);

#[async_trait]
impl Handler for BlocksModel {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        if event.is::<UserBlocked>() {
            let e: UserBlocked = event.data()?;
            self.0.record_block(e.blocker_id, e.blocked_id).await
        } else if event.is::<UserUnblocked>() {
            let e: UserUnblocked = event.data()?;
            self.0.record_unblock(e.blocker_id, e.blocked_id).await
        } else {
            Ok(())
        }
        .map_err(transient)
    }
}

//! What the friends service consumes: `user.events` and
//! `user.online_status` feed its users read model. Each event is decoded
//! into its contract and handed to one use case (`crate::app::directory`);
//! what the service publishes is built in `crate::app`.

use crate::app::App;
use async_trait::async_trait;
use contracts::{Contract, UserOnlineStatusChanged, UserProfileUpdated, UserRegistered};
use kit::events::{Event, Handler, HandlerError};

/// Keeps the users read model (names and emails for lists, existence checks
/// for requests and blocks) up to date from the users service's events.
pub struct UserDirectory {
    pub app: App,
}

#[async_trait]
impl Handler for UserDirectory {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        let outcome = match event.kind.as_str() {
            UserRegistered::KIND => self.app.record_user(event.data()?, event.time).await,
            UserProfileUpdated::KIND => self.app.record_profile(event.data()?, event.time).await,
            UserOnlineStatusChanged::KIND => self.app.record_last_seen(event.data()?).await,
            // Other kinds on these topics are none of this service's business.
            _ => Ok(()),
        };
        outcome.map_err(|e| HandlerError::Transient(e.to_string()))
    }
}

//! Profiles: the caller's own (read, update, image set and removed) and
//! other users' public ones. Every change goes out as `UserProfileUpdated`
//! in the transaction that makes it.

use super::{Error, Result, SOURCE, UserStatus};
use crate::Users;
use crate::domain::{self, ProfileUpdate, User};
use contracts::{Contract, UserProfileUpdated};
use kit::db::Tx;
use kit::events::Event;
use kit::upload::StoredImage;

impl Users {
    /// The caller's profile; a token whose account is gone gets 401.
    pub async fn own_profile(&self, user_id: i64) -> Result<UserStatus> {
        self.status_of(user_id, Error::AccountGone).await
    }

    /// Another user's public profile.
    pub async fn public_profile(&self, user_id: i64) -> Result<UserStatus> {
        self.status_of(user_id, Error::UserNotFound).await
    }

    /// Changes display name and/or status message (an empty one clears it).
    pub async fn update_profile(
        &self,
        user_id: i64,
        display_name: Option<&str>,
        status_message: Option<&str>,
    ) -> Result<UserStatus> {
        let display_name = display_name.map(domain::display_name).transpose()?;
        let update = ProfileUpdate {
            display_key: display_name.as_deref().map(domain::name_key),
            display_name,
            status_message: status_message.map(domain::status_message).transpose()?,
        };
        let mut tx = self.db.begin().await?;
        let changed = self.store.update_profile(&mut tx, user_id, &update).await?;
        self.announce(tx, changed).await
    }

    /// Makes `bytes` the user's image once they decode as one; its type is
    /// read from the bytes (kit's upload rules: decoded on the blocking
    /// pool, a few at a time, so large uploads cannot take every thread).
    pub async fn set_image(&self, user_id: i64, bytes: &[u8]) -> Result<UserStatus> {
        let image = self.images.accept(bytes).await?;
        let mut tx = self.db.begin().await?;
        let changed = self.store.set_image(&mut tx, user_id, &image).await?;
        let profile = self.announce(tx, changed).await?;
        tracing::info!(
            user_id,
            bytes = image.bytes.len(),
            content_type = %image.content_type,
            "profile image set"
        );
        Ok(profile)
    }

    pub async fn delete_image(&self, user_id: i64) -> Result<UserStatus> {
        let mut tx = self.db.begin().await?;
        let changed = self.store.delete_image(&mut tx, user_id).await?;
        self.announce(tx, changed).await
    }

    /// A user's profile image.
    pub async fn image(&self, user_id: i64) -> Result<StoredImage> {
        self.store.image(user_id).await?.ok_or(Error::NoImage)
    }

    /// Ends a profile change: the changed user goes out as
    /// `UserProfileUpdated`, commits, and leaves the cache. No changed row
    /// means the caller's account is gone (nothing was written).
    async fn announce(&self, mut tx: Tx, changed: Option<User>) -> Result<UserStatus> {
        let user = changed.ok_or(Error::AccountGone)?;
        let updated = UserProfileUpdated {
            user_id: user.id,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            status_message: user.status_message.clone(),
            profile_image_url: user.profile_image_url(),
        };
        let event = Event::of(SOURCE, user.id, &updated);
        tx.enqueue(UserProfileUpdated::TOPIC, &event).await?;
        tx.commit().await?;
        self.changed(user.id).await;
        self.own_profile(user.id).await
    }
}

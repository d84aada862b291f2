//! A post's image: set or replaced and removed by its author, read by whoever
//! may read the post. What is an image, and how it is stored and served, is
//! kit's upload contract (the users service's profile images follow it too).

use super::{App, PostView, PostsResult};
use crate::domain::{self, Refusal};
use crate::store::images::{self, POST_IMAGES};
use crate::store::posts;
use kit::upload::StoredImage;

impl App {
    /// The author makes `bytes` their post's image (replacing any earlier
    /// one) once they decode as an image; its type is read from the bytes.
    /// A refused upload changes nothing.
    pub async fn set_post_image(
        &self,
        caller: i64,
        post_id: i64,
        bytes: &[u8],
    ) -> PostsResult<PostView> {
        let image = self.images.accept(bytes).await?;
        let mut tx = self.begin(domain::post_lock_key(post_id)).await?;
        let post = posts::find(&mut tx, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        domain::check_author(&post, caller)?;
        let now = domain::now();
        POST_IMAGES.put(&mut tx, post_id, &image, now).await?;
        images::stamp(&mut tx, post_id, Some(now), now).await?;
        tx.commit().await?;
        tracing::info!(
            post_id,
            bytes = image.bytes.len(),
            content_type = %image.content_type,
            "post image set"
        );
        self.post(caller, post_id).await
    }

    /// The author removes their post's image (404 when it has none).
    pub async fn delete_post_image(&self, caller: i64, post_id: i64) -> PostsResult<PostView> {
        let mut tx = self.begin(domain::post_lock_key(post_id)).await?;
        let post = posts::find(&mut tx, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        domain::check_author(&post, caller)?;
        if !POST_IMAGES.remove(&mut tx, post_id).await? {
            return Err(Refusal::NoImage.into());
        }
        images::stamp(&mut tx, post_id, None, domain::now()).await?;
        tx.commit().await?;
        self.post(caller, post_id).await
    }

    /// What is stored as `post_id`'s image, whether or not anyone may read
    /// the post (diagnostics and tests: that a deleted post's image is gone).
    pub async fn stored_image(&self, post_id: i64) -> PostsResult<Option<StoredImage>> {
        Ok(POST_IMAGES.get(&self.db, post_id).await?)
    }

    /// The image of a post `viewer` may read.
    pub async fn post_image(&self, viewer: i64, post_id: i64) -> PostsResult<StoredImage> {
        posts::visible(&self.db, viewer, post_id)
            .await?
            .ok_or(Refusal::PostNotFound)?;
        Ok(POST_IMAGES
            .get(&self.db, post_id)
            .await?
            .ok_or(Refusal::NoImage)?)
    }
}

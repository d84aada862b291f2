//! Posts' images: the bytes in `post_images` (kit's image table) and the
//! time on the post that versions its URL.

use super::{SERVICE, StoreResult};
use chrono::{DateTime, Utc};
use kit::db::{Tx, query, timed};
use kit::upload::ImageTable;

/// The `post_images` table: one image per post.
pub const POST_IMAGES: ImageTable = ImageTable {
    service: SERVICE,
    table: "post_images",
    key: "post_id",
};

/// Stamps when the post's image was set (`image_at`; `None`: it has none
/// now), the post changing at `now`.
pub async fn stamp(
    tx: &mut Tx,
    post_id: i64,
    image_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    timed(
        SERVICE,
        "update_post_image",
        query("UPDATE posts SET image_updated_at = $2, updated_at = $3 WHERE id = $1")
            .bind(post_id)
            .bind(image_at)
            .bind(now)
            .execute(tx),
    )
    .await?;
    Ok(())
}

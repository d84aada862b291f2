//! Where accepted images are kept: one table in the owning service's own
//! database, `(<key> BIGINT PRIMARY KEY, content_type TEXT, bytes BLOB/BYTEA,
//! updated_at)`, one image per key (a user, a post). Each service creates
//! its table in its migrations; the SQL that reads and writes it is this.

use super::StoredImage;
use crate::db::{On, Tx, query, query_as, timed};
use chrono::{DateTime, Utc};

/// A service's table of images.
#[derive(Debug, Clone, Copy)]
pub struct ImageTable {
    /// The `service` label of the timed queries.
    pub service: &'static str,
    /// The table's name.
    pub table: &'static str,
    /// Its key column (the owner of the image).
    pub key: &'static str,
}

impl ImageTable {
    /// Makes `image` the one of `key`, replacing any earlier one.
    pub async fn put(
        &self,
        tx: &mut Tx,
        key: i64,
        image: &StoredImage,
        at: DateTime<Utc>,
    ) -> sqlx::Result<()> {
        let sql = format!(
            "INSERT INTO {table} ({key}, content_type, bytes, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT ({key}) DO UPDATE SET content_type = excluded.content_type, \
             bytes = excluded.bytes, updated_at = excluded.updated_at",
            table = self.table,
            key = self.key,
        );
        let write = query(&sql)
            .bind(key)
            .bind(&image.content_type)
            .bind(&image.bytes)
            .bind(at);
        timed(self.service, "upsert_image", write.execute(tx)).await?;
        Ok(())
    }

    /// Removes the image of `key`: whether there was one.
    pub async fn remove(&self, on: impl Into<On<'_>>, key: i64) -> sqlx::Result<bool> {
        let sql = format!("DELETE FROM {} WHERE {} = $1", self.table, self.key);
        let removed = timed(
            self.service,
            "delete_image",
            query(&sql).bind(key).execute(on),
        )
        .await?;
        Ok(removed > 0)
    }

    /// The image of `key`, if there is one.
    pub async fn get(&self, on: impl Into<On<'_>>, key: i64) -> sqlx::Result<Option<StoredImage>> {
        let sql = format!(
            "SELECT content_type, bytes FROM {} WHERE {} = $1",
            self.table, self.key
        );
        let row: Option<(String, Vec<u8>)> = timed(
            self.service,
            "select_image",
            query_as(&sql).bind(key).fetch_optional(on),
        )
        .await?;
        Ok(row.map(|(content_type, bytes)| StoredImage {
            content_type,
            bytes,
        }))
    }
}

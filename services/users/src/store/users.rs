//! Accounts, profiles and profile images: rows of `users` and
//! `profile_images`, and the shared signing key.

use super::{COLUMNS, SERVICE, SqlUserStore, UserLookup, UserRow};
use crate::domain::{NewUser, ProfileUpdate, User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, contains_pattern, placeholders, query, query_as, query_scalar, timed};
use kit::upload::{ImageTable, StoredImage};

/// Profile images, one per user (kit's image table).
const PROFILE_IMAGES: ImageTable = ImageTable {
    service: SERVICE,
    table: "profile_images",
    key: "user_id",
};

#[derive(sqlx::FromRow)]
struct CredentialRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

/// Which unique field an insert collided with (`email` or `username`), from
/// the constraint name on PostgreSQL or the message on SQLite; `None` when
/// `err` is no unique violation.
pub fn taken(err: &sqlx::Error) -> Option<&'static str> {
    let db = err
        .as_database_error()
        .filter(|db| db.is_unique_violation())?;
    let what = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
    Some(if what.contains("email") {
        "email"
    } else {
        "username"
    })
}

impl SqlUserStore {
    /// Inserts an account; a duplicate email or username fails with a unique
    /// violation ([`taken`] names it).
    pub async fn create(
        &self,
        tx: &mut Tx,
        new: &NewUser,
        password_hash: &str,
    ) -> sqlx::Result<User> {
        let sql = format!(
            "INSERT INTO users (email, username, username_key, password_hash, display_name, display_key, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
        );
        let row = timed(
            SERVICE,
            "insert_user",
            query_as::<UserRow>(&sql)
                .bind(&new.email)
                .bind(&new.username)
                .bind(&new.username_key)
                .bind(password_hash)
                .bind(&new.display_name)
                .bind(&new.display_key)
                .bind(Utc::now())
                .fetch_one(tx),
        )
        .await?;
        Ok(row.into())
    }

    /// The account with this (normalised) email and its password hash.
    pub async fn credentials(&self, email: &str) -> sqlx::Result<Option<(User, String)>> {
        let sql = format!("SELECT {COLUMNS}, password_hash FROM users WHERE email = $1");
        let row = timed(
            SERVICE,
            "select_credentials",
            query_as::<CredentialRow>(&sql)
                .bind(email)
                .fetch_optional(&self.db),
        )
        .await?;
        Ok(row.map(|r| (r.user.into(), r.password_hash)))
    }

    /// Users whose username or display name key contains `key` (a
    /// `domain::name_key`), except `exclude`, with the total number of
    /// matches.
    pub async fn search(
        &self,
        key: &str,
        limit: u32,
        exclude: i64,
    ) -> sqlx::Result<(Vec<User>, i64)> {
        let pattern = contains_pattern(key);
        let filter = "id <> $1 AND (username_key LIKE $2 ESCAPE '\\' \
                      OR display_key LIKE $2 ESCAPE '\\')";
        let sql =
            format!("SELECT {COLUMNS} FROM users WHERE {filter} ORDER BY username_key LIMIT $3");
        let rows = timed(
            SERVICE,
            "search_users",
            query_as::<UserRow>(&sql)
                .bind(exclude)
                .bind(&pattern)
                .bind(i64::from(limit))
                .fetch_all(&self.db),
        )
        .await?;
        let count_sql = format!("SELECT COUNT(*) FROM users WHERE {filter}");
        let total: i64 = timed(
            SERVICE,
            "count_users",
            query_scalar(&count_sql)
                .bind(exclude)
                .bind(&pattern)
                .fetch_one(&self.db),
        )
        .await?;
        Ok((rows.into_iter().map(User::from).collect(), total))
    }

    /// Accounts stored before names had keys (migration 0004): their
    /// `(id, username, display_name)`, a page at a time.
    pub async fn without_name_keys(
        &self,
        page: u32,
    ) -> sqlx::Result<Vec<(i64, String, Option<String>)>> {
        query_as(
            "SELECT id, username, display_name FROM users \
             WHERE username_key IS NULL OR (display_key IS NULL AND display_name IS NOT NULL) \
             ORDER BY id LIMIT $1",
        )
        .bind(i64::from(page))
        .fetch_all(&self.db)
        .await
    }

    /// Sets the name keys of an account stored without them (a username key
    /// it has is kept); a username key another account holds fails with a
    /// unique violation.
    pub async fn set_name_keys(
        &self,
        id: i64,
        username_key: &str,
        display_key: Option<&str>,
    ) -> sqlx::Result<()> {
        query(
            "UPDATE users SET username_key = COALESCE(username_key, $2), display_key = $3 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(username_key)
        .bind(display_key)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Sets the fields `update` carries; the changed user, or `None` when
    /// there is no such user.
    pub async fn update_profile(
        &self,
        tx: &mut Tx,
        id: i64,
        update: &ProfileUpdate,
    ) -> sqlx::Result<Option<User>> {
        let sql = format!(
            "UPDATE users SET \
               display_name = CASE WHEN $2 THEN $3 ELSE display_name END, \
               display_key = CASE WHEN $2 THEN $7 ELSE display_key END, \
               status_message = CASE WHEN $4 THEN $5 ELSE status_message END, \
               updated_at = $6 \
             WHERE id = $1 RETURNING {COLUMNS}"
        );
        let row = timed(
            SERVICE,
            "update_profile",
            query_as::<UserRow>(&sql)
                .bind(id)
                .bind(update.display_name.is_some())
                .bind(update.display_name.as_deref())
                .bind(update.status_message.is_some())
                .bind(update.status_message.clone().flatten())
                .bind(Utc::now())
                .bind(update.display_key.as_deref())
                .fetch_optional(tx),
        )
        .await?;
        Ok(row.map(User::from))
    }

    /// Stamps the user's image time (`None` removes it); the changed user,
    /// or `None` when there is no such user.
    async fn stamp_image(
        tx: &mut Tx,
        id: i64,
        image_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> sqlx::Result<Option<User>> {
        let sql = format!(
            "UPDATE users SET image_updated_at = $2, updated_at = $3 WHERE id = $1 RETURNING {COLUMNS}"
        );
        let row = timed(
            SERVICE,
            "update_user_image",
            query_as::<UserRow>(&sql)
                .bind(id)
                .bind(image_at)
                .bind(now)
                .fetch_optional(tx),
        )
        .await?;
        Ok(row.map(User::from))
    }

    /// Stores `image` as the user's; the changed user, or `None` (nothing
    /// written) when there is no such user.
    pub async fn set_image(
        &self,
        tx: &mut Tx,
        id: i64,
        image: &StoredImage,
    ) -> sqlx::Result<Option<User>> {
        let now = Utc::now();
        let Some(user) = Self::stamp_image(tx, id, Some(now), now).await? else {
            return Ok(None);
        };
        PROFILE_IMAGES.put(tx, id, image, now).await?;
        Ok(Some(user))
    }

    /// Removes the user's image; the changed user, or `None` when there is
    /// no such user.
    pub async fn delete_image(&self, tx: &mut Tx, id: i64) -> sqlx::Result<Option<User>> {
        PROFILE_IMAGES.remove(&mut *tx, id).await?;
        Self::stamp_image(tx, id, None, Utc::now()).await
    }

    pub async fn image(&self, id: i64) -> sqlx::Result<Option<StoredImage>> {
        PROFILE_IMAGES.get(&self.db, id).await
    }

    pub async fn touch_last_seen(
        &self,
        on: impl Into<On<'_>>,
        id: i64,
        at: DateTime<Utc>,
    ) -> sqlx::Result<()> {
        timed(
            SERVICE,
            "touch_last_seen",
            query("UPDATE users SET last_seen_at = $2 WHERE id = $1")
                .bind(id)
                .bind(at)
                .execute(on),
        )
        .await?;
        Ok(())
    }

    /// The token signing key every instance shares: stores the candidate
    /// when none exists yet, and returns the oldest stored `(kid, pkcs8)`.
    /// Instances starting at once agree: the candidate takes the one slot
    /// (migration 0005), so a second insert waits for the first and yields.
    pub async fn signing_key(&self, kid: &str, pkcs8: &[u8]) -> sqlx::Result<(String, Vec<u8>)> {
        query(
            "INSERT INTO signing_keys (kid, pkcs8, created_at, slot) SELECT $1, $2, $3, 1 \
                     WHERE NOT EXISTS (SELECT 1 FROM signing_keys) ON CONFLICT DO NOTHING",
        )
        .bind(kid)
        .bind(pkcs8)
        .bind(Utc::now())
        .execute(&self.db)
        .await?;
        query_as("SELECT kid, pkcs8 FROM signing_keys ORDER BY created_at, kid LIMIT 1")
            .fetch_one(&self.db)
            .await
    }
}

#[async_trait]
impl UserLookup for SqlUserStore {
    async fn get(&self, id: i64) -> sqlx::Result<Option<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        let row = timed(
            SERVICE,
            "select_user",
            query_as::<UserRow>(&sql).bind(id).fetch_optional(&self.db),
        )
        .await?;
        Ok(row.map(User::from))
    }

    async fn get_many(&self, ids: &[i64]) -> sqlx::Result<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM users WHERE id IN ({}) ORDER BY id",
            placeholders(1, ids.len())
        );
        let rows = timed(
            SERVICE,
            "select_users",
            ids.iter()
                .fold(query_as::<UserRow>(&sql), |q, id| q.bind(*id))
                .fetch_all(&self.db),
        )
        .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }
}

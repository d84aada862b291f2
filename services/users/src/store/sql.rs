//! One implementation of [`UserStore`] for both databases. The SQL is written
//! once: numbered `$n` parameters work on PostgreSQL and on SQLite, and the
//! schema differences live in the per-database migrations.

use super::{PresenceChange, StoreError, StoreResult, StoredImage, UserStore};
use crate::domain::{NewUser, ProfileUpdate, User};
use crate::events;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kit::db::{Database, Tx, contains_pattern, placeholders, query, query_as, query_scalar, timed};

const SERVICE: &str = "users";
const COLUMNS: &str = "id, email, username, display_name, status_message, image_updated_at, last_seen_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    username: String,
    display_name: Option<String>,
    status_message: Option<String>,
    image_updated_at: Option<DateTime<Utc>>,
    last_seen_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        Self {
            id: r.id,
            email: r.email,
            username: r.username,
            display_name: r.display_name,
            status_message: r.status_message,
            image_updated_at: r.image_updated_at,
            last_seen_at: r.last_seen_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

/// Which unique constraint a violation hit (constraint names on PostgreSQL,
/// the message on SQLite).
fn taken(err: sqlx::Error) -> StoreError {
    if let Some(db) = err
        .as_database_error()
        .filter(|db| db.is_unique_violation())
    {
        let what = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
        return StoreError::Taken(if what.contains("email") {
            "email"
        } else {
            "username"
        });
    }
    StoreError::Database(err)
}

/// Users on either database.
pub struct SqlUserStore {
    db: Database,
}

impl SqlUserStore {
    /// The store of `db`, whose schema the module runner brought up to date.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Reads a user back inside `tx` and queues the profile event.
    async fn publish_profile(tx: &mut Tx, user: &User) -> StoreResult<()> {
        let (topic, event) = events::profile_updated(user);
        tx.enqueue(topic, &event).await?;
        Ok(())
    }

    async fn fetch_user(&self, op: &'static str, sql: &str, id: i64) -> StoreResult<Option<User>> {
        let row = timed(
            SERVICE,
            op,
            query_as::<UserRow>(sql).bind(id).fetch_optional(&self.db),
        )
        .await?;
        Ok(row.map(User::from))
    }
}

#[async_trait]
impl UserStore for SqlUserStore {
    async fn create(&self, new: &NewUser, password_hash: &str) -> StoreResult<User> {
        let now = Utc::now();
        let sql = format!(
            "INSERT INTO users (email, username, password_hash, display_name, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
        );
        let mut tx = self.db.begin().await?;
        let row = timed(
            SERVICE,
            "insert_user",
            query_as::<UserRow>(&sql)
                .bind(&new.email)
                .bind(&new.username)
                .bind(password_hash)
                .bind(&new.display_name)
                .bind(now)
                .fetch_one(&mut tx),
        )
        .await
        .map_err(taken)?;
        let user = User::from(row);
        let (topic, event) = events::registered(&user);
        tx.enqueue(topic, &event).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn credentials(&self, email: &str) -> StoreResult<Option<(User, String)>> {
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

    async fn get(&self, id: i64) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        self.fetch_user("select_user", &sql, id).await
    }

    async fn get_many(&self, ids: &[i64]) -> StoreResult<Vec<User>> {
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

    async fn search(&self, query: &str, limit: u32, exclude: i64) -> StoreResult<(Vec<User>, i64)> {
        let pattern = contains_pattern(query);
        let filter = "id <> $1 AND (lower(username) LIKE $2 ESCAPE '\\' \
                      OR lower(COALESCE(display_name, '')) LIKE $2 ESCAPE '\\')";
        let sql =
            format!("SELECT {COLUMNS} FROM users WHERE {filter} ORDER BY lower(username) LIMIT $3");
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

    async fn update_profile(&self, id: i64, update: &ProfileUpdate) -> StoreResult<Option<User>> {
        // Each field is set only when the update carries it.
        let sql = format!(
            "UPDATE users SET \
               display_name = CASE WHEN $2 THEN $3 ELSE display_name END, \
               status_message = CASE WHEN $4 THEN $5 ELSE status_message END, \
               updated_at = $6 \
             WHERE id = $1 RETURNING {COLUMNS}"
        );
        let mut tx = self.db.begin().await?;
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
                .fetch_optional(&mut tx),
        )
        .await?;
        let Some(user) = row.map(User::from) else {
            return Ok(None);
        };
        Self::publish_profile(&mut tx, &user).await?;
        tx.commit().await?;
        Ok(Some(user))
    }

    async fn set_image(&self, id: i64, image: &StoredImage) -> StoreResult<Option<User>> {
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        let sql = format!(
            "UPDATE users SET image_updated_at = $2, updated_at = $2 WHERE id = $1 RETURNING {COLUMNS}"
        );
        let Some(row) = timed(
            SERVICE,
            "update_user_image",
            query_as::<UserRow>(&sql)
                .bind(id)
                .bind(now)
                .fetch_optional(&mut tx),
        )
        .await?
        else {
            return Ok(None);
        };
        timed(SERVICE, "upsert_image", query(
            "INSERT INTO profile_images (user_id, content_type, bytes, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET content_type = excluded.content_type, \
             bytes = excluded.bytes, updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(&image.content_type)
        .bind(&image.bytes)
        .bind(now)
        .execute(&mut tx))
        .await?;
        let user = User::from(row);
        Self::publish_profile(&mut tx, &user).await?;
        tx.commit().await?;
        Ok(Some(user))
    }

    async fn delete_image(&self, id: i64) -> StoreResult<Option<User>> {
        let mut tx = self.db.begin().await?;
        timed(
            SERVICE,
            "delete_image",
            query("DELETE FROM profile_images WHERE user_id = $1")
                .bind(id)
                .execute(&mut tx),
        )
        .await?;
        let sql = format!(
            "UPDATE users SET image_updated_at = NULL, updated_at = $2 WHERE id = $1 RETURNING {COLUMNS}"
        );
        let row = timed(
            SERVICE,
            "update_user_image",
            query_as::<UserRow>(&sql)
                .bind(id)
                .bind(Utc::now())
                .fetch_optional(&mut tx),
        )
        .await?;
        let Some(user) = row.map(User::from) else {
            return Ok(None);
        };
        Self::publish_profile(&mut tx, &user).await?;
        tx.commit().await?;
        Ok(Some(user))
    }

    async fn image(&self, id: i64) -> StoreResult<Option<StoredImage>> {
        let row: Option<(String, Vec<u8>)> = timed(
            SERVICE,
            "select_image",
            query_as("SELECT content_type, bytes FROM profile_images WHERE user_id = $1")
                .bind(id)
                .fetch_optional(&self.db),
        )
        .await?;
        Ok(row.map(|(content_type, bytes)| StoredImage {
            content_type,
            bytes,
        }))
    }

    async fn touch_last_seen(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        timed(
            SERVICE,
            "touch_last_seen",
            query("UPDATE users SET last_seen_at = $2 WHERE id = $1")
                .bind(id)
                .bind(at)
                .execute(&self.db),
        )
        .await?;
        Ok(())
    }

    async fn record_presence(
        &self,
        user_id: i64,
        is_online: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let mut tx = self.db.begin().await?;
        let seq: i64 = timed(SERVICE, "insert_presence_change", query_scalar(
            "INSERT INTO presence_changes (user_id, is_online, changed_at) VALUES ($1, $2, $3) RETURNING seq",
        )
        .bind(user_id)
        .bind(is_online)
        .bind(at)
        .fetch_one(&mut tx))
        .await?;
        query("UPDATE users SET last_seen_at = $2 WHERE id = $1")
            .bind(user_id)
            .bind(at)
            .execute(&mut tx)
            .await?;
        let (topic, event) = events::status_changed(user_id, is_online, at, seq);
        tx.enqueue(topic, &event).await?;
        tx.commit().await?;
        Ok(seq)
    }

    async fn friend_presence_changes(
        &self,
        viewer: i64,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<PresenceChange>> {
        let rows = timed(
            SERVICE,
            "select_presence_changes",
            query_as::<PresenceChange>(
                "SELECT c.seq, c.user_id, c.is_online, c.changed_at FROM presence_changes c \
             JOIN friendships f ON f.friend_id = c.user_id AND f.user_id = $1 \
             WHERE c.seq > $2 ORDER BY c.seq LIMIT $3",
            )
            .bind(viewer)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.db),
        )
        .await?;
        Ok(rows)
    }

    async fn set_friends(&self, a: i64, b: i64, friends: bool) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        for (x, y) in [(a, b), (b, a)] {
            let sql = if friends {
                "INSERT INTO friendships (user_id, friend_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            } else {
                "DELETE FROM friendships WHERE user_id = $1 AND friend_id = $2"
            };
            query(sql).bind(x).bind(y).execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn friend_ids(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        let ids = timed(
            SERVICE,
            "select_friend_ids",
            query_scalar("SELECT friend_id FROM friendships WHERE user_id = $1 ORDER BY friend_id")
                .bind(user_id)
                .fetch_all(&self.db),
        )
        .await?;
        Ok(ids)
    }

    async fn signing_key(&self, kid: &str, pkcs8: &[u8]) -> StoreResult<(String, Vec<u8>)> {
        query(
            "INSERT INTO signing_keys (kid, pkcs8, created_at) SELECT $1, $2, $3 \
                     WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
        )
        .bind(kid)
        .bind(pkcs8)
        .bind(Utc::now())
        .execute(&self.db)
        .await?;
        let key = query_as("SELECT kid, pkcs8 FROM signing_keys ORDER BY created_at, kid LIMIT 1")
            .fetch_one(&self.db)
            .await?;
        Ok(key)
    }
}

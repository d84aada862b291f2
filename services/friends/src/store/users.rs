//! The `users` table: this service's read model of the users service
//! (names and emails for lists, existence for requests and blocks, last
//! seen), and the search for users to add. Writes apply only over older
//! data (`version`), so redelivered or replayed events never roll a user
//! back.

use super::{SERVICE, StoreResult};
use crate::domain::{Candidate, UserRecord};
use chrono::{DateTime, Utc};
use kit::db::{On, contains_pattern, query, query_as, query_scalar, timed};

#[derive(sqlx::FromRow)]
struct CandidateRow {
    user_id: i64,
    username: String,
    display_name: Option<String>,
    pending_requester: Option<i64>,
}

/// Whether the read model knows `user_id`.
pub async fn exists(on: impl Into<On<'_>>, user_id: i64) -> StoreResult<bool> {
    let n: i64 = timed(
        SERVICE,
        "select_user",
        query_scalar("SELECT COUNT(*) FROM users WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(on),
    )
    .await?;
    Ok(n > 0)
}

/// Inserts or replaces a user unless the read model holds newer data.
pub async fn upsert(on: impl Into<On<'_>>, user: &UserRecord, version: i64) -> StoreResult<()> {
    timed(SERVICE, "upsert_user", query(
        "INSERT INTO users (user_id, email, username, display_name, version) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, username = excluded.username, \
           display_name = excluded.display_name, version = excluded.version \
         WHERE users.version <= excluded.version",
    )
    .bind(user.user_id)
    .bind(&user.email)
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(version)
    .execute(on))
    .await?;
    Ok(())
}

/// Applies a profile change unless the read model holds newer data (a
/// missing username is left as it is).
pub async fn update_profile(
    on: impl Into<On<'_>>,
    user_id: i64,
    username: Option<&str>,
    display_name: Option<&str>,
    version: i64,
) -> StoreResult<()> {
    timed(
        SERVICE,
        "update_user_profile",
        query(
            "UPDATE users SET username = COALESCE($2, username), display_name = $3, version = $4 \
             WHERE user_id = $1 AND version <= $4",
        )
        .bind(user_id)
        .bind(username)
        .bind(display_name)
        .bind(version)
        .execute(on),
    )
    .await?;
    Ok(())
}

pub async fn touch_last_seen(
    on: impl Into<On<'_>>,
    user_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    timed(
        SERVICE,
        "touch_user_last_seen",
        query("UPDATE users SET last_seen_at = $2 WHERE user_id = $1")
            .bind(user_id)
            .bind(at)
            .execute(on),
    )
    .await?;
    Ok(())
}

/// Users whose username or display name contains `term` (any case), other
/// than `user`, its friends and users blocked either way, with the pending
/// request between `user` and each, if any (its requester).
pub async fn search(
    on: impl Into<On<'_>>,
    user: i64,
    term: &str,
    limit: u32,
) -> StoreResult<Vec<Candidate>> {
    let sql = "SELECT u.user_id, u.username, u.display_name, \
                 (SELECT f.user_id_1 FROM friendships f \
                  WHERE f.status = 'pending' AND f.deleted_at IS NULL \
                    AND ((f.user_id_1 = $1 AND f.user_id_2 = u.user_id) OR (f.user_id_1 = u.user_id AND f.user_id_2 = $1))) \
                 AS pending_requester \
               FROM users u \
               WHERE u.user_id <> $1 \
                 AND (lower(u.username) LIKE $2 ESCAPE '\\' OR lower(COALESCE(u.display_name, '')) LIKE $2 ESCAPE '\\') \
                 AND NOT EXISTS (SELECT 1 FROM friendships f \
                     WHERE f.status = 'accepted' AND f.deleted_at IS NULL \
                       AND ((f.user_id_1 = $1 AND f.user_id_2 = u.user_id) OR (f.user_id_1 = u.user_id AND f.user_id_2 = $1))) \
                 AND NOT EXISTS (SELECT 1 FROM blocks b \
                     WHERE (b.blocker_id = $1 AND b.blocked_id = u.user_id) OR (b.blocker_id = u.user_id AND b.blocked_id = $1)) \
               ORDER BY lower(u.username), u.user_id LIMIT $3";
    let rows = timed(
        SERVICE,
        "search_users",
        query_as::<CandidateRow>(sql)
            .bind(user)
            .bind(contains_pattern(term))
            .bind(i64::from(limit))
            .fetch_all(on),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Candidate {
            user_id: r.user_id,
            username: r.username,
            display_name: r.display_name,
            pending_requester: r.pending_requester,
        })
        .collect())
}

//! What the posts service knows of other services' data: users (from
//! `user.events`) and who blocked whom (from `friend.events`).

use super::{SERVICE, StoreResult};
use crate::domain::{self, Author};
use kit::db::{On, query, query_scalar, timed};

/// Inserts or refreshes a user.
pub async fn upsert_user(
    on: impl Into<On<'_>>,
    user_id: i64,
    username: &str,
    display_name: Option<&str>,
) -> StoreResult<()> {
    timed(
        SERVICE,
        "upsert_user",
        query(
            "INSERT INTO posts_users (user_id, username, display_name, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
             username = excluded.username, display_name = excluded.display_name, \
             updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(username.to_owned())
        .bind(display_name.map(str::to_owned))
        .bind(domain::now())
        .execute(on),
    )
    .await?;
    Ok(())
}

/// Whether the read model holds `user_id`.
pub async fn knows_user(on: impl Into<On<'_>>, user_id: i64) -> StoreResult<bool> {
    let n: i64 = timed(
        SERVICE,
        "select_user",
        query_scalar("SELECT COUNT(*) FROM posts_users WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(on),
    )
    .await?;
    Ok(n > 0)
}

/// The user's names, as far as the read model knows.
pub async fn author(on: impl Into<On<'_>>, user_id: i64) -> StoreResult<Author> {
    #[derive(sqlx::FromRow)]
    struct Names {
        username: String,
        display_name: Option<String>,
    }
    let names = timed(
        SERVICE,
        "select_user",
        kit::db::query_as::<Names>(
            "SELECT username, display_name FROM posts_users WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(on),
    )
    .await?;
    Ok(Author {
        user_id,
        username: names.as_ref().map(|n| n.username.clone()),
        display_name: names.and_then(|n| n.display_name),
    })
}

/// Records that `blocker` blocked `blocked` (`is_blocked`) or lifted the
/// block; either is idempotent.
pub async fn set_blocked(
    on: impl Into<On<'_>>,
    blocker: i64,
    blocked: i64,
    is_blocked: bool,
) -> StoreResult<()> {
    let sql = if is_blocked {
        "INSERT INTO posts_blocks (blocker_id, blocked_id) VALUES ($1, $2) \
         ON CONFLICT (blocker_id, blocked_id) DO NOTHING"
    } else {
        "DELETE FROM posts_blocks WHERE blocker_id = $1 AND blocked_id = $2"
    };
    timed(
        SERVICE,
        "set_block",
        query(sql).bind(blocker).bind(blocked).execute(on),
    )
    .await?;
    Ok(())
}

/// Whether a block stands between `a` and `b`, either way.
pub async fn blocked_between(on: impl Into<On<'_>>, a: i64, b: i64) -> StoreResult<bool> {
    let n: i64 = timed(
        SERVICE,
        "select_block",
        query_scalar(
            "SELECT COUNT(*) FROM posts_blocks WHERE (blocker_id = $1 AND blocked_id = $2) \
             OR (blocker_id = $2 AND blocked_id = $1)",
        )
        .bind(a)
        .bind(b)
        .fetch_one(on),
    )
    .await?;
    Ok(n > 0)
}

//! What chat knows of other services' data: users (from `user.events`) and
//! who blocked whom (from `friend.events`).

use super::MemberRow;
use crate::SERVICE;
use crate::domain::{self, Participant};
use kit::db::{On, placeholders, query, query_as, query_scalar, timed};

/// Inserts or refreshes a user.
pub async fn upsert_user(on: impl Into<On<'_>>, user: &Participant) -> Result<(), sqlx::Error> {
    timed(SERVICE, "upsert_user", query(
        "INSERT INTO chat_users (user_id, username, display_name, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, \
         display_name = excluded.display_name, updated_at = excluded.updated_at",
    )
    .bind(user.user_id)
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(domain::now())
    .execute(on))
    .await?;
    Ok(())
}

/// Known users among `ids`, in ascending id order.
pub async fn users(on: impl Into<On<'_>>, ids: &[i64]) -> Result<Vec<Participant>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT user_id AS room_id, user_id, username, display_name FROM chat_users \
         WHERE user_id IN ({}) ORDER BY user_id",
        placeholders(1, ids.len())
    );
    let select = query_as::<MemberRow>(&sql).bind_all(ids.iter().copied());
    let rows = timed(SERVICE, "select_users", select.fetch_all(on)).await?;
    Ok(rows.into_iter().map(Participant::from).collect())
}

/// Records that `blocker` blocked `blocked` (`is_blocked`) or lifted the
/// block; either is idempotent.
pub async fn set_blocked(
    on: impl Into<On<'_>>,
    blocker: i64,
    blocked: i64,
    is_blocked: bool,
) -> Result<(), sqlx::Error> {
    let sql = if is_blocked {
        "INSERT INTO chat_blocks (blocker_id, blocked_id) VALUES ($1, $2) \
         ON CONFLICT (blocker_id, blocked_id) DO NOTHING"
    } else {
        "DELETE FROM chat_blocks WHERE blocker_id = $1 AND blocked_id = $2"
    };
    timed(
        SERVICE,
        "set_block",
        query(sql).bind(blocker).bind(blocked).execute(on),
    )
    .await?;
    Ok(())
}

/// Whether `user` blocked any of `others` or any of them blocked `user`.
pub async fn blocked_between(
    on: impl Into<On<'_>>,
    user: i64,
    others: &[i64],
) -> Result<bool, sqlx::Error> {
    if others.is_empty() {
        return Ok(false);
    }
    let others_list = placeholders(2, others.len());
    let sql = format!(
        "SELECT COUNT(*) FROM chat_blocks WHERE (blocker_id = $1 AND blocked_id IN ({others_list})) \
         OR (blocked_id = $1 AND blocker_id IN ({others_list}))"
    );
    let select = query_scalar::<i64>(&sql)
        .bind(user)
        .bind_all(others.iter().copied());
    let n: i64 = timed(SERVICE, "select_blocks", select.fetch_one(on)).await?;
    Ok(n > 0)
}

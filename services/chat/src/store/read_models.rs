//! What chat knows of other services' data: users (from `user.events`) and
//! who blocked whom (from `friend.events`), in kit's read-model tables.

use super::MemberRow;
use crate::SERVICE;
use crate::domain::Participant;
use kit::db::{On, placeholders, query_as, timed};
use kit::read_model::{Blocks, Users};

/// Who exists, and their names.
pub const USERS: Users = Users::new(SERVICE, "chat_users");

/// Who blocked whom.
pub const BLOCKS: Blocks = Blocks::new(SERVICE, "chat_blocks");

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

//! What the posts service knows of other services' data: users (from
//! `user.events`) and who blocked whom (from `friend.events`), in kit's
//! read-model tables.

use super::{SERVICE, StoreResult};
use crate::domain::Author;
use kit::db::{On, timed};
use kit::read_model::{Blocks, Users};

/// Who exists, and their names.
pub const USERS: Users = Users::new(SERVICE, "posts_users");

/// Who blocked whom.
pub const BLOCKS: Blocks = Blocks::new(SERVICE, "posts_blocks");

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

//! The `friendships` table: friend requests and the friendships they become.
//! A row names its requester (`user_id_1`) and addressee (`user_id_2`) and,
//! for lookups regardless of direction, the ordered pair (`pair_low`,
//! `pair_high`). Ending a request or friendship sets `deleted_at`; a partial
//! unique index keeps at most one live row per pair, the last line against
//! duplicates behind the application's pair-exclusive unit of work.

use super::{SERVICE, StoreResult};
use crate::domain::{Friend, Friendship, PendingRequest, Status, pair};
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, is_unique_violation, query_as, query_scalar, timed};

const COLUMNS: &str =
    "id, user_id_1, user_id_2, status, message, created_at, updated_at, deleted_at";
/// A friendship that still counts: a pending request or a friendship.
const LIVE: &str = "deleted_at IS NULL AND status IN ('pending', 'accepted')";

#[derive(sqlx::FromRow)]
struct FriendshipRow {
    id: i64,
    user_id_1: i64,
    user_id_2: i64,
    status: String,
    message: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

fn status(raw: &str) -> StoreResult<Status> {
    Status::parse(raw)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown friendship status {raw:?}").into()))
}

impl TryFrom<FriendshipRow> for Friendship {
    type Error = sqlx::Error;
    fn try_from(r: FriendshipRow) -> StoreResult<Self> {
        Ok(Self {
            id: r.id,
            requester_id: r.user_id_1,
            addressee_id: r.user_id_2,
            status: status(&r.status)?,
            message: r.message,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    #[sqlx(flatten)]
    friendship: FriendshipRow,
    username: Option<String>,
    email: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FriendRow {
    user_id: i64,
    username: Option<String>,
    email: Option<String>,
    last_seen_at: Option<DateTime<Utc>>,
}

/// The status of the pair's live friendship (pending or accepted), if any.
pub async fn live_status(on: impl Into<On<'_>>, a: i64, b: i64) -> StoreResult<Option<Status>> {
    let (low, high) = pair(a, b);
    let live: Option<String> = timed(
        SERVICE,
        "select_live_friendship",
        query_scalar(&format!(
            "SELECT status FROM friendships WHERE pair_low = $1 AND pair_high = $2 AND {LIVE}"
        ))
        .bind(low)
        .bind(high)
        .fetch_optional(on),
    )
    .await?;
    live.as_deref().map(status).transpose()
}

/// Inserts a pending request; `None` when the pair already has a live
/// friendship (the unique index refused the row).
pub async fn insert_request(
    tx: &mut Tx,
    requester: i64,
    addressee: i64,
    message: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<Option<Friendship>> {
    let (low, high) = pair(requester, addressee);
    let sql = format!(
        "INSERT INTO friendships (user_id_1, user_id_2, pair_low, pair_high, status, message, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6) RETURNING {COLUMNS}"
    );
    let inserted = timed(
        SERVICE,
        "insert_friendship",
        query_as::<FriendshipRow>(&sql)
            .bind(requester)
            .bind(addressee)
            .bind(low)
            .bind(high)
            .bind(message)
            .bind(at)
            .fetch_one(tx),
    )
    .await;
    match inserted {
        Ok(row) => Friendship::try_from(row).map(Some),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The pending request `$1` sent `$2`.
const PENDING_FROM_TO: &str = "user_id_1 = $1 AND user_id_2 = $2 AND status = 'pending'";
/// What ending a row sets.
const ENDED: &str = "deleted_at = $3";

/// Moves the pending request `requester` sent `addressee` to `to`
/// (accepted or rejected); `None` when there is no such request.
pub async fn answer(
    tx: &mut Tx,
    requester: i64,
    addressee: i64,
    to: Status,
    at: DateTime<Utc>,
) -> StoreResult<Option<Friendship>> {
    let set = format!("status = '{}'", to.as_str());
    let key = (requester, addressee);
    change_one(tx, "answer_request", &set, PENDING_FROM_TO, key, at).await
}

/// Withdraws the pending request `requester` sent `addressee`; `None` when
/// there is none.
pub async fn cancel(
    tx: &mut Tx,
    requester: i64,
    addressee: i64,
    at: DateTime<Utc>,
) -> StoreResult<Option<Friendship>> {
    let key = (requester, addressee);
    change_one(tx, "cancel_request", ENDED, PENDING_FROM_TO, key, at).await
}

/// Ends the friendship of `a` and `b`; `None` when they are not friends.
pub async fn end_friendship(
    tx: &mut Tx,
    a: i64,
    b: i64,
    at: DateTime<Utc>,
) -> StoreResult<Option<Friendship>> {
    let friends = "pair_low = $1 AND pair_high = $2 AND status = 'accepted'";
    change_one(tx, "unfriend", ENDED, friends, pair(a, b), at).await
}

/// Ends whatever live friendship the pair has and returns the rows it
/// ended (their status still says whether each was a request or a
/// friendship).
pub async fn end_live(
    tx: &mut Tx,
    a: i64,
    b: i64,
    at: DateTime<Utc>,
) -> StoreResult<Vec<Friendship>> {
    let (low, high) = pair(a, b);
    let sql = format!(
        "UPDATE friendships SET deleted_at = $3, updated_at = $3 \
         WHERE pair_low = $1 AND pair_high = $2 AND {LIVE} RETURNING {COLUMNS}"
    );
    let ended = timed(
        SERVICE,
        "end_friendships",
        query_as::<FriendshipRow>(&sql)
            .bind(low)
            .bind(high)
            .bind(at)
            .fetch_all(tx),
    )
    .await?;
    ended.into_iter().map(Friendship::try_from).collect()
}

/// Applies `set` (and `updated_at = at`) to the one live row `which`
/// selects (bound to `key` as `$1`, `$2`, and `at` as `$3`) and returns it as
/// it now is; `None` when no row matched.
async fn change_one(
    tx: &mut Tx,
    op: &'static str,
    set: &str,
    which: &str,
    key: (i64, i64),
    at: DateTime<Utc>,
) -> StoreResult<Option<Friendship>> {
    let sql = format!(
        "UPDATE friendships SET {set}, updated_at = $3 \
         WHERE {which} AND deleted_at IS NULL RETURNING {COLUMNS}"
    );
    let row = timed(
        SERVICE,
        op,
        query_as::<FriendshipRow>(&sql)
            .bind(key.0)
            .bind(key.1)
            .bind(at)
            .fetch_optional(tx),
    )
    .await?;
    row.map(Friendship::try_from).transpose()
}

/// Accepted friends of `user`, by username.
pub async fn friends_of(on: impl Into<On<'_>>, user: i64) -> StoreResult<Vec<Friend>> {
    let sql = "SELECT x.friend_id AS user_id, u.username, u.email, u.last_seen_at \
               FROM (SELECT CASE WHEN user_id_1 = $1 THEN user_id_2 ELSE user_id_1 END AS friend_id \
                     FROM friendships \
                     WHERE (user_id_1 = $1 OR user_id_2 = $1) AND status = 'accepted' AND deleted_at IS NULL) x \
               LEFT JOIN users u ON u.user_id = x.friend_id \
               ORDER BY lower(COALESCE(u.username, '')), x.friend_id";
    let rows = timed(
        SERVICE,
        "select_friends",
        query_as::<FriendRow>(sql).bind(user).fetch_all(on),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Friend {
            user_id: r.user_id,
            username: r.username,
            email: r.email,
            last_seen_at: r.last_seen_at,
        })
        .collect())
}

/// Pending requests `user` sent or received, newest first, with the other
/// user's name and email.
pub async fn pending_of(on: impl Into<On<'_>>, user: i64) -> StoreResult<Vec<PendingRequest>> {
    let sql = "SELECT f.id, f.user_id_1, f.user_id_2, f.status, f.message, f.created_at, f.updated_at, \
                      f.deleted_at, u.username, u.email \
               FROM friendships f \
               LEFT JOIN users u ON u.user_id = CASE WHEN f.user_id_1 = $1 THEN f.user_id_2 ELSE f.user_id_1 END \
               WHERE (f.user_id_1 = $1 OR f.user_id_2 = $1) AND f.status = 'pending' AND f.deleted_at IS NULL \
               ORDER BY f.id DESC";
    let rows = timed(
        SERVICE,
        "select_pending_requests",
        query_as::<PendingRow>(sql).bind(user).fetch_all(on),
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(PendingRequest {
                friendship: r.friendship.try_into()?,
                username: r.username,
                email: r.email,
            })
        })
        .collect()
}

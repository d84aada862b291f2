//! One implementation of [`FriendStore`] for both databases. The SQL is
//! written once (numbered `$n` parameters work on PostgreSQL and SQLite); the
//! schema differences live in the per-database migrations.
//!
//! Writers serialise per pair of users, so checks and writes of one pair
//! never interleave ([`Database::begin_exclusive`] on the pair's key). A conditional `UPDATE ... RETURNING` does each state change,
//! and the partial unique index on the pair is the last line against
//! duplicates.

use super::{Block, FriendStore, StoreError, StoreResult};
use crate::domain::{
    Answer, BlockedUser, Candidate, Friend, Friendship, PendingRequest, Status, UserRecord, pair,
    pair_lock_key,
};
use crate::events;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kit::db::{
    Database, On, Tx, contains_pattern, is_unique_violation, query, query_as, query_scalar, timed,
};

const SERVICE: &str = crate::SERVICE;
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

impl TryFrom<FriendshipRow> for Friendship {
    type Error = StoreError;
    fn try_from(r: FriendshipRow) -> StoreResult<Self> {
        let status = Status::parse(&r.status).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Decode(
                format!("unknown friendship status {:?}", r.status).into(),
            ))
        })?;
        Ok(Self {
            id: r.id,
            requester_id: r.user_id_1,
            addressee_id: r.user_id_2,
            status,
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

#[derive(sqlx::FromRow)]
struct CandidateRow {
    user_id: i64,
    username: String,
    display_name: Option<String>,
    pending_requester: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct BlockedRow {
    user_id: i64,
    username: Option<String>,
    blocked_at: DateTime<Utc>,
}

/// Friendships on either database.
pub struct SqlFriendStore {
    db: Database,
}

impl SqlFriendStore {
    /// The store of `db`, whose schema the module runner brought up to date.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// A write transaction no other writer of the pair interleaves with.
    async fn begin_pair(&self, a: i64, b: i64) -> StoreResult<Tx> {
        Ok(self.db.begin_exclusive(pair_lock_key(a, b)).await?)
    }

    /// One state change of the pair `(a, b)` as a unit of work: `sql`
    /// (bound to `key` and now) changes at most one friendship, and the event
    /// `announce` makes of it goes out with the change. `None` when nothing
    /// matched.
    async fn change_and_announce(
        &self,
        op: &'static str,
        sql: &str,
        (a, b): (i64, i64),
        key: (i64, i64),
        announce: impl FnOnce(&Friendship) -> kit::events::Event,
    ) -> StoreResult<Option<Friendship>> {
        let mut tx = self.begin_pair(a, b).await?;
        let Some(friendship) = Self::change_one(&mut tx, op, sql, key.0, key.1, Utc::now()).await?
        else {
            return Ok(None);
        };
        tx.enqueue(events::TOPIC, &announce(&friendship)).await?;
        tx.commit().await?;
        Ok(Some(friendship))
    }

    async fn user_exists_in(on: impl Into<On<'_>>, user_id: i64) -> StoreResult<bool> {
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

    /// Applies a conditional state change to at most one friendship
    /// and returns it as it now is.
    async fn change_one(
        tx: &mut Tx,
        op: &'static str,
        sql: &str,
        a: i64,
        b: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Friendship>> {
        let row = timed(
            SERVICE,
            op,
            query_as::<FriendshipRow>(sql)
                .bind(a)
                .bind(b)
                .bind(at)
                .fetch_optional(tx),
        )
        .await?;
        row.map(Friendship::try_from).transpose()
    }
}

#[async_trait]
impl FriendStore for SqlFriendStore {
    async fn user_exists(&self, user_id: i64) -> StoreResult<bool> {
        Self::user_exists_in(&self.db, user_id).await
    }

    async fn send_request(
        &self,
        requester: i64,
        addressee: i64,
        message: Option<&str>,
    ) -> StoreResult<Friendship> {
        let mut tx = self.begin_pair(requester, addressee).await?;
        if !Self::user_exists_in(&mut tx, addressee).await? {
            return Err(StoreError::UnknownUser);
        }
        let blocks: i64 = timed(
            SERVICE,
            "select_blocks",
            query_scalar(
                "SELECT COUNT(*) FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) \
             OR (blocker_id = $2 AND blocked_id = $1)",
            )
            .bind(requester)
            .bind(addressee)
            .fetch_one(&mut tx),
        )
        .await?;
        if blocks > 0 {
            return Err(StoreError::Blocked);
        }
        let (low, high) = pair(requester, addressee);
        let live: Option<String> = timed(
            SERVICE,
            "select_live_friendship",
            query_scalar(&format!(
                "SELECT status FROM friendships WHERE pair_low = $1 AND pair_high = $2 AND {LIVE}"
            ))
            .bind(low)
            .bind(high)
            .fetch_optional(&mut tx),
        )
        .await?;
        match live.as_deref() {
            Some("accepted") => return Err(StoreError::AlreadyFriends),
            Some(_) => return Err(StoreError::RequestPending),
            None => {}
        }
        let now = Utc::now();
        let sql = format!(
            "INSERT INTO friendships (user_id_1, user_id_2, pair_low, pair_high, status, message, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6) RETURNING {COLUMNS}"
        );
        let row = timed(
            SERVICE,
            "insert_friendship",
            query_as::<FriendshipRow>(&sql)
                .bind(requester)
                .bind(addressee)
                .bind(low)
                .bind(high)
                .bind(message)
                .bind(now)
                .fetch_one(&mut tx),
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::RequestPending
            } else {
                e.into()
            }
        })?;
        let friendship = Friendship::try_from(row)?;
        tx.enqueue(events::TOPIC, &events::request_sent(&friendship))
            .await?;
        tx.commit().await?;
        Ok(friendship)
    }

    async fn answer_request(
        &self,
        requester: i64,
        addressee: i64,
        answer: Answer,
    ) -> StoreResult<Option<Friendship>> {
        let sql = format!(
            "UPDATE friendships SET status = '{}', updated_at = $3 \
             WHERE user_id_1 = $1 AND user_id_2 = $2 AND status = 'pending' AND deleted_at IS NULL \
             RETURNING {COLUMNS}",
            answer.status().as_str()
        );
        let key = (requester, addressee);
        self.change_and_announce("answer_request", &sql, key, key, events::request_answered)
            .await
    }

    async fn cancel_request(
        &self,
        requester: i64,
        addressee: i64,
    ) -> StoreResult<Option<Friendship>> {
        let sql = format!(
            "UPDATE friendships SET deleted_at = $3, updated_at = $3 \
             WHERE user_id_1 = $1 AND user_id_2 = $2 AND status = 'pending' AND deleted_at IS NULL \
             RETURNING {COLUMNS}"
        );
        let key = (requester, addressee);
        self.change_and_announce("cancel_request", &sql, key, key, events::request_cancelled)
            .await
    }

    async fn unfriend(&self, user: i64, friend: i64) -> StoreResult<Option<Friendship>> {
        let sql = format!(
            "UPDATE friendships SET deleted_at = $3, updated_at = $3 \
             WHERE pair_low = $1 AND pair_high = $2 AND status = 'accepted' AND deleted_at IS NULL \
             RETURNING {COLUMNS}"
        );
        self.change_and_announce("unfriend", &sql, (user, friend), pair(user, friend), |f| {
            events::friend_deleted(f, user)
        })
        .await
    }

    async fn friends(&self, user: i64) -> StoreResult<Vec<Friend>> {
        let sql = "SELECT x.friend_id AS user_id, u.username, u.email, u.last_seen_at \
                   FROM (SELECT CASE WHEN user_id_1 = $1 THEN user_id_2 ELSE user_id_1 END AS friend_id \
                         FROM friendships \
                         WHERE (user_id_1 = $1 OR user_id_2 = $1) AND status = 'accepted' AND deleted_at IS NULL) x \
                   LEFT JOIN users u ON u.user_id = x.friend_id \
                   ORDER BY lower(COALESCE(u.username, '')), x.friend_id";
        let rows = timed(
            SERVICE,
            "select_friends",
            query_as::<FriendRow>(sql).bind(user).fetch_all(&self.db),
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

    async fn pending_requests(&self, user: i64) -> StoreResult<Vec<PendingRequest>> {
        let sql = "SELECT f.id, f.user_id_1, f.user_id_2, f.status, f.message, f.created_at, f.updated_at, \
                          f.deleted_at, u.username, u.email \
                   FROM friendships f \
                   LEFT JOIN users u ON u.user_id = CASE WHEN f.user_id_1 = $1 THEN f.user_id_2 ELSE f.user_id_1 END \
                   WHERE (f.user_id_1 = $1 OR f.user_id_2 = $1) AND f.status = 'pending' AND f.deleted_at IS NULL \
                   ORDER BY f.id DESC";
        let rows = timed(
            SERVICE,
            "select_pending_requests",
            query_as::<PendingRow>(sql).bind(user).fetch_all(&self.db),
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

    async fn search(&self, user: i64, query: &str, limit: u32) -> StoreResult<Vec<Candidate>> {
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
                .bind(contains_pattern(query))
                .bind(i64::from(limit))
                .fetch_all(&self.db),
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

    async fn block(&self, blocker: i64, blocked: i64) -> StoreResult<Block> {
        let mut tx = self.begin_pair(blocker, blocked).await?;
        if !Self::user_exists_in(&mut tx, blocked).await? {
            return Err(StoreError::UnknownUser);
        }
        let now = Utc::now();
        let inserted: Option<DateTime<Utc>> = timed(
            SERVICE,
            "insert_block",
            query_scalar(
                "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (blocker_id, blocked_id) DO NOTHING RETURNING created_at",
            )
            .bind(blocker)
            .bind(blocked)
            .bind(now)
            .fetch_optional(&mut tx),
        )
        .await?;
        let Some(blocked_at) = inserted else {
            let blocked_at: DateTime<Utc> = timed(
                SERVICE,
                "select_block",
                query_scalar(
                    "SELECT created_at FROM blocks WHERE blocker_id = $1 AND blocked_id = $2",
                )
                .bind(blocker)
                .bind(blocked)
                .fetch_one(&mut tx),
            )
            .await?;
            tx.rollback().await?;
            return Ok(Block {
                blocked_at,
                created: false,
            });
        };
        // A block ends whatever the two had; consumers hear why.
        let (low, high) = pair(blocker, blocked);
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
                .bind(now)
                .fetch_all(&mut tx),
        )
        .await?;
        for row in ended {
            let f = Friendship::try_from(row)?;
            let event = if f.status == Status::Accepted {
                events::friend_deleted(&f, blocker)
            } else {
                events::request_cancelled(&f)
            };
            tx.enqueue(events::TOPIC, &event).await?;
        }
        tx.enqueue(events::TOPIC, &events::user_blocked(blocker, blocked))
            .await?;
        tx.commit().await?;
        Ok(Block {
            blocked_at,
            created: true,
        })
    }

    async fn unblock(&self, blocker: i64, blocked: i64) -> StoreResult<bool> {
        let mut tx = self.begin_pair(blocker, blocked).await?;
        let removed = timed(
            SERVICE,
            "delete_block",
            query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
                .bind(blocker)
                .bind(blocked)
                .execute(&mut tx),
        )
        .await?;
        if removed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.enqueue(events::TOPIC, &events::user_unblocked(blocker, blocked))
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn blocked(&self, blocker: i64) -> StoreResult<Vec<BlockedUser>> {
        let sql = "SELECT b.blocked_id AS user_id, u.username, b.created_at AS blocked_at \
                   FROM blocks b LEFT JOIN users u ON u.user_id = b.blocked_id \
                   WHERE b.blocker_id = $1 ORDER BY b.created_at DESC, b.blocked_id";
        let rows = timed(
            SERVICE,
            "select_blocked",
            query_as::<BlockedRow>(sql)
                .bind(blocker)
                .fetch_all(&self.db),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| BlockedUser {
                user_id: r.user_id,
                username: r.username,
                blocked_at: r.blocked_at,
            })
            .collect())
    }

    async fn upsert_user(&self, user: &UserRecord, version: i64) -> StoreResult<()> {
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
        .execute(&self.db))
        .await?;
        Ok(())
    }

    async fn update_user_profile(
        &self,
        user_id: i64,
        username: Option<&str>,
        display_name: Option<&str>,
        version: i64,
    ) -> StoreResult<()> {
        timed(SERVICE, "update_user_profile", query(
            "UPDATE users SET username = COALESCE($2, username), display_name = $3, version = $4 \
             WHERE user_id = $1 AND version <= $4",
        )
        .bind(user_id)
        .bind(username)
        .bind(display_name)
        .bind(version)
        .execute(&self.db))
        .await?;
        Ok(())
    }

    async fn touch_user_last_seen(&self, user_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        timed(
            SERVICE,
            "touch_user_last_seen",
            query("UPDATE users SET last_seen_at = $2 WHERE user_id = $1")
                .bind(user_id)
                .bind(at)
                .execute(&self.db),
        )
        .await?;
        Ok(())
    }
}

//! Presence history (`presence_changes`, the log the status stream resumes
//! from) and the friendships read model that decides who sees whose status.

use super::{SERVICE, SqlUserStore};
use chrono::{DateTime, Utc};
use kit::db::{Tx, query, query_as, query_scalar, timed};

/// One online/offline transition.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PresenceChange {
    pub seq: i64,
    pub user_id: i64,
    pub is_online: bool,
    pub changed_at: DateTime<Utc>,
}

impl SqlUserStore {
    /// Logs an online/offline transition and stamps the user's
    /// `last_seen_at`; returns the transition's seq.
    pub async fn record_presence(
        &self,
        tx: &mut Tx,
        user_id: i64,
        is_online: bool,
        at: DateTime<Utc>,
    ) -> sqlx::Result<i64> {
        let seq: i64 = timed(SERVICE, "insert_presence_change", query_scalar(
            "INSERT INTO presence_changes (user_id, is_online, changed_at) VALUES ($1, $2, $3) RETURNING seq",
        )
        .bind(user_id)
        .bind(is_online)
        .bind(at)
        .fetch_one(&mut *tx))
        .await?;
        self.touch_last_seen(tx, user_id, at).await?;
        Ok(seq)
    }

    /// Transitions of `viewer`'s friends with seq > `after`, oldest first.
    pub async fn friend_presence_changes(
        &self,
        viewer: i64,
        after: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<PresenceChange>> {
        timed(
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
        .await
    }

    /// Records (or removes) an accepted friendship, both ways.
    pub async fn set_friends(
        &self,
        tx: &mut Tx,
        a: i64,
        b: i64,
        friends: bool,
    ) -> sqlx::Result<()> {
        let sql = if friends {
            "INSERT INTO friendships (user_id, friend_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM friendships WHERE user_id = $1 AND friend_id = $2"
        };
        for (x, y) in [(a, b), (b, a)] {
            query(sql).bind(x).bind(y).execute(&mut *tx).await?;
        }
        Ok(())
    }

    /// Ids of `user_id`'s friends.
    pub async fn friend_ids(&self, user_id: i64) -> sqlx::Result<Vec<i64>> {
        timed(
            SERVICE,
            "select_friend_ids",
            query_scalar("SELECT friend_id FROM friendships WHERE user_id = $1 ORDER BY friend_id")
                .bind(user_id)
                .fetch_all(&self.db),
        )
        .await
    }
}

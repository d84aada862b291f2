//! The queries of [`SqlNotificationStore`], written once for both databases:
//! numbered `$n` parameters work on PostgreSQL and on SQLite, and the schema
//! differences live in the per-database migrations.

use super::{SqlNotificationStore, StoreError, StoreResult};
use crate::domain::{Draft, Kind, KnownUser, Notification, Revision};
use chrono::{DateTime, Utc};
use kit::db::{On, Tx, placeholders, query, query_as, query_scalar, timed};
use kit::read_model::Users;
use std::collections::HashMap;

const SERVICE: &str = crate::SERVICE;
/// The users read model, in kit's shape.
const KNOWN_USERS: Users = Users::new(SERVICE, "known_users");
const COLUMNS: &str = "id, user_id, seq, kind, title, body, data, is_read, created_at";

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: i64,
    user_id: i64,
    seq: i64,
    kind: String,
    title: String,
    body: String,
    data: String,
    is_read: bool,
    created_at: DateTime<Utc>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;

    fn try_from(r: NotificationRow) -> StoreResult<Self> {
        let kind = Kind::parse(&r.kind).ok_or_else(|| {
            StoreError::Corrupt(format!("unknown kind `{}` (id {})", r.kind, r.id))
        })?;
        let data = serde_json::from_str(&r.data)
            .map_err(|e| StoreError::Corrupt(format!("data of id {} is not JSON: {e}", r.id)))?;
        Ok(Self {
            id: r.id,
            user_id: r.user_id,
            seq: r.seq,
            kind,
            title: r.title,
            body: r.body,
            data,
            is_read: r.is_read,
            created_at: r.created_at,
        })
    }
}

fn convert(rows: Vec<NotificationRow>) -> StoreResult<Vec<Notification>> {
    rows.into_iter().map(Notification::try_from).collect()
}

#[derive(sqlx::FromRow)]
struct UserRow {
    user_id: i64,
    username: String,
    display_name: Option<String>,
}

impl SqlNotificationStore {
    /// Records (or refreshes) a user's names.
    pub async fn upsert_user(&self, on: impl Into<On<'_>>, user: &KnownUser) -> StoreResult<()> {
        let display_name = user.display_name.as_deref();
        KNOWN_USERS
            .upsert(on, user.user_id, &user.username, display_name)
            .await?;
        Ok(())
    }

    /// The known users among `ids`.
    pub async fn users(&self, ids: &[i64]) -> StoreResult<HashMap<i64, KnownUser>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT user_id, username, display_name FROM known_users WHERE user_id IN ({})",
            placeholders(1, ids.len())
        );
        let select = ids
            .iter()
            .fold(query_as::<UserRow>(&sql), |q, id| q.bind(*id));
        let rows = timed(SERVICE, "select_known_users", select.fetch_all(&self.db)).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.user_id,
                    KnownUser {
                        user_id: r.user_id,
                        username: r.username,
                        display_name: r.display_name,
                    },
                )
            })
            .collect())
    }

    /// Recipients already notified by (an earlier delivery of) this event.
    pub async fn delivered(&self, source_event_id: &str) -> StoreResult<Vec<i64>> {
        let done = timed(
            SERVICE,
            "select_delivered",
            query_scalar("SELECT user_id FROM notifications WHERE source_event_id = $1")
                .bind(source_event_id)
                .fetch_all(&self.db),
        )
        .await?;
        Ok(done)
    }

    /// Stores `draft` as the next notification of its recipient (taking the
    /// recipient's next seq). A second notification of one recipient from
    /// one event violates a unique constraint.
    pub async fn insert(
        &self,
        tx: &mut Tx,
        source_event_id: &str,
        draft: &Draft,
    ) -> StoreResult<Notification> {
        let seq: i64 = timed(
            SERVICE,
            "next_seq",
            query_scalar(
                "INSERT INTO notification_counters (user_id, last_seq) VALUES ($1, 1) \
                 ON CONFLICT (user_id) DO UPDATE SET last_seq = notification_counters.last_seq + 1 \
                 RETURNING last_seq",
            )
            .bind(draft.user_id)
            .fetch_one(&mut *tx),
        )
        .await?;
        let data = serde_json::to_string(&draft.data)
            .map_err(|e| StoreError::Corrupt(format!("data does not serialize: {e}")))?;
        let sql = format!(
            "INSERT INTO notifications (user_id, seq, kind, title, body, data, is_read, source_event_id, created_at, message_id, quote_seq) \
             VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $8, $9, $10) RETURNING {COLUMNS}"
        );
        let quote = draft.quotes.as_ref();
        let row = timed(
            SERVICE,
            "insert_notification",
            query_as::<NotificationRow>(&sql)
                .bind(draft.user_id)
                .bind(seq)
                .bind(draft.kind.as_str())
                .bind(&draft.title)
                .bind(&draft.body)
                .bind(data)
                .bind(source_event_id)
                .bind(Utc::now())
                .bind(quote.map(|q| q.message_id.as_str()))
                .bind(quote.map(|q| q.seq))
                .fetch_one(tx),
        )
        .await?;
        Notification::try_from(row)
    }

    /// Rewrites the body of every notification quoting the revised message,
    /// unless it already shows a text as new as the revision (a late or
    /// repeated edit never undoes a later edit or a delete); returns how many
    /// changed.
    pub async fn revise_quotes(&self, revision: &Revision) -> StoreResult<u64> {
        let done = timed(
            SERVICE,
            "revise_quotes",
            query(
                "UPDATE notifications SET body = $1, quote_seq = $2 \
             WHERE message_id = $3 AND (quote_seq IS NULL OR quote_seq < $2)",
            )
            .bind(&revision.body)
            .bind(revision.seq)
            .bind(&revision.message_id)
            .execute(&self.db),
        )
        .await?;
        Ok(done)
    }

    /// A user's notifications, newest first, with ids below `before`.
    pub async fn list(
        &self,
        user_id: i64,
        unread_only: bool,
        limit: u32,
        before: Option<i64>,
    ) -> StoreResult<Vec<Notification>> {
        let mut sql = format!("SELECT {COLUMNS} FROM notifications WHERE user_id = $1");
        if unread_only {
            sql.push_str(" AND is_read = FALSE");
        }
        if before.is_some() {
            sql.push_str(" AND id < $3");
        }
        sql.push_str(" ORDER BY id DESC LIMIT $2");
        let mut query = query_as::<NotificationRow>(&sql)
            .bind(user_id)
            .bind(i64::from(limit));
        if let Some(before) = before {
            query = query.bind(before);
        }
        let rows = timed(SERVICE, "list_notifications", query.fetch_all(&self.db)).await?;
        convert(rows)
    }

    pub async fn unread_count(&self, user_id: i64) -> StoreResult<i64> {
        let n = timed(
            SERVICE,
            "count_unread",
            query_scalar(
                "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND is_read = FALSE",
            )
            .bind(user_id)
            .fetch_one(&self.db),
        )
        .await?;
        Ok(n)
    }

    /// Marks these of the user's notifications read; returns how many were unread.
    pub async fn mark_read(&self, user_id: i64, ids: &[i64]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "UPDATE notifications SET is_read = TRUE, read_at = $1 \
             WHERE user_id = $2 AND is_read = FALSE AND id IN ({})",
            placeholders(3, ids.len())
        );
        let update = query(&sql).bind(Utc::now()).bind(user_id);
        let update = ids.iter().fold(update, |q, id| q.bind(*id));
        let done = timed(SERVICE, "mark_read", update.execute(&self.db)).await?;
        Ok(done)
    }

    /// Marks all of the user's notifications read; returns how many were unread.
    pub async fn mark_all_read(&self, user_id: i64) -> StoreResult<u64> {
        let done = timed(SERVICE, "mark_all_read", query(
            "UPDATE notifications SET is_read = TRUE, read_at = $2 WHERE user_id = $1 AND is_read = FALSE",
        )
        .bind(user_id)
        .bind(Utc::now())
        .execute(&self.db))
        .await?;
        Ok(done)
    }

    /// The newest seq of a user's stream (0 before the first notification).
    pub async fn last_seq(&self, user_id: i64) -> StoreResult<i64> {
        let seq: Option<i64> = timed(
            SERVICE,
            "select_last_seq",
            query_scalar("SELECT last_seq FROM notification_counters WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.db),
        )
        .await?;
        Ok(seq.unwrap_or(0))
    }

    /// A user's notifications with `seq > after`, in seq order (SSE backlog).
    pub async fn after_seq(
        &self,
        user_id: i64,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notifications WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        let rows = timed(
            SERVICE,
            "notifications_after_seq",
            query_as::<NotificationRow>(&sql)
                .bind(user_id)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.db),
        )
        .await?;
        convert(rows)
    }
}

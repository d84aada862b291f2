//! The caller's notifications: a page of them, the unread count, marking
//! read, and the live stream that resumes from `Last-Event-ID`. Every query
//! is scoped to the caller: another user's notification is
//! indistinguishable from one that does not exist.

use super::Result;
use crate::Notifications;
use crate::domain::{self, Cursor, Notification, NotificationView, ReadTarget};
use axum::response::IntoResponse;
use kit::sse::{Item, Session, StreamSpec};

/// SSE event name of a new notification.
pub const SSE_EVENT: &str = "notification.created";

/// Most notifications one SSE catch-up reads at once; the stream re-reads
/// when it notices it is still behind.
const BACKLOG_MAX: u32 = 1000;

/// One page of a listing, newest first.
pub struct Page {
    pub notifications: Vec<Notification>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The SSE item of a stored notification.
fn sse_item(n: &Notification) -> Item {
    Item {
        seq: n.seq,
        event: SSE_EVENT.to_owned(),
        data: serde_json::to_string(&NotificationView::from(n)).unwrap_or_default(),
    }
}

impl Notifications {
    /// The user's notifications, newest first, from the raw query values.
    pub async fn list(
        &self,
        user_id: i64,
        unread_only: Option<&str>,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page> {
        let unread_only = domain::flag("unread_only", unread_only)?;
        let limit = domain::limit(limit)?;
        let cursor = Cursor::parse(cursor)?;
        // One extra row tells whether another page follows.
        let mut found = self
            .store
            .list(user_id, unread_only, limit + 1, cursor.map(|c| c.0))
            .await?;
        let more = found.len() > limit as usize;
        found.truncate(limit as usize);
        let next_cursor = more
            .then(|| found.last().map(|n| Cursor(n.id).encode()))
            .flatten();
        Ok(Page {
            notifications: found,
            next_cursor,
        })
    }

    pub async fn unread_count(&self, user_id: i64) -> Result<i64> {
        Ok(self.store.unread_count(user_id).await?)
    }

    /// Marks some (`ids`) or all (`all: true`) of the user's notifications
    /// read; returns how many went from unread to read.
    pub async fn mark_read(
        &self,
        user_id: i64,
        ids: Option<Vec<i64>>,
        all: Option<bool>,
    ) -> Result<u64> {
        let read = match domain::read_target(ids, all)? {
            ReadTarget::All => self.store.mark_all_read(user_id).await?,
            ReadTarget::Ids(ids) => self.store.mark_read(user_id, &ids).await?,
        };
        Ok(read)
    }

    /// New notifications of the user as server-sent events, after what
    /// `last_event_id` says the client has, for as long as `session` lasts.
    pub async fn stream(
        &self,
        user_id: i64,
        mut last_event_id: Option<i64>,
        session: Session,
    ) -> Result<impl IntoResponse + use<>> {
        // Subscribe before reading the backlog, so nothing falls in between.
        let live = self.hub.subscribe(&user_id);
        // An id from the future (another deployment, a reset database) would
        // hide every new notification up to it: resume from the newest instead.
        if let Some(last) = last_event_id {
            last_event_id = Some(last.min(self.store.last_seq(user_id).await?));
        }
        let store = self.store.clone();
        let backlog = move |after: i64| {
            let store = store.clone();
            async move {
                store
                    .after_seq(user_id, after, BACKLOG_MAX)
                    .await
                    .map(|found| found.iter().map(sse_item).collect())
                    .map_err(|e| e.to_string())
            }
        };
        let spec = StreamSpec {
            service: crate::SERVICE,
            stream: "notifications",
            contiguous: true,
            keep_alive: self.keep_alive,
        };
        Ok(kit::sse::resumable(
            spec,
            live,
            last_event_id,
            backlog,
            self.shutdown.clone(),
            session,
        ))
    }
}

//! Presence: heartbeats and the sweep that turns expired ones into offline
//! transitions (each logged and announced as `UserOnlineStatusChanged`),
//! statuses of a user and of a user's friends, the resumable stream of
//! friends' changes, and the friendships read model fed by friend.events.

use super::{Error, Result, SOURCE, UserStatus};
use crate::Users;
use crate::store::PresenceChange;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use contracts::{Contract, UserOnlineStatusChanged};
use kit::events::Event;
use kit::sse::{Item, Session, StreamSpec};
use serde_json::json;
use std::time::Duration;

/// SSE event name of a friend's status change.
const STATUS_EVENT: &str = "status.changed";
/// Most changes one stream catch-up reads.
const BACKLOG_MAX: i64 = 1000;
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The SSE item of one transition.
fn status_item(change: &PresenceChange) -> Item {
    let data = json!({ "user_id": change.user_id, "is_online": change.is_online, "last_seen_at": change.changed_at });
    Item {
        seq: change.seq,
        event: STATUS_EVENT.into(),
        data: data.to_string(),
    }
}

impl Users {
    /// Marks the user online for the presence TTL; coming online is a
    /// transition, staying online only refreshes `last_seen_at`. Returns
    /// the time of the heartbeat.
    pub async fn heartbeat(&self, user_id: i64) -> Result<DateTime<Utc>> {
        let now = Utc::now();
        let came_online = self
            .presence
            .heartbeat(user_id, self.presence_ttl)
            .await
            .map_err(|e| Error::Unavailable(format!("presence unavailable: {e}")))?;
        if came_online {
            self.record_presence(user_id, true, now).await?;
        } else {
            self.store.touch_last_seen(&self.db, user_id, now).await?;
            self.changed(user_id).await;
        }
        Ok(now)
    }

    /// Logs a transition and announces it, in one unit of work.
    async fn record_presence(
        &self,
        user_id: i64,
        is_online: bool,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let seq = self
            .store
            .record_presence(&mut tx, user_id, is_online, at)
            .await?;
        let changed = UserOnlineStatusChanged {
            user_id,
            is_online,
            last_seen_at: Some(at),
            seq,
        };
        let event = Event::of(SOURCE, user_id, &changed);
        tx.enqueue(UserOnlineStatusChanged::TOPIC, &event).await?;
        tx.commit().await?;
        self.changed(user_id).await;
        Ok(())
    }

    /// Turns the presences that expired since the last sweep into offline
    /// transitions; a failure is logged and the sweep goes on.
    pub async fn sweep_presence(&self) {
        let expired = match self.presence.take_expired().await {
            Ok(ids) => ids,
            Err(err) => return tracing::warn!(error = %err, "presence sweep failed"),
        };
        for user_id in expired {
            if let Err(err) = self.record_presence(user_id, false, Utc::now()).await {
                tracing::warn!(user_id, error = %err, "could not record going offline");
            }
        }
    }

    /// A user's status.
    pub async fn user_status(&self, user_id: i64) -> Result<UserStatus> {
        self.status_of(user_id, Error::UserNotFound).await
    }

    /// The statuses of the user's friends.
    pub async fn friends_status(&self, user_id: i64) -> Result<Vec<UserStatus>> {
        let ids = self.store.friend_ids(user_id).await?;
        let friends = self.lookup.get_many(&ids).await?;
        self.with_status(friends).await
    }

    /// The live stream of `viewer`'s friends' transitions, resuming after
    /// `last_event_id` from the logged ones, for as long as `session` lasts.
    pub fn status_stream(
        &self,
        viewer: i64,
        last_event_id: Option<i64>,
        session: Session,
    ) -> impl IntoResponse + use<> {
        // Subscribe before reading the backlog, so nothing falls in between.
        let live = self.status_hub.subscribe(&viewer);
        let store = self.store.clone();
        let backlog = move |after: i64| {
            let store = store.clone();
            async move {
                let changes = store
                    .friend_presence_changes(viewer, after, BACKLOG_MAX)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(changes.iter().map(status_item).collect())
            }
        };
        let spec = StreamSpec {
            service: SOURCE,
            stream: "online_status",
            contiguous: false,
            keep_alive: KEEP_ALIVE,
        };
        kit::sse::resumable(
            spec,
            live,
            last_event_id,
            backlog,
            self.ctx.shutdown.clone(),
            session,
        )
    }

    /// A transition (from any instance) reaches the streams of the changed
    /// user's friends in this process.
    pub async fn status_changed(&self, change: &PresenceChange) -> Result<()> {
        let friends = self.store.friend_ids(change.user_id).await?;
        let item = status_item(change);
        for friend in friends {
            self.status_hub.publish(&friend, item.clone());
        }
        Ok(())
    }

    /// Records (`friends`) or removes an accepted friendship between `a`
    /// and `b` in the read model.
    pub async fn record_friendship(&self, a: i64, b: i64, friends: bool) -> Result<()> {
        let mut tx = self.db.begin().await?;
        self.store.set_friends(&mut tx, a, b, friends).await?;
        tx.commit().await?;
        Ok(())
    }
}

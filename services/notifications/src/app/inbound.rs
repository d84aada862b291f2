//! What other services' events do here: `user.events` keep the users read
//! model (names for notification texts), and a friend request sent or
//! accepted or a message sent becomes notifications, each written with its
//! `NotificationCreated` event in one unit of work; a message edited or
//! deleted rewrites or redacts the notifications that quote it. Every use
//! case is idempotent: a redelivered event notifies nobody twice.

use super::Result;
use crate::Notifications;
use crate::domain::{self, Draft, NotificationView};
use contracts::{
    Contract, FriendRequestAccepted, FriendRequestSent, MessageDeleted, MessageEdited, MessageSent,
    NotificationCreated, NotificationPayload, UserProfileUpdated, UserRegistered,
};
use kit::db::timed;
use kit::events::Event;

impl Notifications {
    pub async fn user_registered(&self, e: &UserRegistered) -> Result<()> {
        let kind = UserRegistered::KIND;
        self.record_user(kind, e.user_id, &e.username, e.display_name.as_deref())
            .await
    }

    pub async fn user_profile_updated(&self, e: &UserProfileUpdated) -> Result<()> {
        let kind = UserProfileUpdated::KIND;
        self.record_user(kind, e.user_id, &e.username, e.display_name.as_deref())
            .await
    }

    async fn record_user(
        &self,
        kind: &str,
        user_id: i64,
        username: &str,
        display_name: Option<&str>,
    ) -> Result<()> {
        let user = domain::known_user(kind, user_id, username, display_name)?;
        self.store.upsert_user(&self.db, &user).await?;
        Ok(())
    }

    /// The addressee hears of the request.
    pub async fn friend_request_sent(&self, event_id: &str, r: &FriendRequestSent) -> Result<()> {
        let name = self.name(r.requester_id).await?;
        let draft = domain::friend_request(
            r.friendship_id,
            r.requester_id,
            r.addressee_id,
            &name,
            r.message.as_deref(),
        )?;
        self.deliver(event_id, FriendRequestSent::KIND, &[draft])
            .await
    }

    /// The requester hears their request was accepted.
    pub async fn friend_request_accepted(
        &self,
        event_id: &str,
        r: &FriendRequestAccepted,
    ) -> Result<()> {
        let name = self.name(r.addressee_id).await?;
        let draft =
            domain::friend_accepted(r.friendship_id, r.requester_id, r.addressee_id, &name)?;
        self.deliver(event_id, FriendRequestAccepted::KIND, &[draft])
            .await
    }

    /// Members who are not the sender and not watching the room hear of it.
    pub async fn message_sent(&self, event_id: &str, m: &MessageSent) -> Result<()> {
        let sent = domain::SentMessage {
            room_id: m.room_id,
            room_type: &m.room_type,
            seq: m.seq,
            sender_id: m.sender_id,
            message_id: &m.message.id,
            content: &m.message.content,
        };
        let recipients =
            domain::message_recipients(&m.member_ids, m.sender_id, &m.streaming_user_ids);
        let name = self.name(m.sender_id).await?;
        let drafts = domain::message(&sent, &name, &recipients)?;
        self.deliver(event_id, MessageSent::KIND, &drafts).await
    }

    /// Notifications quoting the message show its new text. Message events
    /// of a room travel in order (the room is their partition key), so the
    /// notification an edit concerns is already stored; a late edit never
    /// overwrites a newer text or a redaction (the store compares seqs).
    pub async fn message_edited(&self, m: &MessageEdited) -> Result<()> {
        let revision = domain::edited(&m.message.id, m.seq, &m.message.content)?;
        let revised = self.store.revise_quotes(&revision).await?;
        tracing::debug!(revised, "notifications quoting an edited message rewritten");
        Ok(())
    }

    /// Notifications quoting the message no longer show its text.
    pub async fn message_deleted(&self, m: &MessageDeleted) -> Result<()> {
        let revision = domain::deleted(&m.message.id, m.seq)?;
        let revised = self.store.revise_quotes(&revision).await?;
        tracing::debug!(revised, "notifications quoting a deleted message redacted");
        Ok(())
    }

    /// How `user_id` is named in texts (a neutral word while unknown).
    pub(super) async fn name(&self, user_id: i64) -> Result<String> {
        let users = self.store.users(&[user_id]).await?;
        Ok(domain::name_of(users.get(&user_id)))
    }

    /// Stores the notifications one event produced, each with the next seq
    /// of its recipient and a `NotificationCreated` event, in one unit of
    /// work. Recipients who already have one from this event are skipped.
    pub(super) async fn deliver(&self, event_id: &str, kind: &str, drafts: &[Draft]) -> Result<()> {
        if drafts.is_empty() {
            return Ok(());
        }
        // Read before the transaction so that it starts with a write (SQLite
        // then takes its write lock up front); a concurrent delivery racing
        // past this check hits the unique constraint and the whole
        // transaction is retried.
        let delivered = self.store.delivered(event_id).await?;
        let todo = domain::undelivered(drafts, &delivered);
        if todo.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        for draft in &todo {
            let notification = self.store.insert(&mut tx, event_id, draft).await?;
            let view = NotificationView::from(&notification);
            let created = NotificationCreated {
                user_id: notification.user_id,
                seq: notification.seq,
                notification: NotificationPayload {
                    id: view.id,
                    kind: view.kind.as_str().to_owned(),
                    title: view.title,
                    body: view.body,
                    data: view.data,
                    is_read: view.is_read,
                    created_at: view.created_at,
                },
            };
            let event = Event::of(crate::SERVICE, notification.user_id, &created);
            let enqueue = tx.enqueue(NotificationCreated::TOPIC, &event);
            timed(crate::SERVICE, "enqueue_event", enqueue).await?;
        }
        tx.commit().await?;
        tracing::debug!(count = todo.len(), kind, "notifications created");
        Ok(())
    }
}

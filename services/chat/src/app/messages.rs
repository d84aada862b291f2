//! Messages: send, page through, edit, delete (author only), read receipts
//! and unread counts. Every change to a room's messages is numbered by the
//! room's seq, logged for its stream and announced on `message.events` in
//! the same unit of work.

use super::{App, ChatResult, announce};
use crate::domain::{self, Message, Refusal};
use crate::events::{MESSAGE_CREATED, MESSAGE_DELETED, MESSAGE_UPDATED};
use crate::store::{self, read_models, room_log};
use kit::events::topics::MESSAGE_EVENTS;
use serde::Serialize;
use utoipa::ToSchema;

/// A page of a room's messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    /// Oldest first.
    pub messages: Vec<Message>,
    pub total_count: i64,
    /// Whether older messages remain.
    pub has_more: bool,
}

impl App {
    /// Sends `content` (of `message_type`, default text) from `sender` to a
    /// room they are in, unless a block stands in the way.
    pub async fn send(
        &self,
        sender: i64,
        room_id: i64,
        content: &str,
        message_type: Option<&str>,
    ) -> ChatResult<Message> {
        let content = domain::content(content)?;
        let message_type = domain::message_type(message_type)?;
        let room = self.member_room(room_id, sender).await?;
        let member_ids = store::rooms::member_ids(&self.db, room.id).await?;
        let scope = domain::block_scope(room.room_type, sender, &member_ids);
        domain::may_send(read_models::blocked_between(&self.db, sender, &scope).await?)?;
        let streaming = self.streaming.watching(room.id, &member_ids).await;
        let now = domain::now();
        let message = Message {
            id: uuid::Uuid::new_v4().simple().to_string(),
            user_id: sender,
            room_id: room.id,
            room_type: room.room_type,
            content,
            message_type,
            is_deleted: false,
            is_edited: false,
            created_at: now,
            updated_at: now,
            edited_at: None,
            deleted_at: None,
        };
        let mut tx = self.db.begin().await?;
        let seq = store::rooms::bump_seq(&mut tx, room.id, Some((&message.id, now))).await?;
        store::messages::insert(&mut tx, &message, seq).await?;
        room_log::append(&mut tx, seq, MESSAGE_CREATED, &message).await?;
        let event = announce::message_sent(&message, seq, &member_ids, &streaming);
        tx.enqueue(MESSAGE_EVENTS, &event).await?;
        tx.commit().await?;
        Ok(message)
    }

    /// A page of a room's messages (members only): the `limit` (1-100,
    /// default 50) newest after skipping `skip`, oldest first.
    pub async fn messages(
        &self,
        user: i64,
        room_id: i64,
        skip: Option<i64>,
        limit: Option<i64>,
    ) -> ChatResult<MessagePage> {
        let (skip, limit) = domain::page(skip, limit, 50, 100)?;
        let room = self.member_room(room_id, user).await?;
        let (messages, total_count) = store::messages::page(&self.db, room.id, skip, limit).await?;
        let has_more = skip.saturating_add(messages.len() as i64) < total_count;
        Ok(MessagePage {
            messages,
            total_count,
            has_more,
        })
    }

    /// Replaces the content of one of `user`'s messages.
    pub async fn edit(&self, user: i64, message_id: &str, content: &str) -> ChatResult<Message> {
        let content = domain::content(content)?;
        let message = self.own_message(user, message_id).await?;
        domain::may_edit(&message)?;
        let now = domain::now();
        let mut tx = self.db.begin().await?;
        let seq = store::rooms::bump_seq(&mut tx, message.room_id, None).await?;
        if !store::messages::edit(&mut tx, &message.id, &content, now).await? {
            // Deleted since it was loaded.
            tx.rollback().await?;
            return Err(Refusal::Deleted.into());
        }
        let edited = Message {
            content,
            is_edited: true,
            updated_at: now,
            edited_at: Some(now),
            ..message
        };
        room_log::append(&mut tx, seq, MESSAGE_UPDATED, &edited).await?;
        tx.enqueue(MESSAGE_EVENTS, &announce::message_edited(&edited, seq))
            .await?;
        tx.commit().await?;
        Ok(edited)
    }

    /// Soft-deletes one of `user`'s messages: it stays, what it said does not
    /// (not in a stream replay either). Deleting twice changes nothing.
    pub async fn delete(&self, user: i64, message_id: &str) -> ChatResult<Message> {
        let message = self.own_message(user, message_id).await?;
        let now = domain::now();
        let mut tx = self.db.begin().await?;
        let seq = store::rooms::bump_seq(&mut tx, message.room_id, None).await?;
        if !store::messages::delete(&mut tx, &message.id, now).await? {
            // Already deleted: nothing to tell anybody (and no seq used).
            tx.rollback().await?;
            return store::messages::by_id(&self.db, &message.id)
                .await?
                .ok_or(Refusal::Deleted.into());
        }
        let deleted = Message {
            is_deleted: true,
            updated_at: now,
            deleted_at: Some(now),
            ..message
        }
        .hidden();
        room_log::rewrite(&mut tx, &deleted).await?;
        room_log::append(&mut tx, seq, MESSAGE_DELETED, &deleted).await?;
        tx.enqueue(MESSAGE_EVENTS, &announce::message_deleted(&deleted, seq))
            .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Marks `message_ids` of a room `user` is in as read by them (ids of
    /// other rooms, own or deleted messages are ignored); returns how many
    /// were not read before, and announces those.
    pub async fn mark_read(
        &self,
        user: i64,
        room_id: i64,
        message_ids: Vec<String>,
    ) -> ChatResult<u64> {
        let ids = domain::read_ids(message_ids)?;
        let room = self.member_room(room_id, user).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db.begin().await?;
        let marked = store::reads::mark(&mut tx, user, room.id, &ids).await?;
        if !marked.is_empty() {
            let event = announce::messages_read(room.id, user, &marked);
            tx.enqueue(MESSAGE_EVENTS, &event).await?;
        }
        tx.commit().await?;
        Ok(marked.len() as u64)
    }

    /// How many messages by others in a room `user` is in they have not read.
    pub async fn unread_count(&self, user: i64, room_id: i64) -> ChatResult<i64> {
        let room = self.member_room(room_id, user).await?;
        let counts = store::reads::unread_counts(&self.db, user, &[room.id]).await?;
        Ok(counts.get(&room.id).copied().unwrap_or(0))
    }

    /// A message `user` wrote, in a room they are in.
    async fn own_message(&self, user: i64, message_id: &str) -> ChatResult<Message> {
        if !domain::plausible_message_id(message_id) {
            return Err(Refusal::MessageNotFound.into());
        }
        let message = store::messages::by_id(&self.db, message_id).await?;
        let in_room = match &message {
            Some(m) => store::rooms::for_member(&self.db, m.room_id, user)
                .await?
                .is_some(),
            None => false,
        };
        Ok(domain::may_change(user, message, in_room)?)
    }
}

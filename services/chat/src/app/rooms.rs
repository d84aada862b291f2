//! Rooms: the caller's list, get-or-create of a direct room, new groups, one
//! room, and opening a room's stream. Rooms are visible to their members only.

use super::{App, ChatResult, announce};
use crate::domain::{self, Message, Participant, PeerFacts, Refusal, Room, RoomType};
use crate::events::StreamingGuard;
use crate::store::{self, rooms::NewRoom};
use chrono::{DateTime, Utc};
use kit::events::topics::CHAT_EVENTS;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast;
use utoipa::ToSchema;

/// A room as its members see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomView {
    pub id: i64,
    /// The pair of a direct room, smaller id first; null for groups.
    pub user_1_id: Option<i64>,
    pub user_2_id: Option<i64>,
    pub room_type: RoomType,
    /// A group's name; null for direct rooms.
    pub name: Option<String>,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub participants: Vec<Participant>,
    pub last_message: Option<Message>,
    /// Messages by others the caller has not read.
    pub unread_count: i64,
}

/// A room stream the caller may read: its live items, where to resume, and
/// the guard that counts the caller as watching the room while it is kept.
pub struct OpenStream {
    pub room_id: i64,
    pub live: broadcast::Receiver<Arc<kit::sse::Item>>,
    /// The client's `Last-Event-ID`, never past the room's last event.
    pub resume_after: Option<i64>,
    pub watching: StreamingGuard,
}

impl App {
    /// `user`'s rooms, most recent activity first (`skip` ≥ 0, `limit` 1-100,
    /// default 20).
    pub async fn rooms(
        &self,
        user: i64,
        skip: Option<i64>,
        limit: Option<i64>,
    ) -> ChatResult<Vec<RoomView>> {
        let (skip, limit) = domain::page(skip, limit, 20, 100)?;
        let rooms = store::rooms::of_user(&self.db, user, skip, limit).await?;
        self.views(user, rooms).await
    }

    /// One room, if `user` is a member.
    pub async fn room(&self, user: i64, room_id: i64) -> ChatResult<RoomView> {
        let room = self.member_room(room_id, user).await?;
        self.view(user, room).await
    }

    /// The direct room of `caller` and `other`, created (and announced) on
    /// first use. `token` is the caller's, for asking the owners of users
    /// and blocks.
    pub async fn direct_room(&self, caller: i64, token: &str, other: i64) -> ChatResult<RoomView> {
        let (user_1, user_2) = domain::direct_pair(caller, other)?;
        let unknown = self.first_unknown(&[other], token).await?;
        let facts = PeerFacts {
            unknown,
            // Only asked once the other is known, as unknown users come first.
            blocked: unknown.is_none() && self.blocked_now(caller, token, &[other]).await?,
        };
        domain::may_open_direct(&facts)?;
        if let Some(room) = store::rooms::direct(&self.db, user_1, user_2).await? {
            return self.view(caller, room).await;
        }
        let new = NewRoom {
            room_type: RoomType::Direct,
            name: None,
            pair: Some((user_1, user_2)),
            created_by: caller,
            at: domain::now(),
        };
        let room = match self.create_room(new, &[user_1, user_2]).await? {
            Some(room) => room,
            // Somebody else created it meanwhile: theirs is the one.
            None => store::rooms::direct(&self.db, user_1, user_2)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?,
        };
        self.view(caller, room).await
    }

    /// A new group of `creator` and `member_ids` named `name`, announced.
    pub async fn create_group(
        &self,
        creator: i64,
        token: &str,
        name: &str,
        member_ids: &[i64],
    ) -> ChatResult<RoomView> {
        let name = domain::group_name(name)?;
        let members = domain::group_members(creator, member_ids)?;
        let others = &members[1..];
        let unknown = self.first_unknown(others, token).await?;
        let facts = PeerFacts {
            unknown,
            // Only asked once everybody is known, as unknown users come first.
            blocked: unknown.is_none() && self.blocked_now(creator, token, others).await?,
        };
        domain::may_create_group(&facts)?;
        let new = NewRoom {
            room_type: RoomType::Group,
            name: Some(&name),
            pair: None,
            created_by: creator,
            at: domain::now(),
        };
        let room = self
            .create_room(new, &members)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        self.view(creator, room).await
    }

    /// Inserts a room with its members and announces it, in one unit of
    /// work; `None` (nothing written) when the pair of a direct room has one.
    async fn create_room(&self, new: NewRoom<'_>, members: &[i64]) -> ChatResult<Option<Room>> {
        let at = new.at;
        let mut tx = self.db.begin().await?;
        let Some(room) = store::rooms::insert(&mut tx, new).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        store::rooms::add_members(&mut tx, room.id, members, at).await?;
        tx.enqueue(CHAT_EVENTS, &announce::room_created(&room, members))
            .await?;
        tx.commit().await?;
        Ok(Some(room))
    }

    /// Opens `user`'s stream of a room they are in, resuming after
    /// `last_event_id`; the caller reads the backlog with [`App::room_log`].
    pub async fn open_stream(
        &self,
        user: i64,
        room_id: i64,
        last_event_id: Option<i64>,
    ) -> ChatResult<OpenStream> {
        let room = self.member_room(room_id, user).await?;
        // An id from the future (another room's, an old database's) would hide
        // every event up to it: resume from the present instead.
        let resume_after = last_event_id.map(|id| id.min(room.last_seq));
        // Subscribed before the backlog is read and before the user counts as
        // watching, so no message falls in between unseen.
        let live = self.hub.subscribe(&room.id);
        let watching = self.streaming.open(room.id, user).await;
        Ok(OpenStream {
            room_id: room.id,
            live,
            resume_after,
            watching,
        })
    }

    /// The room's stream events after seq `after`, in order.
    pub async fn room_log(&self, room_id: i64, after: i64) -> ChatResult<Vec<kit::sse::Item>> {
        Ok(store::room_log::after(&self.db, room_id, after).await?)
    }

    /// Rooms with their participants, last message and `user`'s unread count.
    async fn views(&self, user: i64, rooms: Vec<Room>) -> ChatResult<Vec<RoomView>> {
        let ids: Vec<i64> = rooms.iter().map(|r| r.id).collect();
        let last_ids: Vec<String> = rooms
            .iter()
            .filter_map(|r| r.last_message_id.clone())
            .collect();
        let mut participants = store::rooms::participants(&self.db, &ids).await?;
        let mut last: HashMap<String, Message> = store::messages::by_ids(&self.db, &last_ids)
            .await?
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect();
        let unread = store::reads::unread_counts(&self.db, user, &ids).await?;
        Ok(rooms
            .into_iter()
            .map(|room| RoomView {
                participants: participants.remove(&room.id).unwrap_or_default(),
                last_message: room.last_message_id.as_ref().and_then(|id| last.remove(id)),
                unread_count: unread.get(&room.id).copied().unwrap_or(0),
                id: room.id,
                user_1_id: room.user_1_id,
                user_2_id: room.user_2_id,
                room_type: room.room_type,
                name: room.name,
                created_by: room.created_by,
                created_at: room.created_at,
                updated_at: room.updated_at,
            })
            .collect())
    }

    async fn view(&self, user: i64, room: Room) -> ChatResult<RoomView> {
        self.views(user, vec![room])
            .await?
            .pop()
            .ok_or(Refusal::RoomNotFound.into())
    }
}

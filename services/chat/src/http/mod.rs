//! HTTP surface of the chat service (SPEC §2, chat table).
//!
//! Rooms are visible to their members only: for anybody else a room, its
//! messages and its stream do not exist (404, never 403, so ids reveal
//! nothing). Within a room, only a message's author may edit or delete it (403).

mod messages;
mod rooms;
mod stream;

use crate::Chat;
use crate::domain::{self, Message, Participant, Room, RoomType};
use axum::Router;
use chrono::{DateTime, Utc};
use kit::ApiError;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

kit::handler_state!(
    /// Handler state: the service, cheap to clone.
    pub AppState(Chat)
);

pub fn router(chat: Arc<Chat>) -> (Router, utoipa::openapi::OpenApi) {
    let (router, openapi) = OpenApiRouter::new()
        .routes(routes!(rooms::list))
        .routes(routes!(rooms::check))
        .routes(routes!(rooms::get_room))
        .routes(routes!(rooms::create_group))
        .routes(routes!(messages::mark_read))
        .routes(routes!(messages::unread_count))
        .routes(routes!(
            messages::send,
            messages::list,
            messages::edit,
            messages::delete
        ))
        .routes(routes!(stream::stream))
        .with_state(AppState(chat))
        .split_for_parts();
    (router, openapi)
}

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

pub(crate) fn room_not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "ROOM_NOT_FOUND",
        "chat room not found",
    )
}

pub(crate) fn invalid(err: domain::Invalid) -> ApiError {
    ApiError::validation(err.0)
}

impl Chat {
    /// The room if `user` is a member, else 404.
    pub(crate) async fn member_room(&self, room_id: i64, user: i64) -> Result<Room, ApiError> {
        self.store
            .room_for(room_id, user)
            .await?
            .ok_or_else(room_not_found)
    }

    /// Rooms with their participants, last message and `user`'s unread count.
    pub(crate) async fn room_views(
        &self,
        user: i64,
        rooms: Vec<Room>,
    ) -> Result<Vec<RoomView>, ApiError> {
        let ids: Vec<i64> = rooms.iter().map(|r| r.id).collect();
        let last_ids: Vec<String> = rooms
            .iter()
            .filter_map(|r| r.last_message_id.clone())
            .collect();
        let mut participants = self.store.participants(&ids).await?;
        let mut last: HashMap<String, Message> = self
            .store
            .messages_by_id(&last_ids)
            .await?
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect();
        let unread = self.store.unread_counts(user, &ids).await?;
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

    pub(crate) async fn room_view(&self, user: i64, room: Room) -> Result<RoomView, ApiError> {
        self.room_views(user, vec![room])
            .await?
            .pop()
            .ok_or_else(room_not_found)
    }
}

//! HTTP surface of the chat service (SPEC §2, chat table): handlers extract
//! the request, call one use case of `app` and shape its answer.
//!
//! Rooms are visible to their members only: for anybody else a room, its
//! messages and its stream do not exist (404, never 403, so ids reveal
//! nothing). Within a room, only a message's author may edit or delete it (403).

mod messages;
mod rooms;
mod stream;

use crate::Chat;
use axum::Router;
use std::sync::Arc;
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

//! The SSE stream of a room: `message.created`, `message.updated` and
//! `message.deleted` with the room's seq as `id`, resumable from `Last-Event-ID`.

use super::AppState;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::Path;
use kit::sse::StreamSpec;

/// Live messages of a room (members only). Each event's `id` is the room's
/// event sequence number; reconnecting with `Last-Event-ID` replays exactly
/// what was missed.
#[utoipa::path(get, path = "/api/messages/stream/{room_id}", tag = "messages", security(("bearer" = [])),
    params(("room_id" = i64, Path), ("Last-Event-ID" = Option<i64>, Header, description = "resume after this event id")),
    responses((status = 200, content_type = "text/event-stream", description = "message.created / message.updated / message.deleted events"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn stream(
    state: AppState,
    user: AuthUser,
    Path(room_id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let last_event_id = kit::sse::last_event_id(&headers)?;
    let room = state.member_room(room_id, user.id).await?;
    // An id from the future (another room's, an old database's) would hide
    // every event up to it: resume from the present instead.
    let last_event_id = last_event_id.map(|id| id.min(room.last_seq));
    // Subscribe before the backlog is read, so nothing falls in between.
    let live = state.hub.subscribe(&room.id);
    let watching = state.streaming.open(room.id, user.id).await;
    let store = state.store.clone();
    let backlog = move |after: i64| {
        // The stream owns this closure, so the user counts as watching the
        // room exactly as long as the connection lives.
        let _watching = &watching;
        let store = store.clone();
        async move {
            store
                .events_after(room_id, after)
                .await
                .map_err(|e| e.to_string())
        }
    };
    Ok(kit::sse::resumable(
        StreamSpec {
            service: crate::SERVICE,
            stream: "room_messages",
            contiguous: true,
            keep_alive: state.keep_alive,
        },
        live,
        last_event_id,
        backlog,
        state.shutdown.clone(),
    ))
}

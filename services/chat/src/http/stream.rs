//! The SSE stream of a room: `message.created`, `message.updated` and
//! `message.deleted` with the room's seq as `id`, resumable from `Last-Event-ID`.

use super::AppState;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use kit::ApiResult;
use kit::auth::AuthUser;
use kit::error::ErrorBody;
use kit::extract::Path;
use kit::sse::{Session, StreamSpec};

/// Live messages of a room (members only). Each event's `id` is the room's
/// event sequence number; reconnecting with `Last-Event-ID` replays exactly
/// what was missed. The stream ends when the caller's token expires or is
/// revoked.
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
    let session = Session::of(&user, state.verifier.clone());
    let open = state
        .app
        .open_stream(user.id, room_id, last_event_id)
        .await?;
    let (app, watching, room_id) = (state.app.clone(), open.watching, open.room_id);
    let backlog = move |after: i64| {
        // The stream owns this closure, so the user counts as watching the
        // room exactly as long as the connection lives.
        let _watching = &watching;
        let app = app.clone();
        async move {
            app.room_log(room_id, after)
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
        open.live,
        open.resume_after,
        backlog,
        state.shutdown.clone(),
        session,
    ))
}

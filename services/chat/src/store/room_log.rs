//! Each room's stream log (`room_events`): what its SSE stream shows, under
//! the room's seq, so a reconnecting client replays exactly what it missed.

use super::encode;
use crate::SERVICE;
use crate::domain::{self, Message};
use kit::db::{On, Tx, query, query_as, timed};

/// Appends `message` as event `kind` (an SSE event name) at `seq`.
pub async fn append(
    tx: &mut Tx,
    seq: i64,
    kind: &str,
    message: &Message,
) -> Result<(), sqlx::Error> {
    timed(
        SERVICE,
        "insert_room_event",
        query(
            "INSERT INTO room_events (room_id, seq, event_type, message_id, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(message.room_id)
        .bind(seq)
        .bind(kind)
        .bind(&message.id)
        .bind(encode(message)?)
        .bind(domain::now())
        .execute(tx),
    )
    .await?;
    Ok(())
}

/// Rewrites every logged event of `message` with its current state (after a
/// delete, so what it said does not come back through a replay).
pub async fn rewrite(tx: &mut Tx, message: &Message) -> Result<(), sqlx::Error> {
    timed(
        SERVICE,
        "scrub_room_events",
        query("UPDATE room_events SET data = $2 WHERE message_id = $1")
            .bind(&message.id)
            .bind(encode(message)?)
            .execute(tx),
    )
    .await?;
    Ok(())
}

/// The room's events after seq `after`, in order.
pub async fn after(
    on: impl Into<On<'_>>,
    room_id: i64,
    after: i64,
) -> Result<Vec<kit::sse::Item>, sqlx::Error> {
    let rows: Vec<(i64, String, String)> = timed(SERVICE, "select_room_events", query_as(
        "SELECT seq, event_type, data FROM room_events WHERE room_id = $1 AND seq > $2 ORDER BY seq",
    )
    .bind(room_id)
    .bind(after)
    .fetch_all(on))
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, event, data)| kit::sse::Item { seq, event, data })
        .collect())
}

//! What chat consumes besides `user.events` and `friend.events` (which kit's
//! read-model consumers hand to chat's use cases): `message.events` into the
//! live room streams of this process, with the record of who streams which
//! room. What chat publishes is built by the use
//! cases (`app::announce`).

mod consumers;
mod streaming;

pub use consumers::LiveRooms;
pub use streaming::{InMemoryStreaming, RedisStreaming, Streaming, StreamingGuard};

/// SSE event names of a room stream (in its log and live).
pub const MESSAGE_CREATED: &str = "message.created";
pub const MESSAGE_UPDATED: &str = "message.updated";
pub const MESSAGE_DELETED: &str = "message.deleted";

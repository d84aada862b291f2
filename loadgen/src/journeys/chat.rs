//! `chat`: steady chat traffic. Each virtual user signs up once with a partner
//! (two accounts that become friends and share a room), then keeps doing a
//! weighted mix of everyday actions: send and read messages, list rooms, check
//! unread counts, look at the profile, search users, list friends. For a share
//! of the users the partner keeps the room's SSE stream open, and every message
//! sent is timed until it arrives there (`sse-delivery`: send → received on the
//! recipient's stream).

use std::sync::Arc;
use std::time::Duration;

use goose::prelude::*;
use serde_json::json;

use super::{accept_friend, open_room, request_friend, send_message, sign_up, step};
use crate::context::{Account, Ctx, session};
use crate::recorder::StepId;
use crate::target::Service;
use crate::transaction_with;

pub const NAME: &str = "chat";

pub const STEPS: &[&str] = &[
    "register",
    "login",
    "send-friend-request",
    "accept-friend-request",
    "open-room",
    "open-stream",
    "send-message",
    "sse-delivery",
    "read-messages",
    "mark-read",
    "list-rooms",
    "unread-count",
    "get-profile",
    "search-users",
    "list-friends",
];

/// End-to-end delivery spans the chat service and the stream: no single
/// service's objective, but the overall one.
pub const DELIVERY: StepId = StepId {
    journey: NAME,
    name: "sse-delivery",
    service: None,
};

const MARK: &str = "lg-nonce:";

pub fn scenario(ctx: &Arc<Ctx>, think: bool) -> Result<Scenario, GooseError> {
    let mut s = Scenario::new(NAME)
        .register_transaction(
            transaction_with!(ctx, "sign up with a partner", setup).set_on_start(),
        )
        .register_transaction(transaction_with!(ctx, "send a message", send).set_weight(4)?)
        .register_transaction(transaction_with!(ctx, "read messages", read).set_weight(3)?)
        .register_transaction(transaction_with!(ctx, "list rooms", list_rooms).set_weight(2)?)
        .register_transaction(transaction_with!(ctx, "unread count", unread_count).set_weight(2)?)
        .register_transaction(transaction_with!(ctx, "mark read", mark_read).set_weight(1)?)
        .register_transaction(transaction_with!(ctx, "profile", profile).set_weight(1)?)
        .register_transaction(transaction_with!(ctx, "search users", search).set_weight(1)?)
        .register_transaction(transaction_with!(ctx, "list friends", friends).set_weight(1)?);
    if think {
        s = s.set_wait_time(Duration::from_millis(500), Duration::from_millis(1500))?;
    }
    Ok(s)
}

/// Whether goose user `index` gets a streaming partner: spreads `share` evenly
/// over the users, starting with the first.
pub fn streams(index: usize, share: f64) -> bool {
    let share = share.clamp(0.0, 1.0);
    ((index + 1) as f64 * share).ceil() > (index as f64 * share).ceil()
}

async fn setup(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    // Retried on the next action if anything here fails.
    let Some(me) = sign_up(ctx, user, NAME).await else {
        return Ok(());
    };
    let Some(peer) = sign_up(ctx, user, NAME).await else {
        return Ok(());
    };
    if request_friend(ctx, user, NAME, &me, &peer).await.is_none()
        || accept_friend(ctx, user, NAME, &peer, &me).await.is_none()
    {
        return Ok(());
    }
    let Some(room) = open_room(ctx, user, NAME, &me, &peer).await else {
        return Ok(());
    };
    if streams(ctx.next_chat_user(), ctx.settings.stream_share) {
        let stream = ctx
            .open_stream(
                user,
                step(NAME, "open-stream", Service::Chat),
                &format!("/api/messages/stream/{room}"),
                &peer.token,
            )
            .await;
        let Some(stream) = stream else {
            return Ok(());
        };
        // Time every message that reaches the partner's stream.
        let watcher = Arc::clone(ctx);
        let events = Arc::clone(&stream);
        let task = tokio::spawn(async move {
            loop {
                let next = events.events.lock().await.recv().await;
                let Some(event) = next else { break };
                if event.event != "message.created" {
                    continue;
                }
                let data: serde_json::Value = serde_json::from_str(&event.data).unwrap_or_default();
                if let Some(nonce) = data["content"].as_str().and_then(|c| c.split(MARK).nth(1)) {
                    watcher.delivered(nonce, event.received);
                }
            }
        });
        ctx.track(task.abort_handle());
        session(user).peer_stream = Some(stream);
    }
    let s = session(user);
    s.me = Some(me);
    s.peer = Some(peer);
    s.room = Some(room);
    Ok(())
}

/// Starts an action: `(me, partner, room)` once set up (setting up first if an
/// earlier attempt failed).
async fn begin(ctx: &Arc<Ctx>, user: &mut GooseUser) -> Option<(Account, Account, i64)> {
    if session(user).room.is_none() {
        setup(ctx, user).await.ok()?;
    }
    ctx.arrive(user).await;
    let s = session(user);
    Some((s.me.clone()?, s.peer.clone()?, s.room?))
}

async fn send(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((me, _, room)) = begin(ctx, user).await else {
        return Ok(());
    };
    let nonce = ctx.unique_name();
    let streaming = session(user).peer_stream.is_some();
    if streaming {
        ctx.expect_delivery(&nonce, DELIVERY);
    }
    let content = format!("How is it going? {MARK}{nonce}");
    match send_message(ctx, user, NAME, &me, room, &content).await {
        Some(id) => {
            let unread = &mut session(user).unread;
            unread.push(id);
            if unread.len() > 50 {
                unread.remove(0);
            }
        }
        None => ctx.forget_delivery(&nonce),
    }
    Ok(())
}

async fn read(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((_, peer, room)) = begin(ctx, user).await else {
        return Ok(());
    };
    ctx.call(
        user,
        step(NAME, "read-messages", Service::Chat)
            .get(format!("/api/messages/{room}?limit=20"), &peer.token),
        |v| v["messages"].as_array().map(|_| ()),
    )
    .await;
    Ok(())
}

async fn mark_read(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((_, peer, room)) = begin(ctx, user).await else {
        return Ok(());
    };
    let ids = std::mem::take(&mut session(user).unread);
    if ids.is_empty() {
        // Nothing sent since the last time: nothing to mark.
        return Ok(());
    }
    ctx.call(
        user,
        step(NAME, "mark-read", Service::Chat).send(
            GooseMethod::Post,
            "/api/messages/read",
            Some(&peer.token),
            json!({"room_id": room, "message_ids": ids}),
            200,
        ),
        |v| v["success"].as_bool().map(|_| ()),
    )
    .await;
    Ok(())
}

async fn list_rooms(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((me, _, _)) = begin(ctx, user).await else {
        return Ok(());
    };
    ctx.call(
        user,
        step(NAME, "list-rooms", Service::Chat).get("/api/chat-rooms?limit=20", &me.token),
        |v| v.as_array().map(|_| ()),
    )
    .await;
    Ok(())
}

async fn unread_count(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((_, peer, room)) = begin(ctx, user).await else {
        return Ok(());
    };
    ctx.call(
        user,
        step(NAME, "unread-count", Service::Chat).get(
            format!("/api/messages/room/{room}/unread-count"),
            &peer.token,
        ),
        |v| v["unread_count"].as_i64().map(|_| ()),
    )
    .await;
    Ok(())
}

async fn profile(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((me, _, _)) = begin(ctx, user).await else {
        return Ok(());
    };
    ctx.call(
        user,
        step(NAME, "get-profile", Service::Users).get("/api/profile/me", &me.token),
        |v| (v["id"].as_i64() == Some(me.id)).then_some(()),
    )
    .await;
    Ok(())
}

async fn search(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((me, peer, _)) = begin(ctx, user).await else {
        return Ok(());
    };
    let prefix: String = peer.username.chars().take(8).collect();
    ctx.call(
        user,
        step(NAME, "search-users", Service::Users).get(
            format!("/api/users/search?query={prefix}&limit=10"),
            &me.token,
        ),
        |v| v["users"].as_array().map(|_| ()),
    )
    .await;
    Ok(())
}

async fn friends(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((me, _, _)) = begin(ctx, user).await else {
        return Ok(());
    };
    ctx.call(
        user,
        step(NAME, "list-friends", Service::Friends).get("/api/friends/list", &me.token),
        |v| (!v.as_array()?.is_empty()).then_some(()),
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::streams;

    #[test]
    fn stream_share_spreads_over_users() {
        let picked = |share| (0..10).filter(|&i| streams(i, share)).count();
        assert_eq!(picked(0.5), 5);
        assert_eq!(picked(0.0), 0);
        assert_eq!(picked(1.0), 10);
        assert!(streams(0, 0.1));
    }
}

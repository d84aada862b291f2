//! `seed-benchmark`: the original k6 benchmark, step for step. Two new users
//! register and log in, A looks at its profile and searches for B, A asks B to
//! be friends and B accepts, A opens their 1:1 room, sends 5 messages and reads
//! them back. Then the virtual user sleeps a second, as the k6 script did.

use std::sync::Arc;
use std::time::Duration;

use goose::prelude::*;

use super::{accept_friend, open_room, request_friend, send_message, step};
use crate::context::{Ctx, Req, session};
use crate::target::Service;
use crate::transaction_with;

pub const NAME: &str = "seed-benchmark";

pub const STEPS: &[&str] = &[
    "register",
    "login",
    "get-profile",
    "search-users",
    "send-friend-request",
    "accept-friend-request",
    "open-room",
    "send-message",
    "read-messages",
];

/// The k6 script's `sleep(1)` between iterations.
pub const THINK_TIME: Duration = Duration::from_secs(1);

pub fn scenario(ctx: &Arc<Ctx>, think: bool) -> Result<Scenario, GooseError> {
    let mut s = Scenario::new(NAME)
        .register_transaction(transaction_with!(
            ctx,
            "register and log in A and B",
            sign_up_pair
        ))
        .register_transaction(transaction_with!(ctx, "A gets its profile", get_profile))
        .register_transaction(transaction_with!(ctx, "A searches for B", search_users))
        .register_transaction(transaction_with!(ctx, "A and B become friends", befriend))
        .register_transaction(transaction_with!(ctx, "A opens the room", room))
        .register_transaction(transaction_with!(ctx, "A sends 5 messages", send_messages))
        .register_transaction(transaction_with!(
            ctx,
            "A reads the messages",
            read_messages
        ));
    if think {
        s = s.register_transaction(transaction_with!(ctx, "think", think_time));
    }
    Ok(s)
}

async fn sign_up_pair(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    ctx.arrive(user).await;
    let s = session(user);
    s.me = None;
    s.peer = None;
    s.room = None;
    // k6 registered both, then logged both in.
    let Some(a) = super::register(ctx, user, NAME).await else {
        return Ok(());
    };
    let Some(b) = super::register(ctx, user, NAME).await else {
        return Ok(());
    };
    let Some(a) = super::login(ctx, user, NAME, a).await else {
        return Ok(());
    };
    let Some(b) = super::login(ctx, user, NAME, b).await else {
        return Ok(());
    };
    let s = session(user);
    s.me = Some(a);
    s.peer = Some(b);
    Ok(())
}

/// `Some((a, b))` while the iteration is healthy.
fn pair(user: &mut GooseUser) -> Option<(crate::context::Account, crate::context::Account)> {
    let s = session(user);
    if s.failed {
        return None;
    }
    Some((s.me.clone()?, s.peer.clone()?))
}

async fn get_profile(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((a, _)) = pair(user) else {
        return Ok(());
    };
    ctx.call(
        user,
        step(NAME, "get-profile", Service::Users),
        Req::get(Service::Users, "/api/profile/me", &a.token),
        |v| (v["id"].as_i64() == Some(a.id)).then_some(()),
    )
    .await;
    Ok(())
}

async fn search_users(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((a, b)) = pair(user) else {
        return Ok(());
    };
    ctx.call(
        user,
        step(NAME, "search-users", Service::Users),
        Req::get(
            Service::Users,
            format!("/api/users/search?query={}&limit=10", b.username),
            &a.token,
        ),
        |v| v["users"].as_array().map(|_| ()),
    )
    .await;
    Ok(())
}

async fn befriend(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((a, b)) = pair(user) else {
        return Ok(());
    };
    if request_friend(ctx, user, NAME, &a, &b).await.is_some() {
        accept_friend(ctx, user, NAME, &b, &a).await;
    }
    Ok(())
}

async fn room(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((a, b)) = pair(user) else {
        return Ok(());
    };
    let room = open_room(ctx, user, NAME, &a, &b).await;
    session(user).room = room;
    Ok(())
}

async fn send_messages(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((a, _)) = pair(user) else {
        return Ok(());
    };
    let Some(room) = session(user).room else {
        return Ok(());
    };
    for i in 1..=5 {
        let content = format!("Hello from the seed benchmark, message {i}");
        if send_message(ctx, user, NAME, &a, room, &content)
            .await
            .is_none()
        {
            break;
        }
    }
    Ok(())
}

async fn read_messages(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((a, _)) = pair(user) else {
        return Ok(());
    };
    let Some(room) = session(user).room else {
        return Ok(());
    };
    ctx.call(
        user,
        step(NAME, "read-messages", Service::Chat),
        Req::get(
            Service::Chat,
            format!("/api/messages/{room}?limit=50"),
            &a.token,
        ),
        |v| (v["messages"].as_array()?.len() >= 5).then_some(()),
    )
    .await;
    Ok(())
}

async fn think_time(_ctx: &Arc<Ctx>, _user: &mut GooseUser) -> TransactionResult {
    tokio::time::sleep(THINK_TIME).await;
    Ok(())
}

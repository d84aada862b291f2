//! `notifications`: friend-request and message flows checked end to end
//! through the event bus into the notification stream. A keeps its
//! notification stream open for the whole run; in each iteration a new user B
//! signs up and opens its stream, A asks B to be friends (B's stream must show
//! it), B accepts (A's stream must show it), A writes to B, who is not watching
//! the room (B's stream must show a message notification); B then lists its
//! notifications, checks the unread count and marks everything read.
//!
//! The `*-notified` steps time each event from the request that caused it to
//! its arrival on the stream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use goose::prelude::*;
use serde_json::{Value, json};

use super::{accept_friend, open_room, request_friend, send_message, sign_up, step};
use crate::context::{Account, Ctx, Stream, session};
use crate::recorder::StepId;
use crate::target::Service;
use crate::transaction_with;

pub const NAME: &str = "notifications";

pub const STEPS: &[&str] = &[
    "register",
    "login",
    "open-stream",
    "send-friend-request",
    "friend-request-notified",
    "accept-friend-request",
    "friend-accepted-notified",
    "open-room",
    "send-message",
    "message-notified",
    "list-notifications",
    "unread-count",
    "mark-read",
];

const STREAM_PATH: &str = "/api/notifications/stream";

fn notified(name: &'static str) -> StepId {
    StepId {
        journey: NAME,
        name,
        service: None,
    }
}

pub fn scenario(ctx: &Arc<Ctx>, think: bool) -> Result<Scenario, GooseError> {
    let mut s = Scenario::new(NAME)
        .register_transaction(transaction_with!(ctx, "sign up and listen", setup).set_on_start())
        .register_transaction(transaction_with!(ctx, "a new friend", new_friend))
        .register_transaction(transaction_with!(ctx, "a message", message))
        .register_transaction(transaction_with!(
            ctx,
            "read notifications",
            read_notifications
        ));
    if think {
        s = s.set_wait_time(Duration::from_millis(500), Duration::from_millis(1000))?;
    }
    Ok(s)
}

async fn setup(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(me) = sign_up(ctx, user, NAME).await else {
        return Ok(());
    };
    let stream = ctx
        .open_stream(
            user,
            step(NAME, "open-stream", Service::Notifications),
            STREAM_PATH,
            &me.token,
        )
        .await;
    let s = session(user);
    if stream.is_some() {
        s.me = Some(me);
        s.my_stream = stream;
    }
    Ok(())
}

/// Waits on `stream` for a notification of `kind` matching `matches`, and
/// records the time since `since` as step `name`.
async fn expect_notification(
    ctx: &Ctx,
    user: &mut GooseUser,
    stream: &Stream,
    name: &'static str,
    since: Instant,
    kind: &str,
    matches: impl Fn(&Value) -> bool,
) -> Option<()> {
    let got = stream
        .wait_for("notification.created", ctx.settings.event_timeout, |n| {
            n["type"] == kind && matches(&n["data"])
        })
        .await;
    match got {
        Ok((at, _)) => {
            ctx.record(
                notified(name),
                Some(at.saturating_duration_since(since)),
                None,
            );
            Some(())
        }
        Err(kind) => {
            ctx.record(notified(name), None, Some(kind));
            session(user).failed = true;
            None
        }
    }
}

fn me_and_stream(user: &mut GooseUser) -> Option<(Account, Arc<Stream>)> {
    let s = session(user);
    Some((s.me.clone()?, s.my_stream.clone()?))
}

async fn new_friend(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    if session(user).me.is_none() {
        setup(ctx, user).await?;
    }
    ctx.arrive(user).await;
    let Some((a, a_stream)) = me_and_stream(user) else {
        return Ok(());
    };
    {
        let s = session(user);
        s.peer = None;
        s.peer_stream = None;
        s.room = None;
    }
    let Some(b) = sign_up(ctx, user, NAME).await else {
        return Ok(());
    };
    let Some(b_stream) = ctx
        .open_stream(
            user,
            step(NAME, "open-stream", Service::Notifications),
            STREAM_PATH,
            &b.token,
        )
        .await
    else {
        return Ok(());
    };
    let sent = Instant::now();
    if request_friend(ctx, user, NAME, &a, &b).await.is_none() {
        return Ok(());
    }
    let from_a = |d: &Value| d["requester_id"].as_i64() == Some(a.id);
    let to_b = |d: &Value| d["addressee_id"].as_i64() == Some(b.id);
    let ok = expect_notification(
        ctx,
        user,
        &b_stream,
        "friend-request-notified",
        sent,
        "friend_request",
        from_a,
    )
    .await;
    if ok.is_none() {
        return Ok(());
    }
    let accepted = Instant::now();
    if accept_friend(ctx, user, NAME, &b, &a).await.is_none() {
        return Ok(());
    }
    let ok = expect_notification(
        ctx,
        user,
        &a_stream,
        "friend-accepted-notified",
        accepted,
        "friend_accepted",
        to_b,
    )
    .await;
    if ok.is_some() {
        let s = session(user);
        s.peer = Some(b);
        s.peer_stream = Some(b_stream);
    }
    Ok(())
}

async fn message(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let (a, b, b_stream) = {
        let s = session(user);
        if s.failed {
            return Ok(());
        }
        match (s.me.clone(), s.peer.clone(), s.peer_stream.clone()) {
            (Some(a), Some(b), Some(st)) => (a, b, st),
            _ => return Ok(()),
        }
    };
    let Some(room) = open_room(ctx, user, NAME, &a, &b).await else {
        return Ok(());
    };
    let sent = Instant::now();
    let Some(id) = send_message(ctx, user, NAME, &a, room, "Nice to meet you!").await else {
        return Ok(());
    };
    expect_notification(
        ctx,
        user,
        &b_stream,
        "message-notified",
        sent,
        "message",
        |d| d["message_id"].as_str() == Some(id.as_str()) || d["room_id"].as_i64() == Some(room),
    )
    .await;
    Ok(())
}

async fn read_notifications(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let b = {
        let s = session(user);
        if s.failed {
            return Ok(());
        }
        match s.peer.clone() {
            Some(b) => b,
            None => return Ok(()),
        }
    };
    let listed = ctx
        .call(
            user,
            step(NAME, "list-notifications", Service::Notifications)
                .get("/api/notifications?limit=20", &b.token),
            |v| (v["notifications"].as_array()?.len() >= 2).then_some(()),
        )
        .await;
    if listed.is_none() {
        return Ok(());
    }
    ctx.call(
        user,
        step(NAME, "unread-count", Service::Notifications)
            .get("/api/notifications/unread-count", &b.token),
        |v| v.as_object().map(|_| ()),
    )
    .await;
    ctx.call(
        user,
        step(NAME, "mark-read", Service::Notifications).send(
            GooseMethod::Post,
            "/api/notifications/read",
            Some(&b.token),
            json!({"all": true}),
            200,
        ),
        |v| v.as_object().map(|_| ()),
    )
    .await;
    // B's stream closes here; A's stays open.
    let s = session(user);
    s.peer_stream = None;
    Ok(())
}

//! `seed-benchmark`: the original k6 benchmark, step for step, sleeps included.
//! Two new users register and log in, A looks at its profile and searches for B,
//! A asks B to be friends and B accepts, A opens their 1:1 room and sends 5
//! messages, B reads them. Between steps the script sleeps as the k6 original
//! did (3.0 s per complete iteration); when a registration, login, friend
//! request or room fails it sleeps 1 s and starts over, as the original did. Its
//! other steps are checked, and a failure is recorded, but the iteration goes on.
//!
//! The sleeps are part of the load: "50 users" of this journey send what the
//! original's 50 virtual users sent. The `seed-benchmark` profile reproduces the
//! original's ramping-vus shape.

use std::sync::Arc;
use std::time::Duration;

use goose::prelude::*;

use super::{accept_friend, open_room, request_friend, send_message, step};
use crate::context::{Account, Ctx};
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

/// The original's pauses, in the order the script takes them.
pub mod pause {
    use std::time::Duration;
    pub const AFTER_REGISTRATIONS: Duration = Duration::from_millis(300);
    pub const AFTER_LOGINS: Duration = Duration::from_millis(300);
    pub const AFTER_PROFILE: Duration = Duration::from_millis(200);
    pub const AFTER_SEARCH: Duration = Duration::from_millis(200);
    pub const AFTER_FRIEND_REQUEST: Duration = Duration::from_millis(300);
    pub const AFTER_ACCEPT: Duration = Duration::from_millis(300);
    pub const AFTER_ROOM: Duration = Duration::from_millis(200);
    pub const AFTER_EACH_MESSAGE: Duration = Duration::from_millis(100);
    pub const AFTER_READING: Duration = Duration::from_millis(200);
    pub const AT_THE_END: Duration = Duration::from_millis(500);
    /// On a failed registration, login, friend request or room: then start over.
    pub const ON_FAILURE: Duration = Duration::from_secs(1);
}

/// Messages A sends per iteration.
pub const MESSAGES: usize = 5;

/// The pauses of one complete iteration (3.0 s).
pub fn paused_per_iteration() -> Duration {
    use pause::*;
    AFTER_REGISTRATIONS
        + AFTER_LOGINS
        + AFTER_PROFILE
        + AFTER_SEARCH
        + AFTER_FRIEND_REQUEST
        + AFTER_ACCEPT
        + AFTER_ROOM
        + AFTER_EACH_MESSAGE * MESSAGES as u32
        + AFTER_READING
        + AT_THE_END
}

/// One goose transaction per iteration: the early returns and the pauses are
/// the journey's own, so the model (closed or open) does not add think time.
pub fn scenario(ctx: &Arc<Ctx>, _think: bool) -> Result<Scenario, GooseError> {
    Ok(Scenario::new(NAME).register_transaction(transaction_with!(
        ctx,
        "the k6 benchmark's journey",
        iteration
    )))
}

async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

/// The original's `sleep(1); return;` on a failed critical step.
async fn start_over() -> TransactionResult {
    sleep(pause::ON_FAILURE).await;
    Ok(())
}

async fn iteration(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    ctx.arrive(user).await;
    let Some(a) = super::register(ctx, user, NAME).await else {
        return start_over().await;
    };
    let Some(b) = super::register(ctx, user, NAME).await else {
        return start_over().await;
    };
    sleep(pause::AFTER_REGISTRATIONS).await;
    let Some(a) = super::login(ctx, user, NAME, a).await else {
        return start_over().await;
    };
    let Some(b) = super::login(ctx, user, NAME, b).await else {
        return start_over().await;
    };
    sleep(pause::AFTER_LOGINS).await;

    get_profile(ctx, user, &a).await;
    sleep(pause::AFTER_PROFILE).await;
    search_users(ctx, user, &a, &b).await;
    sleep(pause::AFTER_SEARCH).await;

    if request_friend(ctx, user, NAME, &a, &b).await.is_none() {
        return start_over().await;
    }
    sleep(pause::AFTER_FRIEND_REQUEST).await;
    accept_friend(ctx, user, NAME, &b, &a).await;
    sleep(pause::AFTER_ACCEPT).await;

    let Some(room) = open_room(ctx, user, NAME, &a, &b).await else {
        return start_over().await;
    };
    sleep(pause::AFTER_ROOM).await;
    for i in 1..=MESSAGES {
        let content = format!("Hello from the seed benchmark, message {i}");
        send_message(ctx, user, NAME, &a, room, &content).await;
        sleep(pause::AFTER_EACH_MESSAGE).await;
    }
    read_messages(ctx, user, &b, room).await;
    sleep(pause::AFTER_READING).await;
    sleep(pause::AT_THE_END).await;
    Ok(())
}

async fn get_profile(ctx: &Ctx, user: &mut GooseUser, a: &Account) {
    ctx.call(
        user,
        step(NAME, "get-profile", Service::Users).get("/api/profile/me", &a.token),
        |v| (v["id"].as_i64() == Some(a.id)).then_some(()),
    )
    .await;
}

async fn search_users(ctx: &Ctx, user: &mut GooseUser, a: &Account, b: &Account) {
    ctx.call(
        user,
        step(NAME, "search-users", Service::Users).get(
            format!("/api/users/search?query={}&limit=10", b.username),
            &a.token,
        ),
        |v| v["users"].as_array().map(|_| ()),
    )
    .await;
}

/// B reads the room (`limit=50&skip=0`, as the original) and sees A's messages.
async fn read_messages(ctx: &Ctx, user: &mut GooseUser, b: &Account, room: i64) {
    ctx.call(
        user,
        step(NAME, "read-messages", Service::Chat)
            .get(format!("/api/messages/{room}?limit=50&skip=0"), &b.token),
        |v| (v["messages"].as_array()?.len() >= MESSAGES).then_some(()),
    )
    .await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_complete_iteration_pauses_three_seconds_as_the_original() {
        assert_eq!(super::paused_per_iteration().as_millis(), 3000);
    }
}

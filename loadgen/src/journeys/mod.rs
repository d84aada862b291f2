//! The journeys (goose scenarios), one per file, and the steps they share.
//!
//! Every journey reads as the user story it models: each goose transaction is
//! one or a few named steps, each step measured on its own in the run record.
//! A step that fails marks the iteration failed and the rest of it is skipped
//! (its requests would only fail for the same reason).

pub mod chat;
pub mod notifications;
pub mod seed_benchmark;
pub mod social;

use std::sync::Arc;

use goose::prelude::*;
use serde_json::{Value, json};

use crate::context::Step;
use crate::context::{Account, Body, Ctx, Req};
use crate::target::Service;

/// Wraps `async fn(&Arc<Ctx>, &mut GooseUser) -> TransactionResult` as a named
/// goose transaction.
#[macro_export]
macro_rules! transaction_with {
    ($ctx:expr, $name:expr, $f:path) => {{
        let ctx = ::std::sync::Arc::clone(&$ctx);
        let f: ::goose::prelude::TransactionFunction = ::std::sync::Arc::new(move |user| {
            let ctx = ::std::sync::Arc::clone(&ctx);
            Box::pin(async move { $f(&ctx, user).await })
        });
        ::goose::prelude::Transaction::new(f).set_name($name)
    }};
}

/// The journeys loadgen knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journey {
    SeedBenchmark,
    Chat,
    Notifications,
    Social,
}

impl Journey {
    /// Every journey; also what runs without `--journey`, so every service
    /// gets traffic.
    pub const ALL: [Journey; 4] = [
        Journey::SeedBenchmark,
        Journey::Chat,
        Journey::Notifications,
        Journey::Social,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Journey::SeedBenchmark => seed_benchmark::NAME,
            Journey::Chat => chat::NAME,
            Journey::Notifications => notifications::NAME,
            Journey::Social => social::NAME,
        }
    }

    pub fn parse(raw: &str) -> Result<Journey, String> {
        Journey::ALL
            .into_iter()
            .find(|j| j.name() == raw)
            .ok_or_else(|| {
                format!(
                    "unknown journey {raw:?}; known: {}",
                    Journey::ALL.map(|j| j.name()).join(", ")
                )
            })
    }

    /// The goose scenario; `think` adds the journey's think time (closed model).
    pub fn scenario(self, ctx: &Arc<Ctx>, think: bool) -> Result<Scenario, GooseError> {
        match self {
            Journey::SeedBenchmark => seed_benchmark::scenario(ctx, think),
            Journey::Chat => chat::scenario(ctx, think),
            Journey::Notifications => notifications::scenario(ctx, think),
            Journey::Social => social::scenario(ctx, think),
        }
    }

    /// About how long one iteration keeps its user, for sizing the open
    /// model's pool: the seed benchmark pauses 3 s per iteration.
    pub fn iteration_seconds(self) -> f64 {
        match self {
            Journey::SeedBenchmark => seed_benchmark::paused_per_iteration().as_secs_f64() + 1.0,
            Journey::Chat | Journey::Notifications | Journey::Social => 2.0,
        }
    }

    /// The steps every complete iteration measures (for tests and reports).
    pub fn steps(self) -> &'static [&'static str] {
        match self {
            Journey::SeedBenchmark => seed_benchmark::STEPS,
            Journey::Chat => chat::STEPS,
            Journey::Notifications => notifications::STEPS,
            Journey::Social => social::STEPS,
        }
    }
}

pub const PASSWORD: &str = "Passw0rd!";

pub fn step(journey: &'static str, name: &'static str, service: Service) -> Step {
    Step::new(journey, name, service)
}

/// Registers a fresh account (step `register`); returns `(id, username, email)`.
pub async fn register(
    ctx: &Ctx,
    user: &mut GooseUser,
    journey: &'static str,
) -> Option<(i64, String, String)> {
    let username = ctx.unique_name();
    let email = format!("{username}@loadgen.example");
    let body = json!({"email": email, "username": username, "password": PASSWORD});
    let id = ctx
        .call(
            user,
            step(journey, "register", Service::Users).send(
                GooseMethod::Post,
                "/api/auth/register",
                None,
                body,
                201,
            ),
            |v| v["id"].as_i64(),
        )
        .await?;
    Some((id, username, email))
}

/// Logs in with the OAuth2 password form (step `login`).
pub async fn login(
    ctx: &Ctx,
    user: &mut GooseUser,
    journey: &'static str,
    (id, username, email): (i64, String, String),
) -> Option<Account> {
    let login = step(journey, "login", Service::Users);
    let req = Req {
        body: Body::Form(vec![
            ("username", email.clone()),
            ("password", PASSWORD.into()),
        ]),
        ..login.request(GooseMethod::Post, "/api/auth/login", 200)
    };
    let token = ctx
        .call(user, req, |v| v["access_token"].as_str().map(str::to_owned))
        .await?;
    Some(Account {
        id,
        username,
        email,
        token,
    })
}

/// Registers and logs in a fresh account.
pub async fn sign_up(ctx: &Ctx, user: &mut GooseUser, journey: &'static str) -> Option<Account> {
    let registered = register(ctx, user, journey).await?;
    login(ctx, user, journey, registered).await
}

/// `from` asks `to` to be friends (step `send-friend-request`).
pub async fn request_friend(
    ctx: &Ctx,
    user: &mut GooseUser,
    journey: &'static str,
    from: &Account,
    to: &Account,
) -> Option<()> {
    ctx.call(
        user,
        step(journey, "send-friend-request", Service::Friends).send(
            GooseMethod::Post,
            "/api/friends/request",
            Some(&from.token),
            json!({"user_id_2": to.id}),
            201,
        ),
        |v| (v["status"] == "pending").then_some(()),
    )
    .await
}

/// `by` accepts the request of `requester` (step `accept-friend-request`).
pub async fn accept_friend(
    ctx: &Ctx,
    user: &mut GooseUser,
    journey: &'static str,
    by: &Account,
    requester: &Account,
) -> Option<()> {
    ctx.call(
        user,
        step(journey, "accept-friend-request", Service::Friends).send(
            GooseMethod::Put,
            format!("/api/friends/status/{}", requester.id),
            Some(&by.token),
            json!({"action": "accept"}),
            200,
        ),
        |v| (v["status"] == "accepted").then_some(()),
    )
    .await
}

/// `me` gets (or creates) the 1:1 room with `other` (step `open-room`).
pub async fn open_room(
    ctx: &Ctx,
    user: &mut GooseUser,
    journey: &'static str,
    me: &Account,
    other: &Account,
) -> Option<i64> {
    ctx.call(
        user,
        step(journey, "open-room", Service::Chat)
            .get(format!("/api/chat-rooms/check/{}", other.id), &me.token),
        |v| v["id"].as_i64(),
    )
    .await
}

/// `me` sends `content` to `room` (step `send-message`); returns the message id.
pub async fn send_message(
    ctx: &Ctx,
    user: &mut GooseUser,
    journey: &'static str,
    me: &Account,
    room: i64,
    content: &str,
) -> Option<String> {
    ctx.call(
        user,
        step(journey, "send-message", Service::Chat).send(
            GooseMethod::Post,
            format!("/api/messages/{room}"),
            Some(&me.token),
            json!({"content": content, "message_type": "text"}),
            201,
        ),
        |v: &Value| v["id"].as_str().map(str::to_owned),
    )
    .await
}

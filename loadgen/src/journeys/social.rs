//! `social`: a social network's traffic, modelled on DeathStarBench's social
//! network benchmark. Before anything else the run seeds a community (the
//! first user of the journey registers and logs in the accounts, makes them
//! follow each other along a power-law follower graph, see [`graph`], and
//! gives each a first post; the journey's other users wait for it). Then
//! every user keeps acting as members of that community in DeathStarBench's
//! mix — 10 % compose a post, 60 % read a home timeline, 30 % read a user
//! timeline (popular authors' more often) — plus likes, comments, and
//! follows that are undone again.
//!
//! Each post composed is checked end to end (`post-visible`): the very next
//! request, one of the author's followers reading their home timeline, must
//! show it. Authors at or below the posts service's fan-out threshold have
//! the post written into their followers' timelines before the compose
//! answers; authors above it have it read when a follower reads: either way
//! it is there by the next request (read-your-writes).

pub mod graph;

use std::sync::Arc;
use std::time::Duration;

use goose::prelude::*;
use serde_json::{Value, json};

use super::{sign_up, step};
use crate::context::{Account, Ctx, session};
use crate::target::Service;
use crate::transaction_with;
use graph::{Graph, follower_graph};

pub const NAME: &str = "social";

pub const STEPS: &[&str] = &[
    "register",
    "login",
    "follow",
    "compose-post",
    "post-visible",
    "read-home-timeline",
    "read-user-timeline",
    "like",
    "comment",
    "unfollow",
];

/// Posts per timeline page.
const PAGE: usize = 20;

pub fn scenario(ctx: &Arc<Ctx>, think: bool) -> Result<Scenario, GooseError> {
    // DeathStarBench's mix is 2 : 12 : 6 here (10 / 60 / 30 %); the weights
    // are how often each runs in one iteration, interleaved.
    let mut s = Scenario::new(NAME)
        .register_transaction(transaction_with!(ctx, "join the community", join).set_on_start())
        .register_transaction(transaction_with!(ctx, "compose a post", compose).set_weight(2)?)
        .register_transaction(
            transaction_with!(ctx, "read the home timeline", home_timeline).set_weight(12)?,
        )
        .register_transaction(
            transaction_with!(ctx, "read a user timeline", user_timeline).set_weight(6)?,
        )
        .register_transaction(transaction_with!(ctx, "like a post", like).set_weight(2)?)
        .register_transaction(transaction_with!(ctx, "comment on a post", comment))
        .register_transaction(transaction_with!(ctx, "follow someone new", follow_someone))
        .register_transaction(transaction_with!(ctx, "unfollow them again", unfollow));
    if think {
        s = s.set_wait_time(Duration::from_millis(500), Duration::from_millis(1000))?;
    }
    Ok(s)
}

/// Registers the community's accounts, follows along the follower graph and
/// writes everyone's first post.
async fn seed(ctx: &Ctx, user: &mut GooseUser) -> Option<Graph> {
    let size = ctx.settings.social;
    let mut accounts = Vec::with_capacity(size.accounts);
    for _ in 0..size.accounts {
        accounts.push(sign_up(ctx, user, NAME).await?);
    }
    let followers = follower_graph(size, &mut rand::thread_rng());
    for (author, fans) in followers.iter().enumerate() {
        for &fan in fans {
            follow(ctx, user, &accounts[fan], &accounts[author], true).await?;
        }
    }
    for account in &accounts {
        let post = write_post(ctx, user, account).await?;
        ctx.social.wrote(post);
    }
    Some(Graph::new(accounts, followers))
}

/// The community, seeding it first when nobody has yet.
async fn community(ctx: &Arc<Ctx>, user: &mut GooseUser) -> Option<Arc<Graph>> {
    ctx.social.graph(seed(ctx, user)).await
}

async fn join(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    // Retried by the next action if the seed fails.
    community(ctx, user).await;
    Ok(())
}

/// Starts an action: the community, once seeded.
async fn begin(ctx: &Arc<Ctx>, user: &mut GooseUser) -> Option<Arc<Graph>> {
    let graph = community(ctx, user).await?;
    ctx.arrive(user).await;
    Some(graph)
}

/// `by` writes a post (step `compose-post`); returns its id.
async fn write_post(ctx: &Ctx, user: &mut GooseUser, by: &Account) -> Option<i64> {
    let text = format!(
        "{} here, trying the new place. What is everyone reading? #{NAME}",
        by.username
    );
    ctx.call(
        user,
        step(NAME, "compose-post", Service::Posts).send(
            GooseMethod::Post,
            "/api/posts",
            Some(&by.token),
            json!({"text": text, "tags": ["loadgen"]}),
            201,
        ),
        |v| v["id"].as_i64(),
    )
    .await
}

/// `fan` follows (or, with `on` false, unfollows) `author` (step `follow`
/// or `unfollow`).
async fn follow(
    ctx: &Ctx,
    user: &mut GooseUser,
    fan: &Account,
    author: &Account,
    on: bool,
) -> Option<()> {
    let (name, method) = match on {
        true => ("follow", GooseMethod::Post),
        false => ("unfollow", GooseMethod::Delete),
    };
    let path = format!("/api/follows/{}", author.id);
    let req = step(NAME, name, Service::Posts).bodiless(method, path, &fan.token, 200);
    ctx.call(user, req, |v| {
        (v["following"].as_bool() == Some(on)).then_some(())
    })
    .await
}

/// The ids of a page of posts.
fn post_ids(page: &Value) -> Option<Vec<i64>> {
    page["items"]
        .as_array()?
        .iter()
        .map(|p| p["id"].as_i64())
        .collect()
}

/// A member posts; one of their followers then reads their home timeline,
/// which must show the post.
async fn compose(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(graph) = begin(ctx, user).await else {
        return Ok(());
    };
    let (author, fan) = {
        let rng = &mut rand::thread_rng();
        let author = graph.anyone(rng);
        (author, graph.follower_of(author, rng))
    };
    let Some(post) = write_post(ctx, user, &graph.accounts[author]).await else {
        return Ok(());
    };
    ctx.social.wrote(post);
    let Some(fan) = fan else { return Ok(()) };
    // Newer posts of others the follower follows could come first, but
    // hardly a page of them within one request.
    let reader = &graph.accounts[fan];
    read_home(ctx, user, "post-visible", reader, |ids| ids.contains(&post)).await;
    Ok(())
}

/// `reader` reads the first page of their home timeline (step `name`);
/// `check` judges the ids of the posts on it.
async fn read_home(
    ctx: &Ctx,
    user: &mut GooseUser,
    name: &'static str,
    reader: &Account,
    check: impl FnOnce(&[i64]) -> bool,
) -> Option<()> {
    ctx.call(
        user,
        step(NAME, name, Service::Posts)
            .get(format!("/api/timeline/home?limit={PAGE}"), &reader.token),
        |v| check(&post_ids(v)?).then_some(()),
    )
    .await
}

/// A member reads their home timeline (never empty: their own first post is
/// in it).
async fn home_timeline(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(graph) = begin(ctx, user).await else {
        return Ok(());
    };
    let reader = &graph.accounts[graph.anyone(&mut rand::thread_rng())];
    read_home(ctx, user, "read-home-timeline", reader, |ids| {
        !ids.is_empty()
    })
    .await;
    Ok(())
}

/// A member reads an author's posts, popular authors' more often.
async fn user_timeline(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(graph) = begin(ctx, user).await else {
        return Ok(());
    };
    let (reader, author) = {
        let rng = &mut rand::thread_rng();
        (graph.anyone(rng), graph.popular(rng))
    };
    let author_id = graph.accounts[author].id;
    ctx.call(
        user,
        step(NAME, "read-user-timeline", Service::Posts).get(
            format!("/api/posts/user/{author_id}?limit={PAGE}"),
            &graph.accounts[reader].token,
        ),
        |v| {
            let items = v["items"].as_array()?;
            let theirs = items
                .iter()
                .all(|p| p["author_id"].as_i64() == Some(author_id));
            (!items.is_empty() && theirs).then_some(())
        },
    )
    .await;
    Ok(())
}

/// A member and a post written lately.
async fn member_and_post(ctx: &Arc<Ctx>, user: &mut GooseUser) -> Option<(Account, i64)> {
    let graph = begin(ctx, user).await?;
    let rng = &mut rand::thread_rng();
    let post = ctx.social.a_recent_post(rng)?;
    Some((graph.accounts[graph.anyone(rng)].clone(), post))
}

async fn like(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((member, post)) = member_and_post(ctx, user).await else {
        return Ok(());
    };
    ctx.call(
        user,
        step(NAME, "like", Service::Posts).bodiless(
            GooseMethod::Post,
            format!("/api/posts/{post}/like"),
            &member.token,
            200,
        ),
        |v| (v["liked"] == true && v["like_count"].as_i64()? >= 1).then_some(()),
    )
    .await;
    Ok(())
}

async fn comment(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some((member, post)) = member_and_post(ctx, user).await else {
        return Ok(());
    };
    ctx.call(
        user,
        step(NAME, "comment", Service::Posts).send(
            GooseMethod::Post,
            format!("/api/posts/{post}/comments"),
            Some(&member.token),
            json!({"text": "Same here, good to see you around."}),
            201,
        ),
        |v| (v["post_id"].as_i64() == Some(post)).then_some(()),
    )
    .await;
    Ok(())
}

/// A member follows a popular author they do not follow in the seeded graph
/// (so the `post-visible` checks, which use only seeded follows, never race
/// with it); `unfollow` undoes it.
async fn follow_someone(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(graph) = begin(ctx, user).await else {
        return Ok(());
    };
    let pair = {
        let rng = &mut rand::thread_rng();
        let fan = graph.anyone(rng);
        // A handful of draws: nearly always one the fan does not follow yet.
        (0..8)
            .map(|_| graph.popular(rng))
            .find(|&author| author != fan && !graph.seeded_follow(fan, author))
            .map(|author| (fan, author))
    };
    let Some((fan, author)) = pair else {
        return Ok(());
    };
    let (f, a) = (&graph.accounts[fan], &graph.accounts[author]);
    if follow(ctx, user, f, a, true).await.is_some() {
        session(user).social_follow = Some((fan, author));
    }
    Ok(())
}

async fn unfollow(ctx: &Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(graph) = begin(ctx, user).await else {
        return Ok(());
    };
    let Some((fan, author)) = session(user).social_follow.take() else {
        return Ok(());
    };
    let (f, a) = (&graph.accounts[fan], &graph.accounts[author]);
    follow(ctx, user, f, a, false).await;
    Ok(())
}

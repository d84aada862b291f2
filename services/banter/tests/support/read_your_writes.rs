//! The read-your-writes races of SPEC §2 ("Consistency"), run by many clients
//! against any deployment (the embedded platform, the split cluster through
//! its gateway). Each returns the wrong answers it saw, as text; a deployment
//! passes with none.
//!
//! - [`register_then_use`]: register B, then at once (concurrently) A
//!   befriends B, opens a direct room with B and creates a group with B.
//! - [`block_then_use`]: one of a pair blocks the other, then at once the
//!   blocked one opens their direct room, the blocker makes a group with
//!   them and each sends in their room (all 403); the block is lifted, and
//!   at once the room opens and a message goes out again.

use futures::StreamExt;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use std::time::Instant;
use testkit::ApiClient;

/// How many sequences, by how many clients at once.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub clients: usize,
    /// Register-then-use sequences.
    pub registrations: usize,
    /// Pairs that block each other, and block-and-lift cycles per pair
    /// (`pairs × cycles` block sequences).
    pub pairs: usize,
    pub cycles: usize,
}

/// `None` when `res` has `want`, else what was answered instead.
async fn check(res: Response, want: StatusCode, what: String) -> Option<String> {
    let status = res.status();
    if status == want {
        return None;
    }
    let body = res.text().await.unwrap_or_default();
    Some(format!("{what}: {status} (want {want}) {body}"))
}

async fn register(api: &ApiClient, name: &str) -> i64 {
    let res = api
        .register(&format!("{name}@example.com"), name, None)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "registering {name}");
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn befriend(api: &ApiClient, token: &str, whom: i64) -> Response {
    let body = json!({"user_id_2": whom});
    api.post_json("/api/friends/request", &body, Some(token))
        .await
}

async fn open_room(api: &ApiClient, token: &str, with: i64) -> Response {
    api.get(&format!("/api/chat-rooms/check/{with}"), Some(token))
        .await
}

async fn create_group(api: &ApiClient, token: &str, with: i64) -> Response {
    let body = json!({"name": "group", "member_ids": [with]});
    api.post_json("/api/chat-rooms/group", &body, Some(token))
        .await
}

async fn send(api: &ApiClient, token: &str, room: i64) -> Response {
    let body = json!({"content": "hello", "message_type": "text"});
    api.post_json(&format!("/api/messages/{room}"), &body, Some(token))
        .await
}

/// `load.registrations` times: register B, then at once A befriends B,
/// opens a room with B and makes a group with B. One A per client (named
/// after `tag`, unique per run), so no user nears the per-user rate limit.
pub async fn register_then_use(api: &ApiClient, tag: &str, load: Load) -> Vec<String> {
    let mut callers = Vec::with_capacity(load.clients);
    for c in 0..load.clients {
        callers.push(
            api.register_and_login(&format!("ryw_a{c}_{tag}"), None)
                .await
                .1,
        );
    }
    let started = Instant::now();
    let wrong: Vec<String> = futures::stream::iter(0..load.registrations)
        .map(|i| {
            let token = &callers[i % callers.len()];
            async move {
                let b = register(api, &format!("ryw_b{i}_{tag}")).await;
                let (friend, room, group) = tokio::join!(
                    befriend(api, token, b),
                    open_room(api, token, b),
                    create_group(api, token, b),
                );
                [
                    check(friend, StatusCode::CREATED, format!("befriend {b}")).await,
                    check(room, StatusCode::OK, format!("room with {b}")).await,
                    check(group, StatusCode::CREATED, format!("group with {b}")).await,
                ]
            }
        })
        .buffer_unordered(load.clients)
        .flat_map(futures::stream::iter)
        .filter_map(|wrong| async move { wrong })
        .collect()
        .await;
    println!(
        "{} register-then-use sequences by {} clients in {:.1?}: {} wrong",
        load.registrations,
        load.clients,
        started.elapsed(),
        wrong.len()
    );
    wrong
}

/// A user: id and token.
type User = (i64, String);

/// `load.cycles` block-and-lift cycles on each of `load.pairs` pairs (the
/// pairs concurrently, each pair's cycles in turn).
pub async fn block_then_use(api: &ApiClient, tag: &str, load: Load) -> Vec<String> {
    let mut pairs = Vec::with_capacity(load.pairs);
    for k in 0..load.pairs {
        let a = api
            .register_and_login(&format!("ryw_pa{k}_{tag}"), None)
            .await;
        let b = api
            .register_and_login(&format!("ryw_pb{k}_{tag}"), None)
            .await;
        let room = api
            .json(&format!("/api/chat-rooms/check/{}", b.0), &a.1)
            .await;
        pairs.push((a, b, room["id"].as_i64().unwrap()));
    }
    let started = Instant::now();
    let wrong: Vec<String> = futures::stream::iter(&pairs)
        .map(|(a, b, room)| block_cycles(api, a, b, *room, load.cycles))
        .buffer_unordered(load.clients)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    println!(
        "{} block sequences on {} pairs in {:.1?}: {} wrong",
        load.pairs * load.cycles,
        load.pairs,
        started.elapsed(),
        wrong.len()
    );
    wrong
}

async fn block_cycles(
    api: &ApiClient,
    a: &User,
    b: &User,
    room: i64,
    cycles: usize,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for cycle in 0..cycles {
        // Each side blocks in turn.
        let (blocker, blocked) = if cycle % 2 == 0 { (a, b) } else { (b, a) };
        let what = |step: &str| format!("{} blocks {} ({cycle}): {step}", blocker.0, blocked.0);
        let block = format!("/api/friends/block/{}", blocked.0);
        let res = api.post_json(&block, &json!({}), Some(&blocker.1)).await;
        assert_eq!(res.status(), StatusCode::OK, "{}", what("block"));
        let (opened, grouped, sent_blocked, sent_blocker) = tokio::join!(
            open_room(api, &blocked.1, blocker.0),
            create_group(api, &blocker.1, blocked.0),
            send(api, &blocked.1, room),
            send(api, &blocker.1, room),
        );
        let forbidden = StatusCode::FORBIDDEN;
        wrong.extend(check(opened, forbidden, what("the blocked opens the room")).await);
        wrong.extend(check(grouped, forbidden, what("a group with the blocked")).await);
        wrong.extend(check(sent_blocked, forbidden, what("the blocked sends")).await);
        wrong.extend(check(sent_blocker, forbidden, what("the blocker sends")).await);

        let res = api.delete(&block, Some(&blocker.1)).await;
        assert_eq!(res.status(), StatusCode::OK, "{}", what("unblock"));
        let (opened, sent) = tokio::join!(
            open_room(api, &blocked.1, blocker.0),
            send(api, &blocked.1, room),
        );
        wrong.extend(check(opened, StatusCode::OK, what("the room once lifted")).await);
        wrong.extend(check(sent, StatusCode::CREATED, what("a message once lifted")).await);
    }
    wrong
}

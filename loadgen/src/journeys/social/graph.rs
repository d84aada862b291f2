//! The `social` journey's community: accounts and who follows whom, seeded
//! once per run and shared by every user of the journey.
//!
//! Follower counts follow a power law, as in real social networks (and the
//! graphs DeathStarBench's social network is loaded with): every account
//! follows the same number of others, each picked with a probability falling
//! as 1/rank (Zipf), so account 0 has the most followers, a few accounts have
//! many, and most have one or two. Every account has at least one follower,
//! so every post has someone else's timeline to reach.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use rand::Rng;
use rand::distributions::{Distribution, WeightedIndex};

use crate::context::Account;

/// How big a community the journey seeds before its users start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphSize {
    /// Accounts registered and logged in.
    pub accounts: usize,
    /// How many others each account follows.
    pub follows: usize,
}

/// Demo scale: seeded in a few seconds (about 200 requests: a registration,
/// a login and a first post per account, and the follows), the most followed
/// account with about two thirds of the community as followers.
impl Default for GraphSize {
    fn default() -> Self {
        Self {
            accounts: 30,
            follows: 4,
        }
    }
}

impl GraphSize {
    /// The most accounts a run may seed (each costs a password hash).
    pub const MAX_ACCOUNTS: usize = 20_000;

    /// Why these sizes cannot be seeded, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if !(2..=Self::MAX_ACCOUNTS).contains(&self.accounts) {
            return Err(format!(
                "--social-accounts must be between 2 and {} (got {})",
                Self::MAX_ACCOUNTS,
                self.accounts
            ));
        }
        // Distinct followees drawn by popularity: past half of the community
        // the draw would mostly hit accounts already followed.
        let most = (self.accounts / 2).max(1);
        if !(1..=most).contains(&self.follows) {
            return Err(format!(
                "--social-follows must be between 1 and half of --social-accounts ({most}; got {})",
                self.follows
            ));
        }
        Ok(())
    }
}

/// Draws an account index by popularity: index `r` with weight 1/(r+1).
pub fn popularity(accounts: usize) -> WeightedIndex<f64> {
    WeightedIndex::new((1..=accounts.max(1)).map(|r| 1.0 / r as f64))
        .expect("at least one weight, all positive and finite")
}

/// `followers[a]`: the accounts following account `a`, for a community of
/// `size`.
pub fn follower_graph(size: GraphSize, rng: &mut impl Rng) -> Vec<Vec<usize>> {
    let n = size.accounts.max(2);
    let each = size.follows.clamp(1, n / 2);
    let popularity = popularity(n);
    let mut followers = vec![Vec::new(); n];
    let mut chosen = Vec::with_capacity(each);
    for fan in 0..n {
        chosen.clear();
        while chosen.len() < each {
            let author = popularity.sample(rng);
            if author != fan && !chosen.contains(&author) {
                chosen.push(author);
            }
        }
        for &author in &chosen {
            followers[author].push(fan);
        }
    }
    for (author, fans) in followers.iter_mut().enumerate() {
        if fans.is_empty() {
            fans.push((author + 1) % n);
        }
    }
    followers
}

/// The seeded community.
pub struct Graph {
    pub accounts: Vec<Account>,
    /// `followers[a]`: who follows account `a` (indexes into `accounts`).
    pub followers: Vec<Vec<usize>>,
    popularity: WeightedIndex<f64>,
}

impl Graph {
    pub fn new(accounts: Vec<Account>, followers: Vec<Vec<usize>>) -> Self {
        let popularity = popularity(accounts.len());
        Self {
            accounts,
            followers,
            popularity,
        }
    }

    /// Any account, each as likely.
    pub fn anyone(&self, rng: &mut impl Rng) -> usize {
        rng.gen_range(0..self.accounts.len())
    }

    /// An account drawn by popularity (the most followed most often).
    pub fn popular(&self, rng: &mut impl Rng) -> usize {
        self.popularity.sample(rng)
    }

    /// One of `author`'s seeded followers.
    pub fn follower_of(&self, author: usize, rng: &mut impl Rng) -> Option<usize> {
        let fans = self.followers.get(author)?;
        (!fans.is_empty()).then(|| fans[rng.gen_range(0..fans.len())])
    }

    /// Whether the seed made `fan` follow `author`.
    pub fn seeded_follow(&self, fan: usize, author: usize) -> bool {
        self.followers
            .get(author)
            .is_some_and(|fans| fans.contains(&fan))
    }
}

/// How many recent posts likes and comments choose from.
const RECENT: usize = 256;

/// The journey's state for one run: the community, once seeded, and the
/// posts written lately.
#[derive(Default)]
pub struct World {
    graph: tokio::sync::OnceCell<Arc<Graph>>,
    recent: Mutex<VecDeque<i64>>,
}

impl World {
    /// The community; the first caller seeds it with `seed` while the others
    /// wait. A seed that fails is tried again by the next caller.
    pub async fn graph<F>(&self, seed: F) -> Option<Arc<Graph>>
    where
        F: std::future::Future<Output = Option<Graph>>,
    {
        self.graph
            .get_or_try_init(|| async { seed.await.map(Arc::new).ok_or(()) })
            .await
            .ok()
            .cloned()
    }

    /// Remembers a post written during the run.
    pub fn wrote(&self, post: i64) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(post);
    }

    /// A post written lately, if any.
    pub fn a_recent_post(&self, rng: &mut impl Rng) -> Option<i64> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        (!recent.is_empty()).then(|| recent[rng.gen_range(0..recent.len())])
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn counts(size: GraphSize, seed: u64) -> Vec<usize> {
        let graph = follower_graph(size, &mut StdRng::seed_from_u64(seed));
        for (author, fans) in graph.iter().enumerate() {
            assert!(!fans.contains(&author), "{author} follows itself");
            let mut distinct = fans.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), fans.len(), "{author}: a follow twice");
        }
        graph.iter().map(Vec::len).collect()
    }

    #[test]
    fn a_few_authors_have_most_of_the_followers() {
        let size = GraphSize {
            accounts: 2000,
            follows: 5,
        };
        let mut followers = counts(size, 7);
        // Everyone has a follower; about accounts × follows follows in all.
        assert!(followers.iter().all(|&n| n >= 1));
        let edges: usize = followers.iter().sum();
        assert!((10_000..10_000 + 2000).contains(&edges), "{edges}");
        followers.sort_unstable_by(|a, b| b.cmp(a));
        let median = followers[followers.len() / 2];
        // The top account: about 1 - (1 - 1/H(2000))^5 ≈ 40 % of everyone.
        assert!(followers[0] > 600, "top {}", followers[0]);
        assert!(followers[0] >= 100 * median, "{} vs {median}", followers[0]);
        // Heavy tail: the top 1 % hold a third of all follows.
        let top: usize = followers[..20].iter().sum();
        assert!(top * 3 >= edges, "top 20 hold {top} of {edges}");
    }

    #[test]
    fn the_demo_graph_has_one_popular_author_and_no_lonely_one() {
        let followers = counts(GraphSize::default(), 1);
        assert_eq!(followers.len(), 30);
        assert!(followers[0] >= 15, "{followers:?}");
        assert!(followers.iter().all(|&n| n >= 1), "{followers:?}");
    }

    #[test]
    fn sizes_that_cannot_be_seeded_are_refused() {
        let ok = GraphSize::default();
        assert!(ok.check().is_ok());
        for (accounts, follows, word) in [
            (1, 1, "--social-accounts"),
            (30, 0, "--social-follows"),
            (30, 16, "--social-follows"),
            (GraphSize::MAX_ACCOUNTS + 1, 4, "--social-accounts"),
        ] {
            let e = GraphSize { accounts, follows }.check().unwrap_err();
            assert!(e.contains(word), "{e}");
        }
    }
}

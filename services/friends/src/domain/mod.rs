//! Friends' rules, free of I/O: what a friendship is, which requests and
//! answers are valid, whether a pair may change (`decisions`), and how a
//! pair of users is named.

mod decisions;

pub use decisions::{BlockDecision, BlockFacts, Refusal, RequestFacts, decide_block, may_request};
pub use kit::validate::{Invalid, plain_text};

use chrono::{DateTime, Utc};

/// A friend request and, once accepted, the friendship it became.
/// `requester_id` asked `addressee_id` (`user_id_1` and `user_id_2` on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Friendship {
    pub id: i64,
    pub requester_id: i64,
    pub addressee_id: i64,
    pub status: Status,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when the request was cancelled or the friendship ended.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Friendship {
    /// The other user of the pair, seen from `user`.
    pub fn other(&self, user: i64) -> i64 {
        if self.requester_id == user {
            self.addressee_id
        } else {
            self.requester_id
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Accepted,
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "accepted" => Some(Self::Accepted),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// The addressee's answer to a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Reject,
}

impl Answer {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim() {
            "accept" => Ok(Self::Accept),
            "reject" => Ok(Self::Reject),
            _ => Err(Invalid(
                "action: must be \"accept\" or \"reject\"".to_owned(),
            )),
        }
    }

    /// The status a pending request moves to.
    pub fn status(self) -> Status {
        match self {
            Self::Accept => Status::Accepted,
            Self::Reject => Status::Rejected,
        }
    }
}

/// A friend as the friends list shows them. Name and email come from the
/// users read model and are `None` while it has not heard of the user yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Friend {
    pub user_id: i64,
    pub username: Option<String>,
    pub email: Option<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// A pending request with the other user's name and email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    pub friendship: Friendship,
    pub username: Option<String>,
    pub email: Option<String>,
}

/// A user a search offers to add, with the pending request between the
/// caller and them, if any (its requester).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user_id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub pending_requester: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedUser {
    pub user_id: i64,
    pub username: Option<String>,
    pub blocked_at: DateTime<Utc>,
}

/// A user as the users service announced them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub user_id: i64,
    pub email: String,
    pub username: String,
    pub display_name: Option<String>,
}

pub const MESSAGE_MAX: usize = 500;
pub const QUERY_LEN: std::ops::RangeInclusive<usize> = 1..=50;
pub const SEARCH_LIMIT_MAX: u32 = 50;
pub const SEARCH_LIMIT_DEFAULT: u32 = 20;

/// The optional note sent with a request: at most 500 characters; blank
/// means none.
pub fn request_message(raw: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.chars().count() > MESSAGE_MAX {
        return Err(Invalid(format!(
            "message: at most {MESSAGE_MAX} characters"
        )));
    }
    plain_text("message", raw, true)?;
    let msg = raw.trim();
    Ok((!msg.is_empty()).then(|| msg.to_owned()))
}

/// Who may send a request to whom, before the database is asked.
pub fn check_addressee(requester: i64, addressee: i64) -> Result<(), Invalid> {
    if requester == addressee {
        return Err(Invalid(
            "user_id_2: you cannot send a friend request to yourself".to_owned(),
        ));
    }
    Ok(())
}

/// Nobody blocks (or unblocks) themselves.
pub fn check_block_target(blocker: i64, blocked: i64) -> Result<(), Invalid> {
    if blocker == blocked {
        return Err(Invalid("user_id: you cannot block yourself".to_owned()));
    }
    Ok(())
}

/// A search term: 1-50 characters after trimming, no control characters.
pub fn search_query(raw: Option<&str>) -> Result<String, Invalid> {
    let query = raw.map(str::trim).unwrap_or_default();
    let len = query.chars().count();
    if !QUERY_LEN.contains(&len) {
        return Err(Invalid(format!(
            "query: must be {}-{} characters",
            QUERY_LEN.start(),
            QUERY_LEN.end()
        )));
    }
    plain_text("query", query, false)?;
    Ok(query.to_owned())
}

pub fn search_limit(raw: Option<u32>) -> Result<u32, Invalid> {
    let limit = raw.unwrap_or(SEARCH_LIMIT_DEFAULT);
    if !(1..=SEARCH_LIMIT_MAX).contains(&limit) {
        return Err(Invalid(format!(
            "limit: must be between 1 and {SEARCH_LIMIT_MAX}"
        )));
    }
    Ok(limit)
}

/// The two ids of a pair in ascending order.
pub fn pair(a: i64, b: i64) -> (i64, i64) {
    (a.min(b), a.max(b))
}

/// The subject of a pair's events, `"<min_id>:<max_id>"`, so one pair's
/// events share a partition and keep their order.
pub fn pair_key(a: i64, b: i64) -> String {
    let (low, high) = pair(a, b);
    format!("{low}:{high}")
}

/// A 64-bit lock key for a pair (PostgreSQL advisory locks). Collisions
/// only serialise two unrelated pairs.
pub fn pair_lock_key(a: i64, b: i64) -> i64 {
    let (low, high) = pair(a, b);
    low.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64) ^ high
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(Answer::parse("accept"), Ok(Answer::Accept));
        assert_eq!(
            Answer::parse("reject").map(Answer::status),
            Ok(Status::Rejected)
        );
        for bad in ["", "Accept", "block", "accepted"] {
            assert!(Answer::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in [Status::Pending, Status::Accepted, Status::Rejected] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("deleted"), None);
    }

    #[test]
    fn request_messages() {
        assert_eq!(request_message(None), Ok(None));
        assert_eq!(request_message(Some("  ")), Ok(None));
        assert_eq!(
            request_message(Some(" hi\nthere ")),
            Ok(Some("hi\nthere".into()))
        );
        assert!(request_message(Some(&"x".repeat(500))).is_ok());
        assert!(request_message(Some(&"x".repeat(501))).is_err());
        assert!(request_message(Some("nul\0")).is_err());
    }

    #[test]
    fn no_requests_to_oneself() {
        assert!(check_addressee(1, 1).is_err());
        assert!(check_addressee(1, 2).is_ok());
        assert!(check_block_target(1, 1).is_err());
        assert!(check_block_target(1, 2).is_ok());
    }

    #[test]
    fn search_terms() {
        assert_eq!(search_query(Some(" bob ")), Ok("bob".into()));
        assert!(search_query(None).is_err());
        assert!(search_query(Some("   ")).is_err());
        assert!(search_query(Some(&"x".repeat(51))).is_err());
        assert!(search_query(Some("a\u{7}")).is_err());
        assert_eq!(search_limit(None), Ok(20));
        assert!(search_limit(Some(0)).is_err());
        assert!(search_limit(Some(51)).is_err());
    }

    #[test]
    fn pairs_ignore_direction() {
        assert_eq!(pair_key(7, 3), "3:7");
        assert_eq!(pair_key(3, 7), "3:7");
        assert_eq!(pair_lock_key(3, 7), pair_lock_key(7, 3));
        assert_ne!(pair_lock_key(3, 7), pair_lock_key(3, 8));
    }

    #[test]
    fn the_other_user() {
        let now = Utc::now();
        let f = Friendship {
            id: 1,
            requester_id: 3,
            addressee_id: 7,
            status: Status::Pending,
            message: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        assert_eq!(f.other(3), 7);
        assert_eq!(f.other(7), 3);
    }
}

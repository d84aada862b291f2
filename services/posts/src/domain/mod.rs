//! The posts service's types and rules: what a valid post, tag list, comment
//! and page request are, who may change a post, when an author's posts are
//! fanned out on write, and how the two halves of a home timeline merge.
//! No I/O, no framework: `app` loads facts and asks these functions.

use chrono::{DateTime, SubsecRound, Utc};
pub use kit::validate::Invalid;

/// Longest post, in characters.
pub const MAX_POST_CHARS: usize = 2000;
/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 1000;
/// Most tags on a post.
pub const MAX_TAGS: usize = 10;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 30;
/// Page size when the client names none, and the largest it may ask for.
pub const DEFAULT_PAGE: i64 = 20;
pub const MAX_PAGE: i64 = 100;

/// Now, at the precision both databases keep (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Who wrote something, as far as the users read model knows (the names are
/// `None` until it has heard of the user).
#[derive(Debug, Clone, PartialEq)]
pub struct Author {
    pub user_id: i64,
    pub username: Option<String>,
    pub display_name: Option<String>,
}

/// A post as stored (live: soft-deleted posts are never loaded).
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub id: i64,
    pub author: Author,
    pub text: String,
    pub tags: Vec<String>,
    pub like_count: i64,
    pub comment_count: i64,
    pub is_edited: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When its image was set; `None` without an image.
    pub image_updated_at: Option<DateTime<Utc>>,
}

impl Post {
    /// Where the post's image is served, versioned so caches refresh when it
    /// is replaced.
    pub fn image_url(&self) -> Option<String> {
        self.image_updated_at
            .map(|at| format!("/api/posts/{}/image?v={}", self.id, at.timestamp_millis()))
    }
}

/// A comment, or a reply to one (`parent_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: i64,
    pub post_id: i64,
    pub author: Author,
    pub parent_id: Option<i64>,
    pub text: String,
    pub reply_count: i64,
    pub created_at: DateTime<Utc>,
}

/// A user in a followers or following list.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowEntry {
    /// The follow's own id: the list's order and cursor.
    pub follow_id: i64,
    pub user: Author,
    pub followed_at: DateTime<Utc>,
}

/// Why a use case refused (each maps to one 4xx).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("post not found")]
    PostNotFound,
    #[error("comment not found")]
    CommentNotFound,
    #[error("user not found")]
    UnknownUser,
    #[error("only the author may change this post")]
    NotAuthor,
    #[error("you cannot follow yourself")]
    SelfFollow,
    #[error("one of you has blocked the other")]
    Blocked,
    #[error("replies go one level deep: reply to the comment, not to a reply")]
    ReplyTooDeep,
    #[error("this post has no image")]
    NoImage,
}

/// A post's text: trimmed, 1–2000 characters, no control characters other
/// than line breaks and tabs.
pub fn post_text(text: &str) -> Result<String, Invalid> {
    bounded_text("text", text, MAX_POST_CHARS)
}

/// A comment's text: trimmed, 1–1000 characters.
pub fn comment_text(text: &str) -> Result<String, Invalid> {
    bounded_text("text", text, MAX_COMMENT_CHARS)
}

fn bounded_text(field: &str, text: &str, max: usize) -> Result<String, Invalid> {
    let text = text.trim();
    let n = text.chars().count();
    if n == 0 || n > max {
        return Err(Invalid(format!("{field}: must be 1-{max} characters")));
    }
    kit::validate::plain_text(field, text, true)?;
    Ok(text.to_owned())
}

/// Tags as stored: without a leading `#`, lower-cased, duplicates dropped
/// (first one kept); at most 10 of 1–30 letters, digits, `_` or `-`.
pub fn tags(raw: &[String]) -> Result<Vec<String>, Invalid> {
    if raw.len() > MAX_TAGS {
        return Err(Invalid(format!("tags: at most {MAX_TAGS}")));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for tag in raw {
        let tag = tag.trim();
        let tag = tag.strip_prefix('#').unwrap_or(tag).to_lowercase();
        let n = tag.chars().count();
        if n == 0 || n > MAX_TAG_CHARS {
            return Err(Invalid(format!(
                "tags: each must be 1-{MAX_TAG_CHARS} characters"
            )));
        }
        if !tag
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            return Err(Invalid(
                "tags: only letters, digits, '_' and '-' are allowed".into(),
            ));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// The caller may edit or delete only their own post.
pub fn check_author(post: &Post, caller: i64) -> Result<(), Refusal> {
    if post.author.user_id == caller {
        Ok(())
    } else {
        Err(Refusal::NotAuthor)
    }
}

/// Nobody follows themselves.
pub fn check_follow_target(caller: i64, target: i64) -> Result<(), Refusal> {
    if caller == target {
        Err(Refusal::SelfFollow)
    } else {
        Ok(())
    }
}

/// A reply answers a top-level comment.
pub fn check_reply_parent(parent: &Comment) -> Result<(), Refusal> {
    match parent.parent_id {
        None => Ok(()),
        Some(_) => Err(Refusal::ReplyTooDeep),
    }
}

/// The hybrid home timeline's one rule: an author with at most `threshold`
/// followers has each post written into every follower's timeline (fan-out
/// on write); an author with more has followers read their posts when they
/// read their timeline (fan-out on read), so one post never costs millions
/// of writes.
pub fn fans_out_on_write(followers: i64, threshold: u32) -> bool {
    followers <= i64::from(threshold)
}

/// One page of a list the client asked for: at most `limit` items strictly
/// past `cursor` (an id this API gave out as `next_cursor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub cursor: Option<i64>,
    pub limit: i64,
}

impl PageRequest {
    pub fn parse(cursor: Option<&str>, limit: Option<i64>) -> Result<Self, Invalid> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Invalid(format!("limit: must be 1-{MAX_PAGE}")));
        }
        let cursor = match cursor {
            None | Some("") => None,
            Some(raw) => match raw.parse::<i64>() {
                Ok(id) if id > 0 => Some(id),
                _ => {
                    return Err(Invalid(
                        "cursor: not a cursor this API gave out (use next_cursor)".into(),
                    ));
                }
            },
        };
        Ok(Self { cursor, limit })
    }

    /// For newest-first lists: ids below the cursor.
    pub fn before(&self) -> i64 {
        self.cursor.unwrap_or(i64::MAX)
    }

    /// For oldest-first lists: ids above the cursor.
    pub fn after(&self) -> i64 {
        self.cursor.unwrap_or(0)
    }

    /// How many rows to fetch: one more than a page tells whether another
    /// page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// `rows` (fetched with [`fetch`](Self::fetch)) cut to a page, and the
    /// cursor of the next page when there is one.
    pub fn cut<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if rows.len() > limit {
            rows.truncate(limit);
            let next = rows.last().map(&id);
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

/// Merges the written half of a home timeline (its rows) with the read half
/// (posts of followed authors above the threshold), newest first, each post
/// once. Each half holds its own newest posts past the cursor, at most a page
/// and one; the merged page is the newest of both.
pub fn merge_newest_first(written: Vec<Post>, read: Vec<Post>) -> Vec<Post> {
    let mut all = written;
    all.extend(read);
    all.sort_by_key(|p| std::cmp::Reverse(p.id));
    all.dedup_by_key(|p| p.id);
    all
}

/// Lock key of the unit of work that writes an author's posts and follows:
/// posting and following that author never interleave, so a new follower
/// gets either the fan-out or the backfill of each post, never neither.
pub fn author_lock_key(author_id: i64) -> i64 {
    // A tag in the high bits keeps the posts service's keys apart from other
    // services' when they share one PostgreSQL database.
    (0x50 << 56) | (author_id & ((1 << 56) - 1))
}

/// Lock key of the unit of work that writes a post's likes and comments.
pub fn post_lock_key(post_id: i64) -> i64 {
    (0x51 << 56) | (post_id & ((1 << 56) - 1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn post(id: i64) -> Post {
        Post {
            id,
            author: Author {
                user_id: 1,
                username: None,
                display_name: None,
            },
            text: "x".into(),
            tags: vec![],
            like_count: 0,
            comment_count: 0,
            is_edited: false,
            created_at: now(),
            updated_at: now(),
            image_updated_at: None,
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(post_text("  hi  ").unwrap(), "hi");
        assert!(post_text("   ").is_err());
        assert!(post_text(&"a".repeat(2000)).is_ok());
        assert!(post_text(&"a".repeat(2001)).is_err());
        assert!(post_text("a\u{0}b").is_err());
        assert!(post_text("line\nbreak").is_ok());
    }

    #[test]
    fn tags_are_normalised_and_bounded() {
        let raw = vec![
            "#Rust".to_owned(),
            "rust".to_owned(),
            "sys-design".to_owned(),
        ];
        assert_eq!(tags(&raw).unwrap(), vec!["rust", "sys-design"]);
        assert!(tags(&vec!["a".to_owned(); 11]).is_err());
        assert!(tags(&["a".repeat(31)]).is_err());
        assert!(tags(&["two words".to_owned()]).is_err());
        assert!(tags(&["#".to_owned()]).is_err());
    }

    #[test]
    fn threshold_is_inclusive() {
        assert!(fans_out_on_write(0, 2));
        assert!(fans_out_on_write(2, 2));
        assert!(!fans_out_on_write(3, 2));
    }

    #[test]
    fn pages_parse_and_cut() {
        assert!(PageRequest::parse(Some("abc"), None).is_err());
        assert!(PageRequest::parse(Some("-1"), None).is_err());
        assert!(PageRequest::parse(None, Some(0)).is_err());
        assert!(PageRequest::parse(None, Some(101)).is_err());
        let page = PageRequest::parse(Some("10"), Some(2)).unwrap();
        assert_eq!(page.before(), 10);
        let (rows, next) = page.cut(vec![9, 8, 7], |r| *r);
        assert_eq!((rows, next), (vec![9, 8], Some(8)));
        let (rows, next) = page.cut(vec![9, 8], |r| *r);
        assert_eq!((rows, next), (vec![9, 8], None));
    }

    #[test]
    fn halves_merge_newest_first_without_duplicates() {
        let merged = merge_newest_first(vec![post(9), post(5), post(2)], vec![post(7), post(5)]);
        let ids: Vec<i64> = merged.iter().map(|p| p.id).collect();
        assert_eq!(ids, vec![9, 7, 5, 2]);
    }
}

//! `post.events`, produced by the posts service. The subject of post, like and
//! comment events is the post id (one post's events keep their order); of
//! `UserFollowed` the followed user's id.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `author_id` published a post. `fanned_out` says whether it was written
/// into followers' home timelines (an ordinary author) or is read from the
/// author's posts when a follower's timeline is read (an author with more
/// followers than the fan-out threshold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostCreated {
    pub post_id: i64,
    pub author_id: i64,
    pub text: String,
    pub tags: Vec<String>,
    pub fanned_out: bool,
    pub created_at: DateTime<Utc>,
}

/// The author changed the text and/or the tags of the post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostEdited {
    pub post_id: i64,
    pub author_id: i64,
    pub text: String,
    pub tags: Vec<String>,
    pub edited_at: DateTime<Utc>,
}

/// The author deleted the post (soft delete).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostDeleted {
    pub post_id: i64,
    pub author_id: i64,
}

/// `user_id` liked the post of `author_id` (sent once per like, not again
/// for a repeated like).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostLiked {
    pub post_id: i64,
    pub author_id: i64,
    pub user_id: i64,
    pub like_count: i64,
}

/// `author_id` commented on the post of `post_author_id`; a reply names the
/// comment it answers (`parent_id`) and that comment's author.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentAdded {
    pub comment_id: i64,
    pub post_id: i64,
    pub post_author_id: i64,
    pub author_id: i64,
    pub parent_id: Option<i64>,
    pub parent_author_id: Option<i64>,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// `follower_id` started following `followee_id` (sent once, not again for
/// a repeated follow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserFollowed {
    pub follower_id: i64,
    pub followee_id: i64,
    pub created_at: DateTime<Utc>,
}

crate::contract! {
    PostCreated => POST_EVENTS,
    PostEdited => POST_EVENTS,
    PostDeleted => POST_EVENTS,
    PostLiked => POST_EVENTS,
    CommentAdded => POST_EVENTS,
    UserFollowed => POST_EVENTS,
}

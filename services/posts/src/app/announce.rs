//! The events the posts service announces on `post.events`, built from what
//! a use case wrote (enqueued by the use case in its unit of work).

use crate::SERVICE;
use crate::domain::{Comment, Post};
use chrono::{DateTime, Utc};
use contracts::{CommentAdded, PostCreated, PostDeleted, PostEdited, PostLiked, UserFollowed};
use kit::events::Event;

pub use contracts::topics::POST_EVENTS as TOPIC;

pub fn post_created(post: &Post, fanned_out: bool) -> Event {
    Event::of(
        SERVICE,
        post.id,
        &PostCreated {
            post_id: post.id,
            author_id: post.author.user_id,
            text: post.text.clone(),
            tags: post.tags.clone(),
            fanned_out,
            created_at: post.created_at,
        },
    )
}

pub fn post_edited(post: &Post) -> Event {
    Event::of(
        SERVICE,
        post.id,
        &PostEdited {
            post_id: post.id,
            author_id: post.author.user_id,
            text: post.text.clone(),
            tags: post.tags.clone(),
            edited_at: post.updated_at,
        },
    )
}

pub fn post_deleted(post: &Post) -> Event {
    Event::of(
        SERVICE,
        post.id,
        &PostDeleted {
            post_id: post.id,
            author_id: post.author.user_id,
        },
    )
}

pub fn post_liked(post: &Post, user_id: i64, like_count: i64) -> Event {
    Event::of(
        SERVICE,
        post.id,
        &PostLiked {
            post_id: post.id,
            author_id: post.author.user_id,
            user_id,
            like_count,
        },
    )
}

pub fn comment_added(post: &Post, comment: &Comment, parent: Option<&Comment>) -> Event {
    Event::of(
        SERVICE,
        post.id,
        &CommentAdded {
            comment_id: comment.id,
            post_id: post.id,
            post_author_id: post.author.user_id,
            author_id: comment.author.user_id,
            parent_id: parent.map(|p| p.id),
            parent_author_id: parent.map(|p| p.author.user_id),
            text: comment.text.clone(),
            created_at: comment.created_at,
        },
    )
}

pub fn user_followed(follower_id: i64, followee_id: i64, at: DateTime<Utc>) -> Event {
    Event::of(
        SERVICE,
        followee_id,
        &UserFollowed {
            follower_id,
            followee_id,
            created_at: at,
        },
    )
}

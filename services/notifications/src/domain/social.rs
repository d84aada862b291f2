//! Notifications from `post.events`: a like, a comment or a reply, a new
//! follower. Nobody is notified of what they did themselves (liking or
//! commenting on their own post, replying to their own comment), and one
//! event notifies each recipient once.

use super::{Draft, Kind, Unprocessable, positive, preview};
use serde_json::json;

/// The author of the post hears of a like (not their own). `None`: nobody
/// is told.
pub fn post_liked(
    post_id: i64,
    author_id: i64,
    liker_id: i64,
    liker_name: &str,
    like_count: i64,
) -> Result<Option<Draft>, Unprocessable> {
    positive("post_id", post_id)?;
    positive("author_id", author_id)?;
    positive("user_id", liker_id)?;
    if liker_id == author_id {
        return Ok(None);
    }
    let body = match like_count {
        n if n > 1 => format!("Your post now has {n} likes."),
        _ => "Your post has its first like.".to_owned(),
    };
    Ok(Some(Draft {
        user_id: author_id,
        kind: Kind::PostLiked,
        title: format!("{liker_name} liked your post"),
        body,
        data: json!({
            "post_id": post_id,
            "author_id": author_id,
            "user_id": liker_id,
            "like_count": like_count,
        }),
        quotes: None,
    }))
}

/// A comment as far as notifications care (a reply names its parent).
#[derive(Debug, Clone, PartialEq)]
pub struct CommentNotice<'a> {
    pub comment_id: i64,
    pub post_id: i64,
    pub post_author_id: i64,
    pub author_id: i64,
    /// The comment replied to and its author, for a reply.
    pub parent: Option<(i64, i64)>,
    pub text: &'a str,
}

/// The post's author hears of a comment, and for a reply the author of the
/// comment replied to hears of the reply; the commenter hears of neither.
/// Somebody who is both the post's and the parent's author gets the reply
/// notification only (it says more).
pub fn comment_added(
    c: &CommentNotice<'_>,
    commenter_name: &str,
) -> Result<Vec<Draft>, Unprocessable> {
    positive("comment_id", c.comment_id)?;
    positive("post_id", c.post_id)?;
    positive("post_author_id", c.post_author_id)?;
    positive("author_id", c.author_id)?;
    if let Some((parent_id, parent_author_id)) = c.parent {
        positive("parent_id", parent_id)?;
        positive("parent_author_id", parent_author_id)?;
    }
    let body = match preview(c.text) {
        p if p.is_empty() => "New comment".to_owned(),
        p => p,
    };
    let data = json!({
        "post_id": c.post_id,
        "comment_id": c.comment_id,
        "parent_id": c.parent.map(|(id, _)| id),
        "author_id": c.author_id,
    });
    let draft = |user_id, kind, title: String| Draft {
        user_id,
        kind,
        title,
        body: body.clone(),
        data: data.clone(),
        quotes: None,
    };
    let mut drafts = Vec::new();
    if let Some((_, parent_author_id)) = c.parent {
        let title = format!("{commenter_name} replied to your comment");
        drafts.push(draft(parent_author_id, Kind::CommentReplied, title));
    }
    let title = format!("{commenter_name} commented on your post");
    drafts.push(draft(c.post_author_id, Kind::PostCommented, title));
    drafts.retain(|d| d.user_id != c.author_id);
    drafts.dedup_by_key(|d| d.user_id);
    Ok(drafts)
}

/// The followed user hears of their new follower.
pub fn followed(
    follower_id: i64,
    followee_id: i64,
    follower_name: &str,
) -> Result<Draft, Unprocessable> {
    positive("follower_id", follower_id)?;
    positive("followee_id", followee_id)?;
    if follower_id == followee_id {
        return Err(Unprocessable("a user cannot follow themselves".into()));
    }
    Ok(Draft {
        user_id: followee_id,
        kind: Kind::Followed,
        title: format!("{follower_name} followed you"),
        body: format!("{follower_name} now sees your posts in their home timeline."),
        data: json!({"follower_id": follower_id, "followee_id": followee_id}),
        quotes: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn likes_notify_the_author_unless_they_liked_it() {
        let d = post_liked(9, 1, 2, "bob", 1).unwrap().unwrap();
        assert_eq!((d.user_id, d.kind), (1, Kind::PostLiked));
        assert_eq!(d.title, "bob liked your post");
        assert_eq!(d.body, "Your post has its first like.");
        assert_eq!(d.data["post_id"], 9);
        assert_eq!(
            post_liked(9, 1, 2, "bob", 3).unwrap().unwrap().body,
            "Your post now has 3 likes."
        );
        assert_eq!(post_liked(9, 1, 1, "ann", 1).unwrap(), None, "own post");
        assert!(post_liked(0, 1, 2, "bob", 1).is_err());
    }

    fn comment(author_id: i64, parent: Option<(i64, i64)>) -> CommentNotice<'static> {
        CommentNotice {
            comment_id: 5,
            post_id: 9,
            post_author_id: 1,
            author_id,
            parent,
            text: "nice\n one",
        }
    }

    #[test]
    fn comments_notify_the_post_author_and_replies_the_parent_author() {
        let drafts = comment_added(&comment(2, None), "bob").unwrap();
        assert_eq!(drafts.len(), 1);
        assert_eq!(
            (drafts[0].user_id, drafts[0].kind),
            (1, Kind::PostCommented)
        );
        assert_eq!(drafts[0].title, "bob commented on your post");
        assert_eq!(drafts[0].body, "nice one");

        let drafts = comment_added(&comment(3, Some((4, 2))), "cat").unwrap();
        let got: Vec<(i64, Kind)> = drafts.iter().map(|d| (d.user_id, d.kind)).collect();
        assert_eq!(got, [(2, Kind::CommentReplied), (1, Kind::PostCommented)]);
        assert_eq!(drafts[0].title, "cat replied to your comment");
        assert_eq!(drafts[0].data["parent_id"], 4);
    }

    #[test]
    fn nobody_hears_of_their_own_comment_and_nobody_twice() {
        assert!(comment_added(&comment(1, None), "ann").unwrap().is_empty());
        // The post's author replies to bob: only bob hears.
        let drafts = comment_added(&comment(1, Some((4, 2))), "ann").unwrap();
        assert_eq!(drafts.len(), 1);
        assert_eq!(drafts[0].user_id, 2);
        // Bob replies to himself on ann's post: only ann hears.
        let drafts = comment_added(&comment(2, Some((4, 2))), "bob").unwrap();
        assert_eq!(drafts.len(), 1);
        assert_eq!(
            (drafts[0].user_id, drafts[0].kind),
            (1, Kind::PostCommented)
        );
        // Cat replies to ann's comment on ann's post: one reply notification.
        let drafts = comment_added(&comment(3, Some((4, 1))), "cat").unwrap();
        assert_eq!(drafts.len(), 1);
        assert_eq!(
            (drafts[0].user_id, drafts[0].kind),
            (1, Kind::CommentReplied)
        );
        assert!(comment_added(&comment(3, Some((0, 1))), "cat").is_err());
    }

    #[test]
    fn follows_notify_the_followed_user() {
        let d = followed(2, 1, "bob").unwrap();
        assert_eq!((d.user_id, d.kind), (1, Kind::Followed));
        assert_eq!(d.title, "bob followed you");
        assert_eq!(d.data["follower_id"], 2);
        assert!(followed(1, 1, "ann").is_err());
        assert!(followed(-1, 1, "ann").is_err());
    }
}

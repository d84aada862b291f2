//! Friend requests: send (to a known user, neither blocked, no live
//! friendship between the two), answer (the addressee only), cancel (the
//! requester only), and the caller's pending requests.

use super::friend_events::{self as announce, TOPIC};
use super::{App, Error, Result};
use crate::domain::{self, Answer, Friendship, PendingRequest, RequestFacts};
use crate::store::{blocks, friendships, users};
use chrono::Utc;
use kit::auth::AuthUser;

impl App {
    /// `caller` asks `to` to be friends, with an optional note.
    pub async fn send_request(
        &self,
        caller: &AuthUser,
        to: i64,
        message: Option<&str>,
    ) -> Result<Friendship> {
        domain::check_addressee(caller.id, to)?;
        let message = domain::request_message(message)?;
        self.require_user(caller, to).await?;
        let friendship = self
            .record_request(caller.id, to, message.as_deref())
            .await?;
        tracing::info!(
            friendship_id = friendship.id,
            requester_id = caller.id,
            addressee_id = to,
            "friend request sent"
        );
        Ok(friendship)
    }

    async fn record_request(
        &self,
        requester: i64,
        addressee: i64,
        message: Option<&str>,
    ) -> Result<Friendship> {
        let mut tx = self.begin_pair(requester, addressee).await?;
        let facts = RequestFacts {
            addressee_known: users::exists(&mut tx, addressee).await?,
            blocked: blocks::between(&mut tx, requester, &[addressee]).await?,
            live: friendships::live_status(&mut tx, requester, addressee).await?,
        };
        domain::may_request(&facts)?;
        let friendship =
            friendships::insert_request(&mut tx, requester, addressee, message, Utc::now())
                .await?
                // The unique index on live pairs spoke: it is the last line
                // against duplicates should the pair lock ever be bypassed.
                .ok_or(Error::RequestPending)?;
        tx.enqueue(TOPIC, &announce::request_sent(&friendship))
            .await?;
        tx.commit().await?;
        Ok(friendship)
    }

    /// `caller` accepts or rejects (`action`) the pending request `requester`
    /// sent them.
    pub async fn answer_request(
        &self,
        caller: &AuthUser,
        requester: i64,
        action: &str,
    ) -> Result<Friendship> {
        let answer = Answer::parse(action)?;
        let mut tx = self.begin_pair(requester, caller.id).await?;
        let friendship =
            friendships::answer(&mut tx, requester, caller.id, answer.status(), Utc::now())
                .await?
                .ok_or(Error::NoRequestFrom)?;
        tx.enqueue(TOPIC, &announce::request_answered(&friendship))
            .await?;
        tx.commit().await?;
        tracing::info!(
            friendship_id = friendship.id,
            status = friendship.status.as_str(),
            "friend request answered"
        );
        Ok(friendship)
    }

    /// `caller` withdraws the pending request they sent `addressee`.
    pub async fn cancel_request(&self, caller: &AuthUser, addressee: i64) -> Result<Friendship> {
        let mut tx = self.begin_pair(caller.id, addressee).await?;
        let friendship = friendships::cancel(&mut tx, caller.id, addressee, Utc::now())
            .await?
            .ok_or(Error::NoRequestTo)?;
        tx.enqueue(TOPIC, &announce::request_cancelled(&friendship))
            .await?;
        tx.commit().await?;
        tracing::info!(friendship_id = friendship.id, "friend request cancelled");
        Ok(friendship)
    }

    /// Pending requests `caller` sent or received, newest first.
    pub async fn pending_requests(&self, caller: &AuthUser) -> Result<Vec<PendingRequest>> {
        Ok(friendships::pending_of(&self.db, caller.id).await?)
    }
}

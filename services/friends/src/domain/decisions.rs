//! Whether a friend request or a block may go ahead, decided from facts the
//! application reads inside the pair's exclusive unit of work (so nothing
//! changes between reading them and writing). Pure: no I/O.

use super::Status;
use chrono::{DateTime, Utc};

/// Why a use case refuses to change a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The users read model does not know the other user (yet).
    UnknownUser,
    /// One of the two has blocked the other.
    Blocked,
    AlreadyFriends,
    /// A request between the two, in either direction, waits for an answer.
    RequestPending,
}

/// What a friend request depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts {
    /// The users read model knows the addressee.
    pub addressee_known: bool,
    /// A block exists in either direction.
    pub blocked: bool,
    /// The pair's live friendship, if any: a pending request (either
    /// direction) or an accepted friendship.
    pub live: Option<Status>,
}

/// A request may be sent to a known user with whom the requester has no
/// block (either way), no friendship and no pending request. An unknown user
/// is reported first: the caller may wait for the read model and try again.
pub fn may_request(facts: &RequestFacts) -> Result<(), Refusal> {
    if !facts.addressee_known {
        return Err(Refusal::UnknownUser);
    }
    if facts.blocked {
        return Err(Refusal::Blocked);
    }
    match facts.live {
        Some(Status::Accepted) => Err(Refusal::AlreadyFriends),
        Some(_) => Err(Refusal::RequestPending),
        None => Ok(()),
    }
}

/// What a block depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockFacts {
    /// The users read model knows the user to block.
    pub blocked_known: bool,
    /// When the blocker already blocked them, if they did.
    pub since: Option<DateTime<Utc>>,
}

/// What a block does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockDecision {
    /// Blocking again changes nothing: the block stands since then.
    AlreadyBlocked(DateTime<Utc>),
    /// A new block, which ends whatever the two had.
    Block,
}

/// Any known user may be blocked; blocking twice is not an error.
pub fn decide_block(facts: &BlockFacts) -> Result<BlockDecision, Refusal> {
    if !facts.blocked_known {
        return Err(Refusal::UnknownUser);
    }
    Ok(match facts.since {
        Some(at) => BlockDecision::AlreadyBlocked(at),
        None => BlockDecision::Block,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAR: RequestFacts = RequestFacts {
        addressee_known: true,
        blocked: false,
        live: None,
    };

    #[test]
    fn a_request_to_a_known_stranger_goes_ahead() {
        assert_eq!(may_request(&CLEAR), Ok(()));
    }

    #[test]
    fn requests_are_refused_for_what_the_pair_already_has() {
        let refused = |facts| may_request(&facts).unwrap_err();
        let blocked = RequestFacts {
            blocked: true,
            ..CLEAR
        };
        assert_eq!(refused(blocked), Refusal::Blocked);
        let friends = RequestFacts {
            live: Some(Status::Accepted),
            ..CLEAR
        };
        assert_eq!(refused(friends), Refusal::AlreadyFriends);
        let pending = RequestFacts {
            live: Some(Status::Pending),
            ..CLEAR
        };
        assert_eq!(refused(pending), Refusal::RequestPending);
    }

    #[test]
    fn an_unknown_addressee_comes_first_then_a_block() {
        let unknown = RequestFacts {
            addressee_known: false,
            blocked: true,
            live: Some(Status::Accepted),
        };
        assert_eq!(may_request(&unknown), Err(Refusal::UnknownUser));
        let blocked_friends = RequestFacts {
            blocked: true,
            live: Some(Status::Pending),
            ..CLEAR
        };
        assert_eq!(may_request(&blocked_friends), Err(Refusal::Blocked));
    }

    #[test]
    fn blocks() {
        let at = Utc::now();
        let new = BlockFacts {
            blocked_known: true,
            since: None,
        };
        assert_eq!(decide_block(&new), Ok(BlockDecision::Block));
        let again = BlockFacts {
            since: Some(at),
            ..new
        };
        assert_eq!(decide_block(&again), Ok(BlockDecision::AlreadyBlocked(at)));
        let unknown = BlockFacts {
            blocked_known: false,
            since: Some(at),
        };
        assert_eq!(decide_block(&unknown), Err(Refusal::UnknownUser));
    }
}

//! What a valid listing query or read request of notifications looks like:
//! its limit, flags, cursor, and which notifications a read marks.

use super::Invalid;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// Most ids one read request may carry.
pub const MAX_READ_IDS: usize = 1000;

/// `limit` of a listing: 1-100, default 20.
pub fn limit(raw: Option<&str>) -> Result<u32, Invalid> {
    let Some(raw) = raw.map(str::trim) else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(Invalid(format!(
            "limit: must be an integer between 1 and {MAX_LIMIT}"
        ))),
    }
}

/// A boolean query flag as browsers and the original API send it.
pub fn flag(field: &str, raw: Option<&str>) -> Result<bool, Invalid> {
    match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(_) => Err(Invalid(format!("{field}: must be true or false"))),
    }
}

/// Position in a newest-first listing: the id of the last notification of
/// the previous page (clients treat it as opaque).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub i64);

impl Cursor {
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, Invalid> {
        let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Some(Self(id))),
            _ => Err(Invalid(
                "cursor: not a cursor from a previous page (use next_cursor as given)".into(),
            )),
        }
    }

    pub fn encode(self) -> String {
        self.0.to_string()
    }
}

/// Which notifications a read request marks read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadTarget {
    /// These ids (deduplicated); ids of others or unknown ones are ignored.
    Ids(Vec<i64>),
    /// Every notification of the caller.
    All,
}

/// Exactly one of `notification_ids` or `all: true`.
pub fn read_target(ids: Option<Vec<i64>>, all: Option<bool>) -> Result<ReadTarget, Invalid> {
    match (ids, all.unwrap_or(false)) {
        (Some(_), true) => Err(Invalid(
            "give either notification_ids or all: true, not both".into(),
        )),
        (None, false) => Err(Invalid("give notification_ids or all: true".into())),
        (None, true) => Ok(ReadTarget::All),
        (Some(mut ids), false) => {
            if ids.len() > MAX_READ_IDS {
                return Err(Invalid(format!(
                    "notification_ids: at most {MAX_READ_IDS} ids per request"
                )));
            }
            ids.sort_unstable();
            ids.dedup();
            Ok(ReadTarget::Ids(ids))
        }
    }
}

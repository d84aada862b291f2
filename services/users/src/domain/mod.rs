//! Users' rules, free of I/O: what a valid registration and profile update
//! look like. Which images are accepted is `kit::upload`'s (posts take the
//! same).

pub use kit::validate::{Invalid, plain_text};

use chrono::{DateTime, Utc};

/// A stored user account (never carries the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub username: String,
    pub display_name: Option<String>,
    pub status_message: Option<String>,
    pub image_updated_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// Where the profile image is served, versioned so caches refresh.
    pub fn profile_image_url(&self) -> Option<String> {
        self.image_updated_at
            .map(|at| format!("/api/profile/{}/image?v={}", self.id, at.timestamp_millis()))
    }
}

/// A registration that passed validation.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    /// As the user typed it (trimmed), for display.
    pub username: String,
    /// What makes a username unique: [`name_key`] of `username`.
    pub username_key: String,
    /// Given, or the username.
    pub display_name: String,
    /// [`name_key`] of `display_name`, what search compares.
    pub display_key: String,
}

/// Changes to a profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    /// [`name_key`] of `display_name`, set with it.
    pub display_key: Option<String>,
    /// `Some(None)` clears the status message.
    pub status_message: Option<Option<String>>,
}

pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=50;
pub const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 8..=16;
pub const DISPLAY_NAME_MAX: usize = 100;
pub const STATUS_MESSAGE_MAX: usize = 500;
pub const EMAIL_MAX: usize = 254;

/// Normalises and checks an email address (lower-cased; one `@`, a dotted domain).
pub fn email(raw: &str) -> Result<String, Invalid> {
    let email = raw.trim().to_lowercase();
    let bad = || Invalid("email: not a valid email address".into());
    plain_text("email", &email, false)?;
    if email.is_empty()
        || email.chars().count() > EMAIL_MAX
        || email.chars().any(char::is_whitespace)
    {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let domain_ok = !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty());
    if local.is_empty() || !domain_ok {
        return Err(bad());
    }
    Ok(email)
}

/// A username as it will be shown: trimmed and in NFC, so a decomposed
/// `A` + combining diaeresis is the letter `Ä` it looks like.
pub fn username(raw: &str) -> Result<String, Invalid> {
    use unicode_normalization::UnicodeNormalization;
    let name: String = raw.trim().nfc().collect();
    let name = name.as_str();
    let len = name.chars().count();
    if !USERNAME_LEN.contains(&len) {
        return Err(Invalid(format!(
            "username: must be {}-{} characters long (got {len})",
            USERNAME_LEN.start(),
            USERNAME_LEN.end()
        )));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Invalid(
            "username: only letters, digits, `_`, `-` and `.` are allowed".into(),
        ));
    }
    Ok(name.to_owned())
}

/// The form in which names are compared — usernames for uniqueness and
/// search, display names for search: NFKC, then
/// lower case, then NFKC again (lower-casing can denormalise, e.g. `İ`).
///
/// NFKC folds compatibility variants onto their base letters (fullwidth
/// `ａｌｉｃｅ`, mathematical `𝔞𝔩𝔦𝔠𝔢` → `alice`); Rust's `to_lowercase` is the
/// full Unicode lower-case mapping (`ÄRGER` → `ärger`), the same on every
/// database. Lower case rather than full case folding, as the PRECIS
/// username profile (RFC 8265, UsernameCaseMapped) does: folding would also
/// merge distinct names such as `Maße`/`Masse` (`ß` → `ss`), and a
/// lower-cased key stays what kit's `contains_pattern` makes of a search
/// term, so search and uniqueness agree.
pub fn name_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let lower = name.trim().nfkc().collect::<String>().to_lowercase();
    lower.nfkc().collect()
}

/// Checks password strength: 8-16 characters with a letter, a digit and a
/// special character.
pub fn password(raw: &str) -> Result<(), Invalid> {
    let len = raw.chars().count();
    if !PASSWORD_LEN.contains(&len) {
        return Err(Invalid(format!(
            "password: must be {}-{} characters long",
            PASSWORD_LEN.start(),
            PASSWORD_LEN.end()
        )));
    }
    let letter = raw.chars().any(char::is_alphabetic);
    let digit = raw.chars().any(|c| c.is_ascii_digit());
    let special = raw
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace());
    if !(letter && digit && special) {
        return Err(Invalid(
            "password: must contain a letter, a digit and a special character".into(),
        ));
    }
    Ok(())
}

pub fn display_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    plain_text("display_name", name, false)?;
    if name.is_empty() {
        return Err(Invalid("display_name: must not be blank".into()));
    }
    if name.chars().count() > DISPLAY_NAME_MAX {
        return Err(Invalid(format!(
            "display_name: at most {DISPLAY_NAME_MAX} characters"
        )));
    }
    Ok(name.to_owned())
}

/// An empty status message clears it.
pub fn status_message(raw: &str) -> Result<Option<String>, Invalid> {
    if raw.chars().count() > STATUS_MESSAGE_MAX {
        return Err(Invalid(format!(
            "status_message: at most {STATUS_MESSAGE_MAX} characters"
        )));
    }
    plain_text("status_message", raw, true)?;
    let msg = raw.trim();
    Ok((!msg.is_empty()).then(|| msg.to_owned()))
}

pub fn registration(
    email_raw: &str,
    username_raw: &str,
    password_raw: &str,
    display: Option<&str>,
) -> Result<NewUser, Invalid> {
    let email = email(email_raw)?;
    let username = username(username_raw)?;
    password(password_raw)?;
    let display_name = display
        .map(display_name)
        .transpose()?
        .unwrap_or_else(|| username.clone());
    Ok(NewUser {
        email,
        username_key: name_key(&username),
        display_key: name_key(&display_name),
        username,
        display_name,
    })
}

/// Most ids one batch lookup accepts.
pub const MAX_BATCH: usize = 100;

/// A search term: 1-50 characters once trimmed, no control characters.
pub fn search_query(raw: Option<&str>) -> Result<String, Invalid> {
    let query = raw.map(str::trim).unwrap_or_default();
    if !(1..=50).contains(&query.chars().count()) {
        return Err(Invalid("query: must be 1-50 characters".into()));
    }
    plain_text("query", query, false)?;
    Ok(query.to_owned())
}

/// How many search results a page holds: 1-50, default 20.
pub fn search_limit(raw: Option<u32>) -> Result<u32, Invalid> {
    let limit = raw.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        return Err(Invalid("limit: must be between 1 and 50".into()));
    }
    Ok(limit)
}

/// Comma-separated ids (`1,2,3`; blanks skipped), as a batch lookup takes them.
pub fn id_list(raw: &str) -> Result<Vec<i64>, Invalid> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| Invalid(format!("user_ids: `{s}` is not an integer id")))
        })
        .collect()
}

/// The distinct ids of a batch lookup, ascending: 1 to [`MAX_BATCH`] of them.
pub fn batch_ids(mut ids: Vec<i64>) -> Result<Vec<i64>, Invalid> {
    if ids.is_empty() {
        return Err(Invalid("user_ids: give at least one id".into()));
    }
    if ids.len() > MAX_BATCH {
        return Err(Invalid(format!(
            "user_ids: at most {MAX_BATCH} ids per request"
        )));
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" Alice@Example.COM ").unwrap(), "alice@example.com");
        for bad in ["", "alice", "a@b", "@b.c", "a@@b.c", "a b@c.d", "a@b..c"] {
            assert!(email(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn usernames() {
        assert!(username("bob").is_ok());
        assert!(username("ab").is_err());
        assert!(username(&"x".repeat(51)).is_err());
        assert!(username("bob smith").is_err());
        assert!(username("bob'; drop").is_err());
        assert_eq!(username(" A\u{308}rger ").unwrap(), "Ärger");
    }

    #[test]
    fn username_keys_fold_case_and_lookalikes() {
        for same in [
            "alice",
            "ALICE",
            "Alice",
            "ａｌｉｃｅ",
            "𝔞𝔩𝔦𝔠𝔢",
            "𝐀𝐋𝐈𝐂𝐄",
            " alice ",
        ] {
            assert_eq!(name_key(same), "alice", "{same:?}");
        }
        assert_eq!(name_key("ÄRGER"), name_key("ärger"));
        // Composed and decomposed forms are one name.
        assert_eq!(name_key("A\u{308}rger"), name_key("ärger"));
        assert_eq!(name_key("ΟΔΥΣΣΕΥΣ"), name_key("οδυσσευς"));
        assert_ne!(name_key("maße"), name_key("masse"));
        // The key is stable: search terms built from it find it.
        for name in ["ÄRGER", "İstanbul", "ＢＯＢ", "Ǆemal"] {
            let key = name_key(name);
            assert_eq!(name_key(&key), key, "{name:?}");
            assert_eq!(key.to_lowercase(), key, "{name:?}");
        }
    }

    #[test]
    fn passwords() {
        assert!(password("Passw0rd!").is_ok());
        assert!(password("short1!").is_err());
        assert!(password("Passw0rd!toolong123").is_err());
        assert!(password("Password!").is_err(), "needs a digit");
        assert!(password("Passw0rd1").is_err(), "needs a special character");
        assert!(password("12345678!").is_err(), "needs a letter");
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(email("a\0@b.c").is_err());
        assert!(display_name("Bob\u{7}").is_err());
        assert!(status_message("line one\nline two").is_ok());
        assert!(status_message("nul\0").is_err());
    }

    #[test]
    fn lookups() {
        assert_eq!(search_query(Some(" ada ")).unwrap(), "ada");
        assert!(search_query(None).is_err());
        assert!(search_query(Some(&"x".repeat(51))).is_err());
        assert_eq!(search_limit(None).unwrap(), 20);
        assert!(search_limit(Some(0)).is_err());
        assert!(search_limit(Some(51)).is_err());
        assert_eq!(id_list(" 3, ,1,").unwrap(), vec![3, 1]);
        assert!(id_list("1,x").is_err());
        assert_eq!(batch_ids(vec![3, 1, 3]).unwrap(), vec![1, 3]);
        assert!(batch_ids(Vec::new()).is_err());
        assert!(batch_ids((0..101).collect()).is_err());
    }

    #[test]
    fn status_messages() {
        assert_eq!(status_message("  ").unwrap(), None);
        assert_eq!(status_message("hi").unwrap().as_deref(), Some("hi"));
        assert!(status_message(&"x".repeat(501)).is_err());
    }
}

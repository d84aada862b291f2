//! Checks of client input every service makes the same way (pure functions,
//! no I/O): the error a broken rule gives, and text without control
//! characters. A service's own rules live in its `domain/`.

/// A rule a request broke, phrased for the client (answered with 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<Invalid> for crate::ApiError {
    fn from(err: Invalid) -> Self {
        Self::validation(err.0)
    }
}

/// Rejects control characters (NUL included: PostgreSQL refuses it in text),
/// allowing line breaks and tabs only where `multiline`.
pub fn plain_text(field: &str, value: &str, multiline: bool) -> Result<(), Invalid> {
    let bad = value
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')));
    if bad {
        return Err(Invalid(format!(
            "{field}: must not contain control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::plain_text;

    #[test]
    fn control_characters_are_refused_line_breaks_only_where_allowed() {
        assert!(plain_text("x", "a\u{0}b", true).is_err());
        assert!(plain_text("x", "a\nb", false).is_err());
        assert!(plain_text("x", "a\nb\tc", true).is_ok());
        assert_eq!(
            plain_text("name", "\u{7}", false).unwrap_err().0,
            "name: must not contain control characters"
        );
    }
}

//! Helpers for the SQL text stores write and the URLs they show, the same on
//! both databases: LIKE patterns, numbered parameter lists, duplicate-insert
//! detection and password-free URLs.

/// `%term%` for a `LIKE ... ESCAPE '\\'` match of `term` (lower-cased), with
/// LIKE's wildcards in the term escaped.
pub fn contains_pattern(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `$first, $first+1, ...`: `n` numbered parameters, for `IN (...)` lists.
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `err` is a unique-constraint violation (a duplicate insert).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

/// Hides the password of a database URL for messages and logs.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<invalid url>".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(super::contains_pattern("A_b%"), "%a\\_b\\%%");
    }

    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(super::placeholders(2, 3), "$2, $3, $4");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
    }
}

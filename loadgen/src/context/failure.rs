//! What a failed request leaves for the run record's failure sample: its
//! status, body and request id, the route it was sent to, and why a transport
//! error happened.

use runrecord::ErrorKind;

/// What a response said about a failure, for the run record's sample.
#[derive(Debug, Clone, Default)]
pub(super) struct Detail {
    pub(super) status: Option<u16>,
    pub(super) body: Option<String>,
    pub(super) request_id: Option<String>,
}

/// The route a path was sent to, with the ids taken out so failures group by
/// route: `/api/messages/42?limit=50` → `/api/messages/{id}`.
pub fn route_template(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    path.split('/')
        .map(|seg| {
            let id = !seg.is_empty()
                && (seg.chars().all(|c| c.is_ascii_digit())
                    || (seg.len() >= 16 && seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-')));
            if id { "{id}" } else { seg }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A transport error with its causes (reqwest's Display stops at the top one).
pub(super) fn error_text(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

pub(super) fn classify(e: &reqwest::Error) -> ErrorKind {
    if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Connect
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn routes_lose_their_ids_and_queries() {
        use super::route_template;
        assert_eq!(
            route_template("/api/messages/42?limit=50"),
            "/api/messages/{id}"
        );
        assert_eq!(
            route_template("/api/friends/request"),
            "/api/friends/request"
        );
        assert_eq!(
            route_template("/api/messages/6f0c2d8e-1a2b-4c3d-9e8f-0a1b2c3d4e5f/read"),
            "/api/messages/{id}/read"
        );
    }
}

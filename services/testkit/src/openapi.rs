//! Checking every answer a test gets against the app's own `/openapi.json`.
//!
//! An app built with [`crate::AppBuilder::check_openapi`] hands out an
//! [`ApiClient`](crate::ApiClient) that records each exchange (method, path,
//! status, JSON body). When the served app is dropped at the end of the test,
//! every recorded answer of a documented operation is checked: its status
//! must be documented for that operation, and its JSON body must match the
//! documented schema. A request no operation matches (an unknown route, a
//! method a path does not have) is the router's business, not the
//! document's, and is not checked.

use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// One exchange as the client saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: Method,
    /// Without the query string.
    pub path: String,
    pub status: u16,
    /// The body, when it was JSON; `None` for streams, empty and other bodies.
    pub body: Option<Value>,
}

/// The exchanges of one app, and its document (fetched when it is served).
#[derive(Default)]
pub struct Recorder {
    exchanges: Mutex<Vec<Exchange>>,
    document: OnceLock<Value>,
}

impl Recorder {
    pub fn record(&self, exchange: Exchange) {
        self.exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(exchange);
    }

    pub(crate) fn set_document(&self, document: Value) {
        let _ = self.document.set(document);
    }

    /// How many exchanges were recorded so far.
    pub fn len(&self) -> usize {
        self.exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every recorded exchange that disagrees with the document, one line
    /// each (empty when all agree).
    pub fn mismatches(&self) -> Vec<String> {
        let Some(document) = self.document.get() else {
            return vec!["the app's /openapi.json was never fetched".to_owned()];
        };
        let exchanges = self.exchanges.lock().unwrap_or_else(|e| e.into_inner());
        check(document, &exchanges)
    }

    /// Panics listing the mismatches, if any.
    pub fn assert_documented(&self) {
        let problems = self.mismatches();
        if !problems.is_empty() {
            let shown: Vec<&str> = problems.iter().take(40).map(String::as_str).collect();
            panic!(
                "{} of {} answers disagree with /openapi.json:\n  {}",
                problems.len(),
                self.len(),
                shown.join("\n  ")
            );
        }
    }
}

/// Checks `exchanges` against `document`: one line per mismatch.
pub fn check(document: &Value, exchanges: &[Exchange]) -> Vec<String> {
    let mut validators: HashMap<String, Result<jsonschema::Validator, String>> = HashMap::new();
    let mut problems = Vec::new();
    for ex in exchanges {
        let Some((template, operation)) = operation(document, &ex.method, &ex.path) else {
            continue;
        };
        let what = format!("{} {} ({template}) -> {}", ex.method, ex.path, ex.status);
        let Some(response) = operation["responses"].get(ex.status.to_string()) else {
            problems.push(format!("{what}: status not documented"));
            continue;
        };
        let Some(body) = &ex.body else { continue };
        let Some(schema) = response
            .pointer("/content/application~1json/schema")
            .cloned()
        else {
            problems.push(format!("{what}: a JSON body, none documented: {body}"));
            continue;
        };
        let key = format!("{} {template} {}", ex.method, ex.status);
        let validator = validators.entry(key).or_insert_with(|| {
            let root = json!({"components": document["components"], "allOf": [schema]});
            jsonschema::draft202012::new(&root).map_err(|e| e.to_string())
        });
        match validator {
            Err(e) => problems.push(format!("{what}: documented schema does not compile: {e}")),
            Ok(v) => {
                let errors: Vec<String> = v
                    .iter_errors(body)
                    .take(5)
                    .map(|e| format!("at {:?}: {e}", e.instance_path().to_string()))
                    .collect();
                if !errors.is_empty() {
                    problems.push(format!("{what}: {} in {body}", errors.join("; ")));
                }
            }
        }
    }
    problems
}

/// The documented operation `method path` is, and its path template. The
/// path is routed as the router does: to the template matching it segment by
/// segment with the most literal segments (`/api/chat-rooms/group` before
/// `/api/chat-rooms/{id}`), whether or not that one has `method` (if not,
/// the router answers 405 and no operation is involved).
fn operation<'d>(document: &'d Value, method: &Method, path: &str) -> Option<(&'d str, &'d Value)> {
    let method = method.as_str().to_ascii_lowercase();
    let segments: Vec<&str> = path.split('/').collect();
    document["paths"]
        .as_object()?
        .iter()
        .filter_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, seg) in parts.iter().zip(&segments) {
                if part.starts_with('{') && part.ends_with('}') {
                    if seg.is_empty() {
                        return None;
                    }
                } else if part == seg {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, template.as_str(), item))
        })
        .max_by_key(|(literal, _, _)| *literal)
        .and_then(|(_, template, item)| Some((template, item.get(&method)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        json!({
            "paths": {
                "/api/things/{id}": {"get": {"responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "404": {"description": "gone"}
                }}},
                "/api/things/new": {"get": {"responses": {"204": {"description": "none"}}}},
                "/api/things/group": {"post": {"responses": {"201": {"description": "made"}}}}
            },
            "components": {"schemas": {"Thing": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}
            }}}
        })
    }

    fn ex(path: &str, status: u16, body: Option<Value>) -> Exchange {
        Exchange {
            method: Method::GET,
            path: path.to_owned(),
            status,
            body,
        }
    }

    #[test]
    fn documented_answers_pass() {
        let exchanges = [
            ex(
                "/api/things/1",
                200,
                Some(json!({"id": 1, "name": null, "extra": true})),
            ),
            ex("/api/things/1", 404, None),
            ex("/api/things/new", 204, None),
            ex("/api/other", 500, None),
            // Routed to the literal path, which has no GET: the router's 405.
            ex("/api/things/group", 405, None),
        ];
        assert_eq!(check(&document(), &exchanges), Vec::<String>::new());
    }

    #[test]
    fn undocumented_statuses_and_wrong_bodies_fail() {
        let exchanges = [
            ex("/api/things/1", 422, None),
            ex("/api/things/1", 200, Some(json!({"id": "1", "name": null}))),
            ex("/api/things/1", 200, Some(json!({"id": 1}))),
            ex("/api/things/new", 200, None),
        ];
        let problems = check(&document(), &exchanges);
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("422"), "{}", problems[0]);
        assert!(problems[3].contains("/api/things/new"), "{}", problems[3]);
    }
}

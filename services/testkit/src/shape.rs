//! Pinning the shape of a JSON body: which fields it has and their JSON
//! types, the way a client of the original services relies on them (SPEC §2:
//! every field present, `null` rather than omitted; extra fields allowed).
//!
//! A shape is JSON whose leaves name types: `"int"`, `"string"`, `"bool"`,
//! `"number"`, `"time"` (an RFC 3339 string), `"object"`, `"array"`, or
//! `"null"`; a trailing `?` also allows `null` (`"string?"`). An object
//! shape lists fields that must be present (others may be too); an array
//! shape `[item]` checks every element against `item`.
//!
//! ```ignore
//! assert_shape("GET /api/profile/me", &body, &json!({
//!     "id": "int", "email": "string", "display_name": "string?",
//!     "last_seen_at": "time?",
//! }));
//! ```

use serde_json::Value;

/// Panics listing every place where `value` does not have `shape`.
pub fn assert_shape(what: &str, value: &Value, shape: &Value) {
    let mut problems = Vec::new();
    check(value, shape, "$", &mut problems);
    assert!(
        problems.is_empty(),
        "{what}: the body does not have the pinned shape:\n  {}\nbody: {value}",
        problems.join("\n  ")
    );
}

fn check(value: &Value, shape: &Value, at: &str, problems: &mut Vec<String>) {
    match shape {
        Value::Object(fields) => {
            let Some(object) = value.as_object() else {
                problems.push(format!("{at}: expected an object, got {value}"));
                return;
            };
            for (name, field_shape) in fields {
                match object.get(name) {
                    Some(v) => check(v, field_shape, &format!("{at}.{name}"), problems),
                    None => problems.push(format!("{at}.{name}: missing")),
                }
            }
        }
        Value::Array(item) => {
            let Some(items) = value.as_array() else {
                problems.push(format!("{at}: expected an array, got {value}"));
                return;
            };
            if let Some(item_shape) = item.first() {
                for (i, v) in items.iter().enumerate() {
                    check(v, item_shape, &format!("{at}[{i}]"), problems);
                }
            }
        }
        Value::String(ty) => {
            let (ty, nullable) = match ty.strip_suffix('?') {
                Some(t) => (t, true),
                None => (ty.as_str(), false),
            };
            if value.is_null() && nullable {
                return;
            }
            let ok = match ty {
                "int" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "string" => value.is_string(),
                "bool" => value.is_boolean(),
                "time" => value.as_str().is_some_and(is_rfc3339),
                "object" => value.is_object(),
                "array" => value.is_array(),
                "null" => value.is_null(),
                other => panic!("{at}: unknown type {other:?} in the shape"),
            };
            if !ok {
                problems.push(format!("{at}: expected {ty}, got {value}"));
            }
        }
        other => panic!("{at}: a shape is an object, an array or a type name, not {other}"),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if !(digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19))
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    matches!(rest, "Z" | "z")
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(value: Value, shape: Value) -> Vec<String> {
        let mut out = Vec::new();
        check(&value, &shape, "$", &mut out);
        out
    }

    #[test]
    fn present_fields_of_the_right_type_pass() {
        let shape = json!({"id": "int", "name": "string?", "at": "time", "tags": ["string"], "x": {"ok": "bool"}});
        let value = json!({"id": 1, "name": null, "at": "2026-11-30T02:46:03.057842Z", "tags": ["a"], "x": {"ok": true}, "more": 1});
        assert_eq!(problems(value, shape), Vec::<String>::new());
    }

    #[test]
    fn missing_fields_and_wrong_types_fail() {
        let shape = json!({"id": "int", "name": "string?", "at": "time", "tags": ["string"]});
        let value = json!({"id": "1", "at": "yesterday", "tags": [1]});
        let found = problems(value, shape);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found.iter().any(|p| p == "$.name: missing"), "{found:#?}");
    }
}

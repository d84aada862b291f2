//! The one OpenAPI document of a process: every service's document merged,
//! with the error statuses the shared plumbing answers documented on every
//! operation they apply to.
//!
//! Three rules keep generated clients working:
//! - a schema name means one schema: merging two services' documents that
//!   give one name to different schemas is refused (as axum refuses two
//!   handlers for one route), since one would silently replace the other;
//! - a status the server sends is documented: the extractors, the
//!   authentication and the per-user rate limit answer the same way on every
//!   route, so their statuses are added here once rather than per handler;
//! - a field a response has is always there (SPEC §2: `null`, never
//!   omitted — no response type skips a field when serialising), so every
//!   property of a schema only responses use is marked required, which the
//!   schema generator leaves off `Option` fields.

use crate::error::ErrorBody;
use serde_json::Value;
use std::collections::BTreeSet;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Schema};
use utoipa::{PartialSchema, ToSchema};

/// Merges `other` into `doc`.
///
/// # Panics
/// When both give one schema name to different schemas: a programming error
/// (rename one with `#[schema(as = ...)]` or a new type name).
pub fn merge(doc: &mut OpenApi, other: OpenApi) {
    if let (Some(mine), Some(theirs)) = (&doc.components, &other.components) {
        for (name, schema) in &theirs.schemas {
            if mine.schemas.get(name).is_some_and(|s| s != schema) {
                panic!(
                    "two different OpenAPI schemas are named {name:?}: give one a unique name \
                     (the merged document would keep only the first)"
                );
            }
        }
    }
    doc.merge(other);
}

/// Documents on each operation the statuses the shared plumbing sends, where
/// the operation does not document them itself:
/// - 400 (malformed body), 413 (body too large), 415 (wrong content type)
///   and 422 (a body of the wrong shape) on operations with a request body;
/// - 422 on operations with path or query parameters (a non-integer id, a
///   limit out of range);
/// - 401 (no, a bad or a revoked token) and 429 (the per-user rate limit) on
///   operations that need a bearer token.
pub fn document_common_errors(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .schemas
        .entry(ErrorBody::name().into_owned())
        .or_insert_with(ErrorBody::schema);
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            for (status, why) in common_errors(op) {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error_response(why));
            }
        }
    }
}

/// The document as served: `doc` with [`document_common_errors`], as JSON,
/// with [`require_response_fields`].
pub fn published(mut doc: OpenApi) -> Value {
    document_common_errors(&mut doc);
    let mut value = serde_json::to_value(&doc).unwrap_or_else(|e| {
        // Serialising plain data structures does not fail; should it, the
        // document says so rather than the process going down.
        serde_json::json!({"openapi": "3.1.0", "info": {"title": format!("unserialisable: {e}"), "version": ""}, "paths": {}})
    });
    require_response_fields(&mut value);
    value
}

/// Marks every property of the schemas only responses use required (see
/// the module's opening) in the JSON document `doc`. Schemas a request body
/// or parameter also uses keep their optional fields.
pub fn require_response_fields(doc: &mut Value) {
    let mut responses = BTreeSet::new();
    let mut requests = BTreeSet::new();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                refs(&op["requestBody"], &mut requests);
                refs(&op["parameters"], &mut requests);
                if let Some(answers) = op["responses"].as_object_mut() {
                    for answer in answers.values_mut() {
                        if let Some(content) = answer["content"].as_object_mut() {
                            for media in content.values_mut() {
                                refs(&media["schema"], &mut responses);
                                require_all(&mut media["schema"]);
                            }
                        }
                    }
                }
            }
        }
    }
    let Some(schemas) = doc.get_mut("components").and_then(|c| c.get_mut("schemas")) else {
        return;
    };
    let responses = closure(schemas, responses);
    let requests = closure(schemas, requests);
    for name in responses.difference(&requests) {
        if let Some(schema) = schemas.get_mut(name) {
            require_all(schema);
        }
    }
}

/// Names of the component schemas `v` refers to.
fn refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.insert(name.to_owned());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// `names` and every schema they refer to, transitively.
fn closure(schemas: &Value, mut names: BTreeSet<String>) -> BTreeSet<String> {
    let mut todo: Vec<String> = names.iter().cloned().collect();
    while let Some(name) = todo.pop() {
        let mut found = BTreeSet::new();
        refs(&schemas[&name], &mut found);
        for f in found {
            if names.insert(f.clone()) {
                todo.push(f);
            }
        }
    }
    names
}

/// Requires every property of `schema` and of the object schemas inline in it.
fn require_all(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        let all: Vec<Value> = props.keys().cloned().map(Value::String).collect();
        map.insert("required".into(), Value::Array(all));
    }
    for key in [
        "properties",
        "items",
        "allOf",
        "oneOf",
        "anyOf",
        "additionalProperties",
    ] {
        match map.get_mut(key) {
            Some(Value::Object(inner)) if key == "properties" => {
                inner.values_mut().for_each(require_all);
            }
            Some(Value::Array(inner)) => inner.iter_mut().for_each(require_all),
            Some(inner @ Value::Object(_)) => require_all(inner),
            _ => {}
        }
    }
}

fn common_errors(op: &Operation) -> Vec<(u16, &'static str)> {
    let mut out = Vec::new();
    let has_params = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query))
    });
    if op.request_body.is_some() {
        out.push((400, "malformed request body"));
        out.push((413, "request body too large"));
        out.push((415, "unsupported content type"));
    }
    if op.request_body.is_some() || has_params {
        out.push((422, "invalid parameter or body field"));
    }
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        out.push((401, "missing, invalid, expired or revoked token"));
        out.push((429, "too many requests; see Retry-After"));
    }
    out
}

fn error_response(description: &str) -> RefOr<Response> {
    let schema: RefOr<Schema> = Ref::from_schema_name(ErrorBody::name()).into();
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::ComponentsBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};

    fn with_schema(name: &str, ty: Type) -> OpenApi {
        let mut doc = OpenApi::default();
        doc.components = Some(
            ComponentsBuilder::new()
                .schema(name, ObjectBuilder::new().schema_type(ty).build())
                .build(),
        );
        doc
    }

    #[test]
    fn equal_schemas_may_share_a_name() {
        let mut doc = with_schema("A", Type::Object);
        merge(&mut doc, with_schema("A", Type::Object));
        merge(&mut doc, with_schema("B", Type::String));
        assert_eq!(doc.components.unwrap().schemas.len(), 2);
    }

    #[test]
    fn response_fields_are_required_request_fields_stay_optional() {
        let mut v = serde_json::json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/x": {"post": {
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/In"}}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Out"}}}}}
            }}},
            "components": {"schemas": {
                "In": {"type": "object", "properties": {"a": {"type": ["string", "null"]}}},
                "Out": {"type": "object", "properties": {
                    "b": {"type": ["string", "null"]},
                    "inner": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Inner"}]}
                }},
                "Inner": {"type": "object", "properties": {"c": {"type": ["integer", "null"]}}}
            }}
        });
        require_response_fields(&mut v);
        let schemas = &v["components"]["schemas"];
        assert_eq!(
            schemas["Out"]["required"],
            serde_json::json!(["b", "inner"])
        );
        assert_eq!(schemas["Inner"]["required"], serde_json::json!(["c"]));
        assert!(schemas["In"].get("required").is_none());
    }

    #[test]
    #[should_panic(expected = "\"A\"")]
    fn different_schemas_may_not() {
        let mut doc = with_schema("A", Type::Object);
        merge(&mut doc, with_schema("A", Type::String));
    }
}

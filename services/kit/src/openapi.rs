//! The one OpenAPI document of a process: every service's document merged,
//! with the error statuses the shared plumbing answers documented on every
//! operation they apply to.
//!
//! Two rules keep generated clients working:
//! - a schema name means one schema: merging two services' documents that
//!   give one name to different schemas is refused (as axum refuses two
//!   handlers for one route), since one would silently replace the other;
//! - a status the server sends is documented: the extractors, the
//!   authentication and the per-user rate limit answer the same way on every
//!   route, so their statuses are added here once rather than per handler.

use crate::error::ErrorBody;
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
    #[should_panic(expected = "\"A\"")]
    fn different_schemas_may_not() {
        let mut doc = with_schema("A", Type::Object);
        merge(&mut doc, with_schema("A", Type::String));
    }
}

//! Offline schema validation: every rendered object is read into the typed
//! Kubernetes API structs of `k8s-openapi` (the OpenAPI schemas of Kubernetes
//! 1.33, generated into Rust) and written back. Those structs skip fields they
//! do not know, so a misspelt or misplaced field vanishes in the round trip:
//! any difference between what was rendered and what comes back is a field
//! the API server would reject or ignore.

use k8s_openapi::api::{apps, autoscaling, batch, core, policy, rbac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn round_trip<T: DeserializeOwned + Serialize>(object: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(object.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

/// Checks one object; the error names the object and the first field the
/// schema does not have (or a value of the wrong type).
pub fn validate(object: &Value) -> Result<(), String> {
    let object = &api_server_view(object);
    let api = object["apiVersion"].as_str().unwrap_or("");
    let kind = object["kind"].as_str().unwrap_or("");
    let back = match (api, kind) {
        ("v1", "Namespace") => round_trip::<core::v1::Namespace>(object),
        ("v1", "ConfigMap") => round_trip::<core::v1::ConfigMap>(object),
        ("v1", "Secret") => round_trip::<core::v1::Secret>(object),
        ("v1", "Service") => round_trip::<core::v1::Service>(object),
        ("v1", "ServiceAccount") => round_trip::<core::v1::ServiceAccount>(object),
        ("v1", "PersistentVolumeClaim") => round_trip::<core::v1::PersistentVolumeClaim>(object),
        ("apps/v1", "Deployment") => round_trip::<apps::v1::Deployment>(object),
        ("apps/v1", "StatefulSet") => round_trip::<apps::v1::StatefulSet>(object),
        ("batch/v1", "Job") => round_trip::<batch::v1::Job>(object),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            round_trip::<autoscaling::v2::HorizontalPodAutoscaler>(object)
        }
        ("policy/v1", "PodDisruptionBudget") => {
            round_trip::<policy::v1::PodDisruptionBudget>(object)
        }
        ("rbac.authorization.k8s.io/v1", "Role") => round_trip::<rbac::v1::Role>(object),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
            round_trip::<rbac::v1::RoleBinding>(object)
        }
        _ => Err(format!(
            "no schema here for {api} {kind}: add it to tests/k8s/schema.rs"
        )),
    };
    let name = object["metadata"]["name"].as_str().unwrap_or("?");
    let back = back.map_err(|e| format!("{kind} {name}: {e}"))?;
    match difference(object, &back, "") {
        None => Ok(()),
        Some(path) => Err(format!(
            "{kind} {name}: {path} is not in the {api} {kind} schema (or has the wrong type)"
        )),
    }
}

/// kustomize wraps long base64 Secret data over lines; the API server's
/// base64 decoder skips line breaks, so compare without them.
pub fn api_server_view(object: &Value) -> Value {
    let mut object = object.clone();
    if object["kind"] == "Secret"
        && let Some(data) = object.get_mut("data").and_then(Value::as_object_mut)
    {
        for value in data.values_mut() {
            if let Some(text) = value.as_str() {
                *value = Value::String(text.replace(['\n', '\r'], ""));
            }
        }
    }
    object
}

/// The first path where `rendered` and `back` differ.
fn difference(rendered: &Value, back: &Value, path: &str) -> Option<String> {
    match (rendered, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let here = format!("{path}.{k}");
                match b.get(k) {
                    Some(w) => {
                        if let Some(p) = difference(v, w, &here) {
                            return Some(p);
                        }
                    }
                    None => return Some(here),
                }
            }
            // Embedded objects (a StatefulSet's claim templates) come back
            // with their apiVersion and kind, which the server fills in too.
            b.keys()
                .find(|k| {
                    let embedded_type =
                        !path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind");
                    !a.contains_key(*k) && !embedded_type
                })
                .map(|k| format!("{path}.{k} (added)"))
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (v, w))| difference(v, w, &format!("{path}[{i}]"))),
        (a, b) if a == b => None,
        // 2 and 2.0 are one number to the API server.
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        _ => Some(path.to_owned()),
    }
}

#[test]
fn a_misplaced_field_is_caught() {
    let good: Value = serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "users"},
        "spec": {"selector": {"app": "users"}, "ports": [{"port": 8005, "targetPort": "http"}]}
    });
    assert_eq!(validate(&good), Ok(()));
    let mut typo = good.clone();
    typo["spec"]["ports"][0]["targetport"] = serde_json::json!("http");
    let err = validate(&typo).unwrap_err();
    assert!(err.contains(".spec.ports[0].targetport"), "{err}");
    let mut wrong_type = good;
    wrong_type["spec"]["ports"][0]["port"] = serde_json::json!("eight thousand");
    assert!(validate(&wrong_type).is_err());
    let unknown = serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    assert!(validate(&unknown).unwrap_err().contains("no schema"));
}

//! `kubectl kustomize` (offline: it only reads files) and the rendered objects.

use serde::Deserialize as _;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `$KUBECTL`, else `kubectl` on PATH; panics with how to get it.
fn kubectl() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("kubectl"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "`kubectl` is not on PATH (or in $KUBECTL): it renders the kustomizations \
                 offline; ./test.sh installs it"
            )
        })
}

/// Every object `kubectl kustomize deploy/k8s/<dir>` renders, as JSON.
pub fn render(dir: &str) -> Vec<Value> {
    let out = Command::new(kubectl())
        .arg("kustomize")
        .arg(root().join("deploy/k8s").join(dir))
        .output()
        .unwrap_or_else(|e| panic!("kubectl kustomize {dir}: {e}"));
    assert!(
        out.status.success(),
        "kubectl kustomize deploy/k8s/{dir} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{dir}: {e}"));
    let objects: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{dir}: {e}")))
        .filter(|v| !v.is_null())
        .collect();
    assert!(!objects.is_empty(), "{dir} renders nothing");
    objects
}

pub fn kind(o: &Value) -> &str {
    o["kind"].as_str().unwrap_or("")
}

pub fn name(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or("")
}

pub fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

pub fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// The one object of `kind` named `name`; panics naming what is missing.
pub fn find<'a>(objects: &'a [Value], kind_: &str, name_: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| kind(o) == kind_ && name(o) == name_)
        .unwrap_or_else(|| panic!("no {kind_} {name_} in the render"))
}

/// ConfigMaps and Secrets get a content hash suffix (`banter-config-f7hf5t7b99`):
/// the object a reference names, by its generated name.
pub fn named<'a>(objects: &'a [Value], kind_: &str, name_: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| kind(o) == kind_ && name(o) == name_)
}

/// Objects that run pods, with their pod template's spec.
pub fn workloads(objects: &[Value]) -> impl Iterator<Item = (&Value, &Value)> {
    objects
        .iter()
        .filter(|o| matches!(kind(o), "Deployment" | "StatefulSet" | "Job"))
        .map(|o| (o, &o["spec"]["template"]))
}

/// Does `selector` (a label map) select `labels`?
pub fn selects(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// The data keys of the ConfigMap a pod's `envFrom` names.
pub fn config_keys(objects: &[Value], config_map: &str) -> Vec<String> {
    named(objects, "ConfigMap", config_map)
        .and_then(|c| c["data"].as_object())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

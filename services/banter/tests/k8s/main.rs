//! deploy/k8s cannot run here (no cluster), so it is checked offline: every
//! kustomization renders with `kubectl kustomize`; every object passes the
//! Kubernetes 1.33 schemas (schema.rs); and what the manifests name exists —
//! flags and variables in `banter serve --help`, ports and probe paths in the
//! binary, the gateway's upstreams among the Services, HPA and PDB targets
//! among the Deployments, referenced ConfigMaps and Secrets — and the copies
//! of deploy/, alerts/, dashboards/ and slo/specs/ are up to date.
#![allow(clippy::unwrap_used)]

mod config;
mod render;
mod schema;
#[path = "../support/mod.rs"]
mod support;
mod workloads;

use render::{find, kind, list, name, read, render, str_of};
use serde_json::Value;

/// What `kubectl kustomize` must render, and the Secrets each expects to be
/// created outside git (README.md, "Kubernetes", says how).
const KUSTOMIZATIONS: [(&str, &[&str]); 4] = [
    ("overlays/dev", &[]),
    (
        "overlays/prod",
        &["banter-database", "banter-endpoints", "banter-signing-key"],
    ),
    ("load/base", &[]),
    ("load/single-node", &[]),
];

#[test]
fn every_kustomization_renders_objects_the_api_server_accepts() {
    for (dir, _) in KUSTOMIZATIONS {
        let objects = render(dir);
        let errors: Vec<String> = objects
            .iter()
            .filter_map(|o| schema::validate(o).err())
            .collect();
        assert!(errors.is_empty(), "{dir}:\n{}", errors.join("\n"));
        for o in &objects {
            if kind(o) != "Namespace" {
                assert_eq!(
                    o["metadata"]["namespace"].as_str(),
                    Some("banter"),
                    "{dir}: {} {}",
                    kind(o),
                    name(o)
                );
            }
        }
    }
}

#[test]
fn references_resolve_and_external_secrets_are_documented() {
    let readme = read("README.md");
    for (dir, external) in KUSTOMIZATIONS {
        let objects = render(dir);
        // The load test runs beside a platform overlay: it may use its objects.
        let context = if dir.starts_with("load") {
            [objects.clone(), render("overlays/dev")].concat()
        } else {
            objects.clone()
        };
        let has = |k: &str, n: &str| {
            context.iter().any(|o| kind(o) == k && name(o) == n) || external.contains(&n)
        };
        for (owner, template) in render::workloads(&objects) {
            let pod = &template["spec"];
            let what = format!("{dir}: {} {}", kind(owner), name(owner));
            for c in list(&pod["containers"]) {
                for from in list(&c["envFrom"]) {
                    if let Some(n) = from["configMapRef"]["name"].as_str() {
                        assert!(has("ConfigMap", n), "{what}: no ConfigMap {n}");
                    }
                    let secret = &from["secretRef"];
                    if let Some(n) = secret["name"].as_str()
                        && secret["optional"] != Value::Bool(true)
                    {
                        assert!(has("Secret", n), "{what}: no Secret {n}");
                    }
                }
                for env in list(&c["env"]) {
                    if let Some(n) = env["valueFrom"]["secretKeyRef"]["name"].as_str() {
                        assert!(has("Secret", n), "{what}: no Secret {n}");
                    }
                }
            }
            for v in list(&pod["volumes"]) {
                if let Some(n) = v["configMap"]["name"].as_str() {
                    assert!(has("ConfigMap", n), "{what}: no ConfigMap {n}");
                }
                if let Some(n) = v["secret"]["secretName"].as_str() {
                    assert!(has("Secret", n), "{what}: no Secret {n}");
                }
                if let Some(n) = v["persistentVolumeClaim"]["claimName"].as_str() {
                    assert!(has("PersistentVolumeClaim", n), "{what}: no claim {n}");
                }
            }
            if let Some(n) = pod["serviceAccountName"].as_str() {
                assert!(has("ServiceAccount", n), "{what}: no ServiceAccount {n}");
            }
        }
        for secret in external {
            assert!(
                !objects.iter().any(|o| name(o) == *secret),
                "{dir} must not carry {secret}"
            );
            assert!(
                readme.contains(&format!("kubectl -n banter create secret generic {secret}")),
                "README.md does not say how to create the Secret {secret} for {dir}"
            );
        }
    }
}

#[test]
fn services_select_pods_and_autoscalers_and_budgets_target_deployments() {
    for dir in ["overlays/dev", "overlays/prod"] {
        let objects = render(dir);
        let pods: Vec<(&Value, &Value)> = render::workloads(&objects).collect();
        for svc in objects.iter().filter(|o| kind(o) == "Service") {
            let (owner, pod) = pods
                .iter()
                .find(|(_, t)| render::selects(&svc["spec"]["selector"], &t["metadata"]["labels"]))
                .unwrap_or_else(|| panic!("{dir}: Service {} selects no pod", name(svc)));
            for port in list(&svc["spec"]["ports"]) {
                let target = &port["targetPort"];
                let named = list(&pod["spec"]["containers"])
                    .iter()
                    .flat_map(|c| list(&c["ports"]))
                    .any(|p| &p["name"] == target || &p["containerPort"] == target);
                assert!(
                    named,
                    "{dir}: Service {} → {} has no port {target}",
                    name(svc),
                    name(owner)
                );
            }
        }
        let deployments: Vec<&Value> = objects.iter().filter(|o| kind(o) == "Deployment").collect();
        for hpa in objects
            .iter()
            .filter(|o| kind(o) == "HorizontalPodAutoscaler")
        {
            let target = &hpa["spec"]["scaleTargetRef"];
            assert_eq!(target["kind"], "Deployment");
            let d = find(&objects, "Deployment", str_of(&target["name"]));
            assert!(
                d["spec"]["replicas"].is_null(),
                "{dir}: Deployment {} sets replicas while HPA {} owns them",
                name(d),
                name(hpa)
            );
            let min = hpa["spec"]["minReplicas"].as_u64().unwrap();
            assert!(min >= 1 && min <= hpa["spec"]["maxReplicas"].as_u64().unwrap());
        }
        for d in &deployments {
            let labels = &d["spec"]["template"]["metadata"]["labels"];
            if name(d) == "prometheus" {
                continue; // the dev overlay's own monitoring: one replica
            }
            assert!(
                objects.iter().any(|h| kind(h) == "HorizontalPodAutoscaler"
                    && h["spec"]["scaleTargetRef"]["name"] == d["metadata"]["name"]),
                "{dir}: Deployment {} has no autoscaler",
                name(d)
            );
            assert!(
                objects.iter().any(|p| kind(p) == "PodDisruptionBudget"
                    && render::selects(&p["spec"]["selector"]["matchLabels"], labels)),
                "{dir}: Deployment {} has no disruption budget",
                name(d)
            );
        }
        // chat and notifications also scale on open streams: a metric the
        // services export, served by the adapter rules shipped beside them.
        let adapter =
            str_of(&find(&objects, "ConfigMap", "banter-adapter-rules")["data"]["config.yaml"])
                .to_owned();
        let sse = read("services/kit/src/sse.rs");
        for service in ["chat", "notifications"] {
            let hpa = find(&objects, "HorizontalPodAutoscaler", service);
            let metric = list(&hpa["spec"]["metrics"])
                .iter()
                .find_map(|m| m["pods"]["metric"]["name"].as_str())
                .unwrap_or_else(|| panic!("{dir}: HPA {service} has no per-pod metric"));
            assert!(
                sse.contains(&format!("\"{metric}\"")),
                "no service exports {metric}"
            );
            assert!(
                adapter.contains(&format!("as: {metric}")),
                "the adapter rules do not serve {metric}"
            );
        }
    }
}

#[test]
fn the_gateway_runs_deploy_nginx_conf_with_upstreams_on_the_services() {
    for dir in ["overlays/dev", "overlays/prod"] {
        let objects = render(dir);
        let gateway = find(&objects, "Deployment", "gateway");
        let pod = &gateway["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let command: Vec<&str> = list(&container["command"]).iter().map(str_of).collect();
        let conf_path = command[command.iter().position(|a| *a == "-c").unwrap() + 1];
        let mount = list(&container["volumeMounts"])
            .iter()
            .find(|m| conf_path.starts_with(str_of(&m["mountPath"])))
            .expect("the config file is on a mounted volume");
        let volume = list(&pod["volumes"])
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap();
        let config_map =
            render::named(&objects, "ConfigMap", str_of(&volume["configMap"]["name"])).unwrap();
        let file = conf_path.rsplit('/').next().unwrap();
        let conf = str_of(&config_map["data"][file]);
        assert_eq!(
            conf,
            read("deploy/nginx.conf"),
            "{dir}: the gateway runs deploy/nginx.conf"
        );
        assert_eq!(
            str_of(&config_map["data"]["sse.conf"]),
            read("deploy/sse.conf")
        );
        // Every upstream is a Service of the same name and port.
        let upstreams: Vec<(&str, u64)> = conf
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix("server ")?
                    .strip_suffix(';')?
                    .split_once(':')
            })
            .map(|(h, p)| (h, p.parse().unwrap()))
            .collect();
        assert_eq!(upstreams.len(), 5, "{upstreams:?}");
        for (host, port) in upstreams {
            let svc = find(&objects, "Service", host);
            assert!(
                list(&svc["spec"]["ports"])
                    .iter()
                    .any(|p| p["port"] == port),
                "{dir}: Service {host} has no port {port}"
            );
        }
        let listen: u64 = conf
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("listen ")?
                    .strip_suffix(';')?
                    .parse()
                    .ok()
            })
            .unwrap();
        assert!(
            list(&container["ports"])
                .iter()
                .any(|p| p["containerPort"] == listen)
        );
        // Writable paths of the config are on a writable volume.
        assert!(conf.contains("pid /tmp/nginx.pid;"));
        assert!(
            list(&container["volumeMounts"])
                .iter()
                .any(|m| m["mountPath"] == "/tmp")
        );
    }
}

//! ConfigMaps and settings: the copies kustomize reads are current and all
//! reach a ConfigMap; the dev Prometheus config is valid; the dev addresses
//! point at the dev dependencies.

use crate::render::{find, kind, list, name, read, render, root, str_of};
use crate::schema;
use std::collections::BTreeSet;

/// Copies kustomize reads (it reads nothing outside deploy/k8s), each with its source.
fn copies() -> Vec<(String, String)> {
    let mut pairs = vec![
        (
            "deploy/nginx.conf".to_owned(),
            "deploy/k8s/base/gateway/nginx.conf".to_owned(),
        ),
        (
            "deploy/sse.conf".into(),
            "deploy/k8s/base/gateway/sse.conf".into(),
        ),
        (
            "deploy/compose/postgres-init.sql".into(),
            "deploy/k8s/dependencies/postgres-init.sql".into(),
        ),
        (
            "slo/specs/banter.yaml".into(),
            "deploy/k8s/load/base/banter.yaml".into(),
        ),
    ];
    for (dir, suffix, into) in [
        ("alerts", ".rules.yml", "base/monitoring/alerts"),
        ("dashboards", ".json", "base/monitoring/dashboards"),
    ] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let file = entry.unwrap().file_name().into_string().unwrap();
            if file.ends_with(suffix) {
                pairs.push((format!("{dir}/{file}"), format!("deploy/k8s/{into}/{file}")));
            }
        }
        for entry in std::fs::read_dir(root().join("deploy/k8s").join(into)).unwrap() {
            let file = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                root().join(dir).join(&file).is_file(),
                "deploy/k8s/{into}/{file} has no source in {dir}/: run deploy/k8s/sync.sh"
            );
        }
    }
    pairs
}

#[test]
fn generated_config_maps_are_the_current_sources() {
    for (source, copy) in copies() {
        assert!(
            read(&source) == std::fs::read_to_string(root().join(&copy)).unwrap_or_default(),
            "{copy} is stale or missing (its source is {source}): run deploy/k8s/sync.sh"
        );
    }
    // …and every source file reaches a ConfigMap.
    let dev = [render("overlays/dev"), render("load/base")].concat();
    let data = |config_map: &str| -> BTreeSet<String> {
        dev.iter()
            .filter(|o| kind(o) == "ConfigMap" && name(o).starts_with(&format!("{config_map}-")))
            .flat_map(|o| o["data"].as_object().unwrap().keys().cloned())
            .collect()
    };
    for (source, _) in copies() {
        let (dir, file) = source.rsplit_once('/').unwrap();
        let config_map = match dir {
            "alerts" => "banter-alert-rules",
            "dashboards" => "banter-dashboards",
            "deploy" => "gateway-nginx",
            "deploy/compose" => "postgres-init",
            _ => "slo-spec",
        };
        assert!(
            data(config_map).contains(file),
            "{source} is in no ConfigMap {config_map}: list it in its kustomization.yaml"
        );
    }
    // kubectl apply keeps a copy of each object in an annotation of at most 256 KiB.
    for o in dev.iter().filter(|o| kind(o) == "ConfigMap") {
        let size: usize = o["data"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| str_of(v).len())
            .sum();
        assert!(
            size < 200 * 1024,
            "ConfigMap {} holds {size} bytes",
            name(o)
        );
    }
}

#[test]
fn the_dev_prometheus_config_is_valid_and_scrapes_the_job_the_alerts_expect() {
    let objects = render("overlays/dev");
    let config_map = objects
        .iter()
        .find(|o| kind(o) == "ConfigMap" && name(o).starts_with("prometheus-config-"))
        .unwrap();
    let config = str_of(&config_map["data"]["prometheus.yml"]);
    // Debian's Prometheus is built without Kubernetes discovery: promtool
    // checks the rest of the file with each job's discovery replaced by a
    // static target; the discovery itself is checked here.
    let mut yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(config).unwrap();
    for job in yaml["scrape_configs"].as_sequence_mut().unwrap() {
        let job = job.as_mapping_mut().unwrap();
        if let Some(sd) = job.remove("kubernetes_sd_configs") {
            assert_eq!(sd[0]["role"].as_str(), Some("pod"));
            assert_eq!(sd[0]["namespaces"]["own_namespace"].as_bool(), Some(true));
            let targets: serde_yaml_ng::Value =
                serde_yaml_ng::from_str("[{targets: ['127.0.0.1:9']}]").unwrap();
            job.insert("static_configs".into(), targets);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, serde_yaml_ng::to_string(&yaml).unwrap()).unwrap();
    let promtool = std::process::Command::new("promtool")
        .args(["check", "config", "--syntax-only"])
        .arg(&file)
        .output()
        .expect("promtool is not on PATH: apt-get install prometheus (./test.sh does)");
    assert!(
        promtool.status.success(),
        "promtool check config: {}{}",
        String::from_utf8_lossy(&promtool.stdout),
        String::from_utf8_lossy(&promtool.stderr)
    );
    assert!(config.contains("job_name: banter-split"));
    assert!(read("alerts/banter.rules.yml").contains("banter-split"));
    // The rules it loads are the alert-rule ConfigMap, mounted where the config looks.
    let deployment = find(&objects, "Deployment", "prometheus");
    let pod = &deployment["spec"]["template"]["spec"];
    let rules_mount = list(&pod["containers"][0]["volumeMounts"])
        .iter()
        .find(|m| m["name"] == "rules")
        .unwrap();
    assert!(config.contains(&format!(
        "{}/*.rules.yml",
        str_of(&rules_mount["mountPath"])
    )));
    let rules = list(&pod["volumes"])
        .iter()
        .find(|v| v["name"] == "rules")
        .unwrap();
    assert!(str_of(&rules["configMap"]["name"]).starts_with("banter-alert-rules-"));
}

/// `host:port` of a URL such as postgres://user:pw@host:5432/db or kafka:9092.
fn host_port(url: &str) -> (String, u64) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let addr = rest.split('/').next().unwrap();
    let (host, port) = addr.rsplit_once(':').unwrap();
    (host.to_owned(), port.parse().unwrap())
}

#[test]
fn dev_addresses_point_at_the_dev_dependencies() {
    let objects = render("overlays/dev");
    let has_port = |host: &str, port: u64| {
        list(&find(&objects, "Service", host)["spec"]["ports"])
            .iter()
            .any(|p| p["port"] == port)
    };
    let config = objects
        .iter()
        .find(|o| kind(o) == "ConfigMap" && name(o).starts_with("banter-config-"))
        .unwrap();
    for var in ["REDIS_URL", "KAFKA_BROKERS", "BANTER_USERS_URL"] {
        let (host, port) = host_port(str_of(&config["data"][var]));
        assert!(has_port(&host, port), "{var}: no Service {host}:{port}");
    }
    // The database URLs (decoded by the typed Secret) name the dev server and
    // a database its init script creates, with the password it was given.
    let secret = |prefix: &str| -> k8s_openapi::api::core::v1::Secret {
        let o = objects
            .iter()
            .find(|o| kind(o) == "Secret" && name(o).starts_with(prefix))
            .unwrap();
        serde_json::from_value(schema::api_server_view(o)).unwrap()
    };
    let text = |s: &k8s_openapi::api::core::v1::Secret, key: &str| {
        String::from_utf8(s.data.as_ref().unwrap()[key].0.clone()).unwrap()
    };
    let password = text(&secret("postgres-"), "password");
    let urls = secret("banter-database-");
    let init = read("deploy/compose/postgres-init.sql");
    for service in ["users", "friends", "chat", "notifications", "posts"] {
        let url = text(&urls, service);
        assert_eq!(host_port(&url), ("postgres".to_owned(), 5432), "{url}");
        assert!(
            url.contains(&format!(":{password}@")),
            "{service}: the dev password"
        );
        assert!(url.ends_with(&format!("/{service}")), "{url}");
        assert!(init.contains(&format!("CREATE DATABASE {service};")));
    }
}

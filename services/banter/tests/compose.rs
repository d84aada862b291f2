//! compose.yml, the Dockerfile and the configs they mount cannot run here (no
//! Docker engine), so this checks what can go stale without anyone noticing:
//! every file, port, path and setting they name exists and matches the
//! services' defaults, the gateway and Prometheus point at the services'
//! ports, and Prometheus accepts its compose configuration (`promtool`).
#![allow(clippy::unwrap_used)]

mod support;

use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    let mut v: Value = serde_yaml_ng::from_str(&read(path)).unwrap();
    v.apply_merge().unwrap();
    v
}

fn compose() -> Value {
    yaml("compose.yml")
}

fn services(compose: &Value) -> &serde_yaml_ng::Mapping {
    compose["services"].as_mapping().unwrap()
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose["services"]
        .get(name)
        .unwrap_or_else(|| panic!("compose.yml has no service `{name}`"))
}

fn env<'a>(service: &'a Value, key: &str) -> Option<&'a str> {
    service["environment"].get(key).and_then(Value::as_str)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Does compose service `host` publish or expose `port`?
fn listens(compose: &Value, host: &str, port: u16) -> bool {
    let s = service(compose, host);
    strings(&s["ports"])
        .iter()
        .any(|p| p.rsplit(':').next() == Some(&port.to_string()))
        || strings(&s["expose"]).contains(&port.to_string())
}

fn host_port(addr: &str) -> (String, u16) {
    let addr = addr
        .trim_start_matches("http://")
        .trim_start_matches("redis://")
        .trim_start_matches("postgres://");
    let addr = addr.rsplit_once('@').map_or(addr, |(_, a)| a);
    let addr = addr.split('/').next().unwrap();
    let (host, port) = addr.rsplit_once(':').unwrap();
    (host.to_owned(), port.parse().unwrap())
}

#[test]
fn each_service_runs_its_target_on_its_default_port_and_database() {
    let compose = compose();
    let init = read("deploy/compose/postgres-init.sql");
    for (name, port) in support::default_ports() {
        let s = service(&compose, &name);
        assert_eq!(env(s, "BANTER_TARGET"), Some(name.as_str()));
        assert_eq!(env(s, "BANTER_PORT"), Some(port.to_string().as_str()));
        assert!(listens(&compose, &name, port), "{name} publishes {port}");
        let check = strings(&s["healthcheck"]["test"]).join(" ");
        assert!(
            check.contains(&format!("127.0.0.1:{port}/ready")),
            "{name} healthcheck: {check}"
        );
        assert_eq!(s["build"]["dockerfile"].as_str(), Some("Dockerfile"));
        // Its own database, created by the init script.
        let url = env(s, "DATABASE_URL").unwrap();
        assert!(url.ends_with(&format!("/{name}")), "{name}: {url}");
        assert!(
            init.contains(&format!("CREATE DATABASE {name};")),
            "postgres-init.sql creates {name}"
        );
        for (var, expected) in [
            ("DATABASE_URL", ("postgres", 5432)),
            ("REDIS_URL", ("redis", 6379)),
            ("LOKI_URL", ("loki", 3100)),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", ("tempo", 4318)),
        ] {
            let (host, port) = host_port(env(s, var).unwrap());
            assert_eq!((host.as_str(), port), expected, "{name} {var}");
            assert!(listens(&compose, &host, port), "{host} listens on {port}");
        }
    }
}

#[test]
fn every_variable_given_to_banter_is_one_it_reads() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_banter"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let compose = compose();
    for name in support::default_ports().keys() {
        let vars = service(&compose, name)["environment"].as_mapping().unwrap();
        for var in vars.keys().filter_map(Value::as_str) {
            assert!(
                help.contains(&format!("[env: {var}=")),
                "{name}: banter serve reads no {var}"
            );
        }
    }
}

#[test]
fn mounted_files_exist_and_dependencies_are_declared() {
    let compose = compose();
    let volumes = compose["volumes"].as_mapping().unwrap();
    for (name, s) in services(&compose) {
        let name = name.as_str().unwrap();
        for mount in strings(&s["volumes"]) {
            let source = mount.split(':').next().unwrap();
            if let Some(path) = source.strip_prefix("./") {
                assert!(root().join(path).exists(), "{name} mounts missing {source}");
            } else {
                assert!(
                    volumes.contains_key(source),
                    "{name}: undeclared volume {source}"
                );
            }
        }
        for (dep, how) in s["depends_on"].as_mapping().into_iter().flatten() {
            let dep = dep.as_str().unwrap();
            let target = service(&compose, dep);
            if how["condition"].as_str() == Some("service_healthy") {
                assert!(
                    !target["healthcheck"].is_null(),
                    "{name} waits for {dep} to be healthy, which has no healthcheck"
                );
            }
        }
    }
    let build = &service(&compose, "users")["build"];
    assert!(
        root()
            .join(build["context"].as_str().unwrap())
            .join("Dockerfile")
            .is_file()
    );
    // Optional tooling stays out of `docker compose up`.
    let loadgen = service(&compose, "loadgen");
    assert_eq!(strings(&loadgen["profiles"]), ["load"]);
    let args = strings(&loadgen["command"]);
    let target = &args[args.iter().position(|a| a == "--target-url").unwrap() + 1];
    assert_eq!(host_port(target), ("nginx".into(), 8080));
    assert!(listens(&compose, "nginx", 8080));
}

#[test]
fn the_image_builds_every_binary_and_runs_as_a_non_root_user() {
    let dockerfile = read("Dockerfile");
    let cargo = read("Cargo.toml");
    assert!(dockerfile.contains(" AS build"), "multi-stage");
    let user = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "runs as {user}"
    );
    let build = dockerfile
        .lines()
        .find(|l| l.contains("cargo build"))
        .unwrap();
    assert!(
        build.contains("-p banter -p banter-loadgen -p banter-slo"),
        "{build}"
    );
    for (package, dir) in [
        ("banter", "services/banter"),
        ("banter-loadgen", "loadgen"),
        ("banter-slo", "slo"),
    ] {
        assert!(cargo.contains(&format!("\"{dir}\"")), "{dir} is a member");
        let manifest = read(&format!("{dir}/Cargo.toml"));
        assert!(manifest.contains(&format!("name = \"{package}\"")));
    }
    // The shipped binaries carry no debug info (`.ci/run` checks the built one
    // with readelf).
    let release = &cargo[cargo.find("[profile.release]").expect("a release profile")..];
    let release = &release[..release[1..].find("\n[").map_or(release.len(), |i| i + 1)];
    assert!(
        release.contains("strip = \"debuginfo\"") || release.contains("strip = \"symbols\""),
        "{release}"
    );
    let runtime = &dockerfile[dockerfile.find(" AS runtime").unwrap()..];
    assert!(
        runtime.contains("COPY --from=build /out/ "),
        "the image takes the binaries only"
    );
    for bin in ["banter", "loadgen", "slo"] {
        assert!(
            dockerfile.contains(&format!("target/release/{bin}")),
            "copies {bin}"
        );
    }
    let ignore = read(".dockerignore");
    assert!(
        ignore.lines().any(|l| l == "target/"),
        "target/ stays out of the context"
    );
}

#[test]
fn the_gateway_routes_to_the_services_ports() {
    let compose = compose();
    let nginx = read("deploy/nginx.conf");
    let ports = support::default_ports();
    let upstreams: Vec<(String, u16)> = nginx
        .lines()
        .filter_map(|l| l.trim().strip_prefix("server ")?.strip_suffix(';'))
        .map(host_port)
        .collect();
    assert_eq!(upstreams.len(), 5, "{upstreams:?}");
    for (host, port) in upstreams {
        assert_eq!(ports.get(&host), Some(&port), "upstream {host}:{port}");
        assert!(listens(&compose, &host, port));
    }
    assert!(nginx.contains("listen 8080;"));
    let mounts = strings(&service(&compose, "nginx")["volumes"]);
    assert!(mounts.contains(&"./deploy/nginx.conf:/etc/nginx/nginx.conf:ro".to_owned()));
    assert!(nginx.contains("include sse.conf;"));
    assert!(mounts.contains(&"./deploy/sse.conf:/etc/nginx/sse.conf:ro".to_owned()));
}

#[test]
fn prometheus_scrapes_every_service_with_the_rules() {
    let compose = compose();
    let prometheus = service(&compose, "prometheus");
    let mounts = strings(&prometheus["volumes"]);
    assert!(
        mounts.contains(
            &"./deploy/compose/prometheus.yml:/etc/prometheus/prometheus.yml:ro".to_owned()
        )
    );
    assert!(mounts.contains(&"./alerts:/etc/prometheus/alerts:ro".to_owned()));
    let config = yaml("deploy/compose/prometheus.yml");
    for rules in strings(&config["rule_files"]) {
        let path = rules.strip_prefix("alerts/").unwrap();
        assert!(root().join("alerts").join(path).is_file(), "{rules}");
    }
    let am = strings(&config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]);
    assert_eq!(am, ["alertmanager:9093"]);
    assert!(listens(&compose, "alertmanager", 9093));
    let mut scraped = Vec::new();
    for job in config["scrape_configs"].as_sequence().unwrap() {
        for group in job["static_configs"].as_sequence().unwrap() {
            for target in strings(&group["targets"]) {
                let (host, port) = host_port(&target);
                if host != "localhost" {
                    assert!(listens(&compose, &host, port), "{target}");
                    scraped.push((host, port));
                }
            }
        }
    }
    let expected: Vec<(String, u16)> = support::default_ports().into_iter().collect();
    scraped.sort();
    assert_eq!(scraped, expected);
    // Prometheus itself accepts the file and the rules, laid out as mounted.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("deploy/compose/prometheus.yml"),
        dir.path().join("prometheus.yml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(root().join("alerts"), dir.path().join("alerts")).unwrap();
    support::prometheus::promtool(&["check", "config", "prometheus.yml"], dir.path());
}

#[test]
fn grafana_loads_the_provisioned_dashboards_and_data_sources() {
    let compose = compose();
    let grafana = service(&compose, "grafana");
    let mounts = strings(&grafana["volumes"]);
    let provider = yaml("dashboards/provisioning/dashboards/banter.yml");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    assert!(
        mounts.contains(&format!("./dashboards:{path}:ro")),
        "{mounts:?}"
    );
    assert!(mounts.contains(&"./dashboards/provisioning:/etc/grafana/provisioning:ro".to_owned()));
    let sources = yaml("dashboards/provisioning/datasources/banter.yml");
    for source in sources["datasources"].as_sequence().unwrap() {
        let url = source["url"].as_str().unwrap();
        let (host, port) = host_port(url);
        assert!(listens(&compose, &host, port), "data source {url}");
    }
    let tempo = read("deploy/compose/tempo.yaml");
    assert!(tempo.contains("0.0.0.0:4318") && tempo.contains("http_listen_port: 3200"));
}

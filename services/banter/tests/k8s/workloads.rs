//! The pods: the binary's flags, variables, ports and probe paths; security;
//! resources; graceful termination; the load-test Jobs.

use crate::render::{self, find, kind, list, name, read, render, str_of};
use serde_json::Value;
use std::collections::BTreeMap;

const SERVICES: [&str; 5] = ["users", "friends", "chat", "notifications", "posts"];

fn serve_help() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_banter"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The services' default ports, from the binary's `serve --help`.
fn default_ports() -> BTreeMap<String, u64> {
    crate::support::default_ports()
        .into_iter()
        .map(|(name, port)| (name, u64::from(port)))
        .collect()
}

fn env_names(objects: &[Value], container: &Value) -> Vec<String> {
    let mut names: Vec<String> = list(&container["env"])
        .iter()
        .map(|e| str_of(&e["name"]).to_owned())
        .collect();
    for from in list(&container["envFrom"]) {
        if let Some(n) = from["configMapRef"]["name"].as_str() {
            names.extend(render::config_keys(objects, n));
        }
    }
    names
}

#[test]
fn services_run_the_binary_with_flags_variables_ports_and_probes_it_has() {
    let help = serve_help();
    let ports = default_ports();
    assert_eq!(ports.len(), SERVICES.len());
    for dir in ["overlays/dev", "overlays/prod"] {
        let objects = render(dir);
        for service in SERVICES {
            let d = find(&objects, "Deployment", service);
            let template = &d["spec"]["template"];
            let c = &template["spec"]["containers"][0];
            let args: Vec<&str> = list(&c["args"]).iter().map(str_of).collect();
            assert_eq!(args[..3], ["serve", "--target", service], "{dir}: {args:?}");
            for flag in args.iter().filter(|a| a.starts_with("--")) {
                assert!(
                    help.contains(&format!("  {flag} ")),
                    "banter serve has no {flag}"
                );
            }
            let port = ports[service];
            assert_eq!(
                args[args.iter().position(|a| *a == "--port").unwrap() + 1],
                port.to_string()
            );
            let http = list(&c["ports"])
                .iter()
                .find(|p| p["name"] == "http")
                .unwrap();
            assert_eq!(http["containerPort"], port, "{dir} {service}");
            assert_eq!(
                find(&objects, "Service", service)["spec"]["ports"][0]["port"],
                port
            );
            let scrape = &template["metadata"]["annotations"];
            assert_eq!(scrape["prometheus.io/port"], port.to_string());
            assert_eq!(scrape["prometheus.io/path"], "/metrics");
            for var in env_names(&objects, c) {
                assert!(
                    help.contains(&format!("[env: {var}=")),
                    "{dir} {service}: banter serve reads no {var}"
                );
            }
            // The managed endpoints of overlays/prod (banter-endpoints) are variables it reads.
            for var in ["REDIS_URL", "KAFKA_BROKERS"] {
                assert!(help.contains(&format!("[env: {var}=")));
            }
            assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ready");
            assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health");
            assert_eq!(c["startupProbe"]["httpGet"]["path"], "/health");
            for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
                assert_eq!(c[probe]["httpGet"]["port"], "http", "{service} {probe}");
            }
            let spread = list(&template["spec"]["topologySpreadConstraints"]);
            assert!(!spread.is_empty(), "{service} spreads its replicas");
            for s in spread {
                assert!(render::selects(
                    &s["labelSelector"]["matchLabels"],
                    &template["metadata"]["labels"]
                ));
            }
            let image = str_of(&c["image"]);
            assert!(image.contains("banter:"), "{dir} {service}: image {image}");
        }
    }
}

/// The users service signs tokens with the key of a Secret, mounted read-only
/// where the flag's variable points; the dev overlay's key is one it accepts,
/// and no overlay bakes a key into the platform's image or git for prod.
#[test]
fn the_users_signing_key_is_a_secret_mounted_read_only() {
    let help = serve_help();
    assert!(help.contains("  --signing-key-file <PATH>"), "{help}");
    assert!(help.contains("[env: BANTER_SIGNING_KEY_FILE="), "{help}");
    for dir in ["overlays/dev", "overlays/prod"] {
        let objects = render(dir);
        let pod = &find(&objects, "Deployment", "users")["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        let file = list(&c["env"])
            .iter()
            .find(|e| e["name"] == "BANTER_SIGNING_KEY_FILE")
            .map(|e| str_of(&e["value"]))
            .unwrap_or_else(|| panic!("{dir}: users has no BANTER_SIGNING_KEY_FILE"));
        let mount = list(&c["volumeMounts"])
            .iter()
            .find(|m| file.starts_with(&format!("{}/", str_of(&m["mountPath"]))))
            .unwrap_or_else(|| panic!("{dir}: {file} is on no mounted volume"));
        assert_eq!(
            mount["readOnly"], true,
            "{dir}: the key is mounted read-only"
        );
        let volume = list(&pod["volumes"])
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap();
        let secret = str_of(&volume["secret"]["secretName"]);
        assert!(
            secret.starts_with("banter-signing-key"),
            "{dir}: the key comes from the Secret banter-signing-key, not {volume}"
        );
        let key = file.rsplit('/').next().unwrap();
        match dir {
            "overlays/dev" => {
                let generated = find(&objects, "Secret", secret);
                assert!(
                    generated["data"][key].is_string(),
                    "{dir}: no {key} in {secret}"
                );
                let path = render::root().join("deploy/k8s/overlays/dev").join(key);
                users::key_file::load(&path).unwrap();
            }
            _ => assert!(
                render::named(&objects, "Secret", secret).is_none(),
                "{dir}: the key is created outside git"
            ),
        }
        // The other services verify tokens, they never sign them.
        for service in &SERVICES[1..] {
            let other = &find(&objects, "Deployment", service)["spec"]["template"]["spec"];
            assert!(
                !list(&other["volumes"])
                    .iter()
                    .any(|v| !v["secret"].is_null()),
                "{dir}: {service} mounts a Secret"
            );
        }
    }
}

/// The drain time a service gets: BANTER_DRAIN_SECS, plus the pre-stop pause,
/// must fit in the grace period, with room to flush outboxes and exporters.
#[test]
fn termination_waits_for_the_drain() {
    let objects = render("overlays/prod");
    let config = objects
        .iter()
        .find(|o| kind(o) == "ConfigMap" && name(o).starts_with("banter-config-"))
        .unwrap();
    let drain: u64 = str_of(&config["data"]["BANTER_DRAIN_SECS"])
        .parse()
        .unwrap();
    for service in SERVICES {
        let pod = &find(&objects, "Deployment", service)["spec"]["template"]["spec"];
        let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
        let pre_stop: Vec<&str> =
            list(&pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"])
                .iter()
                .map(str_of)
                .collect();
        assert_eq!(pre_stop[0], "sleep");
        let pause: u64 = pre_stop[1].parse().unwrap();
        assert!(
            grace >= pause + drain + 10,
            "{service}: grace {grace}s < {pause}s + {drain}s + 10s"
        );
    }
}

#[test]
fn every_pod_is_restricted_and_sized() {
    for dir in ["overlays/dev", "overlays/prod", "load/base"] {
        let objects = render(dir);
        for (owner, template) in render::workloads(&objects) {
            let pod = &template["spec"];
            let what = format!("{dir}: {} {}", kind(owner), name(owner));
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{what}");
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{what}"
            );
            assert_ne!(pod["securityContext"]["runAsUser"], 0, "{what}");
            for c in list(&pod["containers"]) {
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
                assert_eq!(
                    sc["capabilities"]["drop"],
                    serde_json::json!(["ALL"]),
                    "{what}"
                );
                if name(owner) != "kafka" {
                    assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}: read-only root");
                }
                let (requests, limits) = (&c["resources"]["requests"], &c["resources"]["limits"]);
                for r in ["cpu", "memory"] {
                    assert!(
                        requests[r].is_string() && limits[r].is_string(),
                        "{what}: {r} request and limit"
                    );
                }
            }
        }
    }
}

/// The verdict waits for the markers the workers write.
fn gate_waits_for_done(gate: &str) -> bool {
    gate.contains("/runs/worker-*/done") && gate.contains("/runs/worker-*/failed")
}

#[test]
fn the_load_job_runs_every_worker_and_gates_on_the_merged_record() {
    let objects = render("load/base");
    let workers = find(&objects, "Job", "loadgen-workers");
    let verdict = find(&objects, "Job", "loadgen-verdict");
    assert_eq!(workers["spec"]["completionMode"], "Indexed");
    let n = workers["spec"]["completions"].as_u64().unwrap();
    assert!(n >= 2);
    assert_eq!(workers["spec"]["parallelism"], n, "all workers at once");
    for job in [workers, verdict] {
        let env = list(&job["spec"]["template"]["spec"]["containers"][0]["env"]);
        let count = env.iter().find(|e| e["name"] == "WORKERS").unwrap();
        assert_eq!(count["value"], n.to_string(), "{}: WORKERS", name(job));
        assert_eq!(
            job["spec"]["backoffLimit"], 0,
            "a failure is a verdict, not a retry"
        );
    }
    let script = |job: &Value| {
        str_of(&job["spec"]["template"]["spec"]["containers"][0]["args"][0]).to_owned()
    };
    let run = script(workers);
    assert!(
        run.contains("loadgen run --worker \"$JOB_COMPLETION_INDEX/$WORKERS\""),
        "{run}"
    );
    for part in [
        "out=\"/runs/worker-$JOB_COMPLETION_INDEX\"",
        "--out \"$out\"",
        "touch \"$out/done\"",
    ] {
        assert!(run.contains(part), "{part} missing from {run}");
    }
    // Every journey, so every service's objective has traffic to judge.
    for journey in loadgen::Journey::ALL {
        let flag = format!("--journey {}", journey.name());
        assert!(run.contains(&flag), "{flag} missing from {run}");
    }
    assert!(gate_waits_for_done(&script(verdict)));
    let gate = script(verdict);
    assert!(
        gate.contains("loadgen merge /runs/worker-*/run.json --output /runs/merged/run.json"),
        "{gate}"
    );
    assert!(
        gate.contains("slo check --spec /etc/banter/slo/banter.yaml --run /runs/merged/run.json"),
        "{gate}"
    );
    // The flags exist in the tools' command-line definitions.
    let loadgen = read("loadgen/src/main.rs");
    for field in [
        "worker:",
        "target_url:",
        "profile:",
        "users:",
        "duration:",
        "journeys:",
        "quiet:",
        "out:",
        "output:",
    ] {
        assert!(loadgen.contains(field), "loadgen has no {field}");
    }
    let slo = read("slo/src/main.rs");
    for field in ["spec: PathBuf", "run: Option<PathBuf>"] {
        assert!(slo.contains(field), "slo check has no {field}");
    }
    let spec = list(&verdict["spec"]["template"]["spec"]["containers"][0]["volumeMounts"])
        .iter()
        .find(|m| m["name"] == "slo-spec")
        .unwrap();
    assert_eq!(spec["mountPath"], "/etc/banter/slo");
    // The target is the gateway of the platform overlays, in the same namespace.
    let dev = render("overlays/dev");
    let env = list(&workers["spec"]["template"]["spec"]["containers"][0]["env"]);
    let target = str_of(&env.iter().find(|e| e["name"] == "TARGET_URL").unwrap()["value"]);
    assert_eq!(target, "http://gateway:8080");
    assert!(
        list(&find(&dev, "Service", "gateway")["spec"]["ports"])
            .iter()
            .any(|p| p["port"] == 8080)
    );
    // The same image as the platform's.
    let image = str_of(&workers["spec"]["template"]["spec"]["containers"][0]["image"]);
    assert_eq!(
        image,
        str_of(
            &find(&dev, "Deployment", "users")["spec"]["template"]["spec"]["containers"][0]["image"]
        )
    );
    let single = render("load/single-node");
    assert_eq!(
        find(&single, "PersistentVolumeClaim", "loadgen-runs")["spec"]["accessModes"][0],
        "ReadWriteOnce"
    );
    assert_eq!(
        find(&objects, "PersistentVolumeClaim", "loadgen-runs")["spec"]["accessModes"][0],
        "ReadWriteMany"
    );
}

/// Images other than Banter's are the ones compose.yml runs, so both stacks
/// move to a new PostgreSQL, Redis, Kafka, nginx or Prometheus together.
#[test]
fn third_party_images_are_those_of_compose() {
    let compose = read("compose.yml");
    let objects = render("overlays/dev");
    let mut seen = 0;
    for (owner, template) in render::workloads(&objects) {
        for c in list(&template["spec"]["containers"]) {
            let image = str_of(&c["image"]);
            if image.starts_with("banter:") {
                continue;
            }
            seen += 1;
            assert!(
                compose.contains(&format!("image: {image}\n")),
                "{} {} runs {image}, which compose.yml does not",
                kind(owner),
                name(owner)
            );
        }
    }
    assert_eq!(seen, 5, "nginx, PostgreSQL, Redis, Kafka, Prometheus");
}

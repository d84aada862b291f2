//! A scenario file: the platform, the steady load, the fault and its window,
//! the time compression of the rules and what must happen. Read once, checked
//! whole before anything starts, so a typo costs a second, not a run.

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Defaults to the file's name without `.yaml`.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub platform: PlatformSpec,
    pub load: Load,
    pub timeline: Timeline,
    /// None: a healthy run, no fault at all.
    #[serde(default)]
    pub fault: Option<FaultDecl>,
    /// Every range (`[5m]`) and `for:` of the rules divided by this; 1 = the
    /// rules as written. See `rules::compress`.
    #[serde(default = "one")]
    pub compress: f64,
    pub expect: Expect,
}

fn one() -> f64 {
    1.0
}

fn default_warmup() -> Duration {
    Duration::from_secs(15)
}

fn yes() -> bool {
    true
}

/// The embedded platform (one `banter serve --target all` process on fresh
/// SQLite): `args` are added to its command line. The split deployment
/// (`--cluster`) takes its settings from deploy/local-cluster.sh's environment.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// loadgen journeys [default: all of them].
    #[serde(default)]
    pub journeys: Vec<String>,
    /// Closed model: this many users; with `rate`, the open model's pool.
    #[serde(default)]
    pub users: Option<usize>,
    /// Open model: journeys started per second.
    #[serde(default)]
    pub rate: Option<f64>,
}

/// `warmup` seconds of load before anything is measured (users sign up:
/// password hashing would otherwise burn the latency budget of the first
/// compressed windows), then `steady` seconds of load, the fault for `fault`
/// seconds, and `recovery` seconds of load without it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Timeline {
    #[serde(with = "secs", default = "default_warmup")]
    pub warmup: Duration,
    #[serde(with = "secs")]
    pub steady: Duration,
    #[serde(with = "secs")]
    pub fault: Duration,
    #[serde(with = "secs")]
    pub recovery: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultDecl {
    pub kind: String,
    pub service: String,
    /// In the split deployment, the one process of `service` the fault hits
    /// (1 or 2); without it, every process of the service. `kill-instance`
    /// kills instance 1 unless told otherwise.
    #[serde(default)]
    pub instance: Option<u8>,
    /// The keys of `banter serve --fault` (`share`, `latency_ms`, …).
    #[serde(default)]
    pub params: BTreeMap<String, serde_yaml_ng::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Alerts that must fire, each within its bound from the fault's start.
    #[serde(default)]
    pub fires: Vec<AlertExpectation>,
    /// No alert at all may fire (the healthy run).
    #[serde(default)]
    pub quiet: bool,
    /// Every event published is consumed by every consumer group, once.
    #[serde(default = "yes")]
    pub no_event_lost: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertExpectation {
    pub alert: String,
    /// Labels the firing series must carry (e.g. `service: chat`, `sloth_severity: page`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Fires at most this long after the fault starts.
    #[serde(with = "secs")]
    pub within: Duration,
    /// Stops firing at most this long after the fault ends (unchecked when absent:
    /// long-window alerts outlast a short run by design).
    #[serde(default, with = "opt_secs")]
    pub resolves_within: Option<Duration>,
}

/// A fault the experiment runner injects itself rather than through the
/// admin surface, on the embedded platform: the platform process is frozen
/// (SIGSTOP) for the window and thawed (SIGCONT) after it, as a hung instance
/// would be. Scrapes fail meanwhile, so it is what trips `BanterTargetDown`.
pub const PAUSE_INSTANCE: &str = "pause-instance";

/// A fault the runner injects itself, in the split deployment: one process of
/// a service is killed (SIGKILL, `deploy/local-cluster.sh kill`) at the
/// window's start and started again (`restart`, which waits until it is
/// ready) at its end, as a crashed and rescheduled instance.
pub const KILL_INSTANCE: &str = "kill-instance";

impl FaultDecl {
    /// Whether the runner injects this fault itself (see [`PAUSE_INSTANCE`],
    /// [`KILL_INSTANCE`]).
    pub fn by_runner(&self) -> bool {
        self.kind == PAUSE_INSTANCE || self.kind == KILL_INSTANCE
    }

    /// The process `kill-instance` kills (`chat-1`).
    pub fn victim(&self) -> String {
        format!("{}-{}", self.service, self.instance.unwrap_or(1))
    }

    /// What the reports call the fault: its `--fault` line, or for a
    /// runner's fault on one process `KIND:SERVICE-I`.
    pub fn title(&self) -> String {
        match self.instance {
            Some(i) if self.by_runner() => format!("{}:{}-{i}", self.kind, self.service),
            Some(i) => format!("{} (instance {i})", self.flag()),
            None if self.kind == KILL_INSTANCE => format!("{}:{}", self.kind, self.victim()),
            None => self.flag(),
        }
    }

    /// The `--fault` line (`KIND:SERVICE:k=v,...`).
    pub fn flag(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}={}", scalar(v)))
            .collect();
        if params.is_empty() {
            format!("{}:{}", self.kind, self.service)
        } else {
            format!("{}:{}:{}", self.kind, self.service, params.join(","))
        }
    }

    /// The admin endpoint's body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("kind".into(), self.kind.clone().into());
        body.insert("service".into(), self.service.clone().into());
        for (k, v) in &self.params {
            body.insert(k.clone(), scalar(v).into());
        }
        body.into()
    }
}

fn scalar(v: &serde_yaml_ng::Value) -> String {
    match v {
        serde_yaml_ng::Value::String(s) => s.clone(),
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        serde_yaml_ng::Value::Bool(b) => b.to_string(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

impl Scenario {
    /// Reads and checks `path`; the error says what to fix.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the scenario {}", path.display()))?;
        let mut scenario: Scenario = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("{} is not a scenario", path.display()))?;
        if scenario.name.is_empty() {
            scenario.name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "experiment".into());
        }
        scenario
            .check()
            .with_context(|| format!("{} is not a valid scenario", path.display()))?;
        Ok(scenario)
    }

    fn check(&self) -> anyhow::Result<()> {
        for j in &self.load.journeys {
            loadgen::Journey::parse(j).map_err(anyhow::Error::msg)?;
        }
        if !(self.compress >= 1.0 && self.compress <= 3600.0) {
            bail!(
                "compress must be between 1 (rules as written) and 3600, not {}",
                self.compress
            );
        }
        let t = &self.timeline;
        if t.steady + t.fault + t.recovery < Duration::from_secs(5) {
            bail!("the timeline is shorter than 5 s: nothing could be measured");
        }
        match &self.fault {
            Some(f) if f.instance == Some(0) => {
                bail!("fault.instance counts from 1 (chat-1 is instance 1)")
            }
            Some(f)
                if f.kind == PAUSE_INSTANCE
                    && (f.service != "all" || !f.params.is_empty() || f.instance.is_some()) =>
            {
                bail!(
                    "fault: {PAUSE_INSTANCE} freezes the whole process: service `all`, no params, no instance"
                )
            }
            Some(f) if f.kind == KILL_INSTANCE && (f.service == "all" || !f.params.is_empty()) => {
                bail!(
                    "fault: {KILL_INSTANCE} kills one process of one service: name the service (and `instance`, 1 by default), no params"
                )
            }
            Some(f) if !f.by_runner() => {
                kit::faults::FaultSpec::parse_flag(&f.flag()).map_err(|e| {
                    anyhow::anyhow!(
                        "fault: {} (or {PAUSE_INSTANCE}, {KILL_INSTANCE}; see `banter serve --help`, --fault)",
                        e.0
                    )
                })?;
            }
            Some(_) => {}
            None if !self.expect.fires.is_empty() => {
                bail!("expect.fires names alerts but the scenario has no fault to trip them")
            }
            None => {}
        }
        if self.fault.is_some() && t.fault.is_zero() {
            bail!("timeline.fault is 0 s: the fault would never be on");
        }
        if self.expect.quiet && !self.expect.fires.is_empty() {
            bail!("expect.quiet (no alert may fire) contradicts expect.fires");
        }
        Ok(())
    }

    /// Whether the scenario can run on the deployment chosen (`cluster`: the
    /// split one); the error says what to change.
    pub fn check_deployment(&self, cluster: bool) -> anyhow::Result<()> {
        let fault = self.fault.as_ref();
        if cluster {
            if fault.is_some_and(|f| f.kind == PAUSE_INSTANCE) {
                bail!(
                    "fault: {PAUSE_INSTANCE} freezes the embedded platform's one process; in the split deployment use {KILL_INSTANCE} (or drop --cluster)"
                );
            }
            if !self.platform.args.is_empty() {
                bail!(
                    "platform.args are added to the embedded platform's command line; the split deployment takes its settings from deploy/local-cluster.sh's environment (deploy/local-cluster.sh help): drop platform.args or --cluster"
                );
            }
        } else {
            if fault.is_some_and(|f| f.kind == KILL_INSTANCE) {
                bail!(
                    "fault: {KILL_INSTANCE} kills one process of the split deployment, and the embedded platform is one process for every service: run with --cluster"
                );
            }
            if fault.is_some_and(|f| f.instance.is_some()) {
                bail!(
                    "fault.instance names one process of the split deployment; the embedded platform has one: run with --cluster, or drop `instance`"
                );
            }
        }
        Ok(())
    }

    /// The whole run: steady + fault + recovery.
    pub fn length(&self) -> Duration {
        self.timeline.steady + self.timeline.fault + self.timeline.recovery
    }
}

/// Durations as people write them (`30s`, `2m`), through loadgen's parser.
mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let raw = serde_yaml_ng::Value::deserialize(d)?;
        let text = match raw {
            serde_yaml_ng::Value::String(s) => s,
            serde_yaml_ng::Value::Number(n) => n.to_string(),
            _ => return Err(serde::de::Error::custom("expected a duration such as 30s")),
        };
        if text.trim() == "0" || text.trim() == "0s" {
            return Ok(Duration::ZERO);
        }
        loadgen::profile::parse_duration(&text).map_err(serde::de::Error::custom)
    }

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}s", d.as_secs_f64()))
    }
}

mod opt_secs {
    use serde::{Deserializer, Serializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::secs::deserialize(d).map(Some)
    }

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::secs::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Scenario> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, text)?;
        Scenario::load(&path)
    }

    const OK: &str = "load: {journeys: [chat], users: 5}\n\
        timeline: {steady: 10s, fault: 20s, recovery: 30s}\n\
        fault: {kind: http-errors, service: chat, params: {share: 0.5}}\n\
        compress: 60\n\
        expect:\n  fires:\n    - {alert: BanterHighErrorRate, labels: {service: chat}, within: 30s, resolves_within: 40s}\n";

    #[test]
    fn a_scenario_reads_whole_and_names_itself_after_its_file() {
        let s = parse(OK).unwrap();
        assert_eq!(s.name, "s");
        assert_eq!(s.length(), Duration::from_secs(60));
        let f = s.fault.as_ref().unwrap();
        assert_eq!(f.flag(), "http-errors:chat:share=0.5");
        assert_eq!(f.body()["share"], "0.5");
        assert_eq!(
            s.expect.fires[0].resolves_within,
            Some(Duration::from_secs(40))
        );
        assert!(s.expect.no_event_lost);
    }

    #[test]
    fn instance_faults_belong_to_their_deployment() {
        let kill = OK.replace(
            "{kind: http-errors, service: chat, params: {share: 0.5}}",
            "{kind: kill-instance, service: chat, instance: 2}",
        );
        let s = parse(&kill).unwrap();
        let f = s.fault.as_ref().unwrap();
        assert!(f.by_runner());
        assert_eq!(f.victim(), "chat-2");
        assert_eq!(f.title(), "kill-instance:chat-2");
        s.check_deployment(true).unwrap();
        let err = format!("{:#}", s.check_deployment(false).unwrap_err());
        assert!(err.contains("run with --cluster"), "{err}");

        let pause = OK.replace(
            "{kind: http-errors, service: chat, params: {share: 0.5}}",
            "{kind: pause-instance, service: all}",
        );
        let s = parse(&pause).unwrap();
        s.check_deployment(false).unwrap();
        let err = format!("{:#}", s.check_deployment(true).unwrap_err());
        assert!(err.contains("use kill-instance"), "{err}");

        // An admin-surface fault on one process: the split deployment only.
        let one = OK.replace("service: chat,", "service: chat, instance: 1,");
        let s = parse(&one).unwrap();
        assert_eq!(
            s.fault.as_ref().unwrap().flag(),
            "http-errors:chat:share=0.5"
        );
        s.check_deployment(true).unwrap();
        assert!(s.check_deployment(false).is_err());

        let all = kill.replace("service: chat, instance: 2", "service: all");
        let err = format!("{:#}", parse(&all).unwrap_err());
        assert!(err.contains("name the service"), "{err}");
    }

    #[test]
    fn every_scenario_of_the_library_reads() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
            assert!(
                s.compress >= 20.0,
                "{}: a short run needs compressed rules",
                path.display()
            );
            n += 1;
        }
        assert!(n >= 8, "{n} scenarios");
    }

    #[test]
    fn mistakes_are_named_before_anything_starts() {
        let bad_fault = OK.replace("http-errors", "http-oops");
        let err = format!("{:#}", parse(&bad_fault).unwrap_err());
        assert!(err.contains("unknown fault kind `http-oops`"), "{err}");
        let bad_key = OK.replace("compress: 60", "compres: 60");
        let err = format!("{:#}", parse(&bad_key).unwrap_err());
        assert!(err.contains("unknown field `compres`"), "{err}");
        let bad_journey = OK.replace("[chat]", "[chit]");
        assert!(parse(&bad_journey).is_err());
        let no_fault: String = OK
            .lines()
            .filter(|l| !l.starts_with("fault"))
            .collect::<Vec<_>>()
            .join("\n");
        let err = format!("{:#}", parse(&no_fault).unwrap_err());
        assert!(err.contains("no fault to trip them"), "{err}");
    }
}

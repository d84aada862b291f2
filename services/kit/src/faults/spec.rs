//! What a fault is: its kind, the service it targets and its parameters, read
//! from one `KIND:SERVICE[:key=value,...]` line (`banter serve --fault`) or
//! from the admin endpoint's JSON body, through the same parser so both say
//! the same things about the same mistakes.

use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// Every kind of fault the platform can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    DbLatency,
    HttpErrors,
    HttpLatency,
    BusStall,
    ConsumerFailures,
    CpuStarvation,
    MemoryGrowth,
    DependencyDown,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::DbLatency,
        Kind::HttpErrors,
        Kind::HttpLatency,
        Kind::BusStall,
        Kind::ConsumerFailures,
        Kind::CpuStarvation,
        Kind::MemoryGrowth,
        Kind::DependencyDown,
    ];

    /// The `fault` label and the name operators type.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DbLatency => "db-latency",
            Kind::HttpErrors => "http-errors",
            Kind::HttpLatency => "http-latency",
            Kind::BusStall => "bus-stall",
            Kind::ConsumerFailures => "consumer-failures",
            Kind::CpuStarvation => "cpu-starvation",
            Kind::MemoryGrowth => "memory-growth",
            Kind::DependencyDown => "dependency-down",
        }
    }

    /// The parameters the kind accepts (besides `duration`, which all do).
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::DbLatency => &["latency_ms", "share"],
            Kind::HttpErrors => &["share", "route"],
            Kind::HttpLatency => &["latency_ms", "share", "route"],
            Kind::BusStall => &[],
            Kind::ConsumerFailures => &["share", "consumer"],
            Kind::CpuStarvation => &["threads"],
            Kind::MemoryGrowth => &["mb_per_sec", "max_mb"],
            Kind::DependencyDown => &["dependency"],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        if let Some(kind) = Kind::ALL.into_iter().find(|k| k.as_str() == s) {
            return Ok(kind);
        }
        if s == "kill-instance" {
            return Err(ParseError(
                "kill-instance needs the split deployment (one process per instance); \
                 a process cannot kill itself through its own admin surface"
                    .into(),
            ));
        }
        Err(ParseError(format!(
            "unknown fault kind `{s}`; expected one of {}",
            Kind::ALL.map(Kind::as_str).join(", ")
        )))
    }
}

/// Added database latency: a fixed delay, or one drawn uniformly from a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub min_ms: u64,
    pub max_ms: u64,
}

impl Latency {
    pub fn draw(self) -> Duration {
        let ms = if self.max_ms > self.min_ms {
            rand::Rng::gen_range(&mut rand::thread_rng(), self.min_ms..=self.max_ms)
        } else {
            self.min_ms
        };
        Duration::from_millis(ms)
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.max_ms > self.min_ms {
            write!(f, "{}..{}", self.min_ms, self.max_ms)
        } else {
            write!(f, "{}", self.min_ms)
        }
    }
}

/// A dependency `dependency-down` can take away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Redis,
}

/// What a fault does, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// `latency` added to a `share` of the service's database calls.
    DbLatency { latency: Latency, share: f64 },
    /// A `share` of the service's requests (of one `route` template, when
    /// given) answer 503 `FAULT_INJECTED`.
    HttpErrors { share: f64, route: Option<String> },
    /// A `share` of the service's requests (of one `route` template, when
    /// given) answer `latency` later: the service itself is slow, every
    /// route alike, whether or not it touches the database.
    HttpLatency {
        latency: Latency,
        share: f64,
        route: Option<String>,
    },
    /// The service's outbox relay publishes nothing; events wait in the outbox.
    BusStall,
    /// A `share` of the events one of the service's consumers receives
    /// (`consumer`: its topic or group, else all of them) fail every attempt,
    /// so they are retried and dead-lettered.
    ConsumerFailures {
        share: f64,
        consumer: Option<String>,
    },
    /// `threads` busy threads take cores from the process.
    CpuStarvation { threads: u32 },
    /// The process retains `mb_per_sec` more memory each second, up to `max_mb`.
    MemoryGrowth { mb_per_sec: f64, max_mb: u64 },
    /// The dependency answers every command with an error, as if unreachable.
    DependencyDown { dependency: Dependency },
}

impl Fault {
    pub fn kind(&self) -> Kind {
        match self {
            Fault::DbLatency { .. } => Kind::DbLatency,
            Fault::HttpErrors { .. } => Kind::HttpErrors,
            Fault::HttpLatency { .. } => Kind::HttpLatency,
            Fault::BusStall => Kind::BusStall,
            Fault::ConsumerFailures { .. } => Kind::ConsumerFailures,
            Fault::CpuStarvation { .. } => Kind::CpuStarvation,
            Fault::MemoryGrowth { .. } => Kind::MemoryGrowth,
            Fault::DependencyDown { .. } => Kind::DependencyDown,
        }
    }

    /// The parameters as `key=value` pairs, in the syntax they are given in.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match self {
            Fault::DbLatency { latency, share } => {
                out.push(("latency_ms", latency.to_string()));
                out.push(("share", share.to_string()));
            }
            Fault::HttpErrors { share, route } => {
                out.push(("share", share.to_string()));
                if let Some(route) = route {
                    out.push(("route", route.clone()));
                }
            }
            Fault::HttpLatency {
                latency,
                share,
                route,
            } => {
                out.push(("latency_ms", latency.to_string()));
                out.push(("share", share.to_string()));
                if let Some(route) = route {
                    out.push(("route", route.clone()));
                }
            }
            Fault::BusStall => {}
            Fault::ConsumerFailures { share, consumer } => {
                out.push(("share", share.to_string()));
                if let Some(consumer) = consumer {
                    out.push(("consumer", consumer.clone()));
                }
            }
            Fault::CpuStarvation { threads } => out.push(("threads", threads.to_string())),
            Fault::MemoryGrowth { mb_per_sec, max_mb } => {
                out.push(("mb_per_sec", mb_per_sec.to_string()));
                out.push(("max_mb", max_mb.to_string()));
            }
            Fault::DependencyDown { dependency } => {
                out.push((
                    "dependency",
                    match dependency {
                        Dependency::Redis => "redis".into(),
                    },
                ));
            }
        }
        out
    }
}

/// A fault to switch on: what, where, and for how long (until switched off
/// when `duration` is `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    pub service: String,
    pub fault: Fault,
    pub duration: Option<Duration>,
}

/// A fault description that cannot be used; the message says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// The syntax of `--fault`, for help texts and errors.
pub const FLAG_SYNTAX: &str = "KIND:SERVICE[:key=value,...]";

impl FaultSpec {
    /// Reads `KIND:SERVICE[:key=value,...]`, e.g.
    /// `db-latency:users:latency_ms=100..300,share=0.5,duration=30s`.
    pub fn parse_flag(raw: &str) -> Result<Self, ParseError> {
        let mut parts = raw.splitn(3, ':');
        let kind = parts.next().unwrap_or_default().trim();
        let Some(service) = parts.next().map(str::trim).filter(|s| !s.is_empty()) else {
            return err(format!(
                "`{raw}` names no service; expected {FLAG_SYNTAX}, e.g. http-errors:chat:share=0.5"
            ));
        };
        let mut params = Vec::new();
        if let Some(rest) = parts.next() {
            for pair in rest.split(',').filter(|p| !p.trim().is_empty()) {
                let Some((key, value)) = pair.split_once('=') else {
                    return err(format!(
                        "parameter `{pair}` has no value; expected key=value, e.g. share=0.5"
                    ));
                };
                params.push((key.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Self::from_parts(kind, service, params)
    }

    /// Builds a fault from its kind, its service and `key=value` parameters.
    pub fn from_parts(
        kind: &str,
        service: &str,
        params: Vec<(String, String)>,
    ) -> Result<Self, ParseError> {
        let kind: Kind = kind.parse()?;
        if service.is_empty() {
            return err("the fault names no service, e.g. http-errors:chat");
        }
        let mut p = Params {
            kind,
            pairs: params,
        };
        p.check_keys()?;
        let duration = p.take("duration").map(parse_duration).transpose()?;
        let fault = match kind {
            Kind::DbLatency => Fault::DbLatency {
                latency: p.latency()?,
                share: p.share()?,
            },
            Kind::HttpErrors => Fault::HttpErrors {
                share: p.share()?,
                route: p.take("route"),
            },
            Kind::HttpLatency => Fault::HttpLatency {
                latency: p.latency()?,
                share: p.share()?,
                route: p.take("route"),
            },
            Kind::BusStall => Fault::BusStall,
            Kind::ConsumerFailures => Fault::ConsumerFailures {
                share: p.share()?,
                consumer: p.take("consumer"),
            },
            Kind::CpuStarvation => Fault::CpuStarvation {
                threads: p.number("threads", 1.0, 1.0, 64.0)? as u32,
            },
            Kind::MemoryGrowth => Fault::MemoryGrowth {
                mb_per_sec: p.number("mb_per_sec", 10.0, 0.1, 1024.0)?,
                max_mb: p.number("max_mb", 512.0, 1.0, 16384.0)? as u64,
            },
            Kind::DependencyDown => match p.take("dependency").as_deref() {
                None | Some("redis") => Fault::DependencyDown {
                    dependency: Dependency::Redis,
                },
                Some(other) => {
                    return err(format!(
                        "dependency-down cannot take `{other}` down; expected dependency=redis"
                    ));
                }
            },
        };
        Ok(Self {
            service: service.to_owned(),
            fault,
            duration,
        })
    }

    /// The admin endpoint's body: `{"kind": "...", "service": "...", key: value, ...}`
    /// with the keys of the flag syntax (numbers may be JSON numbers).
    pub fn from_json(body: &serde_json::Value) -> Result<Self, ParseError> {
        let Some(object) = body.as_object() else {
            return err(
                r#"expected a JSON object, e.g. {"kind": "http-errors", "service": "chat", "share": 0.5}"#,
            );
        };
        let text = |key: &str| -> Result<String, ParseError> {
            match object.get(key) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(_) => err(format!("`{key}` must be a string")),
                None => err(format!("`{key}` is missing")),
            }
        };
        let (kind, service) = (text("kind")?, text("service")?);
        let mut params = Vec::new();
        for (key, value) in object {
            if key == "kind" || key == "service" {
                continue;
            }
            let value = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return err(format!("`{key}` must be a number or a string")),
            };
            params.push((key.clone(), value));
        }
        Self::from_parts(&kind, &service, params)
    }
}

/// The flag's value parser (`banter serve --fault`).
pub fn parse_flag(raw: &str) -> Result<FaultSpec, String> {
    FaultSpec::parse_flag(raw).map_err(|e| e.0)
}

struct Params {
    kind: Kind,
    pairs: Vec<(String, String)>,
}

impl Params {
    fn check_keys(&self) -> Result<(), ParseError> {
        for (i, (key, _)) in self.pairs.iter().enumerate() {
            if key != "duration" && !self.kind.keys().contains(&key.as_str()) {
                let mut known: Vec<&str> = self.kind.keys().to_vec();
                known.push("duration");
                return err(format!(
                    "unknown parameter `{key}` for {}; expected {}",
                    self.kind,
                    known.join(", ")
                ));
            }
            if self.pairs[..i].iter().any(|(k, _)| k == key) {
                return err(format!("parameter `{key}` is given twice"));
            }
        }
        Ok(())
    }

    fn take(&mut self, key: &str) -> Option<String> {
        let at = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(at).1)
    }

    fn number(&mut self, key: &str, default: f64, min: f64, max: f64) -> Result<f64, ParseError> {
        let Some(raw) = self.take(key) else {
            return Ok(default);
        };
        match raw.parse::<f64>() {
            Ok(v) if v.is_finite() && (min..=max).contains(&v) => Ok(v),
            _ => err(format!(
                "{key}={raw} is not a number between {min} and {max}"
            )),
        }
    }

    /// `latency_ms`, 250 ms when not given.
    fn latency(&mut self) -> Result<Latency, ParseError> {
        self.take("latency_ms").map_or(
            Ok(Latency {
                min_ms: 250,
                max_ms: 250,
            }),
            parse_latency,
        )
    }

    fn share(&mut self) -> Result<f64, ParseError> {
        let Some(raw) = self.take("share") else {
            return Ok(1.0);
        };
        match raw.parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
            _ => err(format!(
                "share={raw} is not a share; expected a number from 0 to 1, e.g. share=0.25"
            )),
        }
    }
}

/// `200` or `100..300` (milliseconds, at most a minute).
fn parse_latency(raw: String) -> Result<Latency, ParseError> {
    let ms = |s: &str| s.trim().parse::<u64>().ok().filter(|v| *v <= 60_000);
    let latency = match raw.split_once("..") {
        Some((lo, hi)) => ms(lo)
            .zip(ms(hi))
            .map(|(min_ms, max_ms)| Latency { min_ms, max_ms }),
        None => ms(&raw).map(|v| Latency {
            min_ms: v,
            max_ms: v,
        }),
    };
    match latency {
        Some(l) if l.min_ms <= l.max_ms => Ok(l),
        _ => err(format!(
            "latency_ms={raw} is not a latency; expected milliseconds up to 60000, \
             N or MIN..MAX, e.g. latency_ms=200 or latency_ms=100..300"
        )),
    }
}

/// `30`, `30s`, `500ms`, `2m`, `1h` (at most a day).
fn parse_duration(raw: String) -> Result<Duration, ParseError> {
    let (number, unit) = if let Some(n) = raw.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = raw.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = raw.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = raw.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (raw.as_str(), 1.0)
    };
    match number.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v * unit <= 86_400.0 => {
            Ok(Duration::from_secs_f64(v * unit))
        }
        _ => err(format!(
            "duration={raw} is not a duration; expected e.g. 30s, 500ms, 2m (at most 24h)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_from_the_flag_syntax() {
        let spec =
            FaultSpec::parse_flag("db-latency:users:latency_ms=100..300,share=0.5,duration=30s")
                .unwrap();
        assert_eq!(spec.service, "users");
        assert_eq!(spec.duration, Some(Duration::from_secs(30)));
        assert_eq!(
            spec.fault,
            Fault::DbLatency {
                latency: Latency {
                    min_ms: 100,
                    max_ms: 300
                },
                share: 0.5
            }
        );
        assert_eq!(
            FaultSpec::parse_flag("http-errors:chat:route=/api/chat/rooms")
                .unwrap()
                .fault,
            Fault::HttpErrors {
                share: 1.0,
                route: Some("/api/chat/rooms".into())
            }
        );
        assert_eq!(
            FaultSpec::parse_flag("bus-stall:users").unwrap().fault,
            Fault::BusStall
        );
        assert_eq!(
            FaultSpec::parse_flag("consumer-failures:friends:consumer=user.events,share=0.1")
                .unwrap()
                .fault,
            Fault::ConsumerFailures {
                share: 0.1,
                consumer: Some("user.events".into())
            }
        );
        assert_eq!(
            FaultSpec::parse_flag("cpu-starvation:users:threads=2,duration=500ms").unwrap(),
            FaultSpec {
                service: "users".into(),
                fault: Fault::CpuStarvation { threads: 2 },
                duration: Some(Duration::from_millis(500)),
            }
        );
        assert_eq!(
            FaultSpec::parse_flag("memory-growth:chat:mb_per_sec=5")
                .unwrap()
                .fault,
            Fault::MemoryGrowth {
                mb_per_sec: 5.0,
                max_mb: 512
            }
        );
        assert_eq!(
            FaultSpec::parse_flag("dependency-down:users")
                .unwrap()
                .fault,
            Fault::DependencyDown {
                dependency: Dependency::Redis
            }
        );
        assert_eq!(
            FaultSpec::parse_flag("db-latency:users:duration=2m")
                .unwrap()
                .duration,
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("nope:users", "unknown fault kind `nope`"),
            ("kill-instance:users", "split deployment"),
            ("http-errors", "names no service"),
            ("http-errors:", "names no service"),
            ("http-errors:chat:share", "has no value"),
            ("http-errors:chat:share=2", "share=2 is not a share"),
            ("http-errors:chat:share=x", "share=x is not a share"),
            (
                "http-errors:chat:latency_ms=3",
                "unknown parameter `latency_ms` for http-errors",
            ),
            (
                "bus-stall:chat:share=1",
                "unknown parameter `share` for bus-stall; expected duration",
            ),
            ("http-errors:chat:share=1,share=0", "given twice"),
            (
                "db-latency:users:latency_ms=300..100",
                "latency_ms=300..100 is not a latency",
            ),
            ("db-latency:users:latency_ms=-1", "is not a latency"),
            (
                "db-latency:users:duration=0",
                "duration=0 is not a duration",
            ),
            ("db-latency:users:duration=soon", "is not a duration"),
            (
                "cpu-starvation:users:threads=0",
                "threads=0 is not a number between 1 and 64",
            ),
            (
                "dependency-down:users:dependency=kafka",
                "cannot take `kafka` down",
            ),
        ];
        for (raw, expected) in cases {
            let msg = FaultSpec::parse_flag(raw).unwrap_err().0;
            assert!(msg.contains(expected), "{raw}: {msg}");
        }
    }

    #[test]
    fn json_bodies_use_the_same_keys() {
        let body = serde_json::json!({
            "kind": "http-errors", "service": "chat", "share": 0.5, "duration": "10s"
        });
        let spec = FaultSpec::from_json(&body).unwrap();
        assert_eq!(
            spec.fault,
            Fault::HttpErrors {
                share: 0.5,
                route: None
            }
        );
        assert_eq!(spec.duration, Some(Duration::from_secs(10)));
        let body = serde_json::json!({"kind": "db-latency", "service": "users", "latency_ms": 20});
        assert!(FaultSpec::from_json(&body).is_ok());
        for (body, expected) in [
            (serde_json::json!([1]), "expected a JSON object"),
            (serde_json::json!({"service": "chat"}), "`kind` is missing"),
            (
                serde_json::json!({"kind": "bus-stall", "service": 3}),
                "`service` must be a string",
            ),
            (
                serde_json::json!({"kind": "bus-stall", "service": "chat", "x": true}),
                "`x` must be a number or a string",
            ),
        ] {
            let msg = FaultSpec::from_json(&body).unwrap_err().0;
            assert!(msg.contains(expected), "{body}: {msg}");
        }
    }
}

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

mod params;
#[cfg(test)]
mod tests;

use params::{Params, parse_duration};

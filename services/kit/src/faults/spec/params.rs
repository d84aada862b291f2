//! The `key=value` parameters of a fault description and their values
//! (latencies, durations), each mistake named with what to write instead.

use super::{Kind, Latency, ParseError, err};
use std::time::Duration;

pub(super) struct Params {
    pub(super) kind: Kind,
    pub(super) pairs: Vec<(String, String)>,
}

impl Params {
    pub(super) fn check_keys(&self) -> Result<(), ParseError> {
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

    pub(super) fn take(&mut self, key: &str) -> Option<String> {
        let at = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(at).1)
    }

    pub(super) fn number(
        &mut self,
        key: &str,
        default: f64,
        min: f64,
        max: f64,
    ) -> Result<f64, ParseError> {
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
    pub(super) fn latency(&mut self) -> Result<Latency, ParseError> {
        self.take("latency_ms").map_or(
            Ok(Latency {
                min_ms: 250,
                max_ms: 250,
            }),
            parse_latency,
        )
    }

    pub(super) fn share(&mut self) -> Result<f64, ParseError> {
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
pub(super) fn parse_latency(raw: String) -> Result<Latency, ParseError> {
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
pub(super) fn parse_duration(raw: String) -> Result<Duration, ParseError> {
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

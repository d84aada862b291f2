//! The latency histogram and its text form (HdrHistogram V2 + deflate, base64).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Significant digits kept by every latency histogram.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// An HDR histogram of latencies in microseconds (3 significant digits, resizing
/// to any value).
#[derive(Clone, PartialEq)]
pub struct LatencyHistogram(Histogram<u64>);

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LatencyHistogram {{ count: {}, p50: {}us, max: {}us }}",
            self.0.len(),
            self.0.value_at_quantile(0.5),
            self.0.max()
        )
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        #[allow(clippy::expect_used)]
        let h = Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits are valid");
        Self(h)
    }

    /// Records one latency in microseconds (0 counts as 1 µs's bucket).
    pub fn record_us(&mut self, us: u64) {
        // An auto-resizing histogram accepts every u64 up to its hard limit;
        // saturate rather than drop a sample.
        if self.0.record(us).is_err() {
            let _ = self.0.record(self.0.high());
        }
    }

    /// Adds every sample of `other`.
    pub fn add(&mut self, other: &LatencyHistogram) -> Result<(), String> {
        self.0.add(&other.0).map_err(|e| format!("{e:?}"))
    }

    /// The underlying HdrHistogram.
    pub fn hdr(&self) -> &Histogram<u64> {
        &self.0
    }

    pub fn from_hdr(h: Histogram<u64>) -> Self {
        Self(h)
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The latency at quantile `q` (0..=1) in microseconds.
    pub fn quantile_us(&self, q: f64) -> u64 {
        self.0.value_at_quantile(q)
    }

    /// How many samples are ≤ `us` microseconds (within the histogram's precision).
    pub fn count_at_or_below_us(&self, us: u64) -> u64 {
        self.0.count_between(0, us)
    }

    /// `(value_us, count)` for every distinct recorded bucket, ascending.
    pub fn buckets(&self) -> Vec<(u64, u64)> {
        self.0
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    /// The base64 text stored in a run record.
    pub fn to_base64(&self) -> String {
        let mut bytes = Vec::new();
        match V2DeflateSerializer::new().serialize(&self.0, &mut bytes) {
            Ok(_) => STANDARD.encode(bytes),
            Err(_) => String::new(),
        }
    }

    /// Parses the base64 text stored in a run record.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| format!("latency histogram is not base64: {e}"))?;
        let mut h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("latency histogram is not an HdrHistogram V2 blob: {e:?}"))?;
        h.auto(true);
        Ok(Self(h))
    }
}

impl Serialize for LatencyHistogram {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

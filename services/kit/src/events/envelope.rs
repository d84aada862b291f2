//! The event envelope (CloudEvents-like JSON).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One event as it travels on the bus and sits in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id; consumers dedupe on it.
    pub id: String,
    /// e.g. `FriendRequestSent`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The producing service, e.g. `friends`.
    pub source: String,
    pub time: DateTime<Utc>,
    /// Aggregate id; also the partition key, so one aggregate's events keep
    /// their order.
    pub subject: String,
    pub data: serde_json::Value,
    /// W3C trace context of the operation that caused the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl Event {
    /// A new event carrying the current span's trace context.
    pub fn new(kind: &str, source: &str, subject: impl ToString, data: serde_json::Value) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            kind: kind.to_owned(),
            source: source.to_owned(),
            time: Utc::now(),
            subject: subject.to_string(),
            data,
            traceparent: crate::telemetry::traces::traceparent(&tracing::Span::current()),
        }
    }

    /// An event carrying `payload` under its contract's kind.
    pub fn of<C: contracts::Contract>(source: &str, subject: impl ToString, payload: &C) -> Self {
        // Contract types are plain records: encoding them cannot fail.
        let data = serde_json::to_value(payload).unwrap_or(serde_json::Value::Null);
        Self::new(C::KIND, source, subject, data)
    }

    /// Whether this event is of contract `C`.
    pub fn is<C: contracts::Contract>(&self) -> bool {
        self.kind == C::KIND
    }

    /// Deserializes `data` into the handler's type, as a permanent failure
    /// when it does not fit (retrying would not help).
    pub fn data<T: serde::de::DeserializeOwned>(&self) -> Result<T, super::HandlerError> {
        serde_json::from_value(self.data.clone()).map_err(|e| {
            super::HandlerError::Permanent(format!("{} data does not fit: {e}", self.kind))
        })
    }
}

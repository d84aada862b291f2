//! A small server-sent-events client: enough of the WHATWG parsing rules for
//! Banter's streams (`event`, `data`, `id`, comments as keep-alives).

use std::time::Instant;

use tokio::sync::mpsc;

/// One event as it arrived.
#[derive(Debug, Clone)]
pub struct Event {
    pub event: String,
    pub data: String,
    pub id: Option<String>,
    pub received: Instant,
}

/// Incremental parser: feed it bytes as they come, get whole events back.
#[derive(Debug, Default)]
pub struct Parser {
    line: Vec<u8>,
    event: String,
    data: Vec<String>,
    id: Option<String>,
}

impl Parser {
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                let line = String::from_utf8_lossy(&line).into_owned();
                if let Some(e) = self.line_done(&line) {
                    out.push(e);
                }
            } else {
                self.line.push(b);
            }
        }
        out
    }

    fn line_done(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            if self.data.is_empty() && self.event.is_empty() {
                return None;
            }
            let event = Event {
                event: if self.event.is_empty() {
                    "message".to_owned()
                } else {
                    std::mem::take(&mut self.event)
                },
                data: std::mem::take(&mut self.data).join("\n"),
                id: self.id.take(),
                received: Instant::now(),
            };
            return Some(event);
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_owned(),
            "data" => self.data.push(value.to_owned()),
            "id" => self.id = Some(value.to_owned()),
            _ => {}
        }
        None
    }
}

/// Reads `response`'s body as an event stream into `tx` until the stream ends,
/// the receiver goes away or the connection breaks.
pub async fn pump(mut response: reqwest::Response, tx: mpsc::UnboundedSender<Event>) {
    let mut parser = Parser::default();
    while let Ok(Some(chunk)) = response.chunk().await {
        for event in parser.feed(&chunk) {
            if tx.send(event).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_split_across_chunks() {
        let mut p = Parser::default();
        assert!(p.feed(b": keep-alive\n\nevent: message.cre").is_empty());
        let events = p.feed(b"ated\r\nid: 7\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\n");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event, "message.created");
        assert_eq!(events[0].id.as_deref(), Some("7"));
        assert_eq!(events[0].data, "{\"a\":1}");
        assert_eq!(events[1].event, "message");
        assert_eq!(events[1].data, "x\ny");
    }
}

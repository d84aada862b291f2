//! A minimal server-sent events reader over a streaming response.

use crate::PATIENCE;
use reqwest::{Response, StatusCode};
use std::time::Duration;
use tokio::time::Instant;

/// One server-sent event, or a keep-alive comment (see
/// [`SseReader::next_frame`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    /// `data:` lines joined with `\n`.
    pub data: String,
    /// The text of the frame's comment line (`: keep-alive`), if any.
    pub comment: Option<String>,
}

impl SseEvent {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).expect("event data is JSON")
    }

    /// The id as an integer sequence number.
    pub fn seq(&self) -> i64 {
        self.id
            .as_deref()
            .expect("event has an id")
            .parse()
            .expect("id is an integer")
    }

    fn is_event(&self) -> bool {
        self.id.is_some() || self.event.is_some() || !self.data.is_empty()
    }
}

/// Reads server-sent events from a streaming response.
pub struct SseReader {
    res: Response,
    buf: String,
    /// Comment lines seen so far (keep-alives).
    pub comments: usize,
}

impl SseReader {
    /// Takes a response that must be an open `text/event-stream`.
    pub fn new(res: Response) -> Self {
        assert_eq!(res.status(), StatusCode::OK, "stream opened");
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Self {
            res,
            buf: String::new(),
            comments: 0,
        }
    }

    /// The next event, keep-alive comments skipped; `None` after `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = Instant::now() + wait;
        loop {
            let frame = self.next_frame_until(deadline).await?;
            if frame.is_event() {
                return Some(frame);
            }
        }
    }

    /// The next event; panics if none arrives within [`PATIENCE`].
    pub async fn expect_event(&mut self) -> SseEvent {
        self.next(PATIENCE)
            .await
            .unwrap_or_else(|| panic!("an event within {PATIENCE:?}"))
    }

    /// The next frame, keep-alive comments included; `None` after `wait`.
    pub async fn next_frame(&mut self, wait: Duration) -> Option<SseEvent> {
        self.next_frame_until(Instant::now() + wait).await
    }

    /// Whether the server ends the stream cleanly within `wait`; what
    /// arrives before the end (events, keep-alives) is read and dropped.
    /// Panics when the connection breaks instead of ending.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.res.chunk()).await {
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) => return true,
                Ok(Err(err)) => panic!("the stream broke instead of ending: {err}"),
                Err(_) => return false,
            }
        }
    }

    async fn next_frame_until(&mut self, deadline: Instant) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                return Some(self.parse(&block));
            }
            match tokio::time::timeout_at(deadline, self.res.chunk()).await {
                Ok(Ok(Some(bytes))) => self
                    .buf
                    .push_str(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n")),
                _ => return None,
            }
        }
    }

    fn parse(&mut self, block: &str) -> SseEvent {
        let mut frame = SseEvent::default();
        for line in block.lines().filter(|l| !l.is_empty()) {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "" => {
                    self.comments += 1;
                    frame.comment = Some(value.to_owned());
                }
                "id" => frame.id = Some(value.to_owned()),
                "event" => frame.event = Some(value.to_owned()),
                "data" => {
                    if !frame.data.is_empty() {
                        frame.data.push('\n');
                    }
                    frame.data.push_str(value);
                }
                _ => {}
            }
        }
        frame
    }
}

//! The server-sent events reader the services' tests share.

#[allow(unused_imports)] // Not every test binary reads a stream.
pub use testkit::SseReader;

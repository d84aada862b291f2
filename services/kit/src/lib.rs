//! Plumbing every Banter service shares, and nothing domain-specific.
//!
//! `kit` owns configuration parsing, telemetry (Prometheus metrics, JSON logs,
//! OTLP traces, Loki shipping), the HTTP middleware that gives every route RED
//! metrics, a span and a request id, the `{detail, code}` error type and the
//! extractors that produce it, bearer-token verification, health/readiness,
//! OpenAPI + Swagger UI, graceful serving, uploaded images (checked,
//! stored and served the same way by every service), the users and blocks read models
//! services keep of other services' facts, and the owners those read models
//! ask before a use case decides (read-your-writes across services).
//! Services depend on `kit`; `kit` depends on no service.

pub mod auth;
pub mod config;
pub mod context;
pub mod db;
pub mod error;
pub mod events;
pub mod extract;
pub mod faults;
pub mod health;
pub mod http;
pub mod module;
pub mod openapi;
pub mod owners;
pub mod platform;
pub mod ratelimit;
pub mod read_model;
pub mod redis;
pub mod server;
pub mod sse;
pub mod telemetry;
pub mod upload;
pub mod validate;

pub use error::{ApiError, ApiResult};

/// Version of the Banter build, as reported by `build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Git commit the binary was built from (`unknown` outside a checkout).
pub const GIT_SHA: &str = env!("BANTER_GIT_SHA");
/// `version (git_sha)`, for `--version`.
pub const LONG_VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (", env!("BANTER_GIT_SHA"), ")");

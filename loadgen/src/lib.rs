//! Banter's load generator: user journeys (goose scenarios) against Banter's
//! HTTP API, measured per step in HDR histograms and written as a versioned run
//! record (the `runrecord` crate owns the format) plus Markdown and HTML
//! reports.
//!
//! It sees the platform only through HTTP (and `/metrics` for the target's git
//! sha): it never depends on the services, so the same journeys run against
//! the all-in-one `banter serve`, the split services, or any deployment with
//! the same API. Goose schedules the virtual users and the load profile;
//! [`context::Ctx::call`] sends each request through goose and measures it as a
//! named step; [`recorder::Recorder`] keeps the measured window.
//!
//! Its one use of the SLO tool is deliberate and small: the capacity profile
//! judges each stage with `slo::objectives` (the built-in objectives and the
//! verdict on a run record), nothing else of `slo`.

pub mod context;
pub mod goose_output;
pub mod journeys;
pub mod metrics;
pub mod profile;
pub mod recorder;
pub mod report;
pub mod run;
pub mod sse;
pub mod target;
pub mod worker;

pub use journeys::Journey;
pub use profile::{Plan, ProfileName};
pub use run::{RunConfig, RunOutput, run};

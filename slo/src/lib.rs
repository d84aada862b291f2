//! Banter's SLO tool: checks service-level objectives, gates CI with its exit
//! code, compares load-test runs and generates Prometheus alert rules.
//!
//! It reads a Sloth-compatible spec ([`spec`]), measures each objective through
//! one of several [`sources`] (Prometheus, direct `/metrics` scrapes, a loadgen run
//! record), decides ([`check`]), and renders ([`render`]). [`compare`] sets two
//! runs side by side with bootstrap intervals; [`rules`] writes recording rules and
//! multi-window multi-burn-rate alerts. It never depends on the services: it sees
//! only HTTP, metrics and files.
//!
//! Other tools (the load generator, `banter demo`) use only [`objectives`]: the
//! built-in objectives and the verdict on a run record.

pub mod check;
pub mod compare;
pub mod math;
pub mod objectives;
pub mod promql;
pub mod render;
pub mod rules;
pub mod sources;
pub mod spec;
pub mod time;

/// Banter's objectives (SPEC §7), the spec used when none is given.
pub use objectives::DEFAULT_SPEC;

//! The small API other tools build on: Banter's built-in objectives and the
//! verdict on a run record. `loadgen` (capacity stages) and `banter demo` use
//! this module and nothing else of the crate's internals, so the spec file lives
//! in one crate and is reached through it, never by a path across crate folders.

use std::path::Path;

use runrecord::RunRecord;

use crate::check::{Report, Verdict, check};
use crate::sources::run::RunSource;
use crate::spec::{Spec, SpecError};

/// Banter's objectives (SPEC §7): per service, 95 % of requests within 200 ms and
/// 99.9 % without a server error, plus the journeys' correctness.
pub const DEFAULT_SPEC: &str = include_str!("../specs/banter.yaml");

/// How reports name [`DEFAULT_SPEC`].
pub const DEFAULT_SPEC_NAME: &str = "slo/specs/banter.yaml (built in)";

/// [`DEFAULT_SPEC`], parsed.
pub fn builtin() -> Spec {
    // The file is part of this crate and parsed by its tests: it is valid.
    Spec::parse(DEFAULT_SPEC, DEFAULT_SPEC_NAME).unwrap_or_else(|e| panic!("{e}"))
}

/// The spec at `path`, or the built-in one; with the name reports give it.
pub fn load_or_builtin(path: Option<&Path>) -> Result<(Spec, String), SpecError> {
    match path {
        Some(p) => Ok((Spec::load(p)?, p.display().to_string())),
        None => Ok((builtin(), DEFAULT_SPEC_NAME.to_owned())),
    }
}

/// Checks every objective of `spec` on the client's view of a run (`label`
/// names the record in the report).
pub async fn check_run(spec: &Spec, spec_name: &str, record: &RunRecord, label: &str) -> Report {
    check(spec, spec_name, &RunSource::new(record.clone(), label)).await
}

/// The names of the objectives that failed the check: breached, or unmeasurable
/// when the objective is required.
pub fn failed(report: &Report) -> Vec<String> {
    report
        .outcomes
        .iter()
        .filter(|o| o.counts_against())
        .map(|o| o.name.clone())
        .collect()
}

/// The names of the objectives the window breached (or could not measure for
/// an error), leaving out objectives without data: what a capacity stage that
/// exercises only some services is judged by.
pub fn breached(report: &Report) -> Vec<String> {
    report
        .outcomes
        .iter()
        .filter(|o| matches!(o.verdict, Verdict::Breach | Verdict::Error))
        .map(|o| o.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_builtin_spec_parses_and_covers_every_service() {
        let spec = super::builtin();
        for service in ["users", "friends", "chat", "notifications", "posts"] {
            for kind in ["latency", "availability"] {
                let name = format!("{service}-{kind}");
                assert!(spec.slos.iter().any(|s| s.name == name), "{name}");
            }
        }
        assert!(spec.slos.iter().any(|s| s.name == "journey-correctness"));
    }
}

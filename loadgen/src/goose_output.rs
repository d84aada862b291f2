//! Keeps goose's own output out of ours. Goose prints "50 users hatched." with
//! `println!` and logs through the `log` crate to stdout with a logger of its
//! own ("[WARN] caught ctrl-c, stopping..."), between our progress lines and
//! into the stdout of whoever runs the load generator. Our progress and
//! summaries say all of it.

/// While alive, stdout (fd 1) goes nowhere: only goose writes there during a
/// run. A second concurrent run (tests) finds it already silenced.
pub struct Silenced {
    _gag: Option<gag::Gag>,
}

/// Silences goose until the returned guard is dropped.
pub fn silence() -> Silenced {
    install_logger();
    Silenced {
        _gag: gag::Gag::stdout().ok(),
    }
}

/// Goose installs its stdout logger only when the process has none: take the
/// place first, and pass on its errors (only) to stderr. A process that has a
/// logger already (`banter serve` bridges `log` into its tracing) keeps it.
fn install_logger() {
    if log::set_logger(&GooseErrors).is_ok() {
        log::set_max_level(log::LevelFilter::Error);
    }
}

struct GooseErrors;

impl log::Log for GooseErrors {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Error
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("loadgen: goose: {}", record.args());
        }
    }

    fn flush(&self) {}
}

//! Configuration shared by every service: flags > environment > defaults,
//! parsed once at startup by clap and validated with clear messages.

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use url::Url;

/// A config struct with every flag at the default its `#[arg]` declares, as
/// `--help` shows it — the environment is not read. `Default` impls call
/// this, so a default is written once, in its `#[arg]`, and tests and
/// `banter serve` cannot disagree on it.
///
/// # Panics
/// When a field of `T` has no default (a programming error, caught by the
/// first test that builds the struct).
pub fn defaults<T: Args + clap::FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("defaults")).mut_args(|arg| arg.env(None));
    command
        .try_get_matches_from(["defaults"])
        .and_then(|matches| T::from_arg_matches(&matches))
        .unwrap_or_else(|e| {
            panic!(
                "{} has a flag without a default: {e}",
                std::any::type_name::<T>()
            )
        })
}

/// Where a service keeps its data.
#[derive(Args, Debug, Clone)]
pub struct StorageConfig {
    /// Directory for the embedded SQLite databases (one file per service).
    #[arg(
        long,
        env = "BANTER_DATA_DIR",
        default_value = "./data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// PostgreSQL URL (postgres://user[:password]@host[:port]/database). When set,
    /// services store their data there instead of in SQLite files.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", value_parser = parse_database_url)]
    pub database_url: Option<String>,

    /// Largest number of database connections per service [default: 16 on
    /// PostgreSQL, 4 on SQLite, whose writers take turns anyway and whose
    /// every connection holds a page cache of its own].
    #[arg(long, env = "BANTER_DB_MAX_CONNECTIONS", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: Option<u32>,
}

/// Connections per service's database when `--db-max-connections` is unset.
pub const POSTGRES_MAX_CONNECTIONS: u32 = 16;
/// SQLite: one writer at a time, a 2 MiB page cache per connection; with four
/// databases in one process, 4 each keeps the caches under 32 MiB.
pub const SQLITE_MAX_CONNECTIONS: u32 = 4;

/// Validates a PostgreSQL URL up front so a typo fails at startup, not at the
/// first request.
pub fn parse_database_url(raw: &str) -> Result<String, String> {
    let url = Url::parse(raw)
        .map_err(|e| format!("not a URL ({e}); expected postgres://user@host:5432/database"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(format!(
            "unsupported scheme `{}`; expected postgres://user@host:5432/database (leave it unset for embedded SQLite)",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host; expected postgres://user@host:5432/database".into());
    }
    Ok(raw.to_owned())
}

/// How long a client may take to send a request, so that slow or stalled
/// clients cannot hold connections open (a body larger than its route
/// accepts is refused with 413 from its `Content-Length`, before any of it
/// is read).
#[derive(Args, Debug, Clone, Copy, PartialEq, Eq)]
#[command(next_help_heading = "Connections")]
pub struct ConnectionLimits {
    /// Seconds a client has to send a request's line and headers, counted
    /// from the start of the connection or the end of its previous request
    /// (so it also bounds idle keep-alive connections); past it the
    /// connection is closed. E.g. `--header-read-timeout 10`.
    #[arg(
        long = "header-read-timeout",
        env = "BANTER_HEADER_READ_TIMEOUT_SECS",
        default_value_t = 10,
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub header_read_timeout_secs: u64,

    /// Seconds a client has to send a request's whole body once its headers
    /// arrived; past it the request gets 408 `{detail, code}` and the
    /// connection is closed. Bounds uploads too: 30 s carries the largest
    /// (5 MB) profile image at ~1.4 Mbit/s. E.g. `--body-read-timeout 60`.
    #[arg(
        long = "body-read-timeout",
        env = "BANTER_BODY_READ_TIMEOUT_SECS",
        default_value_t = 30,
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub body_read_timeout_secs: u64,
}

/// Every flag at the default its `#[arg]` gives (written once, there).
impl Default for ConnectionLimits {
    fn default() -> Self {
        defaults()
    }
}

impl ConnectionLimits {
    pub fn header_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.header_read_timeout_secs)
    }

    pub fn body_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.body_read_timeout_secs)
    }
}

/// How logs are written.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `text` when stdout is a terminal, `json` otherwise (a pipe, a file, a container log).
    Auto,
    /// One JSON object per line (for Loki and machines).
    Json,
    /// Human-readable lines; requests that did not fail are summed every 10 s.
    Text,
}

impl LogFormat {
    /// `Auto` decided by whether stdout is a terminal.
    pub fn resolve(self) -> Self {
        use std::io::IsTerminal;
        match self {
            Self::Auto if std::io::stdout().is_terminal() => Self::Text,
            Self::Auto => Self::Json,
            other => other,
        }
    }
}

/// Logs, traces and their destinations.
#[derive(Args, Debug, Clone)]
pub struct TelemetryConfig {
    /// Log filter, e.g. `info` or `info,sqlx=warn,banter_users=debug`.
    #[arg(
        long,
        env = "BANTER_LOG",
        default_value = "info,sqlx=warn",
        value_name = "FILTER"
    )]
    pub log_level: String,

    /// Log line format: human-readable on a terminal, JSON lines otherwise.
    #[arg(long, env = "BANTER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,

    /// OTLP/HTTP endpoint for traces (e.g. http://localhost:4318). Unset: no export.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<Url>,

    /// Grafana Loki base URL (e.g. http://localhost:3100). Unset: logs go to stdout only.
    #[arg(long, env = "LOKI_URL", value_name = "URL")]
    pub loki_url: Option<Url>,

    /// FOR BENCHMARKING ONLY: `off` drops request metrics, traces and access
    /// log lines (warnings and errors are still logged), to measure what
    /// telemetry costs (bench/, docs/benchmarks.md). Never run a deployment so:
    /// its dashboards, alerts and SLO checks would see nothing.
    #[arg(long, env = "BANTER_TELEMETRY", value_enum, default_value_t = Telemetry::On)]
    pub telemetry: Telemetry,
}

/// Whether requests are measured, traced and logged (`off`: benchmarks only).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Telemetry {
    On,
    Off,
}

/// Every flag at the default its `#[arg]` gives (written once, there).
impl Default for TelemetryConfig {
    fn default() -> Self {
        defaults()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_declared_ones() {
        let limits = ConnectionLimits::default();
        assert_eq!(
            (
                limits.header_read_timeout_secs,
                limits.body_read_timeout_secs
            ),
            (10, 30)
        );
        let telemetry = TelemetryConfig::default();
        assert_eq!(telemetry.log_level, "info,sqlx=warn");
        assert_eq!(telemetry.telemetry, Telemetry::On);
        assert!(telemetry.otlp_endpoint.is_none());
    }

    #[test]
    fn database_url_must_be_postgres() {
        assert!(parse_database_url("postgres://postgres@127.0.0.1:5432/banter").is_ok());
        assert!(parse_database_url("postgresql://u:p@db/banter").is_ok());
        let err = parse_database_url("mysql://root@127.0.0.1/banter").unwrap_err();
        assert!(err.contains("unsupported scheme `mysql`"), "{err}");
        assert!(
            parse_database_url("not a url")
                .unwrap_err()
                .contains("not a URL")
        );
    }
}

//! Where the brokers are and how topics are made: the `--kafka-*` flags.

use clap::Args;

/// The Kafka-protocol brokers of a distributed deployment.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Event bus")]
pub struct KafkaConfig {
    /// Kafka bootstrap brokers (host:port[,host:port...]). When set, services
    /// exchange events through Kafka, so separate processes see each other's
    /// events; unset, events stay inside this process (the embedded bus).
    #[arg(long = "kafka-brokers", env = "KAFKA_BROKERS", value_name = "HOST:PORT,...", value_parser = parse_brokers)]
    pub brokers: Option<String>,

    /// Partitions of each topic Banter creates (more partitions: more
    /// consumer instances can share a topic).
    #[arg(long = "kafka-partitions", env = "BANTER_KAFKA_PARTITIONS", default_value_t = 6, value_name = "N",
          value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub partitions: i32,

    /// Replication factor of each topic Banter creates.
    #[arg(long = "kafka-replication-factor", env = "BANTER_KAFKA_REPLICATION_FACTOR", default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(i32).range(1..=10))]
    pub replication_factor: i32,

    /// Longest wait of a consumer's fetch on an idle topic, in milliseconds:
    /// lower delivers events sooner on brokers without early wake-up, at the
    /// cost of more fetch requests while idle.
    #[arg(long = "kafka-fetch-wait-ms", env = "BANTER_KAFKA_FETCH_WAIT_MS", default_value_t = 100, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub fetch_wait_ms: u64,

    /// How often consumer lag is sampled, in milliseconds.
    #[arg(long = "kafka-lag-interval-ms", env = "BANTER_KAFKA_LAG_INTERVAL_MS", default_value_t = 5000, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(100..=600_000), hide = true)]
    pub lag_interval_ms: u64,
}

impl KafkaConfig {
    /// A configuration for `brokers` with the defaults.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: Some(brokers.into()),
            partitions: 6,
            replication_factor: 1,
            fetch_wait_ms: 100,
            lag_interval_ms: 5000,
        }
    }
}

/// Validates `host:port[,host:port]` up front so a typo fails at startup.
pub fn parse_brokers(raw: &str) -> Result<String, String> {
    let list: Vec<&str> = raw.split(',').map(str::trim).collect();
    for broker in &list {
        let (host, port) = broker.rsplit_once(':').ok_or_else(|| {
            format!("`{broker}` has no port; expected host:port, e.g. 127.0.0.1:9092")
        })?;
        if host.is_empty() || host.contains('/') {
            return Err(format!(
                "`{broker}` is not host:port (no scheme); expected e.g. 127.0.0.1:9092"
            ));
        }
        port.parse::<u16>()
            .map_err(|_| format!("`{broker}`: `{port}` is not a port number"))?;
    }
    Ok(list.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_lists_are_validated() {
        assert_eq!(
            parse_brokers("127.0.0.1:9092, kafka:9093").unwrap(),
            "127.0.0.1:9092,kafka:9093"
        );
        assert!(parse_brokers("localhost").unwrap_err().contains("no port"));
        assert!(
            parse_brokers("kafka://localhost:9092")
                .unwrap_err()
                .contains("no scheme")
        );
        assert!(
            parse_brokers("localhost:90x")
                .unwrap_err()
                .contains("not a port")
        );
    }
}

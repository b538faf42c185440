//! The replication keys of `server.properties`, with Kafka's names and defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{invalid, number, ConfigError};

/// The keys read here (so that `server.properties` does not warn about them).
pub const KEYS: &[&str] = &[
    "replica.lag.time.max.ms",
    "replica.fetch.max.bytes",
    "replica.fetch.response.max.bytes",
    "replica.fetch.wait.max.ms",
    "replica.fetch.min.bytes",
    "replica.fetch.backoff.ms",
    "replica.socket.timeout.ms",
    "replica.high.watermark.checkpoint.interval.ms",
    "num.replica.fetchers",
    "unclean.leader.election.enable",
    "controller.socket.timeout.ms",
    "broker.rack",
    "auto.leader.rebalance.enable",
    "leader.imbalance.check.interval.seconds",
    "leader.imbalance.per.broker.percentage",
    "controlled.shutdown.enable",
    "controlled.shutdown.max.retries",
    "controlled.shutdown.retry.backoff.ms",
];

/// How this broker replicates, as leader and as follower, and how its controller elects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationSettings {
    /// `replica.lag.time.max.ms` (30000): a follower that has not caught up with the leader's
    /// log end for this long leaves the ISR.
    pub lag_time_max: Duration,
    /// `replica.fetch.max.bytes` (1048576): per partition in a follower's fetch.
    pub fetch_max_bytes: i32,
    /// `replica.fetch.response.max.bytes` (10485760): over a whole follower fetch.
    pub fetch_response_max_bytes: i32,
    /// `replica.fetch.wait.max.ms` (500): how long a follower's fetch waits for data.
    pub fetch_wait_max_ms: i32,
    /// `replica.fetch.min.bytes` (1).
    pub fetch_min_bytes: i32,
    /// `replica.fetch.backoff.ms` (1000): pause after a failed fetch.
    pub fetch_backoff: Duration,
    /// `replica.socket.timeout.ms` (30000): a follower's request timeout.
    pub socket_timeout: Duration,
    /// `replica.high.watermark.checkpoint.interval.ms` (5000).
    pub hw_checkpoint_interval: Duration,
    /// `num.replica.fetchers` (1): fetcher tasks per source broker.
    pub num_fetchers: usize,
    /// `unclean.leader.election.enable` (false): elect a replica outside the ISR when no ISR
    /// member is alive, losing what only the ISR had.
    pub unclean_leader_election: bool,
    /// `controller.socket.timeout.ms` (30000): the controller's request timeout.
    pub controller_socket_timeout: Duration,
    /// `broker.rack` (unset): replicas of a partition are spread over racks.
    pub rack: Option<String>,
    /// `auto.leader.rebalance.enable` (true): the controller moves leadership back to
    /// preferred replicas when a broker leads too few of the partitions it prefers.
    pub auto_leader_rebalance: bool,
    /// `leader.imbalance.check.interval.seconds` (300).
    pub leader_imbalance_check_interval: Duration,
    /// `leader.imbalance.per.broker.percentage` (10).
    pub leader_imbalance_per_broker_percentage: u32,
    /// `controlled.shutdown.enable` (true): a stopping broker first asks the controller to
    /// move its leaderships away.
    pub controlled_shutdown: bool,
    /// `controlled.shutdown.max.retries` (3).
    pub controlled_shutdown_max_retries: u32,
    /// `controlled.shutdown.retry.backoff.ms` (5000).
    pub controlled_shutdown_backoff: Duration,
}

impl ReplicationSettings {
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let ms = |key: &str, default: u64| -> Result<Duration, ConfigError> {
            number(props, key, default).map(Duration::from_millis)
        };
        let flag = |key: &str, default: bool| -> Result<bool, ConfigError> {
            match props.get(key).map(|v| v.to_ascii_lowercase()).as_deref() {
                None => Ok(default),
                Some("true") => Ok(true),
                Some("false") => Ok(false),
                Some(other) => Err(invalid(key, other, "not a boolean")),
            }
        };
        let settings = ReplicationSettings {
            lag_time_max: ms("replica.lag.time.max.ms", 30_000)?,
            fetch_max_bytes: number(props, "replica.fetch.max.bytes", 1_048_576)?,
            fetch_response_max_bytes: number(
                props,
                "replica.fetch.response.max.bytes",
                10_485_760,
            )?,
            fetch_wait_max_ms: number(props, "replica.fetch.wait.max.ms", 500)?,
            fetch_min_bytes: number(props, "replica.fetch.min.bytes", 1)?,
            fetch_backoff: ms("replica.fetch.backoff.ms", 1_000)?,
            socket_timeout: ms("replica.socket.timeout.ms", 30_000)?,
            hw_checkpoint_interval: ms("replica.high.watermark.checkpoint.interval.ms", 5_000)?,
            num_fetchers: number(props, "num.replica.fetchers", 1)?,
            unclean_leader_election: flag("unclean.leader.election.enable", false)?,
            controller_socket_timeout: ms("controller.socket.timeout.ms", 30_000)?,
            rack: props.get("broker.rack").filter(|r| !r.is_empty()).cloned(),
            auto_leader_rebalance: flag("auto.leader.rebalance.enable", true)?,
            leader_imbalance_check_interval: Duration::from_secs(number(
                props,
                "leader.imbalance.check.interval.seconds",
                300,
            )?),
            leader_imbalance_per_broker_percentage: number(
                props,
                "leader.imbalance.per.broker.percentage",
                10,
            )?,
            controlled_shutdown: flag("controlled.shutdown.enable", true)?,
            controlled_shutdown_max_retries: number(props, "controlled.shutdown.max.retries", 3)?,
            controlled_shutdown_backoff: ms("controlled.shutdown.retry.backoff.ms", 5_000)?,
        };
        if settings.leader_imbalance_check_interval.is_zero() {
            return Err(invalid(
                "leader.imbalance.check.interval.seconds",
                "0",
                "must be > 0",
            ));
        }
        if settings.num_fetchers < 1 {
            return Err(invalid(
                "num.replica.fetchers",
                &settings.num_fetchers.to_string(),
                "must be >= 1",
            ));
        }
        if settings.lag_time_max.is_zero() {
            return Err(invalid("replica.lag.time.max.ms", "0", "must be > 0"));
        }
        for (key, value) in [
            ("replica.fetch.max.bytes", settings.fetch_max_bytes),
            ("replica.fetch.wait.max.ms", settings.fetch_wait_max_ms),
        ] {
            if value < 1 {
                return Err(invalid(key, &value.to_string(), "must be >= 1"));
            }
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kafkas_and_bad_values_name_their_key() {
        let s = ReplicationSettings::from_properties(&BTreeMap::new()).expect("defaults");
        assert_eq!(s.lag_time_max, Duration::from_secs(30));
        assert_eq!(s.fetch_max_bytes, 1_048_576);
        assert_eq!(s.num_fetchers, 1);
        assert!(!s.unclean_leader_election);
        for bad in [
            ("num.replica.fetchers", "0"),
            ("unclean.leader.election.enable", "maybe"),
            ("replica.lag.time.max.ms", "x"),
        ] {
            let props = BTreeMap::from([(bad.0.to_string(), bad.1.to_string())]);
            let err = ReplicationSettings::from_properties(&props).expect_err(bad.0);
            assert!(err.to_string().contains(bad.0), "{err}");
        }
    }
}

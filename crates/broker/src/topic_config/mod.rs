//! Topic configuration, pure: which keys exist and what values they take ([`defs`]), the
//! broker's defaults for every topic (from `server.properties`), a topic's effective config
//! (defaults overridden by `/config/topics/<t>`), DescribeConfigs' view of it ([`describe`]),
//! and the edits of (Incremental)AlterConfigs ([`alter`]).
//!
//! The I/O (ZooKeeper, open logs) lives in `crate::admin`; everything here is tested without it.

pub mod alter;
pub mod defs;
pub mod describe;

use std::collections::BTreeMap;

use ferry_log::{CleanupPolicy, LogConfig};

pub use defs::{broker_key_def, topic_def, ConfigType, TOPIC_CONFIGS};

/// A topic config that cannot be stored, with Kafka's message (it names the key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidConfig(pub String);

/// A broker setting in `server.properties` that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidBrokerSetting {
    pub key: String,
    pub value: String,
    pub reason: String,
}

/// Where a default for every topic came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolved {
    /// In the topic key's unit.
    value: String,
    /// The broker key that set it; `None`: Kafka's default.
    from: Option<&'static str>,
}

/// The broker's defaults for every topic and the broker-only keys it acts on, read from
/// `server.properties` (plus `--override`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDefaults {
    topic: BTreeMap<&'static str, Resolved>,
    broker: BTreeMap<&'static str, String>,
    /// Everything the file set, for describing the broker.
    properties: BTreeMap<String, String>,
}

impl Default for TopicDefaults {
    fn default() -> Self {
        match Self::from_properties(&BTreeMap::new()) {
            Ok(defaults) => defaults,
            // Kafka's defaults pass their own checks (a unit test holds it).
            Err(bad) => unreachable!("built-in default {} invalid: {}", bad.key, bad.reason),
        }
    }
}

impl TopicDefaults {
    /// Reads and checks every broker key that sets a topic default or that the log manager
    /// uses; a bad value names its key.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<Self, InvalidBrokerSetting> {
        let bad = |key: &str, value: &str, reason: String| InvalidBrokerSetting {
            key: key.to_string(),
            value: value.to_string(),
            reason,
        };
        let mut topic = BTreeMap::new();
        for def in TOPIC_CONFIGS {
            let mut resolved = Resolved {
                value: def.default.to_string(),
                from: None,
            };
            for (key, factor) in def.synonyms {
                let Some(raw) = props.get(*key) else { continue };
                let value = if *factor == 1 {
                    defs::check_value(def.kind, def.check, raw).map_err(|r| bad(key, raw, r))?;
                    raw.trim().to_string()
                } else {
                    let n: i64 = raw
                        .trim()
                        .parse()
                        .map_err(|_| bad(key, raw, "Not a number of type LONG".to_string()))?;
                    // A negative time in coarse units means "no limit", as Kafka reads it.
                    let scaled = n.checked_mul(*factor).ok_or_else(|| {
                        bad(
                            key,
                            raw,
                            "too large once converted to milliseconds".to_string(),
                        )
                    })?;
                    if scaled < 0 { -1 } else { scaled }.to_string()
                };
                resolved = Resolved {
                    value,
                    from: Some(key),
                };
                break;
            }
            topic.insert(def.name, resolved);
        }
        let mut broker = BTreeMap::new();
        for def in defs::BROKER_KEYS {
            let value = match props.get(def.name) {
                Some(raw) => {
                    defs::check_value(def.kind, def.check, raw)
                        .map_err(|r| bad(def.name, raw, r))?;
                    raw.trim().to_string()
                }
                None => def.default.to_string(),
            };
            broker.insert(def.name, value);
        }
        Ok(TopicDefaults {
            topic,
            broker,
            properties: props.clone(),
        })
    }

    /// The broker's default for a topic key (Kafka's when the broker sets none).
    pub fn topic_value(&self, key: &str) -> Option<&str> {
        self.topic.get(key).map(|r| r.value.as_str())
    }

    /// A broker-only key of [`defs::BROKER_KEYS`].
    pub fn broker_value(&self, key: &str) -> Option<&str> {
        self.broker.get(key).map(String::as_str)
    }

    pub fn broker_bool(&self, key: &str) -> bool {
        self.broker_value(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn broker_u64(&self, key: &str) -> u64 {
        self.broker_value(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }
}

/// Checks a topic's overrides: every key known, every value valid for it.
pub fn validate_overrides(overrides: &BTreeMap<String, String>) -> Result<(), InvalidConfig> {
    for (key, value) in overrides {
        let def = topic_def(key)
            .ok_or_else(|| InvalidConfig(format!("Unknown topic config name: {key}")))?;
        defs::check_value(def.kind, def.check, value).map_err(|reason| {
            InvalidConfig(format!(
                "Invalid value {value} for configuration {key}: {reason}"
            ))
        })?;
    }
    Ok(())
}

/// A topic's effective config: every topic key with its value in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveConfig {
    values: BTreeMap<&'static str, String>,
    cleaner_map_bytes: usize,
}

impl EffectiveConfig {
    /// The broker's defaults overridden by the topic's own settings. Overrides are expected
    /// to have passed [`validate_overrides`]; an unknown key (written by a newer tool) is
    /// ignored and a value that does not parse falls back to the default when used.
    pub fn resolve(defaults: &TopicDefaults, overrides: &BTreeMap<String, String>) -> Self {
        let values = TOPIC_CONFIGS
            .iter()
            .map(|def| {
                let value = overrides
                    .get(def.name)
                    .filter(|v| defs::check_value(def.kind, def.check, v).is_ok())
                    .map(|v| v.trim().to_string())
                    .or_else(|| defaults.topic_value(def.name).map(str::to_string))
                    .unwrap_or_else(|| def.default.to_string());
                (def.name, value)
            })
            .collect();
        let map_bytes = defaults.broker_u64("log.cleaner.dedupe.buffer.size");
        EffectiveConfig {
            values,
            cleaner_map_bytes: usize::try_from(map_bytes).unwrap_or(usize::MAX),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    fn long(&self, key: &str) -> i64 {
        let parsed = self.get(key).and_then(|v| v.parse().ok());
        parsed
            .or_else(|| topic_def(key).and_then(|d| d.default.parse().ok()))
            .unwrap_or(0)
    }

    /// What the log engine acts on.
    pub fn log_config(&self) -> LogConfig {
        let unsigned = |key| u64::try_from(self.long(key)).ok();
        let limit = |key| unsigned(key).filter(|n| *n != i64::MAX as u64);
        let policy = self
            .get("cleanup.policy")
            .map(|v| defs::list_items(v).collect::<Vec<_>>().join(","))
            .and_then(|v| CleanupPolicy::parse(&v).ok())
            .unwrap_or_default();
        let base = LogConfig::default();
        LogConfig {
            segment_bytes: unsigned("segment.bytes").unwrap_or(base.segment_bytes),
            segment_ms: unsigned("segment.ms").unwrap_or(base.segment_ms),
            index_interval_bytes: unsigned("index.interval.bytes")
                .unwrap_or(base.index_interval_bytes),
            max_message_bytes: unsigned("max.message.bytes")
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(base.max_message_bytes),
            flush_messages: limit("flush.messages"),
            flush_ms: limit("flush.ms"),
            // -1 (or any negative) means no limit.
            retention_ms: unsigned("retention.ms"),
            retention_bytes: unsigned("retention.bytes"),
            cleanup_policy: policy,
            delete_retention_ms: unsigned("delete.retention.ms")
                .unwrap_or(base.delete_retention_ms),
            cleaner_map_bytes: self.cleaner_map_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn broker_keys_set_topic_defaults_most_specific_first() {
        let d = TopicDefaults::from_properties(&props(&[
            ("log.retention.hours", "1"),
            ("log.retention.minutes", "2"),
            ("log.segment.bytes", "1000"),
            ("log.cleanup.policy", "compact"),
        ]))
        .unwrap();
        assert_eq!(d.topic_value("retention.ms"), Some("120000"));
        assert_eq!(d.topic_value("segment.bytes"), Some("1000"));
        let d = TopicDefaults::from_properties(&props(&[("log.retention.hours", "-1")])).unwrap();
        assert_eq!(d.topic_value("retention.ms"), Some("-1"));
        let d = TopicDefaults::default();
        assert_eq!(d.topic_value("retention.ms"), Some("604800000"));
        assert!(d.broker_bool("delete.topic.enable"));
        assert_eq!(d.broker_u64("log.retention.check.interval.ms"), 300_000);
    }

    #[test]
    fn bad_broker_values_name_their_key() {
        let err =
            TopicDefaults::from_properties(&props(&[("log.segment.bytes", "x")])).unwrap_err();
        assert_eq!(err.key, "log.segment.bytes");
        let err = TopicDefaults::from_properties(&props(&[("delete.topic.enable", "maybe")]))
            .unwrap_err();
        assert_eq!(err.key, "delete.topic.enable");
        let err = TopicDefaults::from_properties(&props(&[(
            "log.retention.hours",
            "9223372036854775807",
        )]))
        .unwrap_err();
        assert_eq!(err.key, "log.retention.hours");
    }

    #[test]
    fn overrides_are_validated_with_kafkas_messages() {
        assert!(validate_overrides(&props(&[("retention.ms", "1000")])).is_ok());
        let err = validate_overrides(&props(&[("retention.ms", "soon")])).unwrap_err();
        assert_eq!(
            err.0,
            "Invalid value soon for configuration retention.ms: Not a number of type LONG"
        );
        let err = validate_overrides(&props(&[("no.such.key", "1")])).unwrap_err();
        assert!(err.0.contains("no.such.key"), "{err}");
        assert!(validate_overrides(&props(&[("cleanup.policy", "compact,shred")])).is_err());
    }

    #[test]
    fn effective_config_merges_topic_over_broker_over_kafka() {
        let d = TopicDefaults::from_properties(&props(&[
            ("log.retention.bytes", "5000"),
            ("log.roll.hours", "2"),
        ]))
        .unwrap();
        let e = EffectiveConfig::resolve(
            &d,
            &props(&[
                ("retention.ms", "-1"),
                ("segment.bytes", "2048"),
                ("cleanup.policy", "compact,delete"),
                ("min.insync.replicas", "2"),
            ]),
        );
        let log = e.log_config();
        assert_eq!(log.retention_ms, None);
        assert_eq!(log.retention_bytes, Some(5000));
        assert_eq!(log.segment_bytes, 2048);
        assert_eq!(log.segment_ms, 7_200_000);
        assert_eq!(log.cleanup_policy, CleanupPolicy::CompactDelete);
        assert_eq!(log.flush_messages, None);
        assert_eq!(log.cleaner_map_bytes, 134_217_728);
        assert_eq!(e.get("min.insync.replicas"), Some("2"));
        assert!(log.validate().is_ok());
        let plain = EffectiveConfig::resolve(&TopicDefaults::default(), &BTreeMap::new());
        let base = LogConfig::default();
        assert_eq!(plain.log_config().retention_ms, base.retention_ms);
        assert_eq!(plain.log_config().segment_bytes, base.segment_bytes);
        assert_eq!(plain.log_config().max_message_bytes, base.max_message_bytes);
    }
}

//! The topic configs Kafka 2.x knows, their types, defaults, checks and the broker keys that
//! set their cluster-wide defaults (`log.retention.hours` for `retention.ms`, ...).
//!
//! Every key is accepted and stored in `/config/topics/<t>` as Kafka would; the ones the log
//! engine acts on are turned into a `LogConfig` by [`super::EffectiveConfig::log_config`].

/// Kafka's `ConfigType` as DescribeConfigs v3+ reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// A value check beyond the type.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    None,
    AtLeast(i64),
    Between(f64, f64),
    /// Each value (each element, for lists) is one of these.
    OneOf(&'static [&'static str]),
}

/// One topic config.
#[derive(Debug)]
pub struct TopicConfigDef {
    pub name: &'static str,
    pub kind: ConfigType,
    /// Kafka's default, used when neither the topic nor the broker sets it.
    pub default: &'static str,
    /// Broker keys that set the default for every topic, most specific first, with the factor
    /// turning the broker key's unit into the topic key's (hours -> ms).
    pub synonyms: &'static [(&'static str, i64)],
    pub check: Check,
    pub doc: &'static str,
}

const LONG_MAX: &str = "9223372036854775807";
const COMPRESSION: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

macro_rules! def {
    ($name:literal, $kind:ident, $default:expr, [$($syn:literal * $f:literal),*], $check:expr, $doc:literal) => {
        TopicConfigDef {
            name: $name,
            kind: ConfigType::$kind,
            default: $default,
            synonyms: &[$(($syn, $f)),*],
            check: $check,
            doc: $doc,
        }
    };
}

/// Kafka 2.8's topic configs, sorted by name.
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def!("cleanup.policy", List, "delete", ["log.cleanup.policy" * 1],
        Check::OneOf(&["compact", "delete"]),
        "A string that is either \"delete\" or \"compact\" or both: the retention policy of old log segments."),
    def!("compression.type", String, "producer", ["compression.type" * 1], Check::OneOf(COMPRESSION),
        "The final compression type for the topic; 'producer' keeps the producer's codec."),
    def!("delete.retention.ms", Long, "86400000", ["log.cleaner.delete.retention.ms" * 1], Check::AtLeast(0),
        "How long delete tombstone markers are retained for log compacted topics."),
    def!("file.delete.delay.ms", Long, "60000", ["log.segment.delete.delay.ms" * 1], Check::AtLeast(0),
        "The time to wait before deleting a file from the filesystem."),
    def!("flush.messages", Long, LONG_MAX, ["log.flush.interval.messages" * 1], Check::AtLeast(1),
        "Force an fsync of the log after this many messages."),
    def!("flush.ms", Long, LONG_MAX, ["log.flush.interval.ms" * 1], Check::AtLeast(0),
        "Force an fsync of the log after this much time."),
    def!("follower.replication.throttled.replicas", List, "", ["follower.replication.throttled.replicas" * 1], Check::None,
        "Replicas whose log replication should be throttled on the follower side."),
    def!("index.interval.bytes", Int, "4096", ["log.index.interval.bytes" * 1], Check::AtLeast(0),
        "How frequently an entry is added to the offset index."),
    def!("leader.replication.throttled.replicas", List, "", ["leader.replication.throttled.replicas" * 1], Check::None,
        "Replicas whose log replication should be throttled on the leader side."),
    def!("max.compaction.lag.ms", Long, LONG_MAX, ["log.cleaner.max.compaction.lag.ms" * 1], Check::AtLeast(1),
        "The maximum time a message will remain ineligible for compaction in the log."),
    def!("max.message.bytes", Int, "1048588", ["message.max.bytes" * 1], Check::AtLeast(0),
        "The largest record batch size allowed."),
    def!("message.downconversion.enable", Boolean, "true", ["log.message.downconversion.enable" * 1], Check::None,
        "Whether down-conversion of message formats is enabled to satisfy consume requests."),
    def!("message.format.version", String, "2.8-IV1", ["log.message.format.version" * 1], Check::None,
        "The message format version the broker uses to append messages to the logs."),
    def!("message.timestamp.difference.max.ms", Long, LONG_MAX, ["log.message.timestamp.difference.max.ms" * 1], Check::AtLeast(0),
        "The maximum difference allowed between a message's timestamp and the broker's."),
    def!("message.timestamp.type", String, "CreateTime", ["log.message.timestamp.type" * 1],
        Check::OneOf(&["CreateTime", "LogAppendTime"]),
        "Whether the timestamp in the message is message create time or log append time."),
    def!("min.cleanable.dirty.ratio", Double, "0.5", ["log.cleaner.min.cleanable.ratio" * 1], Check::Between(0.0, 1.0),
        "How frequently the log compactor will attempt to clean the log."),
    def!("min.compaction.lag.ms", Long, "0", ["log.cleaner.min.compaction.lag.ms" * 1], Check::AtLeast(0),
        "The minimum time a message will remain uncompacted in the log."),
    def!("min.insync.replicas", Int, "1", ["min.insync.replicas" * 1], Check::AtLeast(1),
        "The minimum number of replicas that must acknowledge a write with acks=all."),
    def!("preallocate", Boolean, "false", ["log.preallocate" * 1], Check::None,
        "True if we should preallocate the file on disk when creating a new log segment."),
    def!("retention.bytes", Long, "-1", ["log.retention.bytes" * 1], Check::None,
        "The maximum size a partition can grow to before old log segments are discarded; -1: no limit."),
    def!("retention.ms", Long, "604800000",
        ["log.retention.ms" * 1, "log.retention.minutes" * 60000, "log.retention.hours" * 3600000],
        Check::AtLeast(-1),
        "The maximum time a log is retained before old segments are discarded; -1: no time limit."),
    def!("segment.bytes", Int, "1073741824", ["log.segment.bytes" * 1], Check::AtLeast(14),
        "The segment file size for the log."),
    def!("segment.index.bytes", Int, "10485760", ["log.index.size.max.bytes" * 1], Check::AtLeast(4),
        "The size of the index that maps offsets to file positions."),
    def!("segment.jitter.ms", Long, "0", ["log.roll.jitter.ms" * 1, "log.roll.jitter.hours" * 3600000], Check::AtLeast(0),
        "The maximum random jitter subtracted from the scheduled segment roll time."),
    def!("segment.ms", Long, "604800000", ["log.roll.ms" * 1, "log.roll.hours" * 3600000], Check::AtLeast(1),
        "The period of time after which the log rolls even if the segment file is not full."),
    def!("unclean.leader.election.enable", Boolean, "false", ["unclean.leader.election.enable" * 1], Check::None,
        "Whether replicas not in the ISR may be elected as leader as a last resort."),
];

/// The definition of a topic config.
pub fn topic_def(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// A broker-only key this broker acts on (not a default for topics).
#[derive(Debug)]
pub struct BrokerKeyDef {
    pub name: &'static str,
    pub kind: ConfigType,
    pub default: &'static str,
    pub check: Check,
    pub doc: &'static str,
}

macro_rules! broker_def {
    ($name:literal, $kind:ident, $default:expr, $check:expr, $doc:literal) => {
        BrokerKeyDef {
            name: $name,
            kind: ConfigType::$kind,
            default: $default,
            check: $check,
            doc: $doc,
        }
    };
}

/// Broker keys typed for topic administration and the log manager.
pub const BROKER_KEYS: &[BrokerKeyDef] = &[
    broker_def!(
        "delete.topic.enable",
        Boolean,
        "true",
        Check::None,
        "Enables topic deletion; deleting through the admin API or tools has no effect if off."
    ),
    broker_def!(
        "log.retention.check.interval.ms",
        Long,
        "300000",
        Check::AtLeast(1),
        "How often the log manager checks whether any log is eligible for deletion."
    ),
    broker_def!(
        "log.cleaner.enable",
        Boolean,
        "true",
        Check::None,
        "Enables the log cleaner (compaction of topics with cleanup.policy=compact)."
    ),
    broker_def!(
        "log.cleaner.backoff.ms",
        Long,
        "15000",
        Check::AtLeast(0),
        "How long the cleaner sleeps when there are no logs to clean."
    ),
    broker_def!(
        "log.cleaner.dedupe.buffer.size",
        Long,
        "134217728",
        Check::AtLeast(1024),
        "Memory used for log deduplication by compaction."
    ),
];

pub fn broker_key_def(name: &str) -> Option<&'static BrokerKeyDef> {
    BROKER_KEYS.iter().find(|d| d.name == name)
}

/// Checks `value` against a type and check; the reason on failure.
pub fn check_value(kind: ConfigType, check: Check, value: &str) -> Result<(), String> {
    let value = value.trim();
    match kind {
        ConfigType::Boolean => {
            if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") {
                return Err("Expected value to be either true or false".to_string());
            }
        }
        ConfigType::Int | ConfigType::Long => {
            let n: i64 = value
                .parse()
                .map_err(|_| format!("Not a number of type {}", type_name(kind)))?;
            if kind == ConfigType::Int && i32::try_from(n).is_err() {
                return Err("Not a number of type INT".to_string());
            }
            if let Check::AtLeast(min) = check {
                if n < min {
                    return Err(format!("Value must be at least {min}"));
                }
            }
        }
        ConfigType::Double => {
            let x: f64 = value
                .parse()
                .map_err(|_| "Not a number of type DOUBLE".to_string())?;
            if let Check::Between(lo, hi) = check {
                if !(lo..=hi).contains(&x) {
                    return Err(format!("Value must be between {lo} and {hi}"));
                }
            }
        }
        ConfigType::String => {
            if let Check::OneOf(allowed) = check {
                if !allowed.contains(&value) {
                    return Err(format!("String must be one of: {}", allowed.join(", ")));
                }
            }
        }
        ConfigType::List => {
            if let Check::OneOf(allowed) = check {
                for item in list_items(value) {
                    if !allowed.contains(&item) {
                        return Err(format!(
                            "Invalid value {item} in list; must be one of: {}",
                            allowed.join(", ")
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The elements of a list-typed value (comma separated, blanks dropped).
pub fn list_items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn type_name(kind: ConfigType) -> &'static str {
    match kind {
        ConfigType::Boolean => "BOOLEAN",
        ConfigType::String => "STRING",
        ConfigType::Int => "INT",
        ConfigType::Long => "LONG",
        ConfigType::Double => "DOUBLE",
        ConfigType::List => "LIST",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_defaults_pass_their_own_checks() {
        let names: Vec<_> = TOPIC_CONFIGS.iter().map(|d| d.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        for d in TOPIC_CONFIGS {
            assert_eq!(
                check_value(d.kind, d.check, d.default),
                Ok(()),
                "{}",
                d.name
            );
        }
        for d in BROKER_KEYS {
            assert_eq!(
                check_value(d.kind, d.check, d.default),
                Ok(()),
                "{}",
                d.name
            );
        }
    }

    #[test]
    fn values_are_checked_by_type_and_range() {
        let seg = topic_def("segment.bytes").unwrap();
        assert!(check_value(seg.kind, seg.check, "1000").is_ok());
        assert!(check_value(seg.kind, seg.check, "13").is_err());
        assert!(check_value(seg.kind, seg.check, "abc").is_err());
        assert!(check_value(seg.kind, seg.check, "4294967296").is_err());
        let policy = topic_def("cleanup.policy").unwrap();
        assert!(check_value(policy.kind, policy.check, "compact, delete").is_ok());
        assert!(check_value(policy.kind, policy.check, "shred").is_err());
        let ratio = topic_def("min.cleanable.dirty.ratio").unwrap();
        assert!(check_value(ratio.kind, ratio.check, "1.5").is_err());
        let unclean = topic_def("unclean.leader.election.enable").unwrap();
        assert!(check_value(unclean.kind, unclean.check, "TRUE").is_ok());
        assert!(check_value(unclean.kind, unclean.check, "yes").is_err());
    }
}

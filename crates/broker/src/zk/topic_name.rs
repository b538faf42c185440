//! Topic names as Kafka's `org.apache.kafka.common.internals.Topic` checks them, with its
//! messages.

use super::error::{Result, ZkError};

/// The longest legal topic name (so that `<topic>-<partition>` fits a 255-byte file name).
pub const MAX_TOPIC_NAME_LENGTH: usize = 249;

/// What `kafka-topics.sh` prints when a new topic name has `.` or `_`.
pub const COLLISION_WARNING: &str = "WARNING: Due to limitations in metric names, topics with a \
period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.";

const INTERNAL_TOPICS: [&str; 2] = ["__consumer_offsets", "__transaction_state"];

/// Kafka's `Topic.validate`: not empty, not `.` or `..`, at most 249 characters of
/// `[a-zA-Z0-9._-]`.
pub fn validate_topic_name(topic: &str) -> Result<()> {
    let invalid = |message: String| {
        Err(ZkError::InvalidTopic {
            topic: topic.to_string(),
            message,
        })
    };
    if topic.is_empty() {
        return invalid("Topic name is illegal, it can't be empty".to_string());
    }
    if topic == "." || topic == ".." {
        return invalid("Topic name cannot be \".\" or \"..\"".to_string());
    }
    if topic.len() > MAX_TOPIC_NAME_LENGTH {
        return invalid(format!(
            "Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, \
             topic name: {topic}"
        ));
    }
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if !topic.chars().all(legal) {
        return invalid(format!(
            "Topic name \"{topic}\" is illegal, it contains a character other than ASCII \
             alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Whether the name has a character metric names cannot tell apart (`.` or `_`).
pub fn has_collision_chars(topic: &str) -> bool {
    topic.contains(['.', '_'])
}

/// Whether two names are the same once `.` and `_` are taken as one character: such topics
/// would share metric names, so Kafka refuses to create the second.
pub fn collides(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.replace('.', "_") == b.replace('.', "_")
}

/// The topics Kafka keeps for itself (group offsets, transaction state).
pub fn is_internal(topic: &str) -> bool {
    INTERNAL_TOPICS.contains(&topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(topic: &str) -> String {
        validate_topic_name(topic).unwrap_err().to_string()
    }

    #[test]
    fn names_are_checked_with_kafkas_messages() {
        for good in ["a", "my-topic_1.x", "__consumer_offsets", &"a".repeat(249)] {
            assert!(validate_topic_name(good).is_ok(), "{good}");
        }
        assert_eq!(message(""), "Topic name is illegal, it can't be empty");
        assert_eq!(message(".."), "Topic name cannot be \".\" or \"..\"");
        assert!(message(&"a".repeat(250)).contains("can't be longer than 249 characters"));
        assert_eq!(
            message("a b"),
            "Topic name \"a b\" is illegal, it contains a character other than ASCII \
             alphanumerics, '.', '_' and '-'"
        );
        assert!(validate_topic_name("é").is_err());
        assert!(validate_topic_name("a/b").is_err());
    }

    #[test]
    fn dots_and_underscores_collide() {
        assert!(has_collision_chars("a.b") && has_collision_chars("a_b"));
        assert!(!has_collision_chars("a-b"));
        assert!(collides("a.b", "a_b") && collides("a_b", "a_b"));
        assert!(!collides("a.b", "a-b"));
        assert!(is_internal("__consumer_offsets") && !is_internal("t"));
    }
}

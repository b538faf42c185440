//! Kafka 2.x's znode layout (`kafka.zk.ZkData`), as client paths under the chroot.

pub const CLUSTER: &str = "/cluster";
pub const CLUSTER_ID: &str = "/cluster/id";
pub const CONTROLLER: &str = "/controller";
pub const CONTROLLER_EPOCH: &str = "/controller_epoch";
pub const BROKER_IDS: &str = "/brokers/ids";
pub const BROKER_TOPICS: &str = "/brokers/topics";
pub const BROKER_SEQID: &str = "/brokers/seqid";
pub const CONFIG_CHANGES: &str = "/config/changes";
pub const CONFIG_TOPICS: &str = "/config/topics";
pub const DELETE_TOPICS: &str = "/admin/delete_topics";
pub const ISR_CHANGE_NOTIFICATION: &str = "/isr_change_notification";
pub const LOG_DIR_EVENT_NOTIFICATION: &str = "/log_dir_event_notification";
pub const PRODUCER_ID_BLOCK: &str = "/latest_producer_id_block";
pub const CONSUMERS: &str = "/consumers";
/// The prefix of the sequential nodes under [`CONFIG_CHANGES`].
pub const CONFIG_CHANGE_PREFIX: &str = "config_change_";

/// The persistent paths a Kafka 2.x broker makes sure of at startup (`ZkData.PersistentZkPaths`:
/// the fixed ones, then `/config/<type>` for every config entity type).
pub const PERSISTENT: &[&str] = &[
    CONSUMERS,
    BROKER_IDS,
    BROKER_TOPICS,
    CONFIG_CHANGES,
    DELETE_TOPICS,
    BROKER_SEQID,
    ISR_CHANGE_NOTIFICATION,
    PRODUCER_ID_BLOCK,
    LOG_DIR_EVENT_NOTIFICATION,
    CONFIG_TOPICS,
    "/config/clients",
    "/config/users",
    "/config/brokers",
];

/// `/brokers/ids/<id>`: a broker's ephemeral registration.
pub fn broker(id: i32) -> String {
    format!("{BROKER_IDS}/{id}")
}

/// `/brokers/topics/<topic>`: the topic's replica assignment.
pub fn topic(topic: &str) -> String {
    format!("{BROKER_TOPICS}/{topic}")
}

/// `/brokers/topics/<topic>/partitions`.
pub fn topic_partitions(topic: &str) -> String {
    format!("{BROKER_TOPICS}/{topic}/partitions")
}

/// `/brokers/topics/<topic>/partitions/<partition>`.
pub fn partition(topic: &str, partition: i32) -> String {
    format!("{BROKER_TOPICS}/{topic}/partitions/{partition}")
}

/// `/brokers/topics/<topic>/partitions/<partition>/state`: leader, ISR and epochs.
pub fn partition_state(topic: &str, partition: i32) -> String {
    format!("{BROKER_TOPICS}/{topic}/partitions/{partition}/state")
}

/// `/config/topics/<topic>`: the topic's config overrides.
pub fn topic_config(topic: &str) -> String {
    format!("{CONFIG_TOPICS}/{topic}")
}

/// `/admin/delete_topics/<topic>`: a pending deletion.
pub fn delete_topic(topic: &str) -> String {
    format!("{DELETE_TOPICS}/{topic}")
}

/// The parent of a path (`/` for a top-level one).
pub(crate) fn parent(path: &str) -> Option<&str> {
    match path.rfind('/') {
        None => None,
        Some(0) if path.len() > 1 => Some("/"),
        Some(0) => None,
        Some(at) => Some(&path[..at]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_kafka() {
        assert_eq!(broker(3), "/brokers/ids/3");
        assert_eq!(
            partition_state("t", 2),
            "/brokers/topics/t/partitions/2/state"
        );
        assert_eq!(topic_config("t"), "/config/topics/t");
        assert_eq!(delete_topic("t"), "/admin/delete_topics/t");
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
    }
}

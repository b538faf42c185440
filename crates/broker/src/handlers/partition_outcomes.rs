//! Answers the controller's per-partition outcomes (ElectLeaders, AlterPartitionReassignments)
//! as Kafka lays them out: grouped by topic, each with an error code and message.

use std::collections::BTreeMap;

use crate::controller::mailbox::PartitionOutcome;

/// One partition's answer: its index, error code (0: done) and error message.
pub struct Answer {
    pub partition: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
}

/// The outcomes grouped by topic, topics in name order, partitions in the order given.
pub fn by_topic(outcomes: Vec<PartitionOutcome>) -> BTreeMap<String, Vec<Answer>> {
    let mut grouped: BTreeMap<String, Vec<Answer>> = BTreeMap::new();
    for ((topic, partition), outcome) in outcomes {
        let (error_code, error_message) = match outcome {
            Ok(()) => (0, None),
            Err((code, message)) => (code.code(), Some(message)),
        };
        grouped.entry(topic).or_default().push(Answer {
            partition,
            error_code,
            error_message,
        });
    }
    grouped
}

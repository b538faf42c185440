//! The JSON of `/brokers/topics/<topic>`: which brokers hold each partition's replicas.
//!
//! Version 2, as Kafka 2.x writes it:
//! `{"version":2,"partitions":{"0":[1,2]},"adding_replicas":{},"removing_replicas":{}}`;
//! version 3 (Kafka 2.8 with topic ids) adds `"topic_id":"<22-char base64url uuid>"`;
//! version 1 has `partitions` only. Reassignments in progress list the replicas being added
//! and removed (only the partitions that have some).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{Result, ZkError};
use super::json;

/// The most a znode written here may hold: the client's `jute.maxbuffer` default (which
/// Apache ZooKeeper's server shares), less room for the request around it.
pub const MAX_ZNODE_BYTES: usize = ferry_zkclient::DEFAULT_MAX_FRAME - 4096;

/// The replicas of one partition, and those of a reassignment in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaAssignment {
    pub replicas: Vec<i32>,
    pub adding_replicas: Vec<i32>,
    pub removing_replicas: Vec<i32>,
}

/// A topic's assignment: its id (if it has one) and each partition's replicas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicAssignment {
    pub topic_id: Option<String>,
    pub partitions: BTreeMap<i32, ReplicaAssignment>,
}

#[derive(Serialize)]
struct TopicJsonOut<'a> {
    version: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic_id: Option<&'a str>,
    partitions: BTreeMap<i32, &'a [i32]>,
    adding_replicas: BTreeMap<i32, &'a [i32]>,
    removing_replicas: BTreeMap<i32, &'a [i32]>,
}

#[derive(Deserialize)]
struct TopicJsonIn {
    #[serde(default)]
    topic_id: Option<String>,
    #[serde(default)]
    partitions: BTreeMap<i32, Vec<i32>>,
    #[serde(default)]
    adding_replicas: BTreeMap<i32, Vec<i32>>,
    #[serde(default)]
    removing_replicas: BTreeMap<i32, Vec<i32>>,
}

impl TopicAssignment {
    /// An assignment without reassignments or topic id.
    pub fn new(replicas: BTreeMap<i32, Vec<i32>>) -> Self {
        Self {
            topic_id: None,
            partitions: replicas
                .into_iter()
                .map(|(partition, replicas)| {
                    let assignment = ReplicaAssignment {
                        replicas,
                        ..ReplicaAssignment::default()
                    };
                    (partition, assignment)
                })
                .collect(),
        }
    }

    /// Each partition's replicas.
    pub fn replicas(&self) -> BTreeMap<i32, Vec<i32>> {
        self.partitions
            .iter()
            .map(|(p, a)| (*p, a.replicas.clone()))
            .collect()
    }

    /// Version 3 with a topic id, version 2 without.
    pub fn encode(&self, path: &str) -> Result<Vec<u8>> {
        let pick = |list: fn(&ReplicaAssignment) -> &Vec<i32>| {
            self.partitions
                .iter()
                .filter(|(_, a)| !list(a).is_empty())
                .map(|(p, a)| (*p, list(a).as_slice()))
                .collect()
        };
        let out = TopicJsonOut {
            version: if self.topic_id.is_some() { 3 } else { 2 },
            topic_id: self.topic_id.as_deref(),
            partitions: self
                .partitions
                .iter()
                .map(|(p, a)| (*p, a.replicas.as_slice()))
                .collect(),
            adding_replicas: pick(|a| &a.adding_replicas),
            removing_replicas: pick(|a| &a.removing_replicas),
        };
        let data = json::encode(path, &out)?;
        // Refused here, with its reason, rather than by the server dropping the session.
        if data.len() > MAX_ZNODE_BYTES {
            return Err(ZkError::TooLarge {
                path: path.to_string(),
                bytes: data.len(),
                max: MAX_ZNODE_BYTES,
            });
        }
        Ok(data)
    }

    /// Reads versions 1 to 3.
    pub fn decode(path: &str, data: Option<&[u8]>) -> Result<Self> {
        let parsed: TopicJsonIn = json::decode(path, data)?;
        let mut adding = parsed.adding_replicas;
        let mut removing = parsed.removing_replicas;
        let partitions = parsed
            .partitions
            .into_iter()
            .map(|(partition, replicas)| {
                let assignment = ReplicaAssignment {
                    replicas,
                    adding_replicas: adding.remove(&partition).unwrap_or_default(),
                    removing_replicas: removing.remove(&partition).unwrap_or_default(),
                };
                (partition, assignment)
            })
            .collect();
        Ok(Self {
            topic_id: parsed.topic_id,
            partitions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_what_kafka_writes() {
        let v2 = r#"{"version":2,"partitions":{"0":[1,2],"1":[2,1],"10":[1,2],"2":[1,2]},"adding_replicas":{},"removing_replicas":{}}"#;
        let assignment = TopicAssignment::decode("/p", Some(v2.as_bytes())).unwrap();
        assert_eq!(assignment.partitions.len(), 4);
        assert_eq!(assignment.partitions[&10].replicas, vec![1, 2]);
        // Numeric partition order on the way out ("2" before "10").
        let again = String::from_utf8(assignment.encode("/p").unwrap()).unwrap();
        assert_eq!(
            again,
            r#"{"version":2,"partitions":{"0":[1,2],"1":[2,1],"2":[1,2],"10":[1,2]},"adding_replicas":{},"removing_replicas":{}}"#
        );
        let v3 = r#"{"removing_replicas":{"0":[3]},"partitions":{"0":[1,2,3]},"topic_id":"B1HuBlSrQRO2Kc-6tuGAqA","adding_replicas":{"0":[1]},"version":3}"#;
        let assignment = TopicAssignment::decode("/p", Some(v3.as_bytes())).unwrap();
        assert_eq!(
            assignment.topic_id.as_deref(),
            Some("B1HuBlSrQRO2Kc-6tuGAqA")
        );
        assert_eq!(assignment.partitions[&0].adding_replicas, vec![1]);
        assert_eq!(assignment.partitions[&0].removing_replicas, vec![3]);
        let out = String::from_utf8(assignment.encode("/p").unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"version":3,"topic_id":"B1HuBlSrQRO2Kc-6tuGAqA","partitions":{"0":[1,2,3]},"adding_replicas":{"0":[1]},"removing_replicas":{"0":[3]}}"#
        );
        let v1 = br#"{"version":1,"partitions":{"0":[0]}}"#;
        let assignment = TopicAssignment::decode("/p", Some(v1)).unwrap();
        assert_eq!(assignment.replicas(), BTreeMap::from([(0, vec![0])]));
    }
}

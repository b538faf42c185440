//! `/cluster/id`: the cluster's id, made once by the first broker and kept for ever.
//!
//! JSON: `{"version":"1","id":"<22-char base64url uuid>"}` (Kafka writes the version as a string).

use serde::{Deserialize, Serialize};

use super::error::{Result, ZkError};
use super::{json, paths, random_base64_uuid, KafkaZk};

/// The JSON Kafka writes at `/cluster/id`.
#[derive(Serialize)]
struct ClusterIdOut<'a> {
    version: &'a str,
    id: &'a str,
}

/// What Kafka reads back from it: only the id.
#[derive(Deserialize)]
struct ClusterIdIn {
    id: String,
}

/// The data of `/cluster/id` for `id`.
pub fn encode_cluster_id(id: &str) -> Result<Vec<u8>> {
    json::encode(paths::CLUSTER_ID, &ClusterIdOut { version: "1", id })
}

/// The id in the data of `/cluster/id`.
pub fn decode_cluster_id(data: Option<&[u8]>) -> Result<String> {
    Ok(json::decode::<ClusterIdIn>(paths::CLUSTER_ID, data)?.id)
}

impl KafkaZk {
    /// The cluster id, if one was made.
    pub async fn get_cluster_id(&self) -> Result<Option<String>> {
        let Some((data, _stat)) = self.get(paths::CLUSTER_ID).await? else {
            return Ok(None);
        };
        decode_cluster_id(data.as_deref()).map(Some)
    }

    /// The cluster id, made now (a random base64 UUID) if there is none. When brokers race,
    /// one create wins and every one of them returns its id.
    pub async fn get_or_create_cluster_id(&self) -> Result<String> {
        if let Some(id) = self.get_cluster_id().await? {
            return Ok(id);
        }
        let proposed = random_base64_uuid();
        let data = encode_cluster_id(&proposed)?;
        match self.create_recursive(paths::CLUSTER_ID, data).await {
            Ok(()) => Ok(proposed),
            Err(ZkError::NodeExists { .. }) => {
                self.get_cluster_id().await?.ok_or_else(|| ZkError::NoNode {
                    path: paths::CLUSTER_ID.to_string(),
                })
            }
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_kafkas() {
        let json = encode_cluster_id("q4DQCYi6Ra6XadNmFITsKA").unwrap();
        assert_eq!(json, br#"{"version":"1","id":"q4DQCYi6Ra6XadNmFITsKA"}"#);
        assert_eq!(
            decode_cluster_id(Some(&json)).unwrap(),
            "q4DQCYi6Ra6XadNmFITsKA"
        );
        assert!(decode_cluster_id(None).is_err());
    }
}

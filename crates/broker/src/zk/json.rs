//! Encoding and decoding znode data as JSON, with errors naming the znode.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{Result, ZkError};

/// Compact JSON, as Kafka's `Json.encodeAsBytes` writes it.
pub(crate) fn encode<T: Serialize>(path: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|source| ZkError::Json {
        path: path.to_string(),
        source,
    })
}

/// Parses a znode's data; null or empty data is malformed.
pub(crate) fn decode<T: DeserializeOwned>(path: &str, data: Option<&[u8]>) -> Result<T> {
    let data = data
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ZkError::Malformed {
            path: path.to_string(),
            reason: "no data".to_string(),
        })?;
    serde_json::from_slice(data).map_err(|source| ZkError::Json {
        path: path.to_string(),
        source,
    })
}

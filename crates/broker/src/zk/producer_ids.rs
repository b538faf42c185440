//! Producer id blocks for `InitProducerId`, `/latest_producer_id_block`: each broker takes a
//! block of ids at a time by writing the block after the latest one, conditionally on the
//! znode version it read, so two brokers never get overlapping blocks.
//!
//! JSON: `{"version":1,"broker":N,"block_start":"S","block_end":"E"}` (bounds as strings,
//! inclusive). The first block is 0..=999.

use ferry_zkclient::ErrorCode;
use serde::{Deserialize, Serialize};

use super::error::{on, Result, ZkError};
use super::{json, paths, KafkaZk};

/// Ids per block (Kafka's `ProducerIdManager.PidBlockSize`).
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// A block of producer ids, `block_start..=block_end`, taken by `broker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdBlock {
    pub broker: i32,
    pub block_start: i64,
    pub block_end: i64,
}

#[derive(Serialize, Deserialize)]
struct BlockJson {
    version: i32,
    broker: i32,
    block_start: String,
    block_end: String,
}

impl ProducerIdBlock {
    pub fn encode(&self) -> Result<Vec<u8>> {
        let out = BlockJson {
            version: 1,
            broker: self.broker,
            block_start: self.block_start.to_string(),
            block_end: self.block_end.to_string(),
        };
        json::encode(paths::PRODUCER_ID_BLOCK, &out)
    }

    pub fn decode(data: Option<&[u8]>) -> Result<Self> {
        let parsed: BlockJson = json::decode(paths::PRODUCER_ID_BLOCK, data)?;
        let bound = |text: &str| {
            text.parse::<i64>().map_err(|_| ZkError::Malformed {
                path: paths::PRODUCER_ID_BLOCK.to_string(),
                reason: format!("block bound {text:?} is not a number"),
            })
        };
        Ok(Self {
            broker: parsed.broker,
            block_start: bound(&parsed.block_start)?,
            block_end: bound(&parsed.block_end)?,
        })
    }

    /// The block after `latest` (the first block when there is none), for `broker`.
    fn next(latest: Option<&Self>, broker: i32) -> Result<Self> {
        let start = match latest {
            None => 0,
            Some(latest) if latest.block_end > i64::MAX - PRODUCER_ID_BLOCK_SIZE => {
                return Err(ZkError::ProducerIdsExhausted {
                    path: paths::PRODUCER_ID_BLOCK.to_string(),
                })
            }
            Some(latest) => latest.block_end + 1,
        };
        Ok(Self {
            broker,
            block_start: start,
            block_end: start + PRODUCER_ID_BLOCK_SIZE - 1,
        })
    }
}

impl KafkaZk {
    /// Takes the next block of producer ids for `broker`. Retries while other brokers win the
    /// race for the znode; a lost connection is returned as an error (the block may or may not
    /// have been taken: the next call takes a fresh one either way, so ids never overlap).
    pub async fn allocate_producer_id_block(&self, broker: i32) -> Result<ProducerIdBlock> {
        let path = paths::PRODUCER_ID_BLOCK;
        loop {
            let Some((data, stat)) = self.get(path).await? else {
                let block = ProducerIdBlock::next(None, broker)?;
                match self.create_recursive(path, block.encode()?).await {
                    Ok(()) => return Ok(block),
                    Err(ZkError::NodeExists { .. }) => continue,
                    Err(error) => return Err(error),
                }
            };
            let latest = match data.as_deref() {
                None | Some([]) => None,
                Some(bytes) => Some(ProducerIdBlock::decode(Some(bytes))?),
            };
            let block = ProducerIdBlock::next(latest.as_ref(), broker)?;
            match self
                .client()
                .set_data(path, block.encode()?, Some(stat.version))
                .await
            {
                Ok(_) => return Ok(block),
                Err(error) if error.code() == ErrorCode::BadVersion => continue,
                Err(error) => return Err(on(path)(error)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_each_other_in_kafkas_json() {
        let first = ProducerIdBlock::next(None, 1).unwrap();
        assert_eq!((first.block_start, first.block_end), (0, 999));
        let text = String::from_utf8(first.encode().unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"version":1,"broker":1,"block_start":"0","block_end":"999"}"#
        );
        let kafka = br#"{"version":1,"broker":0,"block_start":"1000","block_end":"1999"}"#;
        let latest = ProducerIdBlock::decode(Some(kafka)).unwrap();
        let next = ProducerIdBlock::next(Some(&latest), 2).unwrap();
        assert_eq!(
            (next.block_start, next.block_end, next.broker),
            (2000, 2999, 2)
        );
        let end = ProducerIdBlock {
            broker: 0,
            block_start: 0,
            block_end: i64::MAX - 10,
        };
        assert!(ProducerIdBlock::next(Some(&end), 0).is_err());
    }
}

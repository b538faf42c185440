//! Handing out producer ids for InitProducerId from blocks taken in ZooKeeper
//! (`/latest_producer_id_block`, see [`crate::zk::ProducerIdBlock`]), one block of
//! [`crate::zk::PRODUCER_ID_BLOCK_SIZE`] at a time, as Kafka 2.x's `ProducerIdManager` does.
//! Ids of a block not used up before a restart are never handed out again: the next start
//! takes a fresh block, so no id is ever given twice.

use tokio::sync::Mutex;

use crate::zk::{KafkaZk, ProducerIdBlock, ZkError};

/// The ids left in the current block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Remaining {
    next: i64,
    end: i64,
}

impl Remaining {
    fn of(block: &ProducerIdBlock) -> Self {
        Remaining {
            next: block.block_start,
            end: block.block_end,
        }
    }

    fn take(&mut self) -> Option<i64> {
        if self.next > self.end {
            return None;
        }
        let id = self.next;
        self.next += 1;
        Some(id)
    }
}

/// This broker's producer id allocator.
#[derive(Debug, Default)]
pub struct ProducerIds {
    /// A tokio mutex: taking a new block awaits ZooKeeper, and concurrent callers must wait for
    /// that block rather than each take one.
    current: Mutex<Option<Remaining>>,
}

impl ProducerIds {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next unused producer id, taking a new block from ZooKeeper when needed.
    pub async fn next(&self, zk: &KafkaZk, broker_id: i32) -> Result<i64, ZkError> {
        let mut current = self.current.lock().await;
        if let Some(id) = current.as_mut().and_then(Remaining::take) {
            return Ok(id);
        }
        let block = zk.allocate_producer_id_block(broker_id).await?;
        tracing::info!(
            block_start = block.block_start,
            block_end = block.block_end,
            "took a producer id block"
        );
        let mut fresh = Remaining::of(&block);
        let id = fresh.take();
        *current = Some(fresh);
        // A block always holds at least one id (its bounds are inclusive).
        id.ok_or(ZkError::ProducerIdsExhausted {
            path: crate::zk::paths::PRODUCER_ID_BLOCK.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_used_up_in_order() {
        let block = ProducerIdBlock {
            broker: 0,
            block_start: 1000,
            block_end: 1002,
        };
        let mut r = Remaining::of(&block);
        assert_eq!(r.take(), Some(1000));
        assert_eq!(r.take(), Some(1001));
        assert_eq!(r.take(), Some(1002));
        assert_eq!(r.take(), None);
        assert_eq!(r.take(), None);
    }
}

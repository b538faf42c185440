//! Two brokers taking producer id blocks at the same time never get overlapping blocks.

use ferry_broker::zk::PRODUCER_ID_BLOCK_SIZE;

use super::{raw, session};

const BLOCKS_EACH: usize = 15;

pub async fn run(_hosts: &str, connect: &str) {
    let mut allocators = tokio::task::JoinSet::new();
    for broker in [1, 2] {
        let zk = session(connect).await;
        allocators.spawn(async move {
            let mut blocks = Vec::new();
            for _ in 0..BLOCKS_EACH {
                blocks.push(zk.allocate_producer_id_block(broker).await.unwrap());
            }
            zk.close().await;
            blocks
        });
    }
    let mut blocks = Vec::new();
    while let Some(taken) = allocators.join_next().await {
        blocks.extend(taken.unwrap());
    }
    blocks.sort_by_key(|b| b.block_start);
    // Together the blocks tile 0.. without gaps or overlaps.
    for (index, block) in blocks.iter().enumerate() {
        let start = index as i64 * PRODUCER_ID_BLOCK_SIZE;
        assert_eq!(
            (block.block_start, block.block_end),
            (start, start + PRODUCER_ID_BLOCK_SIZE - 1)
        );
    }
    let last = blocks.last().unwrap();
    let zk = session(connect).await;
    assert_eq!(
        raw(&zk, "/latest_producer_id_block").await,
        format!(
            r#"{{"version":1,"broker":{},"block_start":"{}","block_end":"{}"}}"#,
            last.broker, last.block_start, last.block_end
        )
    );
    zk.close().await;
}

//! Where a produce or fetch does its file I/O: on the async worker that received it, or on
//! tokio's blocking pool.
//!
//! Handing a request to the blocking pool costs two thread hand-offs, which at hundreds of
//! thousands of records a second is most of the broker's CPU (measured: 1 KiB records on one
//! partition went from ~580 MB/s inline to 220-420 MB/s through the pool). Most requests
//! cannot block for long: an append to an open log is a write into the page cache (Kafka's
//! request handlers do the same), a read of an open log is a copy from it. So the work runs
//! inline when it is known to be quick, and on the pool when it may block: opening a log
//! (recovery can read whole segments), replaying a partition's producer state from its log,
//! or an append that fsyncs (`flush.messages` / `flush.ms` set).

use std::sync::Arc;

use ferry_kafka_protocol::messages::fetch::FetchRequest;
use ferry_kafka_protocol::messages::produce::ProduceRequest;
use ferry_log::{BatchIter, TopicPartition};

use super::HandleError;
use crate::broker::Broker;

/// Runs `work` inline if `quick`, else on the blocking pool.
pub async fn run<T, F>(broker: &Arc<Broker>, quick: bool, work: F) -> Result<T, HandleError>
where
    T: Send + 'static,
    F: FnOnce(&Broker) -> T + Send + 'static,
{
    if quick {
        return Ok(work(broker));
    }
    let broker = Arc::clone(broker);
    tokio::task::spawn_blocking(move || work(&broker))
        .await
        .map_err(HandleError::Blocking)
}

/// A produce is quick when every partition's log is open and does not fsync on append, and
/// every partition receiving idempotent batches has its producer state loaded.
pub fn produce_is_quick(broker: &Broker, request: &ProduceRequest) -> bool {
    request.topic_data.iter().all(|topic| {
        topic.partition_data.iter().all(|data| {
            let Some(log) = broker.replicas.open_log(&topic.name, data.index) else {
                return false;
            };
            let config = log.config();
            if config.flush_messages.is_some() || config.flush_ms.is_some() {
                return false;
            }
            let records = data.records.as_deref().unwrap_or_default();
            let idempotent = BatchIter::new(records).any(|(h, _)| h.producer_id >= 0);
            !idempotent
                || broker
                    .producers
                    .is_loaded(&TopicPartition::new(&topic.name, data.index), &log)
        })
    })
}

/// A fetch is quick when every partition's log is open.
pub fn fetch_is_quick(broker: &Broker, request: &FetchRequest) -> bool {
    request.topics.iter().all(|topic| {
        topic.partitions.iter().all(|p| {
            broker
                .replicas
                .open_log(&topic.topic, p.partition)
                .is_some()
        })
    })
}

//! The follower side of replication (Kafka's `ReplicaFetcherManager` and
//! `ReplicaFetcherThread`): for each leader, `num.replica.fetchers` tasks, each fetching the
//! partitions hashed to it with Fetch requests carrying this broker's id as `replica_id`.
//!
//! A partition added in a new leader epoch is first truncated (KIP-101): the follower asks the
//! leader, with OffsetForLeaderEpoch, where its own latest epoch ends on the leader, and cuts
//! its log there (or where its own log has that epoch end, when the leader only knows an older
//! epoch), so it never keeps a suffix the new leader does not have. Only then does it fetch,
//! appending the leader's batches as they are (offsets and epochs kept) and taking the leader's
//! high watermark, capped at its own log end.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use ferry_kafka_client::{ClientConfig, Connection};
use ferry_kafka_protocol::messages::fetch::{
    FetchPartition, FetchPartitionData, FetchRequest, FetchTopic,
};
use ferry_kafka_protocol::messages::offset_for_leader_epoch::{
    OffsetForLeaderEpochRequest, OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use ferry_kafka_protocol::ErrorCode;
use ferry_log::TopicPartition;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::Partition;
use crate::broker::Broker;

/// The pause after a partition-level error (the leader has not applied its LeaderAndIsr yet,
/// or this broker's is stale): short, as the cause usually goes within milliseconds.
const PARTITION_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// One partition being followed.
#[derive(Clone)]
struct Followed {
    partition: Arc<Partition>,
    leader_epoch: i32,
    /// Truncated by leader epoch since it was added in this epoch.
    truncated: bool,
}

type Assigned = Arc<Mutex<BTreeMap<TopicPartition, Followed>>>;

struct Worker {
    partitions: Assigned,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
struct Workers {
    /// Set by [`ReplicaFetchers::shutdown`]: a stopping broker starts no fetcher again, even
    /// when a LeaderAndIsr still names it a follower.
    closed: bool,
    by_source: HashMap<(i32, usize), Worker>,
    /// Which worker follows each partition.
    placement: HashMap<TopicPartition, (i32, usize)>,
}

/// Every fetcher of this broker; see the module docs.
pub struct ReplicaFetchers {
    broker: Mutex<Weak<Broker>>,
    workers: Mutex<Workers>,
    /// Leaders' addresses as LeaderAndIsr named them (`live_leaders`), for a leader the
    /// metadata cache does not know yet.
    leader_addresses: Mutex<HashMap<i32, String>>,
}

impl Default for ReplicaFetchers {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplicaFetchers {
    pub fn new() -> Self {
        ReplicaFetchers {
            broker: Mutex::new(Weak::new()),
            workers: Mutex::new(Workers::default()),
            leader_addresses: Mutex::new(HashMap::new()),
        }
    }

    /// The broker the fetchers work for (set once it exists).
    pub fn attach(&self, broker: Weak<Broker>) {
        *lock(&self.broker) = broker;
    }

    /// Remembers where a leader is reached.
    pub fn set_leader_address(&self, leader: i32, address: String) {
        lock(&self.leader_addresses).insert(leader, address);
    }

    /// Follows `partition` from `leader` in `leader_epoch`, truncating first.
    pub fn add(&self, partition: Arc<Partition>, leader: i32, leader_epoch: i32) {
        let Some(broker) = lock(&self.broker).upgrade() else {
            return;
        };
        let tp = partition.tp.clone();
        let slot = (
            leader,
            worker_index(&tp, broker.config.replication.num_fetchers),
        );
        let mut workers = lock(&self.workers);
        if workers.closed {
            return;
        }
        if let Some(old) = workers.placement.insert(tp.clone(), slot) {
            if let Some(w) = workers.by_source.get(&old) {
                lock(&w.partitions).remove(&tp);
            }
        }
        let worker = workers.by_source.entry(slot).or_insert_with(|| {
            let partitions: Assigned = Arc::default();
            let wake = Arc::new(Notify::new());
            let task = tokio::spawn(run(
                Arc::downgrade(&broker),
                leader,
                partitions.clone(),
                wake.clone(),
            ));
            Worker {
                partitions,
                wake,
                task,
            }
        });
        lock(&worker.partitions).insert(
            tp,
            Followed {
                partition,
                leader_epoch,
                truncated: false,
            },
        );
        worker.wake.notify_one();
    }

    /// Stops following `tp` (it is led here now, or no longer hosted).
    pub fn remove(&self, tp: &TopicPartition) {
        let mut workers = lock(&self.workers);
        let Some(slot) = workers.placement.remove(tp) else {
            return;
        };
        let idle = workers.by_source.get(&slot).is_some_and(|w| {
            let mut partitions = lock(&w.partitions);
            partitions.remove(tp);
            partitions.is_empty()
        });
        if idle {
            workers.by_source.remove(&slot);
        }
    }

    /// Stops every fetcher for good (shutdown).
    pub fn shutdown(&self) {
        let mut workers = lock(&self.workers);
        workers.closed = true;
        workers.by_source.clear();
        workers.placement.clear();
    }

    fn leader_address(&self, leader: i32) -> Option<String> {
        lock(&self.leader_addresses).get(&leader).cloned()
    }
}

fn worker_index(tp: &TopicPartition, workers: usize) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    tp.hash(&mut h);
    (h.finish() % workers.max(1) as u64) as usize
}

/// One fetcher task: follows its partitions from `leader` until it is dropped.
async fn run(broker: Weak<Broker>, leader: i32, partitions: Assigned, wake: Arc<Notify>) {
    let mut connection: Option<Connection> = None;
    loop {
        let followed: Vec<(TopicPartition, Followed)> = lock(&partitions)
            .iter()
            .map(|(tp, f)| (tp.clone(), f.clone()))
            .collect();
        if followed.is_empty() {
            wake.notified().await;
            continue;
        }
        let Some(b) = broker.upgrade() else { return };
        let backoff = b.config.replication.fetch_backoff;
        let conn = match connect(&b, leader, &mut connection).await {
            Ok(conn) => conn,
            Err(error) => {
                tracing::debug!(leader, %error, "cannot reach the leader to fetch from");
                drop(b);
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        let outcome = step(&b, &conn, &partitions, followed).await;
        drop(b);
        match outcome {
            Ok(Step::Fetched) => {}
            Ok(Step::PartitionErrors) => tokio::time::sleep(PARTITION_ERROR_BACKOFF).await,
            Err(error) => {
                tracing::debug!(leader, %error, "fetching from the leader failed");
                connection = None;
                tokio::time::sleep(backoff).await;
            }
        }
    }
}

enum Step {
    Fetched,
    PartitionErrors,
}

/// The connection to `leader`, opened if needed.
async fn connect(
    broker: &Broker,
    leader: i32,
    connection: &mut Option<Connection>,
) -> Result<Connection, ferry_kafka_client::ClientError> {
    if let Some(conn) = connection.as_ref().filter(|c| !c.is_closed()) {
        return Ok(conn.clone());
    }
    let address = broker
        .metadata
        .broker(leader)
        .map(|b| format!("{}:{}", b.host, b.port))
        .or_else(|| broker.replica_manager.fetchers.leader_address(leader))
        .ok_or_else(|| ferry_kafka_client::ClientError::Connect {
            addr: format!("broker {leader}"),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "address not known yet"),
        })?;
    let settings = &broker.config.replication;
    let config = ClientConfig {
        client_id: format!("broker-{}-fetcher", broker.id()),
        connect_timeout: settings.socket_timeout.min(Duration::from_secs(5)),
        request_timeout: settings.socket_timeout,
    };
    let conn = Connection::connect(&address, config).await?;
    *connection = Some(conn.clone());
    Ok(conn)
}

/// Truncates the partitions added in a new epoch, then fetches once for all that are ready.
async fn step(
    broker: &Broker,
    conn: &Connection,
    partitions: &Assigned,
    followed: Vec<(TopicPartition, Followed)>,
) -> Result<Step, ferry_kafka_client::ClientError> {
    let (ready, to_truncate): (Vec<_>, Vec<_>) =
        followed.into_iter().partition(|(_, f)| f.truncated);
    let mut partition_errors = false;
    if !to_truncate.is_empty() {
        let truncated = truncate(broker, conn, &to_truncate).await?;
        partition_errors |= truncated.len() < to_truncate.len();
        let mut assigned = lock(partitions);
        for (tp, epoch) in truncated {
            if let Some(f) = assigned.get_mut(&tp).filter(|f| f.leader_epoch == epoch) {
                f.truncated = true;
            }
        }
        if ready.is_empty() {
            return Ok(if partition_errors {
                Step::PartitionErrors
            } else {
                Step::Fetched
            });
        }
    }
    let settings = &broker.config.replication;
    let mut topics: BTreeMap<String, Vec<FetchPartition>> = BTreeMap::new();
    for (tp, f) in &ready {
        topics
            .entry(tp.topic.clone())
            .or_default()
            .push(FetchPartition {
                partition: tp.partition,
                current_leader_epoch: f.leader_epoch,
                fetch_offset: f.partition.log.log_end_offset(),
                log_start_offset: f.partition.log.log_start_offset(),
                partition_max_bytes: settings.fetch_max_bytes,
                ..Default::default()
            });
    }
    let request = FetchRequest {
        replica_id: broker.id(),
        max_wait_ms: settings.fetch_wait_max_ms,
        min_bytes: settings.fetch_min_bytes,
        max_bytes: settings.fetch_response_max_bytes,
        session_epoch: -1,
        topics: topics
            .into_iter()
            .map(|(topic, partitions)| FetchTopic {
                topic,
                partitions,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let response = conn.call(request).await?;
    let by_tp: HashMap<TopicPartition, &Followed> =
        ready.iter().map(|(tp, f)| (tp.clone(), f)).collect();
    for topic in response.responses {
        for data in topic.partitions {
            let tp = TopicPartition::new(&topic.topic, data.partition_index);
            let Some(f) = by_tp.get(&tp) else { continue };
            if !apply_fetched(broker, f, &data, partitions) {
                partition_errors = true;
            }
        }
    }
    Ok(if partition_errors {
        Step::PartitionErrors
    } else {
        Step::Fetched
    })
}

/// Appends one partition's fetched batches and takes the leader's high watermark; false on a
/// partition error (after reacting to it).
fn apply_fetched(
    broker: &Broker,
    f: &Followed,
    data: &FetchPartitionData,
    partitions: &Assigned,
) -> bool {
    let p = &f.partition;
    match ErrorCode::from_code(data.error_code) {
        Some(ErrorCode::None) => {}
        Some(ErrorCode::OffsetOutOfRange) => {
            // Behind the leader's log start (retention moved it): start again where it is.
            // Ahead of its end cannot happen after truncation, but truncate again if it does.
            let result = if p.log.log_end_offset() < data.log_start_offset {
                p.truncate_as_follower(data.log_start_offset, true, f.leader_epoch)
            } else {
                mark_untruncated(partitions, &p.tp, f.leader_epoch);
                Ok(())
            };
            if let Err(error) = result {
                tracing::warn!(partition = %p.tp.dir_name(), %error, "resetting the log failed");
            }
            return false;
        }
        other => {
            tracing::debug!(partition = %p.tp.dir_name(), error = ?other, "fetch error from the leader");
            return false;
        }
    }
    let records = data.record_bytes();
    if !records.is_empty() {
        match p.append_as_follower(records, f.leader_epoch) {
            Ok(true) => {}
            // Led here now, or a newer epoch: this answer is stale.
            Ok(false) => return false,
            Err(error) => {
                tracing::warn!(partition = %p.tp.dir_name(), %error, "appending fetched batches failed");
                return false;
            }
        }
    }
    p.follower_high_watermark(data.high_watermark);
    follow_log_start(broker, p, data.log_start_offset);
    true
}

/// The leader's log start offset moved (DeleteRecords, retention): the follower's follows,
/// as far as its own log reaches, and is checkpointed like the leader's.
fn follow_log_start(broker: &Broker, p: &Partition, leader_start: i64) {
    let target = leader_start.min(p.log.log_end_offset());
    if target <= p.log.log_start_offset() {
        return;
    }
    let moved = p
        .log
        .delete_records_before(target)
        .and_then(|start| broker.replicas.log_starts().set(&p.tp, start));
    if let Err(error) = moved {
        tracing::warn!(partition = %p.tp.dir_name(), %error, "following the leader's log start failed");
    }
}

fn mark_untruncated(partitions: &Assigned, tp: &TopicPartition, epoch: i32) {
    if let Some(f) = lock(partitions)
        .get_mut(tp)
        .filter(|f| f.leader_epoch == epoch)
    {
        f.truncated = false;
    }
}

/// KIP-101 truncation of `to_truncate`; returns the partitions done, with their epoch.
async fn truncate(
    broker: &Broker,
    conn: &Connection,
    to_truncate: &[(TopicPartition, Followed)],
) -> Result<Vec<(TopicPartition, i32)>, ferry_kafka_client::ClientError> {
    let mut done = Vec::new();
    let mut asked: BTreeMap<String, Vec<OffsetForLeaderPartition>> = BTreeMap::new();
    for (tp, f) in to_truncate {
        match f.partition.log.latest_epoch() {
            Some(epoch) => {
                asked
                    .entry(tp.topic.clone())
                    .or_default()
                    .push(OffsetForLeaderPartition {
                        partition: tp.partition,
                        current_leader_epoch: f.leader_epoch,
                        leader_epoch: epoch,
                        ..Default::default()
                    })
            }
            None => {
                // No epochs known (an empty log, or one from before epochs): keep what is
                // below the high watermark, which every ISR member has.
                cut(f, f.partition.high_watermark());
                done.push((tp.clone(), f.leader_epoch));
            }
        }
    }
    if asked.is_empty() {
        return Ok(done);
    }
    let request = OffsetForLeaderEpochRequest {
        replica_id: broker.id(),
        topics: asked
            .into_iter()
            .map(|(topic, partitions)| OffsetForLeaderTopic {
                topic,
                partitions,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let response = conn.call(request).await?;
    let by_tp: HashMap<TopicPartition, &Followed> =
        to_truncate.iter().map(|(tp, f)| (tp.clone(), f)).collect();
    for topic in response.topics {
        for r in topic.partitions {
            let tp = TopicPartition::new(&topic.topic, r.partition);
            let Some(f) = by_tp.get(&tp) else { continue };
            if r.error_code != 0 {
                tracing::debug!(partition = %tp.dir_name(), error = r.error_code,
                    "OffsetForLeaderEpoch refused; retrying");
                continue;
            }
            let log = &f.partition.log;
            let target = if r.leader_epoch < 0 || r.end_offset < 0 {
                f.partition.high_watermark()
            } else {
                let ours = log.latest_epoch().unwrap_or(-1);
                if r.leader_epoch == ours {
                    r.end_offset
                } else {
                    // The leader knows only an older epoch: cut where both have it end.
                    let (_, our_end) = log.end_offset_for_epoch(r.leader_epoch);
                    r.end_offset.min(our_end)
                }
            };
            cut(f, target);
            done.push((tp, f.leader_epoch));
        }
    }
    Ok(done)
}

fn cut(f: &Followed, target: i64) {
    let p = &f.partition;
    if let Err(error) = p.truncate_as_follower(target, false, f.leader_epoch) {
        tracing::warn!(partition = %p.tp.dir_name(), %error, "truncation failed");
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

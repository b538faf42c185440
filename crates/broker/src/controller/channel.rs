//! The controller's requests to brokers (Kafka's `ControllerChannelManager`): one queue and
//! one sender task per live broker, so each broker gets the controller's requests in the
//! order they were made. A request that fails (connection lost, broker restarting) is sent
//! again on a new connection until it is answered or the broker leaves the live set. The
//! controller's own broker is served in-process, through the same handler functions.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ferry_kafka_client::{ClientConfig, ClientError, Connection};
use ferry_kafka_protocol::messages::leader_and_isr::LeaderAndIsrRequest;
use ferry_kafka_protocol::messages::stop_replica::StopReplicaRequest;
use ferry_kafka_protocol::messages::update_metadata::UpdateMetadataRequest;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::broker::Broker;
use crate::handlers::inter_broker;
use crate::zk::BrokerInfo;

/// The versions the controller sends (topic-grouped, flexible, by topic name).
const LEADER_AND_ISR_VERSION: i16 = 4;
const UPDATE_METADATA_VERSION: i16 = 6;
const STOP_REPLICA_VERSION: i16 = 3;

/// Pause before sending a failed request again.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// A request from the controller to a broker.
#[derive(Debug, Clone)]
pub enum ControlRequest {
    LeaderAndIsr(LeaderAndIsrRequest),
    UpdateMetadata(UpdateMetadataRequest),
    StopReplica(StopReplicaRequest),
}

struct Queue {
    requests: mpsc::UnboundedSender<ControlRequest>,
    address: String,
    task: JoinHandle<()>,
}

impl Drop for Queue {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Queues to every live broker; see the module docs.
pub struct ControllerChannel {
    broker: Weak<Broker>,
    queues: HashMap<i32, Queue>,
}

impl ControllerChannel {
    pub fn new(broker: Weak<Broker>) -> Self {
        ControllerChannel {
            broker,
            queues: HashMap::new(),
        }
    }

    /// Opens queues to brokers that came, drops those of brokers that went (their pending
    /// requests with them) or that registered at another address.
    pub fn set_brokers(&mut self, live: &BTreeMap<i32, BrokerInfo>) {
        self.queues.retain(|id, q| {
            live.get(id)
                .and_then(address_of)
                .is_some_and(|a| a == q.address)
        });
        for (id, info) in live {
            if self.queues.contains_key(id) {
                continue;
            }
            let Some(address) = address_of(info) else {
                tracing::warn!(broker = id, "registered without a PLAINTEXT endpoint");
                continue;
            };
            let (tx, rx) = mpsc::unbounded_channel();
            let task = tokio::spawn(deliver(self.broker.clone(), *id, address.clone(), rx));
            self.queues.insert(
                *id,
                Queue {
                    requests: tx,
                    address,
                    task,
                },
            );
        }
    }

    pub fn send(&self, to: i32, request: ControlRequest) {
        match self.queues.get(&to) {
            Some(q) => {
                let _ = q.requests.send(request);
            }
            None => tracing::debug!(broker = to, "no queue to a broker that is not live"),
        }
    }
}

fn address_of(info: &BrokerInfo) -> Option<String> {
    info.endpoints
        .first()
        .map(|e| format!("{}:{}", e.host, e.port))
}

/// Sends `to`'s requests in order, each until it is answered.
async fn deliver(
    broker: Weak<Broker>,
    to: i32,
    address: String,
    mut requests: mpsc::UnboundedReceiver<ControlRequest>,
) {
    let mut connection: Option<Connection> = None;
    while let Some(request) = requests.recv().await {
        loop {
            let Some(b) = broker.upgrade() else { return };
            let outcome = if to == b.id() {
                deliver_locally(&b, request.clone()).await;
                Ok(())
            } else {
                send_remote(&b, &address, &mut connection, request.clone()).await
            };
            drop(b);
            match outcome {
                Ok(()) => break,
                Err(error) => {
                    tracing::debug!(broker = to, %error, "controller request failed; retrying");
                    connection = None;
                    tokio::time::sleep(RETRY_BACKOFF).await;
                }
            }
        }
    }
}

async fn deliver_locally(broker: &Arc<Broker>, request: ControlRequest) {
    match request {
        ControlRequest::LeaderAndIsr(r) => {
            inter_broker::leader_and_isr(broker, r, LEADER_AND_ISR_VERSION).await;
        }
        ControlRequest::UpdateMetadata(r) => {
            inter_broker::update_metadata(broker, r);
        }
        ControlRequest::StopReplica(r) => {
            inter_broker::stop_replica(broker, r).await;
        }
    }
}

async fn send_remote(
    broker: &Broker,
    address: &str,
    connection: &mut Option<Connection>,
    request: ControlRequest,
) -> Result<(), ClientError> {
    let conn = match connection.as_ref().filter(|c| !c.is_closed()) {
        Some(conn) => conn.clone(),
        None => {
            let timeout = broker.config.replication.controller_socket_timeout;
            let config = ClientConfig {
                client_id: format!("controller-{}", broker.id()),
                connect_timeout: timeout.min(Duration::from_secs(5)),
                request_timeout: timeout,
            };
            let conn = Connection::connect(address, config).await?;
            *connection = Some(conn.clone());
            conn
        }
    };
    match request {
        ControlRequest::LeaderAndIsr(r) => conn
            .send_at(r, LEADER_AND_ISR_VERSION)?
            .wait()
            .await
            .map(drop),
        ControlRequest::UpdateMetadata(r) => conn
            .send_at(r, UPDATE_METADATA_VERSION)?
            .wait()
            .await
            .map(drop),
        ControlRequest::StopReplica(r) => conn
            .send_at(r, STOP_REPLICA_VERSION)?
            .wait()
            .await
            .map(drop),
    }
}

//! The cluster-level client: bootstrap servers, metadata, and one connection per broker,
//! opened when first needed. Requests for a partition go to its leader.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use ferry_kafka_protocol::messages::metadata::MetadataRequestTopic;
use ferry_kafka_protocol::messages::{MetadataRequest, MetadataResponse};

use crate::connection::{ClientConfig, Connection};
use crate::error::{check, ClientError, Result};

/// A client of one cluster.
pub struct Client {
    config: ClientConfig,
    bootstrap: Connection,
    /// Broker id -> host:port, from the latest metadata.
    brokers: Mutex<HashMap<i32, String>>,
    connections: tokio::sync::Mutex<HashMap<i32, Connection>>,
}

/// One partition's leader, replicas and in-sync replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline: Vec<i32>,
}

/// A topic as metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub topic_id: [u8; 16],
    pub is_internal: bool,
    pub partitions: Vec<PartitionInfo>,
}

impl Client {
    /// Connects to the first reachable of `bootstrap` (comma-separated host:port list).
    pub async fn connect(bootstrap: &str, config: ClientConfig) -> Result<Self> {
        let addrs: Vec<&str> = bootstrap
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        if addrs.is_empty() {
            return Err(ClientError::Invalid("empty bootstrap server list".into()));
        }
        let mut last = String::new();
        for addr in &addrs {
            if !addr.contains(':') {
                return Err(ClientError::Invalid(format!(
                    "bootstrap server {addr:?} is not host:port"
                )));
            }
            match Connection::connect(addr, config.clone()).await {
                Ok(bootstrap) => {
                    return Ok(Self {
                        config,
                        bootstrap,
                        brokers: Mutex::default(),
                        connections: tokio::sync::Mutex::default(),
                    })
                }
                Err(error) => last = error.to_string(),
            }
        }
        Err(ClientError::NoBroker {
            bootstrap: bootstrap.to_string(),
            last,
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The bootstrap connection (any broker answers cluster-wide requests).
    pub fn any(&self) -> &Connection {
        &self.bootstrap
    }

    /// Metadata for `topics` (`None`: every topic), optionally creating missing ones as the
    /// broker's auto-create allows. Updates the broker address book.
    pub async fn metadata(
        &self,
        topics: Option<&[String]>,
        allow_auto_topic_creation: bool,
    ) -> Result<MetadataResponse> {
        let request = MetadataRequest {
            topics: topics.map(|names| {
                names
                    .iter()
                    .map(|name| MetadataRequestTopic {
                        name: Some(name.clone()),
                        ..Default::default()
                    })
                    .collect()
            }),
            allow_auto_topic_creation,
            ..Default::default()
        };
        let response = self.bootstrap.call(request).await?;
        let mut brokers = self.brokers.lock().unwrap_or_else(PoisonError::into_inner);
        for b in &response.brokers {
            brokers.insert(b.node_id, format!("{}:{}", b.host, b.port));
        }
        Ok(response)
    }

    /// Describes `topics` (`None`: all), failing on a topic-level error such as an unknown
    /// topic. Partitions are sorted by index.
    pub async fn topics(&self, topics: Option<&[String]>) -> Result<Vec<TopicInfo>> {
        let response = self.metadata(topics, false).await?;
        let mut out = Vec::new();
        for t in response.topics {
            let name = t.name.unwrap_or_default();
            check(t.error_code, format!("topic {name}"), None)?;
            let mut partitions: Vec<PartitionInfo> = t
                .partitions
                .into_iter()
                .map(|p| PartitionInfo {
                    partition: p.partition_index,
                    leader: p.leader_id,
                    replicas: p.replica_nodes,
                    isr: p.isr_nodes,
                    offline: p.offline_replicas,
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            out.push(TopicInfo {
                name,
                topic_id: t.topic_id.0,
                is_internal: t.is_internal,
                partitions,
            });
        }
        Ok(out)
    }

    /// One topic's metadata; with `auto_create` the broker may create it (as producers do).
    pub async fn topic(&self, topic: &str, auto_create: bool) -> Result<TopicInfo> {
        let names = [topic.to_string()];
        // The first request may create the topic (the broker's auto-create).
        self.metadata(Some(&names), auto_create).await?;
        // Auto-creation may answer LEADER_NOT_AVAILABLE first; ask again briefly.
        let deadline = tokio::time::Instant::now() + self.config.request_timeout;
        loop {
            match self.topics(Some(&names)).await {
                Ok(mut list) if !list.is_empty() => return Ok(list.remove(0)),
                Ok(_) => {
                    return Err(ClientError::Invalid(format!(
                        "topic {topic} not in metadata"
                    )))
                }
                Err(e)
                    if e.code() == Some(ferry_kafka_protocol::ErrorCode::LeaderNotAvailable)
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The connection to broker `id`, opened on first use.
    pub async fn broker(&self, id: i32) -> Result<Connection> {
        let mut connections = self.connections.lock().await;
        if let Some(conn) = connections.get(&id) {
            if !conn.is_closed() {
                return Ok(conn.clone());
            }
        }
        let addr = self.broker_addr(id).await?;
        let conn = if addr == self.bootstrap.addr() && !self.bootstrap.is_closed() {
            self.bootstrap.clone()
        } else {
            Connection::connect(&addr, self.config.clone()).await?
        };
        connections.insert(id, conn.clone());
        Ok(conn)
    }

    async fn broker_addr(&self, id: i32) -> Result<String> {
        let known = |c: &Self| {
            c.brokers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&id)
                .cloned()
        };
        if let Some(addr) = known(self) {
            return Ok(addr);
        }
        self.metadata(Some(&[]), false).await?;
        known(self).ok_or_else(|| ClientError::Invalid(format!("broker {id} is not in metadata")))
    }

    /// The connection to the leader of `topic`/`partition`.
    pub async fn leader(&self, topic: &TopicInfo, partition: i32) -> Result<Connection> {
        let p = topic
            .partitions
            .iter()
            .find(|p| p.partition == partition)
            .ok_or_else(|| {
                ClientError::Invalid(format!("topic {} has no partition {partition}", topic.name))
            })?;
        if p.leader < 0 {
            return Err(ClientError::Kafka {
                code: ferry_kafka_protocol::ErrorCode::LeaderNotAvailable.code(),
                context: format!("{}-{partition}", topic.name),
                message: None,
            });
        }
        self.broker(p.leader).await
    }

    /// The controller's connection (admin requests that must go there).
    pub async fn controller(&self) -> Result<Connection> {
        let response = self.metadata(Some(&[]), false).await?;
        if response.controller_id < 0 {
            return Ok(self.bootstrap.clone());
        }
        self.broker(response.controller_id).await
    }
}

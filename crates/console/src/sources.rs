//! Where the console gets what it shows: a ZooKeeper session and a Kafka client, each opened on
//! first use and opened again after it fails. The console is a client like any other: it sees
//! what the cluster's protocols show, and ACLs apply to it.

use std::sync::Arc;
use std::time::Duration;

use ferry_kafka_client::ClientConfig;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::api::{ApiError, ApiResult};

const ZK_SESSION_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const KAFKA_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How the console finds the Kafka cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KafkaBootstrap {
    /// These brokers (the broker serving the console names itself).
    Servers(String),
    /// The brokers registered in ZooKeeper under `/brokers/ids`, at the root or under a
    /// top-level chroot (Kafka's `zookeeper.connect=.../kafka`): the keeper serving the console
    /// knows no broker otherwise.
    RegisteredInZooKeeper,
}

/// One server of the ensemble view: its client address, whose `srvr` the view shows, or why
/// the address is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsembleServer {
    pub name: String,
    pub address: Result<String, String>,
}

impl EnsembleServer {
    pub fn at(address: String) -> Self {
        EnsembleServer {
            name: address.clone(),
            address: Ok(address),
        }
    }
}

/// What the console is served by and what it talks to.
#[derive(Debug, Clone)]
pub struct SourcesConfig {
    /// "keeper 1", "broker 2": shown in the page's header.
    pub node: String,
    pub served_by: &'static str,
    /// A ZooKeeper connect string without a chroot: the console shows the whole tree.
    pub zookeeper: Option<String>,
    /// The servers the ensemble view shows.
    pub ensemble: Vec<EnsembleServer>,
    pub kafka: Option<KafkaBootstrap>,
}

pub struct Sources {
    pub config: SourcesConfig,
    zookeeper: Mutex<Option<Arc<ferry_zkclient::Client>>>,
    kafka: Mutex<Option<Arc<ferry_kafka_client::Client>>>,
}

impl Sources {
    pub fn new(config: SourcesConfig) -> Self {
        Sources {
            config,
            zookeeper: Mutex::new(None),
            kafka: Mutex::new(None),
        }
    }

    /// The console's ZooKeeper session (no credentials: what anyone may read).
    pub async fn zookeeper(&self) -> ApiResult<Arc<ferry_zkclient::Client>> {
        let mut cached = self.zookeeper.lock().await;
        if let Some(client) = cached.as_ref() {
            if client.state().is_alive() {
                return Ok(client.clone());
            }
        }
        let client = Arc::new(self.open_zookeeper().await?);
        *cached = Some(client.clone());
        Ok(client)
    }

    /// A session of its own, for one change made with the user's ZooKeeper credentials.
    pub async fn open_zookeeper(&self) -> ApiResult<ferry_zkclient::Client> {
        let connect = self
            .config
            .zookeeper
            .as_deref()
            .ok_or_else(|| ApiError::not_found("this console has no ZooKeeper to show"))?;
        let (client, _events) = ferry_zkclient::Client::builder(connect)
            .session_timeout(ZK_SESSION_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .connect()
            .await?;
        Ok(client)
    }

    /// The console's Kafka client.
    pub async fn kafka(&self) -> ApiResult<Arc<ferry_kafka_client::Client>> {
        let mut cached = self.kafka.lock().await;
        if let Some(client) = cached.as_ref() {
            return Ok(client.clone());
        }
        let bootstrap = match &self.config.kafka {
            None => {
                return Err(ApiError::not_found(
                    "this console has no Kafka cluster to show",
                ))
            }
            Some(KafkaBootstrap::Servers(servers)) => servers.clone(),
            Some(KafkaBootstrap::RegisteredInZooKeeper) => self.registered_brokers().await?,
        };
        let config = ClientConfig {
            client_id: "ferry-console".into(),
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: KAFKA_REQUEST_TIMEOUT,
        };
        let client = Arc::new(ferry_kafka_client::Client::connect(&bootstrap, config).await?);
        *cached = Some(client.clone());
        Ok(client)
    }

    /// Forgets the Kafka client after a failure: the next request opens a new one (the broker
    /// it bootstrapped from may be the one that went away).
    pub async fn forget_kafka(&self) {
        *self.kafka.lock().await = None;
    }

    /// Whether the console can show a Kafka cluster (for the keeper: whether one is registered,
    /// which only a reader may learn).
    pub async fn has_kafka(&self, may_read: bool) -> bool {
        match &self.config.kafka {
            None => false,
            Some(KafkaBootstrap::Servers(_)) => true,
            Some(KafkaBootstrap::RegisteredInZooKeeper) => {
                may_read && self.registered_brokers().await.is_ok()
            }
        }
    }

    /// host:port of every broker registered in ZooKeeper (comma-separated).
    async fn registered_brokers(&self) -> ApiResult<String> {
        let zk = self.zookeeper().await?;
        let mut roots = vec![String::new()];
        for child in zk.get_children("/", false).await? {
            if child != "zookeeper" {
                roots.push(format!("/{child}"));
            }
        }
        for root in roots {
            let ids = format!("{root}/brokers/ids");
            let Ok(brokers) = zk.get_children(&ids, false).await else {
                continue;
            };
            let mut addresses = Vec::new();
            for id in brokers {
                if let Ok((Some(data), _)) = zk.get_data(&format!("{ids}/{id}"), false).await {
                    addresses.extend(broker_address(&data));
                }
            }
            if !addresses.is_empty() {
                return Ok(addresses.join(","));
            }
        }
        Err(ApiError::not_found(
            "no broker is registered in ZooKeeper (/brokers/ids, at the root or under a chroot)",
        ))
    }
}

/// The host:port a broker registration names: its first endpoint, else the old host/port.
/// (The broker crate reads registrations whole, but it depends on this crate, not the reverse.)
fn broker_address(registration: &[u8]) -> Option<String> {
    let json: Value = serde_json::from_slice(registration).ok()?;
    if let Some(endpoint) = json["endpoints"].as_array().and_then(|e| e.first()) {
        let endpoint = endpoint.as_str()?;
        return endpoint.split_once("://").map(|(_, a)| a.to_string());
    }
    Some(format!(
        "{}:{}",
        json["host"].as_str()?,
        json["port"].as_i64()?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_broker_registrations() {
        let v4 = br#"{"endpoints":["PLAINTEXT://10.0.0.1:9092"],"host":"x","port":1,"version":4}"#;
        assert_eq!(broker_address(v4).as_deref(), Some("10.0.0.1:9092"));
        let old = br#"{"host":"h","port":9093}"#;
        assert_eq!(broker_address(old).as_deref(), Some("h:9093"));
        assert_eq!(broker_address(b"not json"), None);
    }
}

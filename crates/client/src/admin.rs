//! Admin calls: topics, partitions, configs, cluster. Topic and partition changes go to the
//! controller, as Kafka's admin client sends them.

use std::collections::BTreeMap;

use ferry_kafka_protocol::messages::alter_configs::AlterConfigsResource;
use ferry_kafka_protocol::messages::create_partitions::CreatePartitionsTopic;
use ferry_kafka_protocol::messages::create_topics::CreatableTopic;
use ferry_kafka_protocol::messages::delete_topics::DeleteTopicState;
use ferry_kafka_protocol::messages::describe_configs::DescribeConfigsResource;
use ferry_kafka_protocol::messages::incremental_alter_configs::{
    AlterableConfig, IncrementalAlterConfigsResource,
};
use ferry_kafka_protocol::messages::*;
use ferry_kafka_protocol::ApiKey;

use crate::client::Client;
use crate::error::{check, ClientError, Result};

/// Kafka's `ConfigResource.Type` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    Topic = 2,
    Broker = 4,
}

/// A new topic.
#[derive(Debug, Clone, Default)]
pub struct NewTopic {
    pub name: String,
    /// -1: the broker's default.
    pub partitions: i32,
    /// -1: the broker's default.
    pub replication_factor: i16,
    pub configs: BTreeMap<String, String>,
}

/// One config entry as DescribeConfigs reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigValue {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    pub is_sensitive: bool,
    /// Kafka's `ConfigSource` code (1 topic, 4 static broker, 5 default, ...); -1 unknown.
    pub source: i8,
    pub is_default: bool,
}

/// A config change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOp {
    Set(String, String),
    Delete(String),
}

const ADMIN_TIMEOUT_MS: i32 = 30_000;

impl Client {
    /// Creates topics; `Ok` only if every one was created. Each error names its topic.
    pub async fn create_topics(&self, topics: &[NewTopic], validate_only: bool) -> Result<()> {
        let request = CreateTopicsRequest {
            topics: topics
                .iter()
                .map(|t| CreatableTopic {
                    name: t.name.clone(),
                    num_partitions: t.partitions,
                    replication_factor: t.replication_factor,
                    configs: t
                        .configs
                        .iter()
                        .map(|(k, v)| ConfigEntry {
                            name: k.clone(),
                            value: Some(v.clone()),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            timeout_ms: ADMIN_TIMEOUT_MS,
            validate_only,
            ..Default::default()
        };
        let response = self.controller().await?.call(request).await?;
        for t in &response.topics {
            check(
                t.error_code,
                format!("creating topic {}", t.name),
                t.error_message.as_deref(),
            )?;
        }
        Ok(())
    }

    /// Deletes topics by name.
    pub async fn delete_topics(&self, names: &[String]) -> Result<()> {
        let conn = self.controller().await?;
        let version = conn.version(ApiKey::DeleteTopics)?;
        let mut request = DeleteTopicsRequest {
            timeout_ms: ADMIN_TIMEOUT_MS,
            ..Default::default()
        };
        if version >= 6 {
            request.topics = names
                .iter()
                .map(|n| DeleteTopicState {
                    name: Some(n.clone()),
                    ..Default::default()
                })
                .collect();
        } else {
            request.topic_names = names.to_vec();
        }
        let response = conn.send_at(request, version)?.wait().await?;
        for t in &response.responses {
            check(
                t.error_code,
                format!("deleting topic {}", t.name.as_deref().unwrap_or("")),
                t.error_message.as_deref(),
            )?;
        }
        Ok(())
    }

    /// Grows `topic` to `count` partitions.
    pub async fn create_partitions(&self, topic: &str, count: i32) -> Result<()> {
        let request = CreatePartitionsRequest {
            topics: vec![CreatePartitionsTopic {
                name: topic.to_string(),
                count,
                assignments: None,
                ..Default::default()
            }],
            timeout_ms: ADMIN_TIMEOUT_MS,
            ..Default::default()
        };
        let response = self.controller().await?.call(request).await?;
        for r in &response.results {
            check(
                r.error_code,
                format!("adding partitions to {}", r.name),
                r.error_message.as_deref(),
            )?;
        }
        Ok(())
    }

    /// The configs of one resource (every key).
    pub async fn describe_configs(
        &self,
        resource_type: ResourceType,
        name: &str,
    ) -> Result<Vec<ConfigValue>> {
        let request = DescribeConfigsRequest {
            resources: vec![DescribeConfigsResource {
                resource_type: resource_type as i8,
                resource_name: name.to_string(),
                configuration_keys: None,
                ..Default::default()
            }],
            ..Default::default()
        };
        let conn = self.config_connection(resource_type, name).await?;
        let response = conn.call(request).await?;
        let result = response.results.into_iter().next().ok_or_else(|| {
            ClientError::UnexpectedResponse("DescribeConfigs without a result".into())
        })?;
        check(
            result.error_code,
            format!("describing configs of {name}"),
            result.error_message.as_deref(),
        )?;
        Ok(result
            .configs
            .into_iter()
            .map(|c| ConfigValue {
                name: c.name,
                value: c.value,
                read_only: c.read_only,
                is_sensitive: c.is_sensitive,
                source: c.config_source,
                // v0 has is_default; later versions say it with the source (5 = default).
                is_default: c.is_default || c.config_source == 5,
            })
            .collect())
    }

    /// Applies `ops` to a resource: IncrementalAlterConfigs when the broker has it, else
    /// AlterConfigs with the current non-default values merged with the change (what Kafka's
    /// tool did before incremental alter existed).
    pub async fn alter_configs(
        &self,
        resource_type: ResourceType,
        name: &str,
        ops: &[ConfigOp],
    ) -> Result<()> {
        let conn = self.config_connection(resource_type, name).await?;
        let context = format!("altering configs of {name}");
        if conn.supports(ApiKey::IncrementalAlterConfigs) {
            let request = IncrementalAlterConfigsRequest {
                resources: vec![IncrementalAlterConfigsResource {
                    resource_type: resource_type as i8,
                    resource_name: name.to_string(),
                    configs: ops
                        .iter()
                        .map(|op| match op {
                            ConfigOp::Set(k, v) => AlterableConfig {
                                name: k.clone(),
                                config_operation: 0,
                                value: Some(v.clone()),
                                ..Default::default()
                            },
                            ConfigOp::Delete(k) => AlterableConfig {
                                name: k.clone(),
                                config_operation: 1,
                                value: None,
                                ..Default::default()
                            },
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            };
            let response = conn.call(request).await?;
            for r in &response.responses {
                check(r.error_code, &context, r.error_message.as_deref())?;
            }
            return Ok(());
        }
        let mut current: BTreeMap<String, String> = self
            .describe_configs(resource_type, name)
            .await?
            .into_iter()
            .filter(|c| !c.is_default && !c.read_only && c.source != 4)
            .filter_map(|c| c.value.map(|v| (c.name, v)))
            .collect();
        for op in ops {
            match op {
                ConfigOp::Set(k, v) => {
                    current.insert(k.clone(), v.clone());
                }
                ConfigOp::Delete(k) => {
                    current.remove(k);
                }
            }
        }
        let request = AlterConfigsRequest {
            resources: vec![AlterConfigsResource {
                resource_type: resource_type as i8,
                resource_name: name.to_string(),
                configs: current
                    .into_iter()
                    .map(|(k, v)| ConfigEntry {
                        name: k,
                        value: Some(v),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let response = conn.call(request).await?;
        for r in &response.responses {
            check(r.error_code, &context, r.error_message.as_deref())?;
        }
        Ok(())
    }

    /// Broker configs are answered by that broker; topic configs by any.
    async fn config_connection(
        &self,
        resource_type: ResourceType,
        name: &str,
    ) -> Result<crate::Connection> {
        match resource_type {
            ResourceType::Broker if !name.is_empty() => {
                let id = name.parse::<i32>().map_err(|_| {
                    ClientError::Invalid(format!("broker entity name {name:?} is not a broker id"))
                })?;
                self.broker(id).await
            }
            _ => Ok(self.any().clone()),
        }
    }

    /// Cluster id, controller and brokers: DescribeCluster if the broker has it, else Metadata.
    pub async fn describe_cluster(&self) -> Result<Cluster> {
        if self.any().supports(ApiKey::DescribeCluster) {
            let response = self.any().call(DescribeClusterRequest::default()).await?;
            check(
                response.error_code,
                "describing the cluster",
                response.error_message.as_deref(),
            )?;
            return Ok(Cluster {
                cluster_id: Some(response.cluster_id),
                controller_id: response.controller_id,
                brokers: response
                    .brokers
                    .into_iter()
                    .map(|b| (b.broker_id, format!("{}:{}", b.host, b.port)))
                    .collect(),
            });
        }
        let response = self.metadata(Some(&[]), false).await?;
        Ok(Cluster {
            cluster_id: response.cluster_id,
            controller_id: response.controller_id,
            brokers: response
                .brokers
                .into_iter()
                .map(|b| (b.node_id, format!("{}:{}", b.host, b.port)))
                .collect(),
        })
    }

    /// The size in bytes of each partition log broker `broker_id` holds (DescribeLogDirs):
    /// (topic, partition) -> bytes.
    pub async fn log_sizes(&self, broker_id: i32) -> Result<BTreeMap<(String, i32), i64>> {
        let conn = self.broker(broker_id).await?;
        let response = conn.call(DescribeLogDirsRequest::default()).await?;
        check(response.error_code, "describing log dirs", None)?;
        let mut sizes = BTreeMap::new();
        for dir in response.results {
            check(
                dir.error_code,
                format!("describing log dir {}", dir.log_dir),
                None,
            )?;
            for topic in dir.topics {
                for p in topic.partitions {
                    sizes.insert((topic.name.clone(), p.partition_index), p.partition_size);
                }
            }
        }
        Ok(sizes)
    }
}

/// What DescribeCluster reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: BTreeMap<i32, String>,
}

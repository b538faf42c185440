//! Topic configs, `/config/topics/<topic>`, and the change notifications that tell every
//! broker to reload one, `/config/changes/config_change_<seq>`.
//!
//! JSON: `{"version":1,"config":{"retention.ms":"1000"}}` (values are strings) and
//! `{"version":2,"entity_path":"topics/<topic>"}`.

use std::collections::BTreeMap;

use ferry_zkclient::{CreateMode, CreateOptions, ErrorCode, Op, OpResult};
use serde::{Deserialize, Serialize};

use super::error::{Result, ZkError};
use super::{json, paths, KafkaZk, Versioned};

/// The data of `/config/<type>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityConfig {
    #[serde(default = "version_one")]
    pub version: i32,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

fn version_one() -> i32 {
    1
}

impl EntityConfig {
    pub fn new(config: BTreeMap<String, String>) -> Self {
        Self { version: 1, config }
    }

    pub fn encode(&self, path: &str) -> Result<Vec<u8>> {
        json::encode(path, self)
    }

    /// Null or empty data is an empty config, as Kafka reads it.
    pub fn decode(path: &str, data: Option<&[u8]>) -> Result<Self> {
        match data {
            Some(data) if !data.is_empty() => json::decode(path, Some(data)),
            _ => Ok(Self::new(BTreeMap::new())),
        }
    }
}

/// The data of a change notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigChange {
    pub version: i32,
    /// `topics/<topic>`, `brokers/<id>`, ...
    pub entity_path: String,
}

impl KafkaZk {
    /// The topic's config overrides and the znode version to change them against; `None` when
    /// the topic has no config node.
    pub async fn get_topic_config(
        &self,
        topic: &str,
    ) -> Result<Option<Versioned<BTreeMap<String, String>>>> {
        let path = paths::topic_config(topic);
        let read = self.get_versioned(&path, EntityConfig::decode).await?;
        Ok(read.map(|versioned| Versioned {
            value: versioned.value.config,
            zk_version: versioned.zk_version,
        }))
    }

    /// Replaces the topic's config overrides, conditionally on `expected_version` (`None`: the
    /// node must not exist yet), and announces the change with a sequential notification, in
    /// one `multi`. Returns the config node's new version and the notification's name.
    pub async fn set_topic_config(
        &self,
        topic: &str,
        config: &BTreeMap<String, String>,
        expected_version: Option<i32>,
    ) -> Result<(i32, String)> {
        let path = paths::topic_config(topic);
        let data = EntityConfig::new(config.clone()).encode(&path)?;
        let write = match expected_version {
            Some(version) => Op::set_data(&path, data, Some(version)),
            None => Op::create(&path, data, CreateOptions::persistent()),
        };
        let change = ConfigChange {
            version: 2,
            entity_path: format!("topics/{topic}"),
        };
        let notification_prefix =
            format!("{}/{}", paths::CONFIG_CHANGES, paths::CONFIG_CHANGE_PREFIX);
        let notify = Op::create(
            &notification_prefix,
            json::encode(paths::CONFIG_CHANGES, &change)?,
            CreateOptions::new(CreateMode::PersistentSequential),
        );
        let results = self.write_fenced(None, vec![write, notify]).await?;
        let version = match results.first() {
            Some(OpResult::SetData(stat)) => stat.version,
            _ => 0,
        };
        let name = match results.get(1) {
            Some(OpResult::Create { path, .. }) => {
                path.rsplit('/').next().unwrap_or_default().to_string()
            }
            _ => String::new(),
        };
        Ok((version, name))
    }

    /// The names of the pending config change notifications, oldest first.
    pub async fn config_changes(&self) -> Result<Vec<String>> {
        self.children(paths::CONFIG_CHANGES).await
    }

    /// Deletes the oldest notifications among `names` (sorted, oldest first) that were created
    /// before `cutoff_ms`, as Kafka purges those older than 15 minutes so that the node does
    /// not grow forever. Returns how many went.
    pub async fn purge_config_changes(&self, names: &[String], cutoff_ms: i64) -> Result<usize> {
        let mut purged = 0;
        for name in names {
            let path = format!("{}/{name}", paths::CONFIG_CHANGES);
            let Some((_, stat)) = self.get(&path).await? else {
                continue;
            };
            // Sequential names: every later one is newer.
            if stat.ctime >= cutoff_ms {
                break;
            }
            match self.client().delete(&path, None).await {
                Ok(()) => purged += 1,
                Err(error) if error.code() == ErrorCode::NoNode => {}
                Err(error) => return Err(ZkError::keeper(&path, error)),
            }
        }
        Ok(purged)
    }

    /// One config change notification, by name; `None` if it was purged.
    pub async fn get_config_change(&self, name: &str) -> Result<Option<ConfigChange>> {
        let path = format!("{}/{name}", paths::CONFIG_CHANGES);
        match self.client().get_data(&path, false).await {
            Ok((data, _)) => json::decode(&path, data.as_deref()).map(Some),
            Err(error) if error.code() == ErrorCode::NoNode => Ok(None),
            Err(error) => Err(ZkError::keeper(&path, error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_kafkas() {
        let config = EntityConfig::new(BTreeMap::from([
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("retention.ms".to_string(), "1000".to_string()),
        ]));
        let text = String::from_utf8(config.encode("/p").unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"version":1,"config":{"cleanup.policy":"compact","retention.ms":"1000"}}"#
        );
        assert_eq!(
            EntityConfig::decode("/p", Some(text.as_bytes())).unwrap(),
            config
        );
        assert!(EntityConfig::decode("/p", None).unwrap().config.is_empty());
        let change: ConfigChange =
            serde_json::from_str(r#"{"version":2,"entity_path":"topics/t"}"#).unwrap();
        assert_eq!(change.entity_path, "topics/t");
        assert_eq!(
            serde_json::to_string(&change).unwrap(),
            r#"{"version":2,"entity_path":"topics/t"}"#
        );
        assert!(EntityConfig::decode("/p", Some(br#"{"version":1,"config":{"a":1}}"#)).is_err());
    }
}

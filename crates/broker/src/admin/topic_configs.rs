//! Each topic's config overrides (`/config/topics/<t>`), merged with the broker's defaults and
//! applied to the topic's logs: read when a topic is first served, written by
//! (Incremental)AlterConfigs and CreateTopics, and re-read when a change notification
//! (`/config/changes/config_change_<seq>`, written by this broker or any Kafka tool) names it.

use std::collections::BTreeMap;
use std::sync::Weak;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::broker::Broker;
use crate::topic_config::alter::AlterError;
use crate::topic_config::{EffectiveConfig, InvalidConfig};
use crate::zk::{KafkaZk, ZkError};

use super::follow::follow;
use super::lock;

/// How many times a config write is retried when someone else changed the node meanwhile.
const WRITE_ATTEMPTS: usize = 5;

/// Notifications older than this are purged (Kafka's `changeExpirationMs`): every broker has
/// long read them.
const CHANGE_EXPIRY: Duration = Duration::from_secs(15 * 60);

/// Why a topic's config could not be changed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigWriteError {
    #[error(transparent)]
    Alter(#[from] AlterError),
    #[error("Topic {0} does not exist")]
    UnknownTopic(String),
    #[error(transparent)]
    Zk(#[from] ZkError),
}

impl Broker {
    /// The topic's overrides as last read from ZooKeeper.
    pub(crate) fn topic_overrides(&self, topic: &str) -> BTreeMap<String, String> {
        lock(&self.admin.overrides)
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }

    /// The topic's config in force.
    pub(crate) fn effective_config(&self, topic: &str) -> EffectiveConfig {
        EffectiveConfig::resolve(&self.config.topic_defaults, &self.topic_overrides(topic))
    }

    /// The topic's `min.insync.replicas`. Asked on every acks=all produce, so it reads the one
    /// key instead of resolving the whole config; a value that does not parse falls back to
    /// the broker's default, as [`EffectiveConfig::resolve`] does with invalid values.
    pub(crate) fn min_insync_replicas(&self, topic: &str) -> i32 {
        const KEY: &str = "min.insync.replicas";
        let parse = |v: &str| v.trim().parse::<i32>().ok().filter(|n| *n >= 1);
        let overridden = lock(&self.admin.overrides)
            .get(topic)
            .and_then(|o| o.get(KEY).and_then(|v| parse(v)));
        overridden
            .or_else(|| self.config.topic_defaults.topic_value(KEY).and_then(parse))
            .unwrap_or(1)
    }

    /// Keeps `overrides` as the topic's and applies the result to its logs.
    pub(crate) fn apply_topic_overrides(&self, topic: &str, overrides: BTreeMap<String, String>) {
        let effective = EffectiveConfig::resolve(&self.config.topic_defaults, &overrides);
        lock(&self.admin.overrides).insert(topic.to_string(), overrides);
        if let Err(error) = self.replicas.set_log_config(topic, effective.log_config()) {
            tracing::warn!(%topic, %error, "topic config not applied to its logs");
        }
    }

    pub(crate) fn forget_topic_config(&self, topic: &str) {
        lock(&self.admin.overrides).remove(topic);
    }

    /// Reads the topic's overrides from ZooKeeper and applies them.
    pub(crate) async fn reload_topic_config(
        &self,
        zk: &KafkaZk,
        topic: &str,
    ) -> Result<(), ZkError> {
        let overrides = zk
            .get_topic_config(topic)
            .await?
            .map(|v| v.value)
            .unwrap_or_default();
        tracing::debug!(%topic, ?overrides, "topic config read");
        self.apply_topic_overrides(topic, overrides);
        Ok(())
    }

    /// Changes a topic's overrides with `edit` (given the current ones, as stored in ZooKeeper):
    /// validated, then (unless `validate_only`) written conditionally with a change
    /// notification, as Kafka's `AdminZkClient.changeTopicConfig`, and applied here.
    pub(crate) async fn alter_topic_config(
        &self,
        topic: &str,
        validate_only: bool,
        edit: impl Fn(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, AlterError>,
    ) -> Result<(), ConfigWriteError> {
        let zk = self.zk.get();
        for _ in 0..WRITE_ATTEMPTS {
            if !zk.topic_exists(topic).await? {
                return Err(ConfigWriteError::UnknownTopic(topic.to_string()));
            }
            let current = zk.get_topic_config(topic).await?;
            let (overrides, version) = match current {
                Some(v) => (v.value, Some(v.zk_version)),
                None => (BTreeMap::new(), None),
            };
            let next = edit(&overrides)?;
            check_log_config(&EffectiveConfig::resolve(
                &self.config.topic_defaults,
                &next,
            ))?;
            if validate_only {
                return Ok(());
            }
            match zk.set_topic_config(topic, &next, version).await {
                Ok((_, notification)) => {
                    tracing::info!(%topic, ?next, %notification, "topic config changed");
                    self.apply_topic_overrides(topic, next);
                    return Ok(());
                }
                Err(ZkError::StaleVersion { .. } | ZkError::NodeExists { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ZkError::StaleVersion {
            path: crate::zk::paths::topic_config(topic),
            expected: -1,
        }
        .into())
    }

    /// Handles the notifications newer than the last one handled. The first time (startup or
    /// a new session) there is no cursor: every served topic's config is read again instead,
    /// which covers whatever changed while nobody was watching.
    async fn handle_config_changes(&self, zk: &KafkaZk, names: &[String]) -> Result<(), ZkError> {
        let cursor = lock(&self.admin.config_cursor).clone();
        let Some(cursor) = cursor else {
            for topic in self.replicas.topics().into_keys() {
                self.reload_topic_config(zk, &topic).await?;
            }
            *lock(&self.admin.config_cursor) = Some(names.last().cloned().unwrap_or_default());
            return Ok(());
        };
        for name in names.iter().filter(|n| **n > cursor) {
            let change = zk.get_config_change(name).await?;
            let topic = change
                .as_ref()
                .and_then(|c| c.entity_path.strip_prefix("topics/"));
            if let Some(topic) = topic {
                if self.replicas.partitions(topic).is_some() {
                    tracing::info!(%topic, notification = %name, "topic config change notified");
                    self.reload_topic_config(zk, topic).await?;
                }
            }
            *lock(&self.admin.config_cursor) = Some(name.clone());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let cutoff = now.saturating_sub(CHANGE_EXPIRY).as_millis();
        let purged = zk
            .purge_config_changes(names, i64::try_from(cutoff).unwrap_or(i64::MAX))
            .await?;
        if purged > 0 {
            tracing::debug!(purged, "old config change notifications purged");
        }
        Ok(())
    }
}

/// What the log engine would refuse, as INVALID_CONFIG.
pub(crate) fn check_log_config(effective: &EffectiveConfig) -> Result<(), AlterError> {
    effective
        .log_config()
        .validate()
        .map_err(|error| AlterError::InvalidConfig(InvalidConfig(error.to_string())))
}

/// Follows `/config/changes` for the broker's lifetime.
pub(super) async fn follow_config_changes(broker: Weak<Broker>) {
    follow(broker, "/config/changes".to_string(), |b| async move {
        let zk = b.zk.get();
        let watch = zk.watch_config_changes().await?;
        b.handle_config_changes(&zk, &watch.value).await?;
        Ok(Some(watch))
    })
    .await;
}

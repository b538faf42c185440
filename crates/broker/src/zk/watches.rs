//! One-shot watches on the znodes a broker follows: a value read together with the watch, and
//! a wait for the next change. After a change, read again (which sets a new watch), as Kafka's
//! handlers do.

use ferry_zkclient::{EventType, KeeperState, Watch, WatchedEvent};
use tokio::sync::mpsc::UnboundedReceiver;

use super::error::{on, Result};
use super::registration::parse_broker_ids;
use super::{paths, KafkaZk, TopicAssignment, Versioned};

/// A value read from a znode and the watch left there with it.
#[derive(Debug)]
pub struct ZnodeWatch<T> {
    /// What the znode held when the watch was set.
    pub value: T,
    path: String,
    events: UnboundedReceiver<WatchedEvent>,
}

impl<T> ZnodeWatch<T> {
    pub(crate) fn new(value: T, path: &str, events: UnboundedReceiver<WatchedEvent>) -> Self {
        Self {
            value,
            path: path.to_string(),
            events,
        }
    }

    /// The same watch, its value mapped.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> ZnodeWatch<U> {
        ZnodeWatch {
            value: f(self.value),
            path: self.path,
            events: self.events,
        }
    }

    /// Waits until the watched znode changes (created, deleted, data or children changed).
    /// `false` when the session ended first: the watch is gone with it.
    pub async fn changed(&mut self) -> bool {
        while let Some(event) = self.events.recv().await {
            if event.path.as_deref() == Some(self.path.as_str()) {
                return true;
            }
            let session_over = matches!(
                event.state,
                KeeperState::Expired | KeeperState::Closed | KeeperState::AuthFailed
            );
            if event.event_type == EventType::None && session_over {
                return false;
            }
        }
        false
    }
}

impl KafkaZk {
    /// The children of `path`, sorted, with a watch on them. A missing node has no children
    /// and is watched for its creation.
    pub async fn watch_children(&self, path: &str) -> Result<ZnodeWatch<Vec<String>>> {
        let (watch, events) = Watch::channel();
        match self.client().get_children(path, watch.clone()).await {
            Ok(mut children) => {
                children.sort();
                Ok(ZnodeWatch::new(children, path, events))
            }
            Err(error) if error.code() == ferry_zkclient::ErrorCode::NoNode => {
                // Watch for its creation instead; if it appeared meanwhile, the watch fires.
                self.client().exists(path, watch).await.map_err(on(path))?;
                Ok(ZnodeWatch::new(Vec::new(), path, events))
            }
            Err(error) => Err(on(path)(error)),
        }
    }

    /// The live brokers' ids, ascending, with a watch on `/brokers/ids`.
    pub async fn watch_broker_ids(&self) -> Result<ZnodeWatch<Vec<i32>>> {
        let watch = self.watch_children(paths::BROKER_IDS).await?;
        Ok(watch.map(|children| parse_broker_ids(&children)))
    }

    /// Every topic, with a watch on `/brokers/topics`.
    pub async fn watch_topics(&self) -> Result<ZnodeWatch<Vec<String>>> {
        self.watch_children(paths::BROKER_TOPICS).await
    }

    /// The topics marked for deletion, with a watch on `/admin/delete_topics`.
    pub async fn watch_topics_pending_deletion(&self) -> Result<ZnodeWatch<Vec<String>>> {
        self.watch_children(paths::DELETE_TOPICS).await
    }

    /// The config change notifications' names, oldest first, with a watch on
    /// `/config/changes`.
    pub async fn watch_config_changes(&self) -> Result<ZnodeWatch<Vec<String>>> {
        self.watch_children(paths::CONFIG_CHANGES).await
    }

    /// A topic's assignment with a data watch on `/brokers/topics/<topic>` (partitions added
    /// elsewhere); `None` when the topic is gone (then the watch waits for its creation).
    pub async fn watch_topic_assignment(
        &self,
        topic: &str,
    ) -> Result<ZnodeWatch<Option<Versioned<TopicAssignment>>>> {
        let path = paths::topic(topic);
        let (watch, events) = Watch::channel();
        match self.client().get_data(&path, watch.clone()).await {
            Ok((data, stat)) => {
                let value = TopicAssignment::decode(&path, data.as_deref())?;
                let versioned = Versioned {
                    value,
                    zk_version: stat.version,
                };
                Ok(ZnodeWatch::new(Some(versioned), &path, events))
            }
            Err(error) if error.code() == ferry_zkclient::ErrorCode::NoNode => {
                self.client()
                    .exists(&path, watch)
                    .await
                    .map_err(on(&path))?;
                Ok(ZnodeWatch::new(None, &path, events))
            }
            Err(error) => Err(on(&path)(error)),
        }
    }
}

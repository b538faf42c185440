//! Topic deletion, Kafka 2.x style: DeleteTopics (or any tool) marks the topic under
//! `/admin/delete_topics`; the controller, following that node, stops serving the topic,
//! deletes its partitions' directories, then removes `/brokers/topics/<t>`,
//! `/config/topics/<t>` and the mark. With `delete.topic.enable=false` the controller removes
//! marks without deleting anything, as Kafka's does.

use std::sync::Weak;
use std::time::Duration;

use crate::broker::Broker;
use crate::zk::{paths, KafkaZk, ZkError};

use super::follow::follow;

/// How often a DeleteTopics request looks again whether the topic is gone when the deletion
/// is carried out elsewhere (another controller).
const RECHECK: Duration = Duration::from_millis(200);

/// Why a DeleteTopics request failed for one topic.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeleteError {
    #[error("Topic deletion is disabled.")]
    Disabled,
    #[error("Topic {0} does not exist")]
    UnknownTopic(String),
    #[error("Topic {0} was marked for deletion but is not deleted yet")]
    TimedOut(String),
    #[error(transparent)]
    Zk(#[from] ZkError),
}

impl Broker {
    fn deletion_enabled(&self) -> bool {
        self.config
            .topic_defaults
            .broker_bool("delete.topic.enable")
    }

    /// DeleteTopics for one topic: marks it, carries the deletion out when this broker is the
    /// controller, and waits (up to `timeout`) until the topic and its mark are gone from
    /// ZooKeeper.
    pub(crate) async fn delete_topic(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<(), DeleteError> {
        if !self.deletion_enabled() {
            return Err(DeleteError::Disabled);
        }
        let zk = self.zk.get();
        match zk.mark_topic_for_deletion(topic).await {
            Ok(()) | Err(ZkError::TopicAlreadyMarkedForDeletion { .. }) => {}
            Err(ZkError::UnknownTopic { .. }) => {
                return Err(DeleteError::UnknownTopic(topic.to_string()))
            }
            Err(error) => return Err(error.into()),
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let deleted = self.admin.deleted.notified();
            tokio::pin!(deleted);
            deleted.as_mut().enable();
            self.run_deletions().await?;
            // Done when the mark (removed last) is gone too: the name can be reused then.
            if !zk.topic_exists(topic).await? && !zk.is_marked_for_deletion(topic).await? {
                return Ok(());
            }
            // Kafka answers at once when the request allows no time: the mark is down.
            if timeout.is_zero() {
                return Ok(());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(DeleteError::TimedOut(topic.to_string()));
            }
            let _ = tokio::time::timeout((deadline - now).min(RECHECK), deleted).await;
        }
    }

    /// As the controller, carries out every pending deletion. Serialized, and each topic is
    /// re-read from the marks under the lock, so a topic deleted and re-created meanwhile is
    /// never touched.
    pub(crate) async fn run_deletions(&self) -> Result<(), ZkError> {
        if !self.is_controller() {
            return Ok(());
        }
        let _serial = self.admin.deletion.lock().await;
        let zk = self.zk.get();
        let result = async {
            for topic in zk.topics_pending_deletion().await? {
                if self.deletion_enabled() {
                    self.delete_marked_topic(&zk, &topic).await?;
                } else {
                    tracing::warn!(%topic, "delete.topic.enable is false: deletion mark removed");
                    zk.delete_recursive(&paths::delete_topic(&topic), None)
                        .await?;
                }
            }
            Ok(())
        }
        .await;
        self.admin.deleted.notify_waiters();
        result
    }

    /// Deletes one marked topic's data here, then its znodes and the mark (behind the
    /// controller's epoch fence). The other brokers delete their replicas when the controller,
    /// seeing the topic gone, sends them StopReplica with deletion.
    async fn delete_marked_topic(&self, zk: &KafkaZk, topic: &str) -> Result<(), ZkError> {
        tracing::info!(%topic, "deleting topic");
        // Clients stop being told about it before its data goes.
        self.metadata.remove_topic(topic);
        self.replica_manager.stop_topic(topic);
        let removal = self.replicas.remove_topic_for_deletion(topic);
        self.forget_topic_config(topic);
        self.counters.forget_topic(topic);
        match tokio::task::spawn_blocking(move || removal.execute()).await {
            Ok(Ok(dirs)) => tracing::info!(%topic, directories = dirs.len(), "topic data deleted"),
            Ok(Err(error)) => tracing::error!(%topic, %error, "deleting the topic's data failed"),
            Err(error) => tracing::error!(%topic, %error, "deleting the topic's data panicked"),
        }
        zk.complete_topic_deletion(topic, self.controller_fence().as_ref())
            .await?;
        tracing::info!(%topic, "topic deleted");
        Ok(())
    }
}

/// Follows `/admin/delete_topics` for the broker's lifetime.
pub(super) async fn follow_deletions(broker: Weak<Broker>) {
    follow(broker, paths::DELETE_TOPICS.to_string(), |b| async move {
        let watch = b.zk.get().watch_topics_pending_deletion().await?;
        if !watch.value.is_empty() {
            b.run_deletions().await?;
        }
        Ok(Some(watch))
    })
    .await;
}

//! Topic deletion through `/admin/delete_topics/<topic>`: a tool (or the DeleteTopics API)
//! marks the topic; the controller deletes its partitions and then removes the topic's znodes
//! and the mark.

use ferry_zkclient::{ErrorCode, Op};

use super::error::{Result, ZkError};
use super::{paths, ControllerEpoch, KafkaZk};

/// How many times a recursive delete is tried when children appear under it.
const DELETE_ATTEMPTS: usize = 5;

impl KafkaZk {
    /// Marks a topic for deletion (a persistent node with null data, as Kafka writes it).
    pub async fn mark_topic_for_deletion(&self, topic: &str) -> Result<()> {
        if !self.topic_exists(topic).await? {
            return Err(ZkError::UnknownTopic {
                topic: topic.to_string(),
                path: paths::topic(topic),
            });
        }
        let path = paths::delete_topic(topic);
        match self.create_if_missing(&path).await? {
            true => Ok(()),
            false => Err(ZkError::TopicAlreadyMarkedForDeletion {
                topic: topic.to_string(),
                path,
            }),
        }
    }

    /// Whether `/admin/delete_topics/<topic>` exists.
    pub async fn is_marked_for_deletion(&self, topic: &str) -> Result<bool> {
        Ok(self.get(&paths::delete_topic(topic)).await?.is_some())
    }

    /// The topics marked for deletion, sorted.
    pub async fn topics_pending_deletion(&self) -> Result<Vec<String>> {
        self.children(paths::DELETE_TOPICS).await
    }

    /// Finishes a deletion once the partitions are gone: removes `/brokers/topics/<topic>`
    /// with everything under it, `/config/topics/<topic>`, and last the mark, each delete
    /// behind the controller's epoch fence when given. Parts already gone are fine.
    pub async fn complete_topic_deletion(
        &self,
        topic: &str,
        fence: Option<&ControllerEpoch>,
    ) -> Result<()> {
        self.delete_recursive(&paths::topic(topic), fence).await?;
        self.delete_recursive(&paths::topic_config(topic), fence)
            .await?;
        self.delete_recursive(&paths::delete_topic(topic), fence)
            .await
    }

    /// Deletes `path` and everything under it (Kafka's `deleteRecursive`); a missing node is
    /// success, children appearing meanwhile make it start over.
    pub async fn delete_recursive(
        &self,
        path: &str,
        fence: Option<&ControllerEpoch>,
    ) -> Result<()> {
        for _ in 0..DELETE_ATTEMPTS {
            match self.delete_tree(path, fence).await {
                Err(ZkError::Keeper { source, .. }) if source.code() == ErrorCode::NotEmpty => {}
                other => return other,
            }
        }
        Err(ZkError::keeper(
            path,
            ferry_zkclient::Error::Keeper {
                code: ErrorCode::NotEmpty,
                path: Some(path.to_string()),
            },
        ))
    }

    /// One pass: children first (depth first, iteratively), then the node.
    async fn delete_tree(&self, root: &str, fence: Option<&ControllerEpoch>) -> Result<()> {
        // Post-order over the tree: collect every node breadth first, delete deepest first.
        let mut order = vec![root.to_string()];
        let mut next = 0;
        while next < order.len() {
            let path = order[next].clone();
            next += 1;
            for child in self.children(&path).await? {
                order.push(format!("{path}/{child}"));
            }
        }
        for path in order.iter().rev() {
            match self.write_fenced(fence, vec![Op::delete(path, None)]).await {
                Ok(_) | Err(ZkError::NoNode { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

//! ISR change notifications, `/isr_change_notification/isr_change_<seq>`: how a Kafka 2.x
//! partition leader that changed an ISR in `.../state` tells the controller to propagate it.
//!
//! JSON: `{"version":1,"partitions":[{"topic":"t","partition":0}]}`.

use ferry_zkclient::{CreateMode, CreateOptions, Op};
use serde::{Deserialize, Serialize};

use super::error::{on, Result, ZkError};
use super::{json, paths, ControllerEpoch, KafkaZk};

/// The prefix of the sequential nodes under `/isr_change_notification`.
pub const ISR_CHANGE_PREFIX: &str = "isr_change_";

/// One partition named by a notification.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

#[derive(Serialize, Deserialize)]
struct IsrChangeJson {
    version: i32,
    partitions: Vec<TopicPartition>,
}

impl KafkaZk {
    /// Announces that the ISR of `partitions` changed; returns the notification's name.
    pub async fn notify_isr_change(&self, partitions: &[TopicPartition]) -> Result<String> {
        let prefix = format!("{}/{ISR_CHANGE_PREFIX}", paths::ISR_CHANGE_NOTIFICATION);
        let data = json::encode(
            paths::ISR_CHANGE_NOTIFICATION,
            &IsrChangeJson {
                version: 1,
                partitions: partitions.to_vec(),
            },
        )?;
        let options = CreateOptions::new(CreateMode::PersistentSequential);
        let (created, _) = self
            .client()
            .create(&prefix, data, &options)
            .await
            .map_err(on(&prefix))?;
        Ok(created.rsplit('/').next().unwrap_or_default().to_string())
    }

    /// The pending ISR change notifications, oldest first.
    pub async fn isr_change_notifications(&self) -> Result<Vec<String>> {
        self.children(paths::ISR_CHANGE_NOTIFICATION).await
    }

    /// The partitions a notification names; `None` if it was processed already.
    pub async fn get_isr_change(&self, name: &str) -> Result<Option<Vec<TopicPartition>>> {
        let path = format!("{}/{name}", paths::ISR_CHANGE_NOTIFICATION);
        let Some((data, _)) = self.get(&path).await? else {
            return Ok(None);
        };
        let parsed: IsrChangeJson = json::decode(&path, data.as_deref())?;
        Ok(Some(parsed.partitions))
    }

    /// Removes processed notifications (behind the controller's fence when given); ones
    /// already gone are fine.
    pub async fn delete_isr_changes(
        &self,
        names: &[String],
        fence: Option<&ControllerEpoch>,
    ) -> Result<()> {
        for name in names {
            let path = format!("{}/{name}", paths::ISR_CHANGE_NOTIFICATION);
            match self
                .write_fenced(fence, vec![Op::delete(&path, None)])
                .await
            {
                Ok(_) | Err(ZkError::NoNode { .. }) => {}

                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_kafkas() {
        let text = r#"{"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"u","partition":3}]}"#;
        let parsed: IsrChangeJson = serde_json::from_str(text).unwrap();
        assert_eq!(parsed.partitions[1].partition, 3);
        assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
    }
}

//! A group write counts only once the ISR has it: Kafka's coordinator appends offset commits
//! and group metadata with acks=all (`offsets.commit.required.acks` = -1) and answers the
//! OffsetCommit or SyncGroup when the append completes, so an acknowledged commit survives
//! the coordinator's death (the next leader of the partition is in the ISR and has it).
//!
//! A failed write reports the error the produce path gave (a leadership moved away, the
//! timeout `offsets.commit.timeout.ms` passed, too few in-sync replicas...), which each request
//! maps to its own answer as `GroupMetadataManager.storeOffsets` and `storeGroup` do.

use std::time::Duration;

use ferry_kafka_protocol::ErrorCode;

use super::offsets_topic::{Appended, StoreError};
use crate::replica::delayed_produce;

/// Why a group write is not durable: the error a produce of its batch got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("group write failed with {}", .0.name())]
pub struct WriteFailed(pub ErrorCode);

impl From<&StoreError> for WriteFailed {
    fn from(error: &StoreError) -> Self {
        WriteFailed(error.code())
    }
}

impl WriteFailed {
    /// The answer to an OffsetCommit whose write failed (Kafka's `storeOffsets`): the client
    /// finds the coordinator again on NOT_COORDINATOR, retries on the others.
    pub fn for_commit(self) -> ErrorCode {
        self.mapped(ErrorCode::InvalidCommitOffsetSize, |other| other)
    }

    /// The answer to the SyncGroups of a generation whose metadata write failed (Kafka's
    /// `storeGroup`): a timeout makes the members rejoin (REBALANCE_IN_PROGRESS).
    pub fn for_sync(self) -> ErrorCode {
        self.mapped(ErrorCode::UnknownServerError, |other| match other {
            ErrorCode::RequestTimedOut => ErrorCode::RebalanceInProgress,
            other => other,
        })
    }

    /// The mapping both share: where the coordinator is (or is not), and what a too large
    /// write becomes (`too_large`); `rest` maps what is left.
    fn mapped(self, too_large: ErrorCode, rest: impl FnOnce(ErrorCode) -> ErrorCode) -> ErrorCode {
        match self.0 {
            ErrorCode::UnknownTopicOrPartition
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::NotEnoughReplicasAfterAppend => ErrorCode::CoordinatorNotAvailable,
            ErrorCode::NotLeaderOrFollower | ErrorCode::KafkaStorageError => {
                ErrorCode::NotCoordinator
            }
            ErrorCode::MessageTooLarge
            | ErrorCode::RecordListTooLarge
            | ErrorCode::InvalidFetchSize => too_large,
            other => rest(other),
        }
    }
}

/// Waits (at most `timeout`) until the high watermark passes an appended batch: Ok once the
/// whole ISR has it; REQUEST_TIMED_OUT, or NOT_LEADER_OR_FOLLOWER when this broker stopped
/// leading the partition's epoch meanwhile (the next leader may not have it).
pub async fn replicated(appended: Appended, timeout: Duration) -> Result<(), WriteFailed> {
    let deadline = tokio::time::Instant::now() + timeout;
    delayed_produce::wait(appended.awaited, deadline)
        .await
        .map_err(WriteFailed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replica::delayed_produce::Awaited;
    use crate::replica::Progress;
    use tokio::sync::watch;

    fn progress(high_watermark: i64, leader_epoch: i32, is_leader: bool) -> Progress {
        Progress {
            high_watermark,
            leader_epoch,
            is_leader,
        }
    }

    fn appended(rx: &watch::Receiver<Progress>, end: i64) -> Appended {
        Appended {
            base_offset: end - 1,
            awaited: Awaited {
                progress: rx.clone(),
                required: end,
                leader_epoch: 3,
            },
        }
    }

    #[tokio::test]
    async fn a_write_is_durable_once_the_high_watermark_passes_it() {
        let (tx, rx) = watch::channel(progress(4, 3, true));
        let waiting = tokio::spawn(replicated(appended(&rx, 5), Duration::from_secs(5)));
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the ISR does not have it yet");
        tx.send_replace(progress(5, 3, true));
        assert_eq!(waiting.await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn a_write_fails_when_leadership_moves_or_time_runs_out() {
        let (tx, rx) = watch::channel(progress(4, 3, true));
        let waiting = tokio::spawn(replicated(appended(&rx, 5), Duration::from_secs(5)));
        tx.send_replace(progress(4, 4, false));
        let lost = waiting.await.unwrap().unwrap_err();
        assert_eq!(lost.for_commit(), ErrorCode::NotCoordinator);
        assert_eq!(lost.for_sync(), ErrorCode::NotCoordinator);

        let (_tx, rx) = watch::channel(progress(4, 3, true));
        let slow = replicated(appended(&rx, 5), Duration::from_millis(20))
            .await
            .unwrap_err();
        assert_eq!(slow.for_commit(), ErrorCode::RequestTimedOut);
        assert_eq!(slow.for_sync(), ErrorCode::RebalanceInProgress);
    }

    #[test]
    fn append_errors_map_as_kafkas_coordinator_maps_them() {
        let short = WriteFailed::from(&StoreError::NotEnoughReplicas {
            in_sync: 1,
            required: 2,
        });
        assert_eq!(short.for_commit(), ErrorCode::CoordinatorNotAvailable);
        assert_eq!(short.for_sync(), ErrorCode::CoordinatorNotAvailable);
        let missing = WriteFailed::from(&StoreError::Missing);
        assert_eq!(missing.for_commit(), ErrorCode::CoordinatorNotAvailable);
        let storage = WriteFailed(ErrorCode::KafkaStorageError);
        assert_eq!(storage.for_commit(), ErrorCode::NotCoordinator);
        let large = WriteFailed(ErrorCode::MessageTooLarge);
        assert_eq!(large.for_commit(), ErrorCode::InvalidCommitOffsetSize);
        assert_eq!(large.for_sync(), ErrorCode::UnknownServerError);
    }
}

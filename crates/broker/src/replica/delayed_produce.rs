//! The produce purgatory: an acks=all produce is answered only once every partition's high
//! watermark has passed what it appended (the whole ISR has it), or with an error when the
//! request's timeout passes first (REQUEST_TIMED_OUT) or this broker stops leading the
//! partition meanwhile (NOT_LEADER_OR_FOLLOWER: the new leader may not have the batch).
//!
//! Each partition publishes its high watermark and role on a watch channel
//! ([`super::Partition::progress`]), so a waiting produce wakes only for its own partitions.

use ferry_kafka_protocol::ErrorCode;
use tokio::sync::watch;
use tokio::time::Instant;

use super::Progress;

/// One partition's part of a delayed produce.
pub struct Awaited {
    pub progress: watch::Receiver<Progress>,
    /// The log end offset right after the append: the high watermark must reach it.
    pub required: i64,
    /// The epoch the batch was appended in.
    pub leader_epoch: i32,
}

/// Waits for one partition (until `deadline`); the error to answer with, if any.
pub async fn wait(mut awaited: Awaited, deadline: Instant) -> Result<(), ErrorCode> {
    let (required, epoch) = (awaited.required, awaited.leader_epoch);
    let settled =
        |p: &Progress| !p.is_leader || p.leader_epoch != epoch || p.high_watermark >= required;
    let outcome = tokio::time::timeout_at(deadline, awaited.progress.wait_for(settled))
        .await
        .map(|r| r.map(|p| *p));
    let last = *awaited.progress.borrow();
    match outcome {
        _ if last.is_leader && last.leader_epoch == epoch && last.high_watermark >= required => {
            Ok(())
        }
        Ok(Ok(_)) => Err(ErrorCode::NotLeaderOrFollower),
        // The partition is gone (deleted or no longer hosted).
        Ok(Err(_)) => Err(ErrorCode::NotLeaderOrFollower),
        Err(_) => Err(ErrorCode::RequestTimedOut),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn progress(hw: i64, epoch: i32, is_leader: bool) -> Progress {
        Progress {
            high_watermark: hw,
            leader_epoch: epoch,
            is_leader,
        }
    }

    #[tokio::test]
    async fn answers_when_the_high_watermark_passes_or_leadership_goes_or_time_runs_out() {
        let (tx, rx) = watch::channel(progress(0, 1, true));
        let soon = Instant::now() + Duration::from_secs(5);
        let waiting = tokio::spawn(wait(
            Awaited {
                progress: rx.clone(),
                required: 3,
                leader_epoch: 1,
            },
            soon,
        ));
        tx.send_replace(progress(2, 1, true));
        tx.send_replace(progress(3, 1, true));
        assert_eq!(waiting.await.unwrap(), Ok(()));

        let waiting = tokio::spawn(wait(
            Awaited {
                progress: rx.clone(),
                required: 5,
                leader_epoch: 1,
            },
            soon,
        ));
        tx.send_replace(progress(4, 2, false));
        assert_eq!(waiting.await.unwrap(), Err(ErrorCode::NotLeaderOrFollower));

        let now = Instant::now() + Duration::from_millis(20);
        let timed_out = wait(
            Awaited {
                progress: rx,
                required: 9,
                leader_epoch: 2,
            },
            now,
        );
        assert_eq!(timed_out.await, Err(ErrorCode::NotLeaderOrFollower));
        tx.send_replace(progress(4, 2, true));
        let timed_out = wait(
            Awaited {
                progress: tx.subscribe(),
                required: 9,
                leader_epoch: 2,
            },
            now,
        );
        assert_eq!(timed_out.await, Err(ErrorCode::RequestTimedOut));
    }
}

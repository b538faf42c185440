//! How this broker's request handlers reach its controller while it is active: requests that
//! only the controller can carry out (ControlledShutdown, ElectLeaders, the partition
//! reassignment APIs) are queued to its
//! event loop, which answers each through a oneshot. A broker that is not the controller has
//! no mailbox open, and the handler answers NOT_CONTROLLER.

use std::sync::{Mutex, PoisonError};

use ferry_kafka_protocol::ErrorCode;
use tokio::sync::{mpsc, oneshot};

/// A partition, by topic and index.
pub type TopicPartitionKey = (String, i32);

/// What Kafka's ElectLeaders asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    /// Move leadership to the first replica (the preferred one) when it is in the ISR.
    Preferred,
    /// Elect any live replica for a partition that has no leader.
    Unclean,
}

/// One partition's outcome: `Ok` when done (elected, reassignment started or cancelled), or
/// the error and its message.
pub type PartitionOutcome = (TopicPartitionKey, Result<(), (ErrorCode, String)>);
/// One partition's election outcome.
pub type ElectionOutcome = PartitionOutcome;

/// A partition being reassigned (ListPartitionReassignments): its replicas now (the old ones
/// and the new ones), those being added and those to be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OngoingReassignment {
    pub partition: TopicPartitionKey,
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

/// A request for the active controller.
pub enum ControllerCommand {
    /// Broker `broker_id` is stopping: move its leaderships away. Answered with the
    /// partitions it still leads (none could take over).
    ControlledShutdown {
        broker_id: i32,
        reply: oneshot::Sender<Vec<TopicPartitionKey>>,
    },
    /// Elect leaders for `partitions` (`None`: every partition).
    ElectLeaders {
        partitions: Option<Vec<TopicPartitionKey>>,
        election: ElectionType,
        reply: oneshot::Sender<Vec<ElectionOutcome>>,
    },
    /// Start reassignments (`Some(target replicas)`) or cancel them (`None`).
    AlterReassignments {
        changes: Vec<(TopicPartitionKey, Option<Vec<i32>>)>,
        reply: oneshot::Sender<Vec<PartitionOutcome>>,
    },
    /// The reassignments in progress, among `partitions` (`None`: all).
    ListReassignments {
        partitions: Option<Vec<TopicPartitionKey>>,
        reply: oneshot::Sender<Vec<OngoingReassignment>>,
    },
}

/// Not the controller (any more): the caller answers NOT_CONTROLLER.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("this broker is not the controller")]
pub struct NotController;

/// The open end of the active controller's queue, if this broker is the controller.
#[derive(Default)]
pub struct ControllerMailbox {
    queue: Mutex<Option<mpsc::UnboundedSender<ControllerCommand>>>,
}

impl ControllerMailbox {
    /// Queues `command` for the active controller.
    pub fn send(&self, command: ControllerCommand) -> Result<(), NotController> {
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        match queue.as_ref() {
            Some(tx) => tx.send(command).map_err(|_| NotController),
            None => Err(NotController),
        }
    }

    /// Queues the command `make` builds around a reply channel and waits for the answer;
    /// NOT_CONTROLLER when this broker is not the controller, or stopped being it meanwhile.
    pub async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> ControllerCommand,
    ) -> Result<T, NotController> {
        let (reply, answer) = oneshot::channel();
        self.send(make(reply))?;
        answer.await.map_err(|_| NotController)
    }

    /// Opens the mailbox for a new active run; the receiver is the event loop's.
    pub(super) fn open(&self) -> mpsc::UnboundedReceiver<ControllerCommand> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.queue.lock().unwrap_or_else(PoisonError::into_inner) = Some(tx);
        rx
    }

    /// Closes it (the run ended): later requests get NOT_CONTROLLER.
    pub(super) fn close(&self) {
        *self.queue.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

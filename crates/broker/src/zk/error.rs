//! The metadata layer's error type: every variant names the znode (or topic) it is about.

use ferry_zkclient::ErrorCode;

/// What a [`super::KafkaZk`] call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    /// ZooKeeper refused the call or the session could not carry it.
    #[error("ZooKeeper call on {path} failed: {source}")]
    Keeper {
        path: String,
        #[source]
        source: ferry_zkclient::Error,
    },
    /// The connect string could not be used, or no server granted a session.
    #[error("could not open a ZooKeeper session to {connect}: {source}")]
    Connect {
        connect: String,
        #[source]
        source: ferry_zkclient::Error,
    },
    /// A conditional write lost: the znode is no longer at the version it was read at.
    #[error("{path} was changed by someone else (expected zkVersion {expected})")]
    StaleVersion { path: String, expected: i32 },
    /// A write fenced by the controller epoch found `/controller_epoch` moved on: another broker
    /// became controller.
    #[error("controller moved: {path} is no longer at zkVersion {expected}")]
    ControllerMoved { path: String, expected: i32 },
    /// A create found the node already there.
    #[error("{path} already exists")]
    NodeExists { path: String },
    /// A node the call needs does not exist.
    #[error("{path} does not exist")]
    NoNode { path: String },
    /// The node's data is not the JSON Kafka writes there.
    #[error("malformed data at {path}: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    /// The node's data parsed but makes no sense (an unsupported version, a bad endpoint...).
    #[error("malformed data at {path}: {reason}")]
    Malformed { path: String, reason: String },
    /// Data too large for one znode: ZooKeeper refuses a request over `jute.maxbuffer`.
    #[error(
        "{path} would hold {bytes} bytes, more than one ZooKeeper request may carry \
         ({max} bytes under jute.maxbuffer's default): use fewer partitions"
    )]
    TooLarge {
        path: String,
        bytes: usize,
        max: usize,
    },
    /// Kafka's `InvalidTopicException`, with its message.
    #[error("{message}")]
    InvalidTopic { topic: String, message: String },
    /// Kafka's `TopicExistsException`, with its message.
    #[error("{message}")]
    TopicExists { topic: String, message: String },
    /// Kafka's `UnknownTopicOrPartitionException`.
    #[error("topic '{topic}' does not exist ({path})")]
    UnknownTopic { topic: String, path: String },
    /// Kafka's `InvalidPartitionsException`, with its message.
    #[error("{message}")]
    InvalidPartitions { topic: String, message: String },
    /// Kafka's `InvalidReplicaAssignmentException`, with its message.
    #[error("{message}")]
    InvalidReplicaAssignment { topic: String, message: String },
    /// The topic already has a pending deletion under `/admin/delete_topics`.
    #[error("topic {topic} is already marked for deletion ({path})")]
    TopicAlreadyMarkedForDeletion { topic: String, path: String },
    /// Another live session holds the broker's registration.
    #[error("broker id {broker_id} is in use: {path} belongs to session 0x{owner:x}")]
    BrokerIdInUse {
        broker_id: i32,
        path: String,
        owner: i64,
    },
    /// `/latest_producer_id_block` reached the end of the 64-bit id space.
    #[error("producer ids exhausted at {path}")]
    ProducerIdsExhausted { path: String },
}

/// Result alias of the metadata layer.
pub type Result<T, E = ZkError> = std::result::Result<T, E>;

impl ZkError {
    /// A ZooKeeper error on `path`, with the codes that have their own variant turned into it.
    pub(crate) fn keeper(path: &str, source: ferry_zkclient::Error) -> Self {
        let path = path.to_string();
        match source.code() {
            ErrorCode::NodeExists => Self::NodeExists { path },
            ErrorCode::NoNode => Self::NoNode { path },
            _ => Self::Keeper { path, source },
        }
    }

    /// The ZooKeeper error code behind this error, if it came from ZooKeeper.
    pub fn zk_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Keeper { source, .. } | Self::Connect { source, .. } => Some(source.code()),
            Self::NodeExists { .. } => Some(ErrorCode::NodeExists),
            Self::NoNode { .. } => Some(ErrorCode::NoNode),
            Self::StaleVersion { .. } | Self::ControllerMoved { .. } => Some(ErrorCode::BadVersion),
            _ => None,
        }
    }
}

/// `map_err` adapter: a ZooKeeper error on `path`.
pub(crate) fn on(path: &str) -> impl FnOnce(ferry_zkclient::Error) -> ZkError + '_ {
    move |source| ZkError::keeper(path, source)
}
